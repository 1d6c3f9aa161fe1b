/**
 * Transaction tokens (draft-ietf-oauth-transaction-tokens-10): this server as a Txn-Token Service.
 * A token exchange with `requested_token_type=urn:ietf:params:oauth:token-type:txn_token` issues a
 * short-lived JWT (`typ: txntoken+jwt`) carrying the immutable context of one call chain. The
 * procedure decides `tctx`, `rctx` and `scope`; everything here holds whatever it returns:
 *
 * Request (before any procedure runs):
 * 1. `request_context` and `request_details`, when sent, are JSON objects (strict JSON, bounded);
 *    anything else is invalid_request. They are parsed for every exchange and offered to procedures.
 * 2. A Txn-Token request needs `scope`; `audience`/`resource`, when sent, must be the trust domain
 *    (invalid_target); no actor token.
 * 3. Subject types: those of a token exchange, `self_signed` (a JWT signed with a key of the calling
 *    client's `jwks`, `aud` this server's issuer, recent `iat`, short life) and `txn_token` (a
 *    Txn-Token of this server, for a replacement). `unsigned_json` and unvalidated subjects are
 *    refused. `self_signed` and `txn_token` subjects are exchanged only for a Txn-Token.
 * 4. The subject's scope must be known (its `scope` claim; for a self-signed JWT without one, the
 *    client's registered scope): an unknown scope is never treated as unconstrained (draft §Unknown
 *    subject_token scope).
 *
 * Issuance (IssuanceHost → issueClaims):
 * - `aud` is the trust domain, `txn` a new UUID (a replacement keeps the replaced token's), `req_wl`
 *   the requesting client, `iat` now, `exp` at most MAX_TXN_TOKEN_LIFETIME_SECONDS away.
 * - `scope` is the initialized context's: within the client's scope and the subject's, never empty.
 * - A replacement keeps `txn`, `sub`, `aud` and `tctx`: a procedure that sets another `sub` or
 *   `tctx` is refused.
 * - No claim may hold the presented subject token (draft §Access Tokens).
 * - The response is `token_type` N_A and `issued_token_type` txn_token, and never carries a refresh
 *   token (none can be issued in a Txn-Token request).
 */
import crypto from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ClientRecord } from '../store/types.ts';
import { fail, ok, oauthError, type Result } from './errors.ts';
import { firstValue, type FormParams } from '../http/form.ts';
import { parseStrictJson } from '../tokens/strict-json.ts';
import type { PresentedTokenValidator } from '../tokens/presented-token-validator.ts';
import { normalizedTyp } from '../tokens/jws-guards.ts';
import { ASSERTION_ALGORITHMS } from '../clients/authenticator.ts';
import {
  CLOCK_SKEW_SECONDS,
  DEFAULT_TXN_TOKEN_TTL_SECONDS,
  MAX_CLIENT_ASSERTION_LIFETIME_SECONDS,
  MAX_TXN_REQUEST_JSON_BYTES,
  MAX_TXN_TOKEN_LIFETIME_SECONDS,
} from '../defaults.ts';

import { TOKEN_TYPE_SELF_SIGNED, TOKEN_TYPE_TXN_TOKEN, TOKEN_TYPE_UNSIGNED_JSON } from '../tokens/txn-token-types.ts';

export { TOKEN_TYPE_SELF_SIGNED, TOKEN_TYPE_TXN_TOKEN, TOKEN_TYPE_UNSIGNED_JSON, TXN_TOKEN_TYP } from '../tokens/txn-token-types.ts';

/** Claims a Txn-Token's issuer sets itself, whatever the procedure's data holds. */
const TXN_HOST_CLAIMS = ['txn', 'req_wl', 'aud', 'iss', 'iat', 'nbf', 'jti', 'scope'] as const;

const SELF_SIGNED_ALGORITHMS: ReadonlySet<string> = new Set(ASSERTION_ALGORITHMS);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const invalidRequest = (description: string) => oauthError('invalid_request', description);

/** The parsed `request_context` and `request_details` parameters (null when absent). */
export interface TxnRequestObjects {
  requestContext: Record<string, unknown> | null;
  requestDetails: Record<string, unknown> | null;
}

function jsonObjectParameter(params: FormParams, name: string): Result<Record<string, unknown> | null> {
  const raw = firstValue(params, name);
  if (raw === undefined) return ok(null);
  if (Buffer.byteLength(raw, 'utf8') > MAX_TXN_REQUEST_JSON_BYTES) return fail(invalidRequest(`${name} is larger than ${MAX_TXN_REQUEST_JSON_BYTES} bytes`));
  const parsed = parseStrictJson(raw);
  if (!parsed.ok || !isRecord(parsed.value)) return fail(invalidRequest(`${name} must be a JSON object`));
  return ok(parsed.value);
}

