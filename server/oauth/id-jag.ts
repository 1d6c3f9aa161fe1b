/**
 * Identity Assertion JWT Authorization Grants (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant),
 * issuing side: a token exchange with `requested_token_type` id-jag turns an ID token meant for the
 * caller into a short-lived JWT addressed to another authorization server, which redeems it with
 * the jwt-bearer grant (server/oauth/grants/jwt-bearer.ts).
 *
 * The rules the host keeps whatever the procedure does:
 * - before any procedure runs (`idJagTarget`): the subject is an ID token (`subject_token_type`
 *   id_token), validated and meant for the caller (the validator's id_token rules); no actor
 *   token; exactly one `audience`, the issuer of a resource authorization server named in the
 *   client's `audiences` (`invalid_target` otherwise);
 * - at issue (`issueIdJag`): header `typ: oauth-id-jag+jwt`; `iss`, `aud` (that one issuer),
 *   `client_id` (the client property `id_jag_client_id`, else the caller's id), `jti` and `iat`
 *   are the host's; `exp` at most 300 s away; `scope` within the scopes the initialized context
 *   fixed; `resource` among the requested `resource` values. Other claims are the procedure's.
 * - in the response (`idJagResponseProblem`): the token answered is the ID-JAG; never a refresh token.
 */
import type { ClientRecord } from '../store/types.ts';
import type { TokenSigner } from '../tokens/keys.ts';
import { newTokenId } from '../tokens/token-ids.ts';
import { LINEAGE_CLAIM } from '../tokens/lineage.ts';
import { MAX_TOKEN_BYTES } from '../defaults.ts';
import { allValues, type FormParams } from '../http/form.ts';
import { fail, ok, oauthError, type Result } from './errors.ts';

export const TOKEN_TYPE_ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
/** The JWS `typ` of an ID-JAG (the draft, per RFC 8725 §3.11). */
export const ID_JAG_TYP = 'oauth-id-jag+jwt';
/** The longest an ID-JAG lives. */
export const ID_JAG_MAX_LIFETIME_SECONDS = 300;
/** The client property naming the client's id at the resource authorization server. */
export const ID_JAG_CLIENT_ID_PROPERTY = 'id_jag_client_id';
const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';

/** ID token claims about the authentication that an ID-JAG carries by default (the draft's optional claims). */
const CARRIED_AUTHENTICATION_CLAIMS = ['auth_time', 'acr', 'amr'] as const;
/** Claims only the host sets in an ID-JAG. */
const HOST_CLAIMS = ['iss', 'aud', 'client_id', 'jti', 'iat', 'nbf', 'exp', LINEAGE_CLAIM] as const;
/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** What an ID-JAG of this request is addressed to, fixed before any procedure runs. */
export interface IdJagTarget {
  /** The resource authorization server's issuer: the `aud`. */
  audience: string;
  /** The `client_id` claim: the caller's id at that server. */
  clientId: string;
  /** The requested `resource` values: the only ones the ID-JAG may name. */
  resources: readonly string[];
  /** The validated ID token's claims. */
  subjectClaims: Readonly<Record<string, unknown>>;
}

/** The checks of an ID-JAG request that need no token validation (run before the subject token is validated). */
export function idJagRequestProblem(subjectTokenType: string, hasActor: boolean): Result<true> {
  if (subjectTokenType !== TOKEN_TYPE_ID_TOKEN) {
    return fail(oauthError('invalid_request', `An ID-JAG is issued only for an ID token: subject_token_type must be ${TOKEN_TYPE_ID_TOKEN}`));
  }
  if (hasActor) return fail(oauthError('invalid_request', 'An ID-JAG is not issued with an actor_token'));
  return ok(true);
}

/** The target of an ID-JAG, once the subject ID token has been validated (claims null: it could not be). */
export function idJagTarget(client: ClientRecord, params: FormParams, subjectClaims: Record<string, unknown> | null): Result<IdJagTarget> {
  if (subjectClaims === null) return fail(oauthError('invalid_request', 'An ID-JAG is issued only for an ID token this server could validate'));
  const audiences = allValues(params, 'audience');
  if (audiences.length !== 1) {
    return fail(oauthError('invalid_request', 'An ID-JAG request needs exactly one audience: the issuer of the resource authorization server'));
  }
  const audience = audiences[0] as string;
  // Named explicitly: a client with no audiences may target no resource authorization server.
  if (!client.audiences.includes(audience)) {
    return fail(oauthError('invalid_target', 'The audience is not a resource authorization server this client may obtain an ID-JAG for'));
  }
  const mapped = client.properties[ID_JAG_CLIENT_ID_PROPERTY];
  return ok({
    audience,
    clientId: typeof mapped === 'string' && mapped !== '' ? mapped : client.client_id,
    resources: allValues(params, 'resource'),
    subjectClaims,
  });
}

