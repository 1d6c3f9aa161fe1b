/**
 * Runs one procedure exactly as the token endpoint would, without a server: an in-memory store, a
 * throwaway signing key, the real sandbox, the real grant handlers. `tokenproc run`, `tokenproc
 * test` and the admin dry-run are thin layers over it.
 *
 * Each run gets a store of its own on purpose: a dry run on the server must never write refresh
 * tokens, opaque tokens, revocations, replay entries or audit lines into the real store, nor see
 * another run's. A migrated in-memory SQLite costs about a millisecond; the sandbox engine, the
 * expensive part, is the server's own (or the CLI's one engine for all its runs).
 */
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logging.ts';
import { SqliteStore } from '../store/sqlite.ts';
import {
  GRANT_CLIENT_CREDENTIALS,
  GRANT_JWT_BEARER,
  GRANT_REFRESH_TOKEN,
  GRANT_TOKEN_EXCHANGE,
  type ClientRecord,
  type GrantType,
  type FlowId,
  type TrustedIssuerRecord,
} from '../store/types.ts';
import { EphemeralSigner, type TokenSigner } from '../tokens/keys.ts';
import { createRuntime } from './runtime.ts';
import { createProcedureEngine } from '../../sandbox/engine.ts';
import type { LogLevel, ProcedureEngine, SandboxLimits } from '../../sandbox/types.ts';
import { hashSecret } from '../clients/secrets.ts';
import { TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_REFRESH_TOKEN } from '../tokens/presented-token-validator.ts';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS } from '../defaults.ts';
import type { IssuerKind } from '../../sandbox/types.ts';
import { ID_JAG_TYP } from '../oauth/id-jag.ts';
import { REQUESTER_CLAIM } from '../tokens/lineage.ts';
import type { ResponseCorrection } from '../oauth/procedure-runner.ts';
import { TOKEN_TYPE_TXN_TOKEN, TXN_TOKEN_TYP } from '../tokens/txn-token-types.ts';

/** The throwaway trusted issuer whose key signs assertions made from `assertionClaims` (jwt-assertion flow). */
export const LOCAL_ASSERTION_ISSUER = 'https://idp.tokenproc.local';

/** The issuer of tokens made by the local runner; subject claims are signed as this issuer. */
export const LOCAL_ISSUER = 'https://tokenproc.local';
export const LOCAL_CLIENT_ID = 'local-client';

export interface LocalRunInput {
  flow: FlowId;
  procedure: { id: string; source: string; filename: string };
  /** Client JSON (the admin API's shape); unset members get defaults. */
  client?: Record<string, unknown>;
  /** A real JWT, validated as the server would (its issuer must be trusted, or the client must accept unvalidated tokens). */
  subjectToken?: string;
  /** Or claims, signed by the throwaway key as this server (defaults: sub, aud = the client, iat, exp in 5 min, jti). */
  subjectClaims?: Record<string, unknown>;
  subjectTokenType?: string;
  actorToken?: string;
  actorClaims?: Record<string, unknown>;
  actorTokenType?: string;
  /**
   * The jwt-assertion flow: the claims of the presented assertion, an ID-JAG signed by a throwaway
   * trusted issuer (defaults: iss that issuer, sub "local-user", aud = this server's issuer,
   * client_id = the client, iat, exp in 5 min, jti). An `iss` of its own becomes the trusted issuer.
   */
  assertionClaims?: Record<string, unknown>;
  /** Extra form parameters: scope, audience, resource, requested_token_type, custom ones. */
  params?: Array<[string, string]>;
  trustedIssuers?: TrustedIssuerRecord[];
  /** Epoch ms; defaults to the clock. */
  now?: number;
}

