/**
 * POST /oauth/v2/oauth-introspect (RFC 7662). Any authenticated client may introspect. Only JWTs
 * this server signed, unexpired and with a key it still publishes, are active; everything else is
 * exactly `{"active": false}`.
 */
import * as jose from 'jose';
import type { ClientAuthenticator } from '../clients/authenticator.ts';
import { oauthError } from './errors.ts';
import { firstValue, isFormContentType, parseForm } from '../http/form.ts';
import { errorResponse, NO_STORE_HEADERS, type EndpointRequest, type EndpointResponse } from './token-endpoint.ts';
import { SIGNING_ALGORITHMS, type TokenSigner } from '../tokens/keys.ts';

export class IntrospectionEndpoint {
  private readonly authenticator: ClientAuthenticator;
  private readonly signer: TokenSigner;
  private readonly clockSkewSeconds: number;
  private jwks: { source: readonly unknown[]; set: ReturnType<typeof jose.createLocalJWKSet> } | null = null;

  constructor(authenticator: ClientAuthenticator, signer: TokenSigner, clockSkewSeconds: number) {
    this.authenticator = authenticator;
    this.signer = signer;
    this.clockSkewSeconds = clockSkewSeconds;
  }

  private keySet(): ReturnType<typeof jose.createLocalJWKSet> {
    const keys = this.signer.publicKeys();
    if (!this.jwks || this.jwks.source !== keys) {
      this.jwks = { source: keys, set: jose.createLocalJWKSet({ keys: keys.map((k) => ({ ...k })) }) };
    }
    return this.jwks.set;
  }

  async handle(request: EndpointRequest): Promise<EndpointResponse> {
    if (!isFormContentType(request.headers['content-type'])) {
      return errorResponse(oauthError('invalid_request', 'The body must be application/x-www-form-urlencoded'));
    }
    const parsed = parseForm(request.body);
    if (!parsed.ok) return errorResponse(parsed.error);
    const auth = await this.authenticator.authenticate(request.headers.authorization, parsed.value);
    if (!auth.ok) return errorResponse(auth.error);
    const token = firstValue(parsed.value, 'token');
    if (token === undefined) return errorResponse(oauthError('invalid_request', 'token is required'));
    // token_type_hint is only a hint (RFC 7662 §2.1): it is ignored.
    return { status: 200, headers: { ...NO_STORE_HEADERS }, body: await this.introspect(token) };
  }

  async introspect(token: string): Promise<Record<string, unknown>> {
    if (token.length > 16 * 1024) return { active: false };
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, this.keySet(), {
        issuer: this.signer.issuer,
        algorithms: [...SIGNING_ALGORITHMS],
        clockTolerance: this.clockSkewSeconds,
        requiredClaims: ['exp', 'iat', 'sub'],
      });
      const typ = String(protectedHeader.typ ?? '').toLowerCase();
      const tokenType = typ === 'at+jwt' || typ === 'application/at+jwt' ? 'Bearer' : 'N_A';
      // A claim named `active` (procedures may carry subject claims over) never overrides the answer.
      const { active: _claimedActive, token_type: _claimedType, ...claims } = payload;
      return { active: true, ...claims, token_type: tokenType };
    } catch {
      return { active: false };
    }
  }
}
