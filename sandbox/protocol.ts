/**
 * The protocol vocabulary that every layer shares: OAuth error codes with their HTTP statuses and
 * the rule for descriptions (RFC 6749 §5.2), and the procedure flow ids (Curity's). It is a leaf:
 * it imports nothing, lives in the lowest layer (the sandbox speaks these codes through
 * exceptionFactory), and server/ re-exports it where its modules expect it.
 */

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'unsupported_token_type'
  | 'server_error'
  | 'temporarily_unavailable';

export const OAUTH_ERROR_STATUS: Readonly<Record<OAuthErrorCode, number>> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  access_denied: 403,
  unsupported_token_type: 400,
  server_error: 500,
  temporarily_unavailable: 503,
};

export function isOAuthErrorCode(value: unknown): value is OAuthErrorCode {
  return typeof value === 'string' && Object.hasOwn(OAUTH_ERROR_STATUS, value);
}

/** RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
export function sanitizeDescription(text: string): string {
  const cleaned = text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?');
  return cleaned.length > 300 ? `${cleaned.slice(0, 297)}...` : cleaned;
}

/**
 * A refusal as a value: what the issuance rules, the grants and the endpoints return, carried as
 * it is from the rule that refuses to the response that renders it (the sandbox boundary passes
 * its code and description across as JSON and rebuilds it on the way out).
 */
export interface OAuthError {
  readonly error: OAuthErrorCode;
  /** Already sanitised (RFC 6749 §5.2): build it with oauthError(). */
  readonly description: string;
  readonly status: number;
  /** Set for 401 responses (RFC 9110 §15.5.2: a 401 carries a challenge). */
  readonly wwwAuthenticate?: string;
  /** Extra response headers, e.g. Retry-After on throttling. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface OAuthErrorOptions {
  status?: number;
  wwwAuthenticate?: string;
  headers?: Record<string, string>;
}

export function oauthError(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}): OAuthError {
  const status = options.status ?? OAUTH_ERROR_STATUS[error];
  const result: { -readonly [K in keyof OAuthError]: OAuthError[K] } = {
    error,
    description: sanitizeDescription(description),
    status,
  };
  if (status === 401) result.wwwAuthenticate = options.wwwAuthenticate ?? 'Basic realm="tokenproc"';
  else if (options.wwwAuthenticate) result.wwwAuthenticate = options.wwwAuthenticate;
  if (options.headers) result.headers = options.headers;
  return result;
}

/** Every check's answer: a value or the refusal, never an exception across layers. */
export type Result<T, E = OAuthError> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E = OAuthError>(error: E): Result<never, E> => ({ ok: false, error });

/** The flows a client names a procedure for (Curity's flow ids). */
export type FlowId = 'oauth-token-oauth-token-exchange' | 'oauth-token-client-credentials' | 'oauth-token-refresh' | 'oauth-token-jwt-assertion';
export const FLOW_IDS: readonly FlowId[] = ['oauth-token-oauth-token-exchange', 'oauth-token-client-credentials', 'oauth-token-refresh', 'oauth-token-jwt-assertion'];