export interface LocalIssuedToken {
  kind: IssuerKind;
  /** `opaque`: a reference (opaque access token, refresh token); `claims` is what it resolves to. Absent: a JWT. */
  format?: 'jwt' | 'opaque';
  token: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

export interface LocalRunResult {
  status: number;
  body: Record<string, unknown>;
  issued: LocalIssuedToken[];
  logs: Array<{ level: LogLevel; message: string }>;
  diagnostic: { reason: string; message: string; line: number | null; column: number | null } | null;
  /**
   * Members of the procedure's response the server changed to match the issued token (it logs a
   * warning when it does): what the procedure returned (null when absent) and what was sent.
   * Absent or empty: none.
   */
  corrections?: LocalResponseCorrection[];
}

/** A member of the procedure's response the server changed (it logs a warning when it does). */
export type LocalResponseCorrection = ResponseCorrection;

/** The client secret every local run authenticates with (hashed once per process). */
const localSecret = crypto.randomBytes(24).toString('base64url');
let localSecretHash: Promise<string> | null = null;

/**
 * A local run's procedures live in their own namespace of the engine: a dry run on the server's
 * engine (a draft of procedure `p`, for client `c`) must not take over the isolates, paths or
 * suspensions of the live `p` for `c`.
 */
const LOCAL_RUN_NAMESPACE = 'local-run';

export interface LocalRunner {
  run(input: LocalRunInput): Promise<LocalRunResult>;
  /** Frees what the runner owns: its engine when it made one, not an engine it was given. */
  close(): Promise<void>;
}

export interface LocalRunnerOptions {
  /** The server's engine, for dry runs; without it the runner makes one of its own (the CLI). */
  engine?: ProcedureEngine;
  /** Limits of an engine the runner makes. */
  limits?: Partial<SandboxLimits>;
}

/**
 * A runner for the CLI (`run`, `test`: an engine of its own, closed with the runner) or for the
 * admin dry run (the server's engine, so that compiling at upload and dry runs run where the token
 * endpoint does).
 */
export function createLocalRunner(options: LocalRunnerOptions = {}): LocalRunner {
  let owned: ProcedureEngine | null = null;
  const engine = (): ProcedureEngine => {
    if (options.engine) return options.engine;
    // Failures reach the caller as diagnostics; the engine's own event log stays silent here.
    const silent = { warn: () => undefined, error: () => undefined };
    owned ??= createProcedureEngine({ ...(options.limits ? { limits: options.limits } : {}), logger: silent });
    return owned;
  };
  return {
    run: (input) => runProcedureLocally(input, engine()),
    close: async () => {
      const current = owned;
      owned = null;
      await current?.close();
    },
  };
}

function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}

function localClient(input: LocalRunInput, secretHash: string, nowSeconds: number): ClientRecord {
  const given = input.client ?? {};
  const requestedScope = input.params?.find(([k]) => k === 'scope')?.[1] ?? '';
  const subjectScope = typeof input.subjectClaims?.scope === 'string' ? input.subjectClaims.scope : '';
  const defaultScope = [...new Set(`${requestedScope} ${subjectScope}`.split(' ').filter(Boolean))].join(' ');
  const properties: Record<string, string> = {};
  if (given.properties && typeof given.properties === 'object') {
    for (const [k, v] of Object.entries(given.properties as Record<string, unknown>)) properties[k] = String(v);
  }
  // The refresh flow needs the grant; elsewhere refresh tokens are issued only when the client says so.
  const grantTypes: GrantType[] = [GRANT_TOKEN_EXCHANGE, GRANT_CLIENT_CREDENTIALS];
  const givenGrants = stringArray(given.grant_types) ?? [];
  if (input.flow === 'oauth-token-refresh' || givenGrants.includes(GRANT_REFRESH_TOKEN)) grantTypes.push(GRANT_REFRESH_TOKEN);
  if (input.flow === 'oauth-token-jwt-assertion' || givenGrants.includes(GRANT_JWT_BEARER)) grantTypes.push(GRANT_JWT_BEARER);
  return {
    client_id: typeof given.client_id === 'string' ? given.client_id : LOCAL_CLIENT_ID,
    ...(typeof given.name === 'string' ? { name: given.name } : {}),
    client_secret_hash: secretHash,
    token_endpoint_auth_method: 'client_secret_post',
    jwks: null,
    grant_types: grantTypes,
    scope: typeof given.scope === 'string' ? given.scope : defaultScope,
    audiences: stringArray(given.audiences) ?? [],
    properties,
    procedures: { [input.flow]: input.procedure.id },
    access_token_ttl: typeof given.access_token_ttl === 'number' ? given.access_token_ttl : DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    accept_unvalidated_tokens: given.accept_unvalidated_tokens === true,
    ...(given.access_token_format === 'opaque' || given.access_token_format === 'jwt' ? { access_token_format: given.access_token_format } : {}),
    ...(typeof given.refresh_token_ttl === 'number' ? { refresh_token_ttl: given.refresh_token_ttl } : {}),
    ...(stringArray(given.accepted_audiences) ? { accepted_audiences: stringArray(given.accepted_audiences) } : {}),
    created_at: nowSeconds,
    updated_at: nowSeconds,
  };
}

