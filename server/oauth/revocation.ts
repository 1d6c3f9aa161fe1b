/**
 * POST /oauth/v2/oauth-revoke (RFC 7009). The caller authenticates as at the introspection
 * endpoint, and may revoke only tokens issued to it: a token of another client is refused with
 * `unauthorized_client` and stays valid (§2.1). Unknown, invalid, expired or already revoked tokens
 * answer 200 (§2.2), as does a successful revocation. `token_type_hint` only orders the lookups.
 *
 * What is revoked (server/tokens/lineage.ts): a JWT or opaque access token by its `jti`; a refresh
 * token by its family. Everything derived from the revoked token, by exchange or refresh, names it
 * in its lineage and is inactive from then on, on every instance within about a second.
 */
import type { ClientAuthenticator } from '../clients/authenticator.ts';
import type { PresentedTokenValidator } from '../tokens/presented-token-validator.ts';
import { isStoreUnavailableError } from '../store/errors.ts';
import { oauthError, type OAuthError } from './errors.ts';
import { firstValue, isFormContentType, parseForm } from '../http/form.ts';
import { errorResponse, NO_STORE_HEADERS, type EndpointRequest, type EndpointResponse } from './token-endpoint.ts';
import { storeUnavailable, type TokenLifecycle } from './token-lifecycle.ts';
import type { Logger } from '../logging.ts';
import { requesterOf } from '../tokens/lineage.ts';

/** What the presented token turned out to be. */
type Found =
  | { kind: 'none' }
  | { kind: 'access'; owner: string | null; id: string; exp: number | null }
  | { kind: 'refresh'; owner: string; familyId: string; exp: number };

function ownerOf(claims: Record<string, unknown>): string | null {
  // The requesting client the host recorded; the procedure-set client_id only for older tokens.
  const requester = requesterOf(claims);
  if (requester !== null) return requester;
  if (typeof claims.client_id === 'string') return claims.client_id;
  return typeof claims.azp === 'string' ? claims.azp : null;
}

export class RevocationEndpoint {
  private readonly authenticator: ClientAuthenticator;
  private readonly validator: PresentedTokenValidator;
  private readonly lifecycle: TokenLifecycle;
  private readonly logger: Logger;

  constructor(authenticator: ClientAuthenticator, validator: PresentedTokenValidator, lifecycle: TokenLifecycle, logger: Logger) {
    this.authenticator = authenticator;
    this.validator = validator;
    this.lifecycle = lifecycle;
    this.logger = logger;
  }

  async handle(request: EndpointRequest): Promise<EndpointResponse> {
    if (!isFormContentType(request.headers['content-type'])) {
      return errorResponse(oauthError('invalid_request', 'The body must be application/x-www-form-urlencoded'));
    }
    const parsed = parseForm(request.body);
    if (!parsed.ok) return errorResponse(parsed.error);
    const auth = await this.authenticator.authenticate(request.headers.authorization, parsed.value, request.remoteAddress);
    if (!auth.ok) return errorResponse(auth.error);
    const token = firstValue(parsed.value, 'token');
    if (token === undefined) return errorResponse(oauthError('invalid_request', 'token is required'));
    const hint = firstValue(parsed.value, 'token_type_hint');
    const callerId = auth.value.client.client_id;
    try {
      const refusal = await this.revoke(token, hint, callerId, request.requestId);
      if (refusal !== null) return errorResponse(refusal);
    } catch (error) {
      if (isStoreUnavailableError(error)) return errorResponse(storeUnavailable());
      throw error;
    }
    return { status: 200, headers: { ...NO_STORE_HEADERS }, body: {} };
  }

  /** Revokes what `token` is, when it was issued to the caller; answers the refusal otherwise. */
  private async revoke(token: string, hint: string | undefined, callerId: string, requestId: string): Promise<OAuthError | null> {
    const found = await this.find(token, hint);
    if (found.kind === 'none') return null;
    if (found.owner !== callerId) {
      this.logger.warn('revocation refused: the token was issued to another client', { event: 'token_revocation', request_id: requestId, client_id: callerId, outcome: 'unauthorized_client' });
      return oauthError('unauthorized_client', 'The token was not issued to this client');
    }
    const revocations = this.lifecycle.revocations;
    const id = found.kind === 'refresh' ? found.familyId : found.id;
    await revocations.revoke([{ id, purge_after: revocations.purgeAfter(found.exp) }]);
    this.logger.info('token revoked', { event: 'token_revocation', request_id: requestId, client_id: callerId, revoked: found.kind === 'refresh' ? 'refresh_family' : 'access_token', outcome: 'revoked' });
    return null;
  }

  private async find(token: string, hint: string | undefined): Promise<Found> {
    if (token.split('.').length === 3) {
      // Expired, foreign, malformed or already revoked JWTs: nothing (more) to revoke.
      const verified = await this.validator.verifyOwnToken(token);
      if (!verified.ok || typeof verified.claims.jti !== 'string') return { kind: 'none' };
      const exp = typeof verified.claims.exp === 'number' ? verified.claims.exp : null;
      return { kind: 'access', owner: ownerOf(verified.claims), id: verified.claims.jti, exp };
    }
    if (token.length === 0 || token.length > 512) return { kind: 'none' };
    const order = hint === 'refresh_token' ? (['refresh', 'opaque'] as const) : (['opaque', 'refresh'] as const);
    for (const kind of order) {
      if (kind === 'opaque') {
        const claims = await this.lifecycle.resolveOpaque(token);
        if (claims === null) continue;
        if (typeof claims.jti !== 'string' || typeof claims.exp !== 'number' || claims.exp <= this.lifecycle.nowSeconds()) return { kind: 'none' };
        return { kind: 'access', owner: ownerOf(claims), id: claims.jti, exp: claims.exp };
      }
      const record = await this.lifecycle.findRefreshToken(token);
      if (record === null) continue;
      if (record.expires_at <= this.lifecycle.nowSeconds()) return { kind: 'none' };
      return { kind: 'refresh', owner: record.client_id, familyId: record.family_id, exp: record.expires_at };
    }
    return { kind: 'none' };
  }
}
