/**
 * POST /oauth/v2/oauth-introspect (RFC 7662). Any authenticated client may introspect. Active are:
 * JWTs this server signed, unexpired and with a key it still publishes; its opaque access tokens,
 * unexpired; its refresh tokens, unexpired and unused; in every case only when neither the token
 * nor anything it derives from (its lineage) is revoked. Everything else is exactly
 * `{"active": false}`. JWTs are checked by the presented-token validator, as the token exchange
 * checks a subject token of ours: what introspects as active, the exchange accepts.
 */
import type { ClientAuthenticator } from '../clients/authenticator.ts';
import type { PresentedTokenValidator } from '../tokens/presented-token-validator.ts';
import { oauthError } from './errors.ts';
import { firstValue, isFormContentType, parseForm } from '../http/form.ts';
import { errorResponse, NO_STORE_HEADERS, type EndpointRequest, type EndpointResponse } from './token-endpoint.ts';
import { TokenLifecycle } from './token-lifecycle.ts';

const INACTIVE: Readonly<Record<string, unknown>> = Object.freeze({ active: false });

/** A compact JWS has exactly two dots; our opaque values (base64url) have none. */
function looksLikeJwt(token: string): boolean {
  return token.split('.').length === 3;
}

export class IntrospectionEndpoint {
  private readonly authenticator: ClientAuthenticator;
  private readonly validator: PresentedTokenValidator;
  private readonly lifecycle: TokenLifecycle | null;

  constructor(authenticator: ClientAuthenticator, validator: PresentedTokenValidator, lifecycle: TokenLifecycle | null = null) {
    this.authenticator = authenticator;
    this.validator = validator;
    this.lifecycle = lifecycle;
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
    // token_type_hint only orders the lookups (RFC 7662 §2.1): a wrong hint still finds the token.
    const hint = firstValue(parsed.value, 'token_type_hint');
    return { status: 200, headers: { ...NO_STORE_HEADERS }, body: await this.introspect(token, hint) };
  }

  async introspect(token: string, hint?: string): Promise<Record<string, unknown>> {
    if (looksLikeJwt(token)) {
      const verified = await this.validator.verifyOwnToken(token);
      if (!verified.ok) return { ...INACTIVE };
      const typ = String(verified.header.typ ?? '').toLowerCase();
      const tokenType = typ === 'at+jwt' || typ === 'application/at+jwt' ? 'Bearer' : 'N_A';
      return activeAnswer(verified.claims, tokenType);
    }
    if (this.lifecycle === null || token.length === 0 || token.length > 512) return { ...INACTIVE };
    const lookups = hint === 'refresh_token' ? [this.refreshAnswer, this.opaqueAnswer] : [this.opaqueAnswer, this.refreshAnswer];
    for (const lookup of lookups) {
      const answer = await lookup.call(this, this.lifecycle, token);
      if (answer !== null) return answer;
    }
    return { ...INACTIVE };
  }

  private async opaqueAnswer(lifecycle: TokenLifecycle, token: string): Promise<Record<string, unknown> | null> {
    const claims = await lifecycle.resolveOpaque(token);
    if (claims === null) return null;
    const now = lifecycle.nowSeconds();
    if (typeof claims.exp !== 'number' || claims.exp <= now || lifecycle.isRevoked(claims)) return { ...INACTIVE };
    return activeAnswer(claims, 'Bearer');
  }

  private async refreshAnswer(lifecycle: TokenLifecycle, token: string): Promise<Record<string, unknown> | null> {
    const record = await lifecycle.findRefreshToken(token);
    if (record === null) return null;
    const claims = record.data['claims'];
    if (record.used_at !== null || record.expires_at <= lifecycle.nowSeconds() || typeof claims !== 'object' || claims === null) return { ...INACTIVE };
    if (lifecycle.revocations.anyRevoked(TokenLifecycle.refreshLineage(record))) return { ...INACTIVE };
    // No token_type: RFC 7662's token_type names access token types (RFC 6749 §7.1).
    const { active: _active, token_type: _type, ...rest } = claims as Record<string, unknown>;
    return { active: true, ...rest, exp: record.expires_at };
  }
}

/** A claim named `active` or `token_type` (procedures may carry subject claims over) never overrides the answer. */
function activeAnswer(claims: Record<string, unknown>, tokenType: string): Record<string, unknown> {
  const { active: _claimedActive, token_type: _claimedType, ...rest } = claims;
  return { active: true, ...rest, token_type: tokenType };
}
