/**
 * Validation of presented subject and actor tokens (RFC 8693 §2.1) before any procedure runs.
 *
 * Outcomes:
 * - `valid`: a JWS from this server or a trusted issuer that passed every check below;
 * - `unvalidated`: not a JWT at all (an opaque value), or a JWT with no `iss` or an `iss` nobody
 *   trusts. Allowed only for clients with `accept_unvalidated_tokens` (the procedure then sees
 *   `null` and the raw value, as in Curity);
 * - `invalid`: anything else. Always refused with `invalid_request`.
 *
 * Checks, in this order (cheap and key-free first, so a hostile token never causes a fetch):
 * 1. the declared type is access_token, jwt, id_token, or txn_token (a Txn-Token of this server,
 *    presented for a replacement);
 * 2. size, compact JWS shape, canonical base64url, strict JSON without duplicate members,
 *    `alg` in the allowlist (asymmetric only), no `crit` (see jws-guards.ts);
 * 3. `typ` by declared type: access_token needs `at+jwt` (RFC 9068 §2.1); id_token needs `typ`
 *    absent or `JWT`; jwt accepts absent, `JWT` or `at+jwt` (any ordinary signed JWT, including
 *    access tokens) but not other explicitly typed JWTs (`dpop+jwt`, `logout+jwt`, `txntoken+jwt`,
 *    ...), which are never meant to be exchanged (RFC 8725 §3.11); txn_token needs `txntoken+jwt`,
 *    so a Txn-Token is never accepted as an access token, nor an access token as a Txn-Token;
 * 4. `iss` equal to this server's issuer (own keys) or to a trusted issuer's `issuer` (its keys);
 *    then that issuer's `allowed_algs`, when set; a txn_token only from this server;
 * 5. claim shapes; `exp` required; `exp`/`nbf`/`iat` within the clock skew;
 * 6. meant for the caller: `aud` includes the caller's client id or one of its
 *    `accepted_audiences`, or the token was issued to the caller: for this server's tokens the
 *    requesting client the host recorded (lineage.ts REQUESTER_CLAIM, which no procedure can set;
 *    never the procedure-set `client_id`), for a trusted issuer's its `client_id` claim (for
 *    id_token only `aud` counts, and `azp`, when present, must be the caller). A trusted issuer
 *    with `audiences` further requires `aud` to include one of them; both must hold. A txn_token
 *    is meant for any workload of the trust domain: its `aud` must be the trust domain;
 * 7. the signature, with a key chosen only from the issuer's registered set, by `kid` (or every
 *    key fitting the algorithm when there is no `kid`). `jku`, `x5u`, `jwk` and `x5c` headers are
 *    ignored: they never select a key and are never fetched. Only a trusted issuer with a
 *    `jwks_uri` ever causes a request, and only at this step.
 */
import type { TrustedIssuerRecord } from '../store/types.ts';
import {
  DEFAULT_ALLOWED_ALGORITHMS,
  isAsymmetricSignatureAlgorithm,
  isKeyUsableFor,
  normalizedTyp,
  parseCompactJws,
} from './jws-guards.ts';
import type { CompactJwsProblem, JsonWebKeyLike, ParsedCompactJws } from './jws-guards.ts';
import { ECDSA_SCALAR_BYTES, isLowS } from './ecdsa-signature.ts';
import { importVerificationKey, verifySignature, verifySignatureOffThread } from './jws-verify.ts';
import type { VerificationKey } from './jws-verify.ts';
import { RemoteJwksCache } from './remote-jwks.ts';
import { MAX_TOKEN_BYTES } from '../defaults.ts';
import type { JwksFetchProblem } from './remote-jwks.ts';
import { requesterOf } from './lineage.ts';
import { TOKEN_TYPE_TXN_TOKEN, TXN_TOKEN_TYP } from './txn-token-types.ts';
import { inSpan } from '../observability/tracing.ts';

export type { JsonWebKeyLike } from './jws-guards.ts';
export type { JwksFetchProblem } from './remote-jwks.ts';

export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
export const TOKEN_TYPE_REFRESH_TOKEN = 'urn:ietf:params:oauth:token-type:refresh_token';
export const SUPPORTED_PRESENTED_TOKEN_TYPES: readonly string[] = [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN];

