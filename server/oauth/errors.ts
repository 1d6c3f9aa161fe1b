/**
 * The server's side of the one error catalogue. The refusal value (OAuthError), its constructor
 * and the codes with their statuses live in sandbox/protocol.ts, the leaf every layer shares (the
 * sandbox included, which speaks the same codes); this module re-exports them for server/ and adds
 * how an error becomes a response body. Status codes, headers and the RFC 6749 §5.2 character
 * rules are decided in those two places only.
 */
import type { OAuthError, OAuthErrorCode } from '../../sandbox/protocol.ts';

export { OAUTH_ERROR_STATUS, isOAuthErrorCode, sanitizeDescription, oauthError, ok, fail } from '../../sandbox/protocol.ts';
export type { OAuthErrorCode, OAuthError, OAuthErrorOptions, Result } from '../../sandbox/protocol.ts';

/** The JSON body of an error response (RFC 6749 §5.2). */
export type OAuthErrorBody = { error: OAuthErrorCode; error_description: string };

export function errorBody(err: OAuthError): OAuthErrorBody {
  return { error: err.error, error_description: err.description };
}
