/**
 * The issuance policy behind a procedure's issuers: the `ProcedureHost` of one token request.
 * `getInitializedContext` fixes the audiences and scopes (validated here against the client, on
 * the host, where the script cannot reach them); `issue()` takes every other claim from the
 * procedure's token data, sets iss/iat/jti, caps the lifetime at the server maximum and signs.
 */
import crypto from 'node:crypto';
import type { ClientRecord } from '../store/types.ts';
import type {
  DelegationView,
  HostFailure,
  InitializedContextData,
  InitializeRequest,
  IssueRequest,
  IssuerKind,
  ProcedureHost,
} from '../../sandbox/types.ts';
import type { TokenSigner } from '../tokens/keys.ts';
import { newTokenId } from '../tokens/token-ids.ts';
import { MAX_TOKEN_BYTES } from '../defaults.ts';

export interface IssuedToken {
  kind: IssuerKind;
  token: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

export interface IssuancePolicy {
  signer: TokenSigner;
  maxLifetimeSeconds: number;
  defaultTtlSeconds: number;
  /** Upper bound on issue() calls in one request (the sandbox has its own limit too). */
  maxIssuedTokens: number;
  now: () => number;
}

/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** Claims the server always sets itself. */
const SERVER_CLAIMS = ['iss', 'iat', 'jti', 'aud', 'scope', 'nbf'] as const;
const MAX_CLAIMS_BYTES = MAX_TOKEN_BYTES;

export function scopeSet(scope: string): Set<string> {
  return new Set(scope.split(' ').filter((s) => s !== ''));
}

/** Audiences a client may put in a token: its registered list plus its own id; any when it lists none. */
export function audienceAllowed(client: ClientRecord, audience: string): boolean {
  return client.audiences.length === 0 || client.audiences.includes(audience) || audience === client.client_id;
}

export function defaultAudiences(client: ClientRecord): string[] {
  return client.audiences.length > 0 ? [...client.audiences] : [client.client_id];
}

const failure = (error: HostFailure['error'], description: string): HostFailure => ({ error, description });

/**
 * The one scope rule: every scope well-formed (RFC 6749 §3.3) and within the client's registered
 * scope. Answers the scopes without repeats, in the order asked.
 */
export function allowedScopes(client: ClientRecord, requested: readonly unknown[]): { ok: true; scopes: string[] } | { ok: false; failure: HostFailure } {
  const registered = scopeSet(client.scope);
  const scopes: string[] = [];
  for (const scope of requested) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) return { ok: false, failure: failure('invalid_scope', 'A requested scope is malformed') };
    if (!registered.has(scope)) return { ok: false, failure: failure('invalid_scope', `Scope ${scope} is not allowed for this client`) };
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  return { ok: true, scopes };
}

interface ValidatedContext {
  audiences: string[];
  scopes: string[];
}

export class IssuanceHost implements ProcedureHost {
  readonly issued: IssuedToken[] = [];
  private readonly policy: IssuancePolicy;
  private readonly client: ClientRecord;
  private readonly subjectClaims: Record<string, unknown> | null;
  private readonly contexts = new Map<number, ValidatedContext>();

  constructor(policy: IssuancePolicy, client: ClientRecord, subjectClaims: Record<string, unknown> | null) {
    this.policy = policy;
    this.client = client;
    this.subjectClaims = subjectClaims;
  }

