/** A foreign identity provider for tests: an ES256 key registered inline as a trusted issuer. */
import * as jose from 'jose';

export interface TestIdp {
  readonly issuer: string;
  readonly jwks: { keys: jose.JWK[] };
  readonly kid: string;
  mint(claims: Record<string, unknown>, options?: { typ?: string; expiresIn?: number }): Promise<string>;
}

export async function createTestIdp(issuer = 'https://idp.example.com'): Promise<TestIdp> {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(publicJwk);
  return {
    issuer,
    kid,
    jwks: { keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] },
    async mint(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new jose.SignJWT({ jti: crypto.randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'ES256', kid, typ: options.typ ?? 'at+jwt' })
        .setIssuer(issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresIn ?? 600))
        .sign(privateKey);
    },
  };
}