/** The most clock skew the spec allows (seconds). */
export const MAX_CLOCK_SKEW_SECONDS = 60;
export const DEFAULT_MAX_TOKEN_BYTES = MAX_TOKEN_BYTES;
export const DEFAULT_JWKS_FETCH_TIMEOUT_MS = 3_000;
export const DEFAULT_JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
export const DEFAULT_JWKS_REFRESH_COOLDOWN_MS = 60_000;
export const DEFAULT_JWKS_FAILURE_BACKOFF_MS = 5_000;
export const DEFAULT_JWKS_MAX_RESPONSE_BYTES = 256 * 1024;
/** With no `kid`, at most this many registered keys are tried. */
const MAX_KEYS_TRIED_WITHOUT_KID = 5;
/** Imported verification keys kept between requests; the cache is emptied when it reaches this. */
const MAX_IMPORTED_KEYS = 256;

export interface PresentedTokenValidatorOptions {
  /** This server's issuer (the `iss` of its tokens). */
  issuer: string;
  /** This server's public JWKs (current and retired signing keys). Private members make a key unusable. */
  ownPublicKeys(): readonly JsonWebKeyLike[];
  /** Trusted issuers as stored; the caller caches them. */
  trustedIssuers(): readonly TrustedIssuerRecord[];
  /** Injectable so tests can count outbound requests. */
  fetch?: typeof globalThis.fetch;
  /** Epoch milliseconds. */
  now?: () => number;
  /** Default 60, at most 60. */
  clockSkewSeconds?: number;
  /** Default MAX_TOKEN_BYTES (16 KiB). */
  maxTokenBytes?: number;
  /** Default 3000. */
  jwksFetchTimeoutMs?: number;
  /** Default 10 minutes. */
  jwksCacheMaxAgeMs?: number;
  /** Refresh on unknown `kid` at most this often per issuer. Default 60 000. */
  jwksRefreshCooldownMs?: number;
  /** No new fetch this long after a failed one. Default 5000. */
  jwksFailureBackoffMs?: number;
  /** Largest JWKS response read. Default 256 KiB. */
  jwksMaxResponseBytes?: number;
  /** Default: RS256..512, PS256..512, ES256/384/512, EdDSA. `none` and HS* are refused at construction. */
  allowedAlgorithms?: readonly string[];
  /** Why a JWKS fetch failed, for operators' logs (never sent to clients). */
  onJwksFetchError?: (issuerId: string, problem: JwksFetchProblem) => void;
  /**
   * True when signature checks should run on the thread pool (the event loop is busy); default
   * never: on the calling thread (jws-verify.ts says when each is cheaper).
   */
  offloadSignatureChecks?: () => boolean;
  /** Opaque access tokens and revocation (see OwnTokenLifecycle); without it, neither exists. */
  lifecycle?: OwnTokenLifecycle;
}

/**
 * The token-lifecycle hook (server/oauth/token-lifecycle.ts): this server's opaque access tokens
 * and revocation. Kept apart from the signature checks: it only resolves a non-JWT value to the
 * stored claims of one of our opaque tokens, and says whether a token of ours (its `jti` or an
 * ancestor in its lineage) is revoked.
 */
export interface OwnTokenLifecycle {
  /** The stored claims of an unexpired opaque access token of this server, or null. May throw StoreUnavailableError. */
  resolveOpaque(token: string): Promise<Record<string, unknown> | null>;
  isRevoked(claims: Record<string, unknown>): boolean;
}

export interface PresentedTokenRequest {
  token: string;
  /** The declared `subject_token_type` / `actor_token_type` URI. */
  tokenType: string;
  callerClientId: string;
  /** The caller's `accepted_audiences`: `aud` values that also mark a token as meant for it. */
  acceptedAudiences?: readonly string[];
  /** The trust domain (TOKENPROC_TRUST_DOMAIN): the `aud` a presented txn_token must name. */
  trustDomain?: string;
  role: 'subject' | 'actor';
}

export type PresentedTokenSource = { kind: 'self' } | { kind: 'trusted'; id: string; issuer: string };

export type PresentedTokenValidation =
  | { status: 'valid'; claims: Record<string, unknown>; header: Record<string, unknown>; source: PresentedTokenSource }
  /** Not a JWT at all, or an `iss` no one trusts: allowed only for opted-in clients. */
  | { status: 'unvalidated'; reason: string }
  /** Everything else: always refused. */
  | { status: 'invalid'; reason: string };

type ResolvedIssuer =
  | { kind: 'self' }
  | { kind: 'trusted'; record: TrustedIssuerRecord };

