/** Shapes shared by the client and the middleware. */

/** An RFC 8693 §2.2.1 token response (members beyond these are kept as the server sent them). */
export interface TokenResponse {
  readonly access_token: string;
  readonly issued_token_type: string;
  readonly token_type: string;
  readonly expires_in?: number;
  readonly scope?: string;
  readonly refresh_token?: string;
  readonly [member: string]: unknown;
}

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** What `fetch` must be for the client: the global one, or a wrapper of it. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Where the client reports what it does: no token, secret or assertion is ever passed to it. */
export interface ExchangeLogger {
  debug?(message: string, fields: Record<string, unknown>): void;
  warn?(message: string, fields: Record<string, unknown>): void;
}