/** Check 1: `request_context` and `request_details` as JSON objects. */
export function txnRequestObjects(params: FormParams): Result<TxnRequestObjects> {
  const requestContext = jsonObjectParameter(params, 'request_context');
  if (!requestContext.ok) return requestContext;
  const requestDetails = jsonObjectParameter(params, 'request_details');
  if (!requestDetails.ok) return requestDetails;
  return ok({ requestContext: requestContext.value, requestDetails: requestDetails.value });
}

export interface TxnRequestShape {
  requestedTokenType: string | null;
  subjectTokenType: string;
  actorToken: string | null;
  scopes: readonly string[];
  targets: readonly string[];
}

/** Checks 2 and 3 (the parameters; the subject itself is validated afterwards). */
export function checkTxnRequestShape(shape: TxnRequestShape, trustDomain: string): Result<void> {
  const txnRequested = shape.requestedTokenType === TOKEN_TYPE_TXN_TOKEN;
  if (shape.subjectTokenType === TOKEN_TYPE_UNSIGNED_JSON) return fail(invalidRequest('Unsigned JSON subject tokens are not accepted; send a self-signed JWT'));
  if (!txnRequested) {
    if (shape.subjectTokenType === TOKEN_TYPE_SELF_SIGNED || shape.subjectTokenType === TOKEN_TYPE_TXN_TOKEN) {
      return fail(invalidRequest('This subject_token_type is exchanged only for a Txn-Token (requested_token_type txn_token)'));
    }
    return ok(undefined);
  }
  if (shape.actorToken !== null) return fail(invalidRequest('A Txn-Token request takes no actor_token'));
  if (shape.scopes.length === 0) return fail(invalidRequest('scope is required in a Txn-Token request'));
  for (const target of shape.targets) {
    if (target !== trustDomain) return fail(oauthError('invalid_target', 'The audience of a Txn-Token must be the trust domain'));
  }
  return ok(undefined);
}

/**
 * A self-signed subject JWT (draft §Self-Signed Subject Token Type): signed with a key of the
 * calling client's `jwks`; `iss` and `sub` strings; `aud` naming this server's issuer; `iat` and
 * `exp` present, `iat` not older and the whole life not longer than a client assertion's limit.
 */
export async function validateSelfSigned(
  validator: PresentedTokenValidator,
  client: ClientRecord,
  token: string,
  issuer: string,
  nowSeconds: number,
): Promise<Result<Record<string, unknown>>> {
  const invalid = (what: string) => fail(invalidRequest(`subject_token ${what}`));
  const keys = client.jwks?.keys;
  if (!keys || keys.length === 0) return invalid('is self-signed, but the client has no jwks to verify it with');
  const jws = validator.parseJwt(token, SELF_SIGNED_ALGORITHMS);
  if (jws === null) return invalid('is not a well-formed signed JWT');
  const typ = normalizedTyp(jws.header);
  if (typ === null || (typ !== undefined && typ !== 'jwt')) return invalid('has the wrong typ for a self-signed JWT');
  const { claims } = jws;
  if (typeof claims.iss !== 'string' || claims.iss === '') return invalid('has no iss claim');
  if (typeof claims.sub !== 'string' || claims.sub === '') return invalid('has no sub claim');
  const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!aud.includes(issuer)) return invalid('is not addressed to this server (aud)');
  if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return invalid('needs iat and exp claims');
  if (claims.iat < nowSeconds - MAX_CLIENT_ASSERTION_LIFETIME_SECONDS - CLOCK_SKEW_SECONDS) return invalid('was issued too long ago');
  if (claims.exp - claims.iat > MAX_CLIENT_ASSERTION_LIFETIME_SECONDS) return invalid(`lives longer than ${MAX_CLIENT_ASSERTION_LIFETIME_SECONDS} seconds`);
  const outcome = await validator.verifyWithKeys(jws, keys);
  switch (outcome) {
    case 'verified':
      return ok(claims);
    case 'invalid_claims':
      return invalid('has expired or malformed claims');
    default:
      return invalid('is not signed by a key of this client');
  }
}