/** `aud` with `required` in it: the author's value kept, the one the server checks added when missing. */
function withAudience(aud: unknown, required: string): unknown {
  if (aud === required || (Array.isArray(aud) && aud.includes(required))) return aud;
  if (typeof aud === 'string') return [aud, required];
  return Array.isArray(aud) ? [...(aud as unknown[]), required] : required;
}

/**
 * A token made from `--subject-claims`/`--actor-claims`: signed as this server, and meant for the
 * client whatever `aud` the author wrote (the author states the claims the procedure should see).
 * It is recorded as issued to the client, as the host records its own tokens' requesting client;
 * an ID token also gets the client in `aud` (only `aud` counts for one), a Txn-Token the trust domain.
 */
function signClaims(signer: TokenSigner, claims: Record<string, unknown>, clientId: string, tokenType: string, nowSeconds: number): string {
  const payload: Record<string, unknown> = {
    iss: signer.issuer,
    sub: 'local-user',
    aud: tokenType === TOKEN_TYPE_TXN_TOKEN ? signer.issuer : clientId,
    iat: nowSeconds,
    exp: nowSeconds + 300,
    jti: crypto.randomBytes(12).toString('base64url'),
    ...(tokenType === TOKEN_TYPE_TXN_TOKEN ? { txn: crypto.randomUUID() } : {}),
    ...claims,
    [REQUESTER_CLAIM]: clientId,
  };
  // The local configuration's trust domain is its issuer.
  if (tokenType === TOKEN_TYPE_ID_TOKEN) payload.aud = withAudience(payload.aud, clientId);
  if (tokenType === TOKEN_TYPE_TXN_TOKEN) payload.aud = withAudience(payload.aud, signer.issuer);
  const typ = tokenType === TOKEN_TYPE_ID_TOKEN ? 'JWT' : tokenType === TOKEN_TYPE_TXN_TOKEN ? TXN_TOKEN_TYP : 'at+jwt';
  return signer.sign({ typ }, payload).token;
}

const silentStream = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

