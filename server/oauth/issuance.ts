/**
 * The issuance policy behind a procedure's issuers: the `ProcedureHost` of one token request.
 * `getInitializedContext` fixes the audiences and scopes (validated here against the client, on
 * the host, where the script cannot reach them); `issue()` takes every other claim from the
 * procedure's token data, sets iss/iat/jti, caps the lifetime at the server maximum and signs.
 */
import crypto from 'node:crypto';
import type { ClientRecord, OpaqueTokenRecord, RefreshTokenRecord } from '../store/types.ts';
import type {
  DelegationView,
  InitializedContextData,
  InitializeRequest,
  IssueRequest,
  IssuerKind,
  ProcedureHost,
} from '../../sandbox/types.ts';
import type { TokenSigner } from '../tokens/keys.ts';
import { newTokenId } from '../tokens/token-ids.ts';
import { LINEAGE_CLAIM, REQUESTER_CLAIM } from '../tokens/lineage.ts';
import type { TxnIssuance } from './txn-token.ts';
import { TXN_TOKEN_TYP } from './txn-token.ts';
import { delegationClaimsDerived } from './delegation-claims.ts';
import { fail, ok, oauthError, type Result } from './errors.ts';
import { MAX_TOKEN_BYTES, OPAQUE_TOKEN_BYTES } from '../defaults.ts';
import { defaultIdJagData, issueIdJag, type IdJagTarget } from './id-jag.ts';

/** A signed JWT, or a random reference whose claims are stored (opaque access tokens, refresh tokens). */
export type IssuedTokenFormat = 'jwt' | 'opaque';

/** What is stored for an issued reference token, if (and only if) the response carries it. */
export type IssuedTokenRecord = { refresh: RefreshTokenRecord } | { opaque: OpaqueTokenRecord };

export interface IssuedToken {
  kind: IssuerKind;
  format: IssuedTokenFormat;
  token: string;
  /** The JWS header; empty for a reference token. */
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** Reference tokens only. */
  record?: IssuedTokenRecord;
}

/** What a refresh token stores besides its claims: enough to issue the next access token. */
export interface RefreshTokenData {
  claims: Record<string, unknown>;
  delegation: DelegationView;
  /** The lineage of the family (server/tokens/lineage.ts), without the family id itself. */
  lineage: string[];
}

/** What a request that may issue a refresh token issues it into. */
export interface RefreshAllowance {
  familyId: string;
  /** The family's end (epoch seconds): no refresh token of it lives longer. */
  expiresAt: number;
  lineage: readonly string[];
  /** The refresh grant keeps the family's scope whatever the new access token's (RFC 6749 §6). */
  scope?: string;
}

/** Whether this request may issue a refresh token, and into which family; the refusal otherwise. */
export type RefreshPermission = Result<RefreshAllowance>;

/** The lifecycle side of one request's issuance: lineage and refresh tokens. */
export interface IssuanceLifecycle {
  /** The `tkp_chain` claim of every token this request issues (not refresh tokens: they keep theirs in RefreshTokenData). */
  lineage: readonly string[];
  refresh: RefreshPermission;
}

const NO_LIFECYCLE: IssuanceLifecycle = {
  lineage: [],
  refresh: fail(oauthError('unauthorized_client', 'Refresh tokens are not issued here')),
};

/** A new opaque token value (256 random bits) and the hash it is stored under. */
export function newReferenceToken(): { value: string; hash: string } {
  const value = crypto.randomBytes(OPAQUE_TOKEN_BYTES).toString('base64url');
  return { value, hash: referenceTokenHash(value) };
}

