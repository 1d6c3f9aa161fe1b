/** Assertions for the jwt-bearer grant tests: an issuer that signs any header and claims, and ID-JAG claims. */
import * as jose from 'jose';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const ID_JAG_TYPE = 'urn:ietf:params:oauth:token-type:id-jag';

/** An issuer whose key signs whatever header and claims a test asks for. */
export interface AssertionIssuer {
  issuer: string;
  jwks: { keys: jose.JWK[] };
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

export async function createAssertionIssuer(issuer: string): Promise<AssertionIssuer> {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(jwk);
  return {
    issuer,
    jwks: { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] },
    sign: (claims, header = {}) => new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'oauth-id-jag+jwt', ...header }).sign(privateKey),
  };
}

/** ID-JAG claims for `audience`, issued now for five minutes, with a fresh jti. */
export function idJagClaims(issuer: string, audience: string, clientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: issuer, sub: 'alice', aud: audience, client_id: clientId, jti: crypto.randomUUID(), iat: now, exp: now + 300, scope: 'chat.read chat.history', ...extra };
}
