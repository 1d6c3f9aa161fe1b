/**
 * The one error catalogue of the server. Every OAuth error that leaves any endpoint is built here
 * (the codes, their statuses and the description rule come from sandbox/protocol.ts, the shared
 * vocabulary), so status codes, headers and the RFC 6749 §5.2 character rules live in one place.
 */
import { OAUTH_ERROR_STATUS, sanitizeDescription, type OAuthErrorCode } from '../../sandbox/protocol.ts';

export { OAUTH_ERROR_STATUS, isOAuthErrorCode, sanitizeDescription } from '../../sandbox/protocol.ts';
export type { OAuthErrorCode } from '../../sandbox/protocol.ts';

/** An OAuth error as a value: validators return it, endpoints render it. */
export interface OAuthError {
  readonly error: OAuthErrorCode;
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

export type Result<T, E = OAuthError> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E = OAuthError>(error: E): Result<never, E> => ({ ok: false, error });

/** The JSON body of an error response (RFC 6749 §5.2). */
export type OAuthErrorBody = { error: OAuthErrorCode; error_description: string };

export function errorBody(err: OAuthError): OAuthErrorBody {
  return { error: err.error, error_description: err.description };
}