/** Refresh tokens and opaque access tokens are stored by this hash of their value, never by the value. */
export function referenceTokenHash(value: string): string {
  return crypto.createHash('sha256').update(value, 'utf8').digest('base64url');
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
/** Claims the server always sets itself (the lineage claim included: no procedure can set or remove it). */
const SERVER_CLAIMS = ['iss', 'iat', 'jti', 'aud', 'scope', 'nbf', LINEAGE_CLAIM, REQUESTER_CLAIM] as const;
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

/**
 * The one scope rule: every scope well-formed (RFC 6749 §3.3) and within the client's registered
 * scope. Answers the scopes without repeats, in the order asked.
 */
export function allowedScopes(client: ClientRecord, requested: readonly unknown[]): Result<string[]> {
  const registered = scopeSet(client.scope);
  const scopes: string[] = [];
  for (const scope of requested) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) return fail(oauthError('invalid_scope', 'A requested scope is malformed'));
    if (!registered.has(scope)) return fail(oauthError('invalid_scope', `Scope ${scope} is not allowed for this client`));
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  return ok(scopes);
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
  private readonly lifecycle: IssuanceLifecycle;
  private readonly contexts = new Map<number, ValidatedContext>();
  /** Set when this request asked for an ID-JAG (server/oauth/id-jag.ts): idJagIssuer works only then. */
  idJag: IdJagTarget | null = null;
  /** Set when this request asked for a Txn-Token (server/oauth/txn-token.ts): transactionTokenIssuer works only then. */
  txn: TxnIssuance | null = null;
  /** The validated actor token's claims (token exchange): `act` may name that actor (delegation-claims.ts). */
  actorClaims: Record<string, unknown> | null = null;

  private requestTime: number | undefined;

  constructor(policy: IssuancePolicy, client: ClientRecord, subjectClaims: Record<string, unknown> | null, lifecycle: IssuanceLifecycle = NO_LIFECYCLE) {
    this.policy = policy;
    this.client = client;
    this.subjectClaims = subjectClaims;
    this.lifecycle = lifecycle;
  }

  initialize(request: InitializeRequest): Result<InitializedContextData> {
    const allowed = allowedScopes(this.client, request.scopes);
    if (!allowed.ok) return allowed;
    const scopes = allowed.value;
    const audiences: string[] = [];
    if (this.txn !== null) {
      // A Txn-Token's audience is the trust domain, its scope within the subject's too.
      const fixed = this.txn.audiences(request.audiences);
      if (!fixed.ok) return fixed;
      const scopesChecked = this.txn.checkScopes(scopes);
      if (!scopesChecked.ok) return scopesChecked;
      audiences.push(...fixed.value);
    }
    for (const audience of this.txn !== null ? [] : request.audiences) {
      if (typeof audience !== 'string' || audience === '') return fail(oauthError('invalid_target', 'An audience is malformed'));
      if (!audienceAllowed(this.client, audience)) return fail(oauthError('invalid_target', `Audience ${audience} is not allowed for this client`));
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
    const refresh = this.lifecycle.refresh;
    let defaultRefreshTokenData: Record<string, unknown> | null = null;
    if (refresh.ok) {
      defaultRefreshTokenData = { ...defaultAccessTokenData, exp: refresh.value.expiresAt };
      const refreshScope = refresh.value.scope ?? defaultAccessTokenData.scope;
      if (typeof refreshScope === 'string' && refreshScope !== '') defaultRefreshTokenData.scope = refreshScope;
    }
    // As in Curity: ID token data only when `openid` was granted.
    const defaultIdTokenData = scopes.includes('openid')
      ? { sub: defaultAccessTokenData.sub, aud: this.client.client_id, azp: this.client.client_id, iat: now, exp: defaultAccessTokenData.exp }
      : null;
    const defaultIdJag = this.idJag ? defaultIdJagData(this.idJag, scopes, now) : null;
    return ok({ contextId, audiences, scopes, defaultAccessTokenData, defaultDelegationData, defaultRefreshTokenData, defaultIdTokenData, defaultIdJagData: defaultIdJag, defaultTransactionTokenData: this.txn ? this.txn.defaultData(scopes, now) : null });
  }

  /**
   * A call stopped on the sandbox's synchronous path is run again from the start: what the first
   * attempt issued is never answered. Contexts stay (client_credentials arrives initialized).
   */
  reset(): void {
    this.issued.length = 0;
  }

  issue(request: IssueRequest): Result<{ token: string }> {
    const context = this.contexts.get(request.contextId);
    if (!context) return fail(oauthError('server_error', 'The token issuer was used without an initialized context'));
    if (this.issued.length >= this.policy.maxIssuedTokens) return fail(oauthError('server_error', 'Too many tokens issued in one request'));
    if (request.data === null || typeof request.data !== 'object' || Array.isArray(request.data)) {
      return fail(oauthError('server_error', 'issue() needs token data'));
    }
    if (request.kind === 'refresh_token') return this.issueRefreshToken(request, context);
    if (request.kind === 'id_jag') {
      if (this.idJag === null) return fail(oauthError('invalid_request', 'An ID-JAG is issued only when requested_token_type is urn:ietf:params:oauth:token-type:id-jag'));
      const jag = issueIdJag(this.policy.signer, this.idJag, context.scopes, request.data, this.nowSeconds());
      if (!jag.ok) return jag;
      this.issued.push({ kind: 'id_jag', format: 'jwt', token: jag.value.token, header: jag.value.header, claims: jag.value.claims });
      return ok({ token: jag.value.token });
    }
    const derived = delegationClaimsDerived(request.data, this.subjectClaims, this.actorClaims);
    if (!derived.ok) return derived;
    if (request.kind === 'txn_token') return this.issueTransactionToken(request, context);
    const now = this.nowSeconds();
    const claims: Record<string, unknown> = { ...request.data };
    for (const name of SERVER_CLAIMS) delete claims[name];
    if (typeof claims.sub !== 'string' || claims.sub === '') return fail(oauthError('server_error', 'Issued token data has no sub'));
    if (request.kind === 'access_token' && typeof claims.client_id !== 'string') claims.client_id = this.client.client_id;

    claims.exp = this.lifetimeEnd(request.data.exp, now);
    if ((claims.exp as number) <= now) return fail(oauthError('invalid_request', 'The token would already be expired'));

    const ordered: Record<string, unknown> = {
      iss: this.policy.signer.issuer,
      sub: claims.sub,
      aud: context.audiences.length === 1 ? context.audiences[0] : [...context.audiences],
      ...claims,
      iat: now,
      jti: newTokenId(),
    };
    if (context.scopes.length > 0) ordered.scope = context.scopes.join(' ');
    // The lineage is the host's (server/tokens/lineage.ts); absent when the token derives from nothing.
    if (this.lifecycle.lineage.length > 0) ordered[LINEAGE_CLAIM] = [...this.lifecycle.lineage];
    // Who asked for it, as the host authenticated it: "issued to the caller" is decided from this.
    ordered[REQUESTER_CLAIM] = this.client.client_id;
    const serialized = JSON.stringify(ordered);
    if (serialized === undefined || Buffer.byteLength(serialized) > MAX_CLAIMS_BYTES) {
      return fail(oauthError('server_error', 'Issued token data is too large'));
    }
    // `ordered` is already a fresh object built from JSON data (the procedure's parsed payload), so it
    // serves as the issued claims without another parse.
    if (request.kind === 'access_token' && request.jwt !== true && this.client.access_token_format === 'opaque') {
      // accessTokenIssuer issues the client's format; it is stored only if the response carries it.
      const reference = newReferenceToken();
      const record: OpaqueTokenRecord = { token_hash: reference.hash, client_id: this.client.client_id, claims: ordered, expires_at: claims.exp as number };
      this.issued.push({ kind: request.kind, format: 'opaque', token: reference.value, header: {}, claims: ordered, record: { opaque: record } });
      return ok({ token: reference.value });
    }
    const typ = request.kind === 'access_token' ? 'at+jwt' : 'JWT';
    // Signed from the text already checked for size: the claims are serialised once.
    const signed = this.policy.signer.sign({ typ }, serialized);
    this.issued.push({ kind: request.kind, format: 'jwt', token: signed.token, header: signed.header, claims: ordered });
    return ok({ token: signed.token });
  }

  /**
   * A refresh token: a random reference to what the next access token is made from. Only when the
   * request may issue one (the client is allowed the refresh_token grant, no actor is present); its
   * client is always the caller, its life ends with its family, and its scope is the context's (the
   * family's, in the refresh grant).
   */
  private issueRefreshToken(request: IssueRequest, context: ValidatedContext): Result<{ token: string }> {
    if (!this.lifecycle.refresh.ok) return this.lifecycle.refresh;
    const permission = this.lifecycle.refresh.value;
    const now = this.nowSeconds();
    const claims: Record<string, unknown> = { ...request.data };
    for (const name of SERVER_CLAIMS) delete claims[name];
    if (typeof claims.sub !== 'string' || claims.sub === '') return fail(oauthError('server_error', 'Issued token data has no sub'));
    const requestedExp = request.data.exp;
    const exp = typeof requestedExp === 'number' && Number.isFinite(requestedExp) ? Math.min(Math.floor(requestedExp), permission.expiresAt) : permission.expiresAt;
    if (exp <= now) return fail(oauthError('invalid_request', 'The refresh token would already be expired'));
    const scope = permission.scope ?? context.scopes.join(' ');
    const ordered: Record<string, unknown> = {
      iss: this.policy.signer.issuer,
      sub: claims.sub,
      aud: context.audiences.length === 1 ? context.audiences[0] : [...context.audiences],
      ...claims,
      client_id: this.client.client_id,
      exp,
      iat: now,
      jti: newTokenId(),
    };
    if (scope !== '') ordered.scope = scope;
    ordered[REQUESTER_CLAIM] = this.client.client_id;
    const serialized = JSON.stringify(ordered);
    if (serialized === undefined || Buffer.byteLength(serialized) > MAX_CLAIMS_BYTES) return fail(oauthError('server_error', 'Issued token data is too large'));
    const delegationId = typeof request.delegation?.id === 'string' && request.delegation.id !== '' ? request.delegation.id : permission.familyId;
    const data: RefreshTokenData = {
      claims: ordered,
      delegation: { id: delegationId, clientId: this.client.client_id, scope, claims: ordered },
      lineage: [...permission.lineage],
    };
    const reference = newReferenceToken();
    const record: RefreshTokenRecord = {
      token_hash: reference.hash,
      family_id: permission.familyId,
      client_id: this.client.client_id,
      data: { ...data },
      issued_at: now,
      expires_at: exp,
      used_at: null,
    };
    this.issued.push({ kind: 'refresh_token', format: 'opaque', token: reference.value, header: {}, claims: ordered, record: { refresh: record } });
    return ok({ token: reference.value });
  }

  /**
   * A Txn-Token (server/oauth/txn-token.ts): only in a request that asked for one; its claims are
   * the TxnIssuance's, with iss, iat, jti, the lineage and the requesting client set here.
   */
  private issueTransactionToken(request: IssueRequest, context: ValidatedContext): Result<{ token: string }> {
    if (this.txn === null) return fail(oauthError('invalid_request', 'A Txn-Token is issued only when requested_token_type is urn:ietf:params:oauth:token-type:txn_token'));
    const now = this.nowSeconds();
    const data: Record<string, unknown> = { ...request.data };
    for (const name of SERVER_CLAIMS) delete data[name];
    const built = this.txn.claims(data, context.scopes, this.client.client_id, now, this.policy.maxLifetimeSeconds);
    if (!built.ok) return built;
    const ordered: Record<string, unknown> = { iss: this.policy.signer.issuer, iat: now, ...built.value, jti: newTokenId() };
    if (this.lifecycle.lineage.length > 0) ordered[LINEAGE_CLAIM] = [...this.lifecycle.lineage];
    ordered[REQUESTER_CLAIM] = this.client.client_id;
    const serialized = JSON.stringify(ordered);
    if (serialized === undefined || Buffer.byteLength(serialized) > MAX_CLAIMS_BYTES) return fail(oauthError('server_error', 'Issued token data is too large'));
    const signed = this.policy.signer.sign({ typ: TXN_TOKEN_TYP }, serialized);
    this.issued.push({ kind: 'txn_token', format: 'jwt', token: signed.token, header: signed.header, claims: ordered });
    return ok({ token: signed.token });
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

  /**
   * One time for the whole request: the defaults `getInitializedContext` offers (`iat`, `exp`) and
   * what `issue()` sets agree even when the request crosses a second (a default 300 s token is
   * 300 s, not 299).
   */
  private nowSeconds(): number {
    this.requestTime ??= Math.floor(this.policy.now() / 1000);
    return this.requestTime;
  }
}