export type SignatureOutcome = 'verified' | 'bad_signature' | 'unknown_key' | 'keys_unavailable';

/** Public members by key type: only these reach the crypto layer (no x5c, key_ops or ext quirks). */
const PUBLIC_JWK_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['n', 'e'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
};

const STRUCTURAL_REASONS: Readonly<Record<Exclude<CompactJwsProblem, 'not_jwt'>, string>> = {
  empty: 'is empty',
  too_large: 'is too large',
  encrypted: 'is encrypted, which is not supported',
  malformed: 'is not a well-formed JWT',
  duplicate_member: 'has duplicate member names',
  disallowed_alg: 'uses a signing algorithm that is not allowed',
  critical_header: 'has a critical header that is not supported',
};

/**
 * This server's ECDSA tokens carry low-S signatures, so each has one string (ecdsa-signature.ts);
 * the other string of the same signature is refused. Tokens issued before the server normalised S
 * (earlier versions, up to 2026-12-05) keep either form until they expire.
 */
const LOW_S_REQUIRED_FROM = Date.UTC(2026, 11, 6) / 1000;

function canonicalOwnSignature(alg: string, signature: Uint8Array, claims: Record<string, unknown>): boolean {
  const scalarBytes = ECDSA_SCALAR_BYTES[alg];
  if (scalarBytes === undefined) return true;
  if (typeof claims.iat === 'number' && claims.iat < LOW_S_REQUIRED_FROM) return true;
  return isLowS(signature, scalarBytes);
}

export class PresentedTokenValidator {
  private readonly issuer: string;
  private readonly ownPublicKeys: () => readonly JsonWebKeyLike[];
  private readonly trustedIssuers: () => readonly TrustedIssuerRecord[];
  private readonly now: () => number;
  private readonly offload: () => boolean;
  private readonly clockSkewSeconds: number;
  private readonly maxTokenBytes: number;
  private readonly allowedAlgorithms: ReadonlySet<string>;
  private readonly remoteJwks: RemoteJwksCache;
  private readonly importedKeys = new Map<string, VerificationKey>();
  private readonly keysByJwk = new WeakMap<JsonWebKeyLike, VerificationKey>();
  private readonly lifecycle: OwnTokenLifecycle | null;

  constructor(options: PresentedTokenValidatorOptions) {
    if (typeof options.issuer !== 'string' || options.issuer.length === 0) throw new TypeError('issuer is required');
    const algorithms = options.allowedAlgorithms ?? DEFAULT_ALLOWED_ALGORITHMS;
    for (const alg of algorithms) {
      if (!isAsymmetricSignatureAlgorithm(alg)) throw new RangeError(`algorithm ${alg} cannot be allowed for presented tokens`);
    }
    const skew = options.clockSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS;
    if (!Number.isFinite(skew) || skew < 0 || skew > MAX_CLOCK_SKEW_SECONDS) {
      throw new RangeError(`clockSkewSeconds must be between 0 and ${MAX_CLOCK_SKEW_SECONDS}`);
    }
    const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
    if (!Number.isInteger(maxTokenBytes) || maxTokenBytes <= 0) throw new RangeError('maxTokenBytes must be a positive integer');

    this.issuer = options.issuer;
    this.ownPublicKeys = options.ownPublicKeys;
    this.trustedIssuers = options.trustedIssuers;
    this.now = options.now ?? Date.now;
    this.offload = options.offloadSignatureChecks ?? (() => false);
    this.clockSkewSeconds = skew;
    this.maxTokenBytes = maxTokenBytes;
    this.allowedAlgorithms = new Set(algorithms);
    this.lifecycle = options.lifecycle ?? null;
    this.remoteJwks = new RemoteJwksCache({
      fetch: options.fetch ?? globalThis.fetch,
      now: this.now,
      timeoutMs: options.jwksFetchTimeoutMs ?? DEFAULT_JWKS_FETCH_TIMEOUT_MS,
      maxAgeMs: options.jwksCacheMaxAgeMs ?? DEFAULT_JWKS_CACHE_MAX_AGE_MS,
      refreshCooldownMs: options.jwksRefreshCooldownMs ?? DEFAULT_JWKS_REFRESH_COOLDOWN_MS,
      failureBackoffMs: options.jwksFailureBackoffMs ?? DEFAULT_JWKS_FAILURE_BACKOFF_MS,
      maxResponseBytes: options.jwksMaxResponseBytes ?? DEFAULT_JWKS_MAX_RESPONSE_BYTES,
      onFetchError: options.onJwksFetchError,
    });
  }