/** The scope a subject token stands for, or null when it cannot be known (check 4). */
export function subjectScopeOf(claims: Record<string, unknown>, subjectTokenType: string, client: ClientRecord): string[] | null {
  const scope = claims.scope;
  if (typeof scope === 'string') return scope.split(' ').filter((s) => s !== '');
  if (Array.isArray(scope) && scope.every((s) => typeof s === 'string')) return scope as string[];
  // A workload speaking for itself: its registered scope is the trusted source.
  if (scope === undefined && subjectTokenType === TOKEN_TYPE_SELF_SIGNED) return client.scope.split(' ').filter((s) => s !== '');
  return null;
}

/** What one Txn-Token request fixed before its procedure runs. */
export interface TxnIssuanceInput {
  trustDomain: string;
  /** The validated subject's claims and type. */
  subject: Record<string, unknown>;
  subjectTokenType: string;
  subjectTokenValue: string;
  /** Scopes the subject stands for (subjectScopeOf). */
  subjectScopes: readonly string[];
  requestContext: Record<string, unknown> | null;
  requestDetails: Record<string, unknown> | null;
  /** The caller's address (`req_ip` of the default `rctx`). */
  clientIpAddress: string;
}

/** The replaced Txn-Token's kept values, for a replacement. */
interface Replaced {
  txn: string;
  sub: string;
  tctx: Record<string, unknown> | undefined;
  rctx: Record<string, unknown> | undefined;
}

/** The issuance side of one Txn-Token request: audiences, scopes, default data and the claims. */
export class TxnIssuance {
  readonly trustDomain: string;
  private readonly input: TxnIssuanceInput;
  private readonly replaced: Replaced | null;

  constructor(input: TxnIssuanceInput) {
    this.input = input;
    this.trustDomain = input.trustDomain;
    const { subject } = input;
    this.replaced =
      input.subjectTokenType === TOKEN_TYPE_TXN_TOKEN && typeof subject.txn === 'string' && typeof subject.sub === 'string'
        ? {
            txn: subject.txn,
            sub: subject.sub,
            tctx: isRecord(subject.tctx) ? subject.tctx : undefined,
            rctx: isRecord(subject.rctx) ? subject.rctx : undefined,
          }
        : null;
  }

  /** The context's audiences: the trust domain only. */
  audiences(requested: readonly string[]): Result<string[]> {
    for (const audience of requested) {
      if (audience !== this.trustDomain) return fail(oauthError('invalid_target', 'The audience of a Txn-Token must be the trust domain'));
    }
    return ok([this.trustDomain]);
  }

  /** The context's scopes (already within the client's): within the subject's, and not empty. */
  checkScopes(scopes: readonly string[]): Result<void> {
    if (scopes.length === 0) return fail(oauthError('invalid_scope', 'A Txn-Token needs a scope'));
    for (const scope of scopes) {
      if (!this.input.subjectScopes.includes(scope)) return fail(oauthError('invalid_scope', `Scope ${scope} is wider than the subject token's`));
    }
    return ok(undefined);
  }

  /** `getDefaultTransactionTokenData()`: sub, scope, exp, tctx and rctx as the built-in default sets them. */
  defaultData(scopes: readonly string[], nowSeconds: number): Record<string, unknown> {
    const { subject, requestContext, requestDetails, clientIpAddress } = this.input;
    const exp = nowSeconds + Math.min(DEFAULT_TXN_TOKEN_TTL_SECONDS, MAX_TXN_TOKEN_LIFETIME_SECONDS);
    const data: Record<string, unknown> = { sub: this.replaced?.sub ?? subject.sub, scope: scopes.join(' '), exp };
    const tctx = this.replaced ? this.replaced.tctx : requestDetails ?? undefined;
    if (tctx !== undefined) data.tctx = structuredClone(tctx);
    // A replacement keeps the originating request's environment unless the caller describes a new one.
    if (this.replaced?.rctx !== undefined && requestContext === null) data.rctx = structuredClone(this.replaced.rctx);
    else data.rctx = { ...(requestContext ?? {}), req_ip: clientIpAddress };
    return data;
  }

