/**
 * The contract between the host (token endpoint, CLI runner, admin dry-run) and the procedure
 * sandbox. Everything that crosses into the isolate is plain JSON data; host services are
 * synchronous functions the isolate calls through `ivm.Callback` with JSON strings in and out.
 */
import type { FlowId, OAuthError, Result } from './protocol.ts';

export type { FlowId };

export interface SandboxLimits {
  /** CPU time of one call (isolated-vm `timeout`). */
  cpuTimeMs: number;
  /** Wall-clock deadline of one call, enforced by the host; the isolate is disposed when it passes. */
  wallTimeMs: number;
  /** Isolate heap limit (isolated-vm `memoryLimit`, MiB). */
  memoryMb: number;
  /** Largest JSON result a procedure may return, in bytes. */
  maxResultBytes: number;
  /** How many tokens one call may issue. */
  maxIssueCalls: number;
  /** Log lines one call may write; further lines are dropped (one notice is logged). */
  maxLogLinesPerCall: number;
  /** Longest log line kept, in characters. */
  maxLogLineLength: number;
  /** An isolate is rebuilt after this many calls; 0 (the default) rebuilds only when its heap fills up. */
  maxCallsPerIsolate: number;
  /**
   * Limit of a call on the synchronous path (promoted procedures, run on the calling thread). A call
   * that reaches it is stopped and run again on the isolate's own thread under cpuTimeMs/wallTimeMs.
   */
  syncCallMs: number;
  /** Consecutive clean calls a procedure version serves on its own thread before it is promoted. */
  probationCalls: number;
  /** A probation call counts as clean only if the script used at most this much CPU time. */
  promotionMaxMs: number;
  /** Idle isolates are disposed after this long. */
  idleEvictMs: number;
  /** Warm isolates kept per procedure and client (concurrent calls beyond this wait). */
  maxIsolatesPerProcedure: number;
}

/** What a procedure sees as `context.client`. */
export interface ProcedureClientView {
  id: string;
  name: string;
  properties: Record<string, string>;
  audiences: string[];
  /** Space-separated. */
  scope: string;
}

/** What a procedure sees as `context.request`. Header names are lower-case; credentials are removed. */
export interface ProcedureRequestView {
  method: string;
  path: string;
  clientIpAddress: string;
  formParameters: Record<string, string[]>;
  headers: Record<string, string>;
}

/** Curity's ScriptDelegation, reduced to plain data. */
export interface DelegationView {
  id: string;
  clientId: string;
  scope: string;
  claims: Record<string, unknown>;
}

export interface PresentedTokenInput {
  /** The raw token value as presented. */
  value: string;
  /** The declared token type URI. */
  type: string;
  /** Validated claims, or null when the server could not validate the token (unvalidated tokens accepted by the client). */
  claims: Record<string, unknown> | null;
  delegation: DelegationView | null;
}

/** The result of `getInitializedContext(...)` (or the pre-initialized client_credentials context). */
export interface InitializedContextData {
  /** Handle the host uses to find the audiences and scopes it validated; the isolate cannot change them. */
  contextId: number;
  audiences: string[];
  scopes: string[];
  /** Pre-filled claims for `getDefaultAccessTokenData()`. */
  defaultAccessTokenData: Record<string, unknown>;
  defaultDelegationData: DelegationView;
  /** `getDefaultRefreshTokenData()`: null when no refresh token may be issued (client not allowed the grant, an actor present). */
  defaultRefreshTokenData?: Record<string, unknown> | null;
  /** `getDefaultIdTokenData()`: null unless `openid` is among the scopes, as in Curity. */
  defaultIdTokenData?: Record<string, unknown> | null;
  /** `getDefaultIdJagData()`: null unless the exchange asked for an ID-JAG (server/oauth/id-jag.ts). */
  defaultIdJagData?: Record<string, unknown> | null;
  /** `getDefaultTransactionTokenData()`: null unless the exchange asked for a Txn-Token (server/oauth/txn-token.ts). */
  defaultTransactionTokenData?: Record<string, unknown> | null;
}

/** The refresh flow's presented refresh token (Curity's `context.presentedToken` and `context.delegation`). */
export interface RefreshFlowInput {
  /** The refresh token's data: the claims the next access token is made from. */
  data: Record<string, unknown>;
  delegation: DelegationView;
}

export interface ProcedureInput {
  flow: FlowId;
  client: ProcedureClientView;
  request: ProcedureRequestView;
  /** Token exchange only. */
  subjectToken: PresentedTokenInput | null;
  actorToken: PresentedTokenInput | null;
  requestedScopes: string[];
  requestedAudiences: string[];
  requestedTokenType: string | null;
  /** client_credentials and refresh: the context is already initialized. Token exchange: null until getInitializedContext. */
  initialized: InitializedContextData | null;
  /** The refresh flow only. */
  refresh?: RefreshFlowInput;
  /** The jwt-bearer flow only (oauth-token-jwt-assertion): the validated assertion. */
  assertion?: JwtAssertionInput;
  /** Token exchange: the `request_context` and `request_details` parameters as parsed JSON objects (null: not sent). */
  requestContext?: Record<string, unknown> | null;
  requestDetails?: Record<string, unknown> | null;
}