  /** Drop cached remote JWKS (after a trusted issuer changes). */
  invalidate(issuerId?: string): void {
    this.remoteJwks.invalidate(issuerId);
    this.importedKeys.clear();
  }

  async validate(request: PresentedTokenRequest): Promise<PresentedTokenValidation> {
    return inSpan('tokenproc.presented_token_validation', {}, async (span) => {
      const result = await this.validateUntraced(request);
      // The role, declared type and verdict: never the token nor its claims.
      if (span.isRecording()) {
        span.setAttributes({
          'tokenproc.token.role': request.role,
          'tokenproc.token.type': request.tokenType,
          'tokenproc.token.status': result.status,
          ...(result.status === 'valid' ? { 'tokenproc.token.source': result.source.kind === 'self' ? 'self' : result.source.id } : {}),
        });
      }
      return result;
    });
  }

  private async validateUntraced(request: PresentedTokenRequest): Promise<PresentedTokenValidation> {
    const name = `${request.role}_token`;
    const invalid = (what: string): PresentedTokenValidation => ({ status: 'invalid', reason: `${name} ${what}` });

    if (!SUPPORTED_PRESENTED_TOKEN_TYPES.includes(request.tokenType) && request.tokenType !== TOKEN_TYPE_TXN_TOKEN) {
      return { status: 'invalid', reason: `unsupported ${name}_type` };
    }

    const parsed = parseCompactJws(request.token, this.maxTokenBytes, this.allowedAlgorithms);
    if (!parsed.ok) {
      if (parsed.problem === 'not_jwt') return this.validateOpaque(request, name);
      return invalid(STRUCTURAL_REASONS[parsed.problem]);
    }
    const { header, claims, alg, kid, signingInput, signature } = parsed.jws;

    if (!typAcceptedFor(request.tokenType, normalizedTyp(header))) return invalid('has the wrong typ for its token type');

    const iss = claims.iss;
    if (iss === undefined) return { status: 'unvalidated', reason: `${name} has no issuer` };
    if (typeof iss !== 'string') return invalid('has a malformed iss claim');
    const resolved = this.resolveIssuer(iss);
    if (!resolved) return { status: 'unvalidated', reason: `${name} is not from a trusted issuer` };
    if (request.tokenType === TOKEN_TYPE_TXN_TOKEN && resolved.kind !== 'self') return invalid('is not a Txn-Token of this server');

    if (resolved.kind === 'trusted') {
      const allowedAlgs = resolved.record.allowed_algs;
      if (allowedAlgs && allowedAlgs.length > 0 && !allowedAlgs.includes(alg)) return invalid('uses a signing algorithm that is not allowed');
    }

    const claimProblem = this.checkClaims(claims, request, resolved);
    if (claimProblem) return invalid(claimProblem);

    const verified = await this.verifySignature(signingInput, signature, alg, kid, resolved);
    const outcome = verified === 'verified' && resolved.kind === 'self' && !canonicalOwnSignature(alg, signature, claims) ? 'bad_signature' : verified;
    switch (outcome) {
      case 'verified':
        break;
      case 'bad_signature':
        return invalid('signature is invalid');
      case 'unknown_key':
        return invalid('is signed with an unknown key');
      case 'keys_unavailable':
        return { status: 'invalid', reason: `could not obtain the keys of the ${name} issuer` };
    }

    if (resolved.kind === 'self' && this.lifecycle?.isRevoked(claims)) return invalid('has been revoked');
    const source: PresentedTokenSource =
      resolved.kind === 'self' ? { kind: 'self' } : { kind: 'trusted', id: resolved.record.id, issuer: resolved.record.issuer };
    return { status: 'valid', claims, header, source };
  }