  /**
   * The Txn-Token's claims from the procedure's data (without iss, iat, jti and the lineage, which
   * the issuance host adds), or why it cannot be issued.
   */
  claims(
    data: Record<string, unknown>,
    scopes: readonly string[],
    clientId: string,
    nowSeconds: number,
    maxLifetimeSeconds: number,
  ): Result<Record<string, unknown>> {
    const refuse = (description: string): Result<never> => fail(oauthError('server_error', description));
    const scopesChecked = this.checkScopes(scopes);
    if (!scopesChecked.ok) return scopesChecked;
    const claims: Record<string, unknown> = { ...data };
    for (const name of TXN_HOST_CLAIMS) delete claims[name];

    const sub = claims.sub ?? this.replaced?.sub;
    if (typeof sub !== 'string' || sub === '') return refuse('Txn-Token data has no sub');
    if (this.replaced && sub !== this.replaced.sub) return refuse('A replacement Txn-Token keeps the sub of the one it replaces');
    for (const name of ['tctx', 'rctx'] as const) {
      if (claims[name] !== undefined && !isRecord(claims[name])) return refuse(`Txn-Token ${name} must be a JSON object`);
    }
    if (this.replaced) {
      if (claims.tctx === undefined) {
        if (this.replaced.tctx !== undefined) claims.tctx = this.replaced.tctx;
      } else if (!isDeepStrictEqual(claims.tctx, this.replaced.tctx)) {
        return refuse('A replacement Txn-Token keeps the tctx of the one it replaces');
      }
    }

    const cap = nowSeconds + Math.min(MAX_TXN_TOKEN_LIFETIME_SECONDS, maxLifetimeSeconds);
    const requested = data.exp;
    const exp =
      typeof requested === 'number' && Number.isFinite(requested)
        ? Math.min(Math.floor(requested), cap)
        : Math.min(nowSeconds + DEFAULT_TXN_TOKEN_TTL_SECONDS, cap);
    if (exp <= nowSeconds) return fail(oauthError('invalid_request', 'The Txn-Token would already be expired'));

    const { sub: _s, exp: _e, tctx, rctx, ...rest } = claims;
    const out: Record<string, unknown> = {
      aud: this.trustDomain,
      exp,
      txn: this.replaced?.txn ?? crypto.randomUUID(),
      sub,
      scope: scopes.join(' '),
      req_wl: clientId,
      ...(rctx !== undefined ? { rctx } : {}),
      ...(tctx !== undefined ? { tctx } : {}),
      ...rest,
    };
    // draft §Access Tokens: the presented token never travels inside the Txn-Token.
    if (JSON.stringify(out).includes(this.input.subjectTokenValue)) return refuse('A Txn-Token must not contain the subject token');
    return ok(out);
  }
}

/** Subject token types only a Txn-Token request takes (unsigned JSON is named to be refused clearly). */
export const TXN_SUBJECT_TYPES: ReadonlySet<string> = new Set([TOKEN_TYPE_SELF_SIGNED, TOKEN_TYPE_TXN_TOKEN, TOKEN_TYPE_UNSIGNED_JSON]);

/** Refresh permission of a Txn-Token request: none (draft §Txn-Token Response). */
export const NO_REFRESH_WITH_TXN_TOKEN: Result<never> = fail(oauthError('invalid_request', 'No refresh token is issued with a Txn-Token'));

export interface TxnSubject {
  claims: Record<string, unknown> | null;
  type: string;
  value: string;
}

/** Check 4 and the issuance state of a Txn-Token request whose subject was validated. */
export function txnIssuanceFor(
  client: ClientRecord,
  subject: TxnSubject,
  objects: TxnRequestObjects,
  clientIpAddress: string,
  trustDomain: string,
): Result<TxnIssuance> {
  if (subject.claims === null) return fail(invalidRequest('A Txn-Token is issued only for a subject token the server validated'));
  if (typeof subject.claims.sub !== 'string' || subject.claims.sub === '') return fail(invalidRequest('subject_token has no sub claim'));
  const subjectScopes = subjectScopeOf(subject.claims, subject.type, client);
  if (subjectScopes === null) return fail(oauthError('invalid_scope', 'The scope of the subject token cannot be determined, so no Txn-Token can be scoped from it'));
  return ok(
    new TxnIssuance({
      trustDomain,
      subject: subject.claims,
      subjectTokenType: subject.type,
      subjectTokenValue: subject.value,
      subjectScopes,
      requestContext: objects.requestContext,
      requestDetails: objects.requestDetails,
      clientIpAddress,
    }),
  );
}

/** What a Txn-Token request's response must carry: a Txn-Token as access_token, and no refresh token. */
export function txnResponseProblem(body: Record<string, unknown>, issued: readonly { token: string; kind: string }[]): string | null {
  const token = issued.find((t) => t.token === body.access_token);
  if (token === undefined || token.kind !== 'txn_token') return 'The token procedure did not return a Txn-Token for a Txn-Token request';
  if (body.refresh_token !== undefined) return 'A Txn-Token response carries no refresh token';
  return null;
}
