/**
 * POST /oauth/v2/oauth-introspect (RFC 7662). Any authenticated client may introspect. Only JWTs
 * this server signed, unexpired and with a key it still publishes, are active; everything else is
 * exactly `{"active": false}`. Tokens are checked by the presented-token validator, as the token
 * exchange checks a subject token of ours: what introspects as active, the exchange accepts.
 */
import type { ClientAuthenticator } from '../clients/authenticator.ts';
import type { PresentedTokenValidator } from '../tokens/presented-token-validator.ts';
import { oauthError } from './errors.ts';
import { firstValue, isFormContentType, parseForm } from '../http/form.ts';
import { errorResponse, NO_STORE_HEADERS, type EndpointRequest, type EndpointResponse } from './token-endpoint.ts';

export class IntrospectionEndpoint {
  private readonly authenticator: ClientAuthenticator;
  private readonly validator: PresentedTokenValidator;

  constructor(authenticator: ClientAuthenticator, validator: PresentedTokenValidator) {
    this.authenticator = authenticator;
    this.validator = validator;
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
    // token_type_hint is only a hint (RFC 7662 §2.1): it is ignored.
    return { status: 200, headers: { ...NO_STORE_HEADERS }, body: await this.introspect(token) };
  }

  async introspect(token: string): Promise<Record<string, unknown>> {
    const verified = await this.validator.verifyOwnToken(token);
    if (!verified.ok) return { active: false };
    const typ = String(verified.header.typ ?? '').toLowerCase();
    const tokenType = typ === 'at+jwt' || typ === 'application/at+jwt' ? 'Bearer' : 'N_A';
    // A claim named `active` (procedures may carry subject claims over) never overrides the answer.
    const { active: _claimedActive, token_type: _claimedType, ...claims } = verified.claims;
    return { active: true, ...claims, token_type: tokenType };
  }
}