/** The jwt-bearer grant's assertion, validated by the host: its claims, never its value. */
export interface JwtAssertionInput {
  claims: Record<string, unknown>;
}

/**
 * `accessTokenIssuer` / `getDefaultAccessTokenJwtIssuer()` → access_token; `jwtIssuer` → jwt;
 * `idTokenIssuer` → id_token; `refreshTokenIssuer` → refresh_token; `idJagIssuer` → id_jag;
 * `transactionTokenIssuer` → txn_token.
 */
export type IssuerKind = 'access_token' | 'jwt' | 'id_token' | 'refresh_token' | 'id_jag' | 'txn_token';

export interface InitializeRequest {
  audiences: string[];
  scopes: string[];
  subjectAttributes: Record<string, unknown>;
  contextAttributes: Record<string, unknown>;
}

export interface IssueRequest {
  kind: IssuerKind;
  /** `getDefaultAccessTokenJwtIssuer()`: a JWT whatever the client's access token format. */
  jwt?: boolean;
  contextId: number;
  data: Record<string, unknown>;
  delegation: Record<string, unknown> | null;
}

/**
 * Host services for one call. Synchronous: the isolate waits for them. A refusal is a Result, not
 * an exception; the prelude turns it into the matching OAuth error inside the script.
 */
export interface ProcedureHost {
  initialize(request: InitializeRequest): Result<InitializedContextData, OAuthError>;
  issue(request: IssueRequest): Result<{ token: string }, OAuthError>;
  /**
   * Forgets what an attempt issued: a call stopped on the synchronous path is run again from the
   * start on the procedure's own thread, and only the second attempt's tokens may be answered.
   */
  reset?(): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ProcedureLogSink {
  (level: LogLevel, message: string): void;
}

export interface SourceLocation {
  line: number;
  column: number;
}

export interface CompileDiagnostic extends SourceLocation {
  message: string;
}

export type CompileResult = { ok: true } | { ok: false; diagnostics: CompileDiagnostic[] };

export type FailureReason =
  | 'compile_error'
  | 'runtime_error'
  | 'timeout'
  | 'memory_limit'
  | 'result_too_large'
  | 'invalid_result'
  | 'no_result'
  | 'issue_limit'
  /** Not run: the procedure keeps failing on its limits and is suspended for a while (see path-selector.ts). */
  | 'suspended';

export type ProcedureOutcome =
  /** The procedure returned an object: the response body, still to be checked by the caller. */
  | { kind: 'response'; body: Record<string, unknown> }
  /** exceptionFactory errors, and host refusals the script did not catch: the OAuthError itself. */
  | ({ kind: 'oauth_error' } & OAuthError)
  /** Anything else: the client sees a generic server_error; `message` and `location` are for logs and the CLI. */
  | { kind: 'failure'; reason: FailureReason; message: string; location: SourceLocation | null };

export interface ProcedureRef {
  id: string;
  source: string;
  sha256: string;
  /** Shown in diagnostics, e.g. the file path in the CLI. */
  filename?: string;
  /**
   * Keeps this procedure's isolates, paths and suspensions apart from those of the same id without
   * a namespace (an admin dry run of a draft on the server's engine). Never shown.
   */
  namespace?: string;
}

export interface RunOptions {
  requestId: string;
  log: ProcedureLogSink;
}

export interface SandboxStats {
  isolates: number;
  procedures: number;
  /** Procedure versions (per client) on each path: probation and demoted ones run on their own thread. */
  promoted: number;
  probation: number;
  demoted: number;
  /** Promoted calls stopped at the synchronous limit while their script used little CPU (run again; no strike). */
  preemptedStops: number;
  /** Pairs suspended now after repeated limit failures. */
  suspended: number;
}

/**
 * A (procedure version, client) pair that kept failing on its limits is not run until `until`
 * (epoch ms): its calls fail at once. Shared between the worker processes of one server.
 */
export interface ProcedureSuspension {
  procedureId: string;
  clientId: string;
  sha256: string;
  until: number;
}

/** Why the process hosting the sandbox can no longer be trusted to bound a call (see engine options). */
export interface UnrecoverableSandboxEvent {
  reason: 'catastrophic_error' | 'termination_failed';
  procedureId: string;
  detail: string;
}

/** Where an isolate reports an unrecoverable event: the pool slot and version it served. */
export interface UnrecoverableIsolateEvent extends UnrecoverableSandboxEvent {
  slotKey: string;
  sha256: string;
}

export interface ProcedureEngine {
  /** Compiles in a throwaway isolate; nothing runs. */
  compile(source: string, filename?: string): Promise<CompileResult>;
  run(procedure: ProcedureRef, input: ProcedureInput, host: ProcedureHost, options: RunOptions): Promise<ProcedureOutcome>;
  /** Drops the warm isolates of a procedure (e.g. after it was deleted). */
  evict(procedureId: string): void;
  stats(): SandboxStats;
  /** Applies a suspension decided elsewhere (another worker process of the same server). */
  suspend(suspension: ProcedureSuspension): void;
  close(): Promise<void>;
}