async function runProcedureLocally(input: LocalRunInput, engine: ProcedureEngine): Promise<LocalRunResult> {
  const started = Date.now();
  const nowMs = input.now ?? started;
  // A fixed `now` still advances with the wall clock during the run.
  const now = input.now === undefined ? Date.now : () => nowMs + (Date.now() - started);
  const nowSeconds = Math.floor(nowMs / 1000);
  const logs: LocalRunResult['logs'] = [];
  const config = loadConfig({ TOKENPROC_ISSUER: LOCAL_ISSUER });
  const signer = new EphemeralSigner(LOCAL_ISSUER);
  const store = SqliteStore.openInMemory();
  try {
    await store.migrate();
    localSecretHash ??= hashSecret(localSecret);
    const client = localClient(input, await localSecretHash, nowSeconds);
    const sha256 = crypto.createHash('sha256').update(input.procedure.source).digest('hex');
    await store.putProcedureVersion({ id: input.procedure.id, flow: input.flow, source: input.procedure.source, sha256 }, 'local');
    await store.putClient(client, 'local');
    for (const issuer of input.trustedIssuers ?? []) await store.putTrustedIssuer(issuer, 'local');
    // The jwt-assertion flow: an ID-JAG from a throwaway issuer this server trusts.
    let assertion: string | null = null;
    if (input.flow === 'oauth-token-jwt-assertion') {
      const given = input.assertionClaims ?? {};
      const assertionSigner = new EphemeralSigner(typeof given.iss === 'string' && given.iss !== '' ? given.iss : LOCAL_ASSERTION_ISSUER);
      await store.putTrustedIssuer({ id: 'local-assertion-issuer', issuer: assertionSigner.issuer, jwks: { keys: [...assertionSigner.publicKeys()] }, created_at: nowSeconds, updated_at: nowSeconds }, 'local');
      const claims = { iss: assertionSigner.issuer, sub: 'local-user', aud: LOCAL_ISSUER, client_id: client.client_id, iat: nowSeconds, exp: nowSeconds + 300, jti: crypto.randomBytes(12).toString('base64url'), ...given };
      assertion = assertionSigner.sign({ typ: ID_JAG_TYP }, claims).token;
    }

    const logger = createLogger({ level: 'error', stream: silentStream() });
    // Only the last procedure run of a request answers (the refresh flow runs the default exchange first).
    let corrections: readonly LocalResponseCorrection[] = [];
    const runtime = await createRuntime({
      config,
      store,
      logger,
      metrics: null,
      engine,
      procedureNamespace: LOCAL_RUN_NAMESPACE,
      signer,
      now,
      procedureObserver: {
        log: (level, message) => logs.push({ level, message }),
        ran: (found) => {
          corrections = found;
        },
      },
    });

    const post = (form: URLSearchParams) =>
      runtime.tokenEndpoint.handle({
        method: 'POST',
        path: '/oauth/v2/oauth-token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        remoteAddress: '127.0.0.1',
        requestId: crypto.randomUUID(),
      });
    const exchangeForm = (params: ReadonlyArray<[string, string]>): URLSearchParams => {
      const form = new URLSearchParams();
      form.set('client_id', client.client_id);
      form.set('client_secret', localSecret);
      form.set('grant_type', GRANT_TOKEN_EXCHANGE);
      const subjectType = input.subjectTokenType ?? TOKEN_TYPE_ACCESS_TOKEN;
      const subject = input.subjectToken ?? signClaims(signer, input.subjectClaims ?? {}, client.client_id, subjectType, nowSeconds);
      form.set('subject_token', subject);
      form.set('subject_token_type', subjectType);
      if (input.actorToken !== undefined || input.actorClaims !== undefined) {
        const actorType = input.actorTokenType ?? TOKEN_TYPE_ACCESS_TOKEN;
        const actorDefaults = { sub: 'local-actor', client_id: client.client_id };
        form.set('actor_token', input.actorToken ?? signClaims(signer, { ...actorDefaults, ...input.actorClaims }, client.client_id, actorType, nowSeconds));
        form.set('actor_token_type', actorType);
      }
      for (const [name, value] of params) form.append(name, value);
      return form;
    };

    let form: URLSearchParams;
    if (input.flow === 'oauth-token-client-credentials') {
      form = new URLSearchParams();
      form.set('client_id', client.client_id);
      form.set('client_secret', localSecret);
      form.set('grant_type', GRANT_CLIENT_CREDENTIALS);
      for (const [name, value] of input.params ?? []) form.append(name, value);
    } else if (input.flow === 'oauth-token-refresh') {
      // The refresh token comes from an exchange of the subject by the built-in default procedure,
      // asked for as the issued token; the procedure under test then runs on the refresh grant.
      const started = await post(exchangeForm([['requested_token_type', TOKEN_TYPE_REFRESH_TOKEN]]));
      if (!started.ok) {
        runtime.cache.stop();
        return { status: started.status, body: started.body, issued: [], logs, diagnostic: started.outcome?.diagnostic ?? null };
      }
      form = new URLSearchParams();
      form.set('client_id', client.client_id);
      form.set('client_secret', localSecret);
      form.set('grant_type', GRANT_REFRESH_TOKEN);
      form.set('refresh_token', String(started.body.access_token));
      for (const [name, value] of input.params ?? []) form.append(name, value);
    } else if (assertion !== null) {
      form = new URLSearchParams();
      form.set('client_id', client.client_id);
      form.set('client_secret', localSecret);
      form.set('grant_type', GRANT_JWT_BEARER);
      form.set('assertion', assertion);
      for (const [name, value] of input.params ?? []) form.append(name, value);
    } else {
      form = exchangeForm(input.params ?? []);
    }

    const result = await post(form);
    runtime.cache.stop();
    return {
      status: result.status,
      body: result.body,
      issued: (result.outcome?.issued ?? []).map((t) => ({ kind: t.kind, format: t.format, token: t.token, header: t.header, claims: t.claims })),
      logs,
      diagnostic: result.outcome?.diagnostic ?? null,
      corrections: result.status === 200 ? [...corrections] : [],
    };
  } finally {
    await store.close();
  }
}