/** `getDefaultIdJagData()`: what the default procedure issues. */
export function defaultIdJagData(target: IdJagTarget, scopes: readonly string[], nowSeconds: number): Record<string, unknown> {
  const data: Record<string, unknown> = {
    sub: target.subjectClaims.sub,
    aud: target.audience,
    client_id: target.clientId,
    iat: nowSeconds,
    exp: nowSeconds + ID_JAG_MAX_LIFETIME_SECONDS,
  };
  if (scopes.length > 0) data.scope = scopes.join(' ');
  if (target.resources.length > 0) data.resource = target.resources.length === 1 ? target.resources[0] : [...target.resources];
  for (const claim of CARRIED_AUTHENTICATION_CLAIMS) {
    if (target.subjectClaims[claim] !== undefined) data[claim] = target.subjectClaims[claim];
  }
  return data;
}

/** The ID-JAG's `scope`: within the context's scopes; null when it names none. */
function idJagScope(value: unknown, allowed: readonly string[]): Result<string | null> {
  if (value === undefined || value === null) return ok(null);
  const list = typeof value === 'string' ? value.split(' ').filter((s) => s !== '') : Array.isArray(value) ? value : null;
  if (list === null) return fail(oauthError('server_error', 'ID-JAG scope must be a space-separated string'));
  const scopes: string[] = [];
  for (const scope of list) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) return fail(oauthError('server_error', 'ID-JAG scope is malformed'));
    if (!allowed.includes(scope)) return fail(oauthError('invalid_scope', `Scope ${scope} was not granted for this ID-JAG`));
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  return ok(scopes.length > 0 ? scopes.join(' ') : null);
}

/** The ID-JAG's `resource`: only the requested values; null when it names none. */
function idJagResource(value: unknown, allowed: readonly string[]): Result<string | string[] | null> {
  if (value === undefined || value === null) return ok(null);
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : null;
  if (list === null) return fail(oauthError('server_error', 'ID-JAG resource must be a string or an array of strings'));
  const resources: string[] = [];
  for (const resource of list) {
    if (typeof resource !== 'string' || !allowed.includes(resource)) return fail(oauthError('invalid_target', 'An ID-JAG may name only the requested resource values'));
    if (!resources.includes(resource)) resources.push(resource);
  }
  if (resources.length === 0) return ok(null);
  return ok(resources.length === 1 ? (resources[0] as string) : resources);
}

export interface IssuedIdJag {
  token: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/**
 * Signs an ID-JAG from the procedure's data. `scopes`: the scopes of the initialized context (the
 * host validated them against the client's scope); the ID-JAG's may be fewer, never more.
 */
export function issueIdJag(
  signer: TokenSigner,
  target: IdJagTarget,
  scopes: readonly string[],
  data: Record<string, unknown>,
  nowSeconds: number,
): Result<IssuedIdJag> {
  const claims: Record<string, unknown> = { ...data };
  for (const name of HOST_CLAIMS) delete claims[name];
  const { sub, scope: requestedScope, resource: requestedResource, ...rest } = claims;
  if (typeof sub !== 'string' || sub === '') return fail(oauthError('server_error', 'ID-JAG data has no sub'));
  const scope = idJagScope(requestedScope, scopes);
  if (!scope.ok) return scope;
  const resource = idJagResource(requestedResource, target.resources);
  if (!resource.ok) return resource;

  const cap = nowSeconds + ID_JAG_MAX_LIFETIME_SECONDS;
  const askedExp = data.exp;
  const exp = typeof askedExp === 'number' && Number.isFinite(askedExp) ? Math.min(cap, Math.floor(askedExp)) : cap;
  if (exp <= nowSeconds) return fail(oauthError('invalid_request', 'The ID-JAG would already be expired'));

  const ordered: Record<string, unknown> = {
    iss: signer.issuer,
    sub,
    aud: target.audience,
    client_id: target.clientId,
    jti: newTokenId(),
    iat: nowSeconds,
    exp,
    ...rest,
  };
  if (scope.value !== null) ordered.scope = scope.value;
  if (resource.value !== null) ordered.resource = resource.value;
  const serialized = JSON.stringify(ordered);
  if (serialized === undefined || Buffer.byteLength(serialized) > MAX_TOKEN_BYTES) return fail(oauthError('server_error', 'Issued token data is too large'));
  const signed = signer.sign({ typ: ID_JAG_TYP }, serialized);
  return ok({ token: signed.token, header: signed.header, claims: ordered });
}

/**
 * An ID-JAG request is answered with the ID-JAG itself (`issued_token_type` id-jag, `token_type`
 * N_A) and nothing that could outlive it: a problem description, or null when the response is fine.
 */
export function idJagResponseProblem(body: Record<string, unknown>, issued: ReadonlyArray<{ kind: string; token: string }>): string | null {
  const token = issued.find((t) => t.token === body.access_token);
  if (token?.kind !== 'id_jag') return 'The token procedure did not answer an ID-JAG for an ID-JAG request';
  if (body.refresh_token !== undefined) return 'An ID-JAG response never carries a refresh token';
  return null;
}