  /**
   * A value that is not a JWT: one of our opaque access tokens is checked as our JWTs are (times,
   * meant for the caller, revocation); anything else stays unvalidated.
   */
  private async validateOpaque(request: PresentedTokenRequest, name: string): Promise<PresentedTokenValidation> {
    const unvalidated: PresentedTokenValidation = { status: 'unvalidated', reason: `${name} is not a JWT` };
    if (this.lifecycle === null || request.tokenType !== TOKEN_TYPE_ACCESS_TOKEN) return unvalidated;
    if (request.token.length === 0 || Buffer.byteLength(request.token) > this.maxTokenBytes) return unvalidated;
    const claims = await this.lifecycle.resolveOpaque(request.token);
    if (claims === null) return unvalidated;
    const problem = this.checkClaims(claims, request, { kind: 'self' });
    if (problem !== null) return { status: 'invalid', reason: `${name} ${problem}` };
    if (this.lifecycle.isRevoked(claims)) return { status: 'invalid', reason: `${name} has been revoked` };
    return { status: 'valid', claims, header: {}, source: { kind: 'self' } };
  }

  /**
   * A token this server issued, checked exactly as a presented one is (steps 2, 4, 5 and 7 above:
   * the same strict parse, claim rules and signature check), without asking whom it is meant for.
   * Introspection answers with it, so a token it calls active is one the exchange also accepts.
   * `exp`, `iat` and `sub` are required.
   */
  async verifyOwnToken(token: string): Promise<{ ok: true; claims: Record<string, unknown>; header: Record<string, unknown> } | { ok: false }> {
    const parsed = parseCompactJws(token, this.maxTokenBytes, this.allowedAlgorithms);
    if (!parsed.ok) return { ok: false };
    const { header, claims, alg, kid, signingInput, signature } = parsed.jws;
    if (claims.iss !== this.issuer) return { ok: false };
    if (typeof claims.sub !== 'string' || typeof claims.iat !== 'number') return { ok: false };
    if (this.checkTimesAndShapes(claims) !== null) return { ok: false };
    const outcome = await this.verifySignature(signingInput, signature, alg, kid, { kind: 'self' });
    if (outcome !== 'verified' || !canonicalOwnSignature(alg, signature, claims)) return { ok: false };
    return this.lifecycle?.isRevoked(claims) ? { ok: false } : { ok: true, claims, header };
  }

  /**
   * Step 2 alone, for a JWT whose keys depend on its unverified claims (a client assertion names
   * its client, whose registered keys then verify it): the strict parse with `algorithms`.
   */
  parseJwt(token: string, algorithms: ReadonlySet<string>): ParsedCompactJws | null {
    const parsed = parseCompactJws(token, this.maxTokenBytes, algorithms);
    return parsed.ok ? parsed.jws : null;
  }

  /**
   * Steps 5 and 7 for a parsed JWT and the keys that may have signed it (a client's registered
   * JWKS): claim shapes, `exp` required, times within the clock skew, and the signature. Whom it
   * is from and for is the caller's to check.
   */
  async verifyWithKeys(jws: ParsedCompactJws, keys: readonly JsonWebKeyLike[]): Promise<'verified' | 'invalid_claims' | SignatureOutcome> {
    if (this.checkTimesAndShapes(jws.claims) !== null) return 'invalid_claims';
    return this.signatureWith(keys, jws.signingInput, jws.signature, jws.alg, jws.kid);
  }

  /**
   * Steps 4, 5 and 7 for a parsed JWT bearer assertion (RFC 7523 §3, the jwt-bearer grant): its
   * `iss` a trusted issuer (never this server), that issuer's `allowed_algs` and `audiences`, claim
   * shapes and times, and the signature with that issuer's keys. Whom it is for (`aud`, `client_id`),
   * `typ` and `jti` are the grant's to check (server/oauth/grants/jwt-bearer.ts). `problem` ends a
   * sentence about the assertion and names no value of it.
   */
  async verifyTrustedAssertion(jws: ParsedCompactJws): Promise<{ ok: true; source: { id: string; issuer: string } } | { ok: false; problem: string }> {
    const iss = jws.claims.iss;
    if (typeof iss !== 'string' || iss === '') return { ok: false, problem: 'has no iss claim' };
    const resolved = iss === this.issuer ? null : this.resolveIssuer(iss);
    if (resolved === null || resolved.kind !== 'trusted') return { ok: false, problem: 'is not from a trusted issuer' };
    const allowedAlgs = resolved.record.allowed_algs;
    if (allowedAlgs && allowedAlgs.length > 0 && !allowedAlgs.includes(jws.alg)) return { ok: false, problem: 'uses a signing algorithm that is not allowed for its issuer' };
    const times = this.checkTimesAndShapes(jws.claims);
    if (times !== null) return { ok: false, problem: times };
    const accepted = resolved.record.audiences;
    const audience = audienceOf(jws.claims.aud) ?? [];
    if (accepted && accepted.length > 0 && !audience.some((value) => accepted.includes(value))) {
      return { ok: false, problem: 'has an audience its issuer is not trusted for' };
    }
    switch (await this.verifySignature(jws.signingInput, jws.signature, jws.alg, jws.kid, resolved)) {
      case 'verified':
        return { ok: true, source: { id: resolved.record.id, issuer: resolved.record.issuer } };
      case 'bad_signature':
        return { ok: false, problem: 'signature is invalid' };
      case 'unknown_key':
        return { ok: false, problem: 'is signed with an unknown key' };
      case 'keys_unavailable':
        return { ok: false, problem: 'could not be checked: the keys of its issuer are unavailable' };
    }
  }

