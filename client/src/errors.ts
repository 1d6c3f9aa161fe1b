/**
 * The one error type the client throws for a failed exchange. It carries the OAuth error code, the
 * server's description and the HTTP status, and never a token, secret or assertion: the description
 * is scrubbed of the values of the request that failed and of anything shaped like a JWT.
 */

/** Error codes the client itself produces, besides the OAuth codes a server answers. */
export const CLIENT_ERROR_CODES = {
  /** The token endpoint could not be reached (connection refused, DNS, TLS, timeout). */
  network: 'network_error',
  /** The endpoint answered something that is not a token response or an OAuth error. */
  invalidResponse: 'invalid_response',
  /** The issuer's metadata could not be fetched or does not name a usable token endpoint. */
  discovery: 'discovery_failed',
} as const;

export interface ExchangeErrorFields {
  /** The OAuth error code (`invalid_grant`, `invalid_target`, ...) or one of CLIENT_ERROR_CODES. */
  error: string;
  error_description?: string | undefined;
  /** The HTTP status of the answer; undefined when there was none (network error). */
  status?: number | undefined;
  /**
   * True for failures that may pass by themselves (network errors, 5xx, 429, malformed answers);
   * false for refusals (an OAuth error with a 4xx status).
   */
  transient: boolean;
  /** Seconds from a `Retry-After` header, when the server sent one. */
  retryAfter?: number | undefined;
}

export class ExchangeError extends Error {
  readonly error: string;
  readonly error_description: string | undefined;
  readonly status: number | undefined;
  readonly transient: boolean;
  readonly retryAfter: number | undefined;
  /** True when this failure was answered from the negative cache, without a request. */
  readonly cached: boolean;

  constructor(fields: ExchangeErrorFields, cached = false) {
    const status = fields.status === undefined ? '' : ` (HTTP ${fields.status})`;
    const description = fields.error_description ? `: ${fields.error_description}` : '';
    super(`token exchange failed: ${fields.error}${status}${description}`);
    this.name = 'ExchangeError';
    this.error = fields.error;
    this.error_description = fields.error_description;
    this.status = fields.status;
    this.transient = fields.transient;
    this.retryAfter = fields.retryAfter;
    this.cached = cached;
  }

  /** The fields, for the negative cache and for JSON logs. */
  fields(): ExchangeErrorFields {
    return { error: this.error, error_description: this.error_description, status: this.status, transient: this.transient, retryAfter: this.retryAfter };
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, message: this.message, ...this.fields(), cached: this.cached };
  }
}

const JWT_LIKE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;
const MAX_DESCRIPTION = 300;

/**
 * A server's `error_description` made safe to carry: the given secret values and anything shaped
 * like a compact JWS are replaced, control characters dropped, the length bounded.
 */
export function scrubDescription(description: unknown, secrets: readonly string[]): string | undefined {
  if (typeof description !== 'string' || description === '') return undefined;
  let text = description;
  for (const secret of secrets) if (secret.length >= 4) text = text.split(secret).join('[redacted]');
  text = Array.from(text.replace(JWT_LIKE, '[redacted]'), (c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? ' ' : c)).join('');
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION)}...` : text;
}
