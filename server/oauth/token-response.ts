/**
 * Checks what a procedure returned before it leaves the server. The response must carry a token
 * this request issued, and never contradicts it: `scope`, `expires_in`, `token_type` and
 * `issued_token_type` are made to match the issued token (with a warning when the procedure said
 * something else). A `refresh_token` member must be a refresh token this request issued; a refresh
 * token is the `access_token` member only when the client asked for one as the issued token.
 */
import { fail, ok, oauthError, type Result } from './errors.ts';
import type { IssuedToken } from './issuance.ts';
import type { IssuerKind } from '../../sandbox/types.ts';
import { TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_REFRESH_TOKEN } from '../tokens/presented-token-validator.ts';
import { TOKEN_TYPE_ID_JAG } from './id-jag.ts';
import { TOKEN_TYPE_TXN_TOKEN } from './txn-token.ts';

export const TOKEN_TYPE_URI: Readonly<Record<IssuerKind, string>> = {
  access_token: TOKEN_TYPE_ACCESS_TOKEN,
  jwt: TOKEN_TYPE_JWT,
  id_token: TOKEN_TYPE_ID_TOKEN,
  refresh_token: TOKEN_TYPE_REFRESH_TOKEN,
  id_jag: TOKEN_TYPE_ID_JAG,
  txn_token: TOKEN_TYPE_TXN_TOKEN,
};

export interface ResponseCheckOptions {
  nowSeconds: number;
  /** Include issued_token_type (token exchange responses always do). */
  includeIssuedTokenType: boolean;
  /** The client asked for a refresh token as the issued token (token exchange, requested_token_type). */
  refreshTokenRequested?: boolean;
  /** Told which members were corrected (the caller decides how loudly to log it). */
  warn(message: string, corrected: readonly string[]): void;
}

export function finalizeTokenResponse(
  body: Record<string, unknown>,
  issued: readonly IssuedToken[],
  options: ResponseCheckOptions,
): Result<Record<string, unknown>> {
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string') {
    return fail(oauthError('server_error', 'The token procedure returned no access_token'));
  }
  const token = issued.find((t) => t.token === accessToken);
  if (!token) {
    return fail(oauthError('server_error', 'The token procedure returned a token this request did not issue'));
  }
  if (token.kind === 'refresh_token' && options.refreshTokenRequested !== true) {
    return fail(oauthError('server_error', 'The token procedure returned a refresh token as the access token'));
  }
  // A procedure may return refresh_token only when it issued it in this call (a spent or another
  // request's value never leaves again).
  const refreshToken = body.refresh_token;
  if (refreshToken !== undefined && refreshToken !== null) {
    const refresh = typeof refreshToken === 'string' ? issued.find((t) => t.token === refreshToken) : undefined;
    if (!refresh || refresh.kind !== 'refresh_token' || refresh === token) {
      return fail(oauthError('server_error', 'The token procedure returned a refresh_token this request did not issue'));
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined || value === null) continue;
    out[key] = value;
  }
  const corrected: string[] = [];

  const tokenType = token.kind === 'access_token' ? 'Bearer' : 'N_A';
  if (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== tokenType.toLowerCase()) corrected.push('token_type');
  out.token_type = tokenType;

  const exp = typeof token.claims.exp === 'number' ? token.claims.exp : options.nowSeconds;
  const expiresIn = Math.max(0, exp - options.nowSeconds);
  if (typeof body.expires_in !== 'number' || Math.abs(body.expires_in - expiresIn) > 1) corrected.push('expires_in');
  out.expires_in = expiresIn;

  const scope = typeof token.claims.scope === 'string' ? token.claims.scope : undefined;
  const returnedScope = Array.isArray(body.scope) ? body.scope.join(' ') : body.scope;
  if (scope === undefined) {
    if (returnedScope !== undefined && returnedScope !== null) corrected.push('scope');
    delete out.scope;
  } else {
    if (returnedScope !== scope) corrected.push('scope');
    out.scope = scope;
  }

  if (options.includeIssuedTokenType || body.issued_token_type !== undefined) {
    const issuedType = TOKEN_TYPE_URI[token.kind];
    if (body.issued_token_type !== issuedType) corrected.push('issued_token_type');
    out.issued_token_type = issuedType;
  }
  if (corrected.length > 0) {
    options.warn('procedure response corrected to match the issued token', corrected);
  }
  // Stable member order: the token first.
  const { access_token: _a, issued_token_type, token_type, expires_in, scope: s, ...rest } = out;
  const ordered: Record<string, unknown> = { access_token: accessToken };
  if (issued_token_type !== undefined) ordered.issued_token_type = issued_token_type;
  ordered.token_type = token_type;
  ordered.expires_in = expires_in;
  if (s !== undefined) ordered.scope = s;
  return ok({ ...ordered, ...rest });
}