  initialize(request: InitializeRequest): InitializedContextData | HostFailure {
    const allowed = allowedScopes(this.client, request.scopes);
    if (!allowed.ok) return allowed.failure;
    const scopes = allowed.scopes;
    const audiences: string[] = [];
    for (const audience of request.audiences) {
      if (typeof audience !== 'string' || audience === '') return failure('invalid_target', 'An audience is malformed');
      if (!audienceAllowed(this.client, audience)) return failure('invalid_target', `Audience ${audience} is not allowed for this client`);
      if (!audiences.includes(audience)) audiences.push(audience);
    }
    if (audiences.length === 0) audiences.push(...defaultAudiences(this.client));

    const contextId = this.contexts.size + 1;
    this.contexts.set(contextId, { audiences, scopes });
    const now = this.nowSeconds();
    const defaultAccessTokenData: Record<string, unknown> = {
      sub: typeof this.subjectClaims?.sub === 'string' ? this.subjectClaims.sub : this.client.client_id,
      client_id: this.client.client_id,
      aud: audiences.length === 1 ? audiences[0] : audiences,
      iat: now,
      exp: now + (this.client.access_token_ttl || this.policy.defaultTtlSeconds),
    };
    if (scopes.length > 0) defaultAccessTokenData.scope = scopes.join(' ');
    const defaultDelegationData: DelegationView = {
      id: crypto.randomUUID(),
      clientId: this.client.client_id,
      scope: scopes.join(' '),
      claims: {},
    };
    return { contextId, audiences, scopes, defaultAccessTokenData, defaultDelegationData };
  }

  /**
   * A call stopped on the sandbox's synchronous path is run again from the start: what the first
   * attempt issued is never answered. Contexts stay (client_credentials arrives initialized).
   */
  reset(): void {
    this.issued.length = 0;
  }

  issue(request: IssueRequest): { token: string } | HostFailure {
    const context = this.contexts.get(request.contextId);
    if (!context) return failure('server_error', 'The token issuer was used without an initialized context');
    if (this.issued.length >= this.policy.maxIssuedTokens) return failure('server_error', 'Too many tokens issued in one request');
    if (request.data === null || typeof request.data !== 'object' || Array.isArray(request.data)) {
      return failure('server_error', 'issue() needs token data');
    }
    const now = this.nowSeconds();
    const claims: Record<string, unknown> = { ...request.data };
    for (const name of SERVER_CLAIMS) delete claims[name];
    if (typeof claims.sub !== 'string' || claims.sub === '') return failure('server_error', 'Issued token data has no sub');
    if (request.kind === 'access_token' && typeof claims.client_id !== 'string') claims.client_id = this.client.client_id;

    claims.exp = this.lifetimeEnd(request.data.exp, now);
    if ((claims.exp as number) <= now) return failure('invalid_request', 'The token would already be expired');

    const ordered: Record<string, unknown> = {
      iss: this.policy.signer.issuer,
      sub: claims.sub,
      aud: context.audiences.length === 1 ? context.audiences[0] : [...context.audiences],
      ...claims,
      iat: now,
      jti: newTokenId(),
    };
    if (context.scopes.length > 0) ordered.scope = context.scopes.join(' ');
    const serialized = JSON.stringify(ordered);
    if (serialized === undefined || Buffer.byteLength(serialized) > MAX_CLAIMS_BYTES) {
      return failure('server_error', 'Issued token data is too large');
    }
    // `ordered` is already a fresh object built from JSON data (the procedure's parsed payload), so it
    // serves as the issued claims without another parse.
    const typ = request.kind === 'access_token' ? 'at+jwt' : 'JWT';
    // Signed from the text already checked for size: the claims are serialised once.
    const signed = this.policy.signer.sign({ typ }, serialized);
    this.issued.push({ kind: request.kind, token: signed.token, header: signed.header, claims: ordered });
    return { token: signed.token };
  }

  /**
   * The `exp` of an issued token: what the procedure set, never beyond the server maximum (so an
   * `exp` in milliseconds yields a token valid for exactly that maximum); the client's TTL when the
   * procedure set none.
   */
  private lifetimeEnd(requested: unknown, now: number): number {
    const cap = now + this.policy.maxLifetimeSeconds;
    if (typeof requested !== 'number' || !Number.isFinite(requested)) {
      return Math.min(cap, now + (this.client.access_token_ttl || this.policy.defaultTtlSeconds));
    }
    return Math.min(cap, Math.floor(requested));
  }

  private nowSeconds(): number {
    return Math.floor(this.policy.now() / 1000);
  }
}