  /** Exact (code point) match; this server's own issuer wins over a trusted record with the same value. */
  private resolveIssuer(iss: string): ResolvedIssuer | null {
    if (iss === this.issuer) return { kind: 'self' };
    const record = this.trustedIssuers().find((candidate) => candidate.issuer === iss);
    return record ? { kind: 'trusted', record } : null;
  }

  /** The first problem with the claims (as the end of a reason sentence), or null. */
  /** Claim shapes and times (step 5), whoever the token is for: the first problem, or null. */
  private checkTimesAndShapes(claims: Record<string, unknown>): string | null {
    for (const claim of ['sub', 'client_id', 'azp', 'jti'] as const) {
      if (claims[claim] !== undefined && typeof claims[claim] !== 'string') return `has a malformed ${claim} claim`;
    }
    if (!audienceOf(claims.aud)) return 'has a malformed aud claim';

    const nowSeconds = this.now() / 1000;
    const skew = this.clockSkewSeconds;
    for (const claim of ['exp', 'nbf', 'iat'] as const) {
      const value = claims[claim];
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) return `has a malformed ${claim} claim`;
    }
    const { exp, nbf, iat } = claims as { exp?: number; nbf?: number; iat?: number };
    if (exp === undefined) return 'has no exp claim';
    if (nowSeconds >= exp + skew) return 'has expired';
    if (nbf !== undefined && nbf > nowSeconds + skew) return 'is not valid yet';
    if (iat !== undefined && iat > nowSeconds + skew) return 'was issued in the future';
    return null;
  }

  private checkClaims(claims: Record<string, unknown>, request: PresentedTokenRequest, issuer: ResolvedIssuer): string | null {
    const problem = this.checkTimesAndShapes(claims);
    if (problem !== null) return problem;
    const audience = audienceOf(claims.aud) ?? [];
    const { iat } = claims as { iat?: number };

    const caller = request.callerClientId;
    const accepted = request.acceptedAudiences ?? [];
    // Issued to the caller: recorded by this server's host for its own tokens; a trusted issuer's `client_id`.
    const issuedToCaller = issuer.kind === 'self' ? requesterOf(claims) === caller : claims.client_id === caller;
    if (request.tokenType === TOKEN_TYPE_TXN_TOKEN) {
      if (request.trustDomain === undefined || !audience.includes(request.trustDomain)) return 'is not meant for this trust domain';
      if (typeof claims.txn !== 'string' || typeof claims.sub !== 'string') return 'is not a well-formed Txn-Token';
    } else if (request.tokenType === TOKEN_TYPE_ID_TOKEN) {
      // OpenID Connect Core §2: an ID token names its subject, its time and its audience.
      if (typeof claims.sub !== 'string' || claims.sub.length === 0) return 'has no sub claim';
      if (iat === undefined) return 'has no iat claim';
      if (!audience.includes(caller)) return 'is not meant for this client';
      if (claims.azp !== undefined && claims.azp !== caller) return 'is not meant for this client';
    } else if (!audience.includes(caller) && !audience.some((value) => accepted.includes(value)) && !issuedToCaller) {
      return 'is not meant for this client';
    }

    if (issuer.kind === 'trusted') {
      const accepted = issuer.record.audiences;
      if (accepted && accepted.length > 0 && !audience.some((value) => accepted.includes(value))) {
        return 'has an audience its issuer is not trusted for';
      }
    }
    return null;
  }

  private async verifySignature(
    signingInput: Uint8Array,
    signature: Uint8Array,
    alg: string,
    kid: string | undefined,
    issuer: ResolvedIssuer,
  ): Promise<SignatureOutcome> {
    let keys: readonly JsonWebKeyLike[] | null;
    let remote: { id: string; uri: string } | null = null;
    if (issuer.kind === 'self') {
      keys = this.ownPublicKeys();
    } else if (issuer.record.jwks) {
      // Inline keys win when a record has both: no request is needed.
      keys = Array.isArray(issuer.record.jwks.keys) ? issuer.record.jwks.keys : [];
    } else if (issuer.record.jwks_uri) {
      remote = { id: issuer.record.id, uri: issuer.record.jwks_uri };
      keys = await this.remoteJwks.getKeys(remote.id, remote.uri, 'cached');
      if (!keys) return 'keys_unavailable';
    } else {
      return 'keys_unavailable';
    }

    if (remote && selectCandidates(keys, alg, kid).length === 0) {
      keys = await this.remoteJwks.getKeys(remote.id, remote.uri, 'refresh_for_unknown_kid');
      if (!keys) return 'keys_unavailable';
    }
    return this.signatureWith(keys, signingInput, signature, alg, kid);
  }

  /** Key selection and the signature check itself, over a key set already in hand. */
  private async signatureWith(keys: readonly JsonWebKeyLike[], signingInput: Uint8Array, signature: Uint8Array, alg: string, kid: string | undefined): Promise<SignatureOutcome> {
    const candidates = selectCandidates(keys, alg, kid);
    if (candidates.length === 0) return 'unknown_key';
    for (const candidate of candidates.slice(0, MAX_KEYS_TRIED_WITHOUT_KID)) {
      const key = await this.importedKey(candidate, alg);
      // Otherwise try the next candidate (only when there was no kid, or several keys share one).
      if (key && (this.offload() ? await verifySignatureOffThread(key, signingInput, signature) : verifySignature(key, signingInput, signature))) return 'verified';
    }
    return 'bad_signature';
  }

  /** The imported key for a JWK and algorithm, cached: importing is the costly part. */
  private async importedKey(jwk: JsonWebKeyLike, alg: string): Promise<VerificationKey | null> {
    // Key sets are kept as objects (own keys, inline and fetched JWKS): the same JWK object is
    // found again without building its cache key.
    const byObject = this.keysByJwk.get(jwk);
    if (byObject !== undefined && byObject.alg === alg) return byObject;
    const key = await this.importedKeyByValue(jwk, alg);
    if (key) this.keysByJwk.set(jwk, key);
    return key;
  }

  private async importedKeyByValue(jwk: JsonWebKeyLike, alg: string): Promise<VerificationKey | null> {
    const kty = jwk.kty as string;
    const publicJwk: Record<string, unknown> = { kty };
    for (const member of PUBLIC_JWK_MEMBERS[kty] ?? []) publicJwk[member] = jwk[member];
    const cacheKey = `${alg} ${JSON.stringify(publicJwk)}`;
    const cached = this.importedKeys.get(cacheKey);
    if (cached) return cached;
    const key = await importVerificationKey(publicJwk, alg);
    if (!key) return null;
    if (this.importedKeys.size >= MAX_IMPORTED_KEYS) this.importedKeys.clear();
    this.importedKeys.set(cacheKey, key);
    return key;
  }
}

/** `aud` as a list: absent is empty, a string is one value, an array must hold only strings. */
function audienceOf(aud: unknown): readonly string[] | null {
  if (aud === undefined) return [];
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((value) => typeof value === 'string')) return aud as string[];
  return null;
}

function typAcceptedFor(tokenType: string, typ: string | undefined | null): boolean {
  if (typ === null) return false;
  switch (tokenType) {
    case TOKEN_TYPE_ACCESS_TOKEN:
      return typ === 'at+jwt';
    case TOKEN_TYPE_ID_TOKEN:
      return typ === undefined || typ === 'jwt';
    case TOKEN_TYPE_JWT:
      return typ === undefined || typ === 'jwt' || typ === 'at+jwt';
    case TOKEN_TYPE_TXN_TOKEN:
      return typ === TXN_TOKEN_TYP;
    default:
      return false;
  }
}

function selectCandidates(keys: readonly JsonWebKeyLike[], alg: string, kid: string | undefined): JsonWebKeyLike[] {
  return keys.filter(
    (jwk) => typeof jwk === 'object' && jwk !== null && isKeyUsableFor(jwk, alg) && (kid === undefined || jwk.kid === kid),
  );
}
