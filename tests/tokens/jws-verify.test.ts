/**
 * Signature checks of presented tokens, for every algorithm the server accepts. jose signs (an
 * independent implementation); the server's own path verifies.
 */
import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { parseCompactJws, DEFAULT_ALLOWED_ALGORITHMS } from '../../server/tokens/jws-guards.ts';
import { importVerificationKey, verifySignature, verifySignatureOffThread } from '../../server/tokens/jws-verify.ts';
import { derToJoseSignature, joseToDerSignature } from '../../server/tokens/ecdsa-signature.ts';

const ALLOWED = new Set([...DEFAULT_ALLOWED_ALGORITHMS, 'Ed25519']);

function keyPairFor(alg: string): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (alg === 'ES384') return generateKeyPairSync('ec', { namedCurve: 'P-384' });
  if (alg === 'ES512') return generateKeyPairSync('ec', { namedCurve: 'P-521' });
  return generateKeyPairSync('ed25519');
}

async function signed(alg: string, privateKey: KeyObject, claims: Record<string, unknown> = { sub: 'alice' }): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(privateKey);
}

function parts(token: string) {
  const parsed = parseCompactJws(token, 16_384, ALLOWED);
  if (!parsed.ok) throw new Error(`unparseable test token: ${parsed.problem}`);
  return parsed.jws;
}

const jwkOf = (key: KeyObject) => key.export({ format: 'jwk' }) as Record<string, unknown>;

describe('presented token signatures', () => {
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']) {
    it(`${alg}: accepts the signer's token, refuses a changed payload and another key's signature`, async () => {
      const { privateKey, publicKey } = keyPairFor(alg);
      const key = await importVerificationKey(jwkOf(publicKey), alg);
      expect(key).not.toBeNull();
      if (!key) return;
      const good = parts(await signed(alg, privateKey));
      expect(verifySignature(key, good.signingInput, good.signature)).toBe(true);

      const other = parts(await signed(alg, privateKey, { sub: 'mallory' }));
      expect(verifySignature(key, other.signingInput, good.signature)).toBe(false);

      const stranger = parts(await signed(alg, keyPairFor(alg).privateKey));
      expect(verifySignature(key, stranger.signingInput, stranger.signature)).toBe(false);

      // The thread-pool path (WebCrypto) gives the same answers.
      expect(await verifySignatureOffThread(key, good.signingInput, good.signature)).toBe(true);
      expect(await verifySignatureOffThread(key, other.signingInput, good.signature)).toBe(false);
      expect(await verifySignatureOffThread(key, stranger.signingInput, stranger.signature)).toBe(false);
    });
  }

  it('refuses RSA keys below 2048 bits, as RFC 7518 requires', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(await importVerificationKey(jwkOf(publicKey), 'RS256')).toBeNull();
    expect(await importVerificationKey(jwkOf(publicKey), 'PS256')).toBeNull();
  });

  it('refuses a key of another curve or type than the algorithm names, and unknown algorithms', async () => {
    const p256 = jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    expect(await importVerificationKey(p256, 'ES384')).toBeNull();
    expect(await importVerificationKey(p256, 'RS256')).toBeNull();
    expect(await importVerificationKey(p256, 'HS256')).toBeNull();
    expect(await importVerificationKey(p256, 'none')).toBeNull();
    expect(await importVerificationKey({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }, 'ES256')).toBeNull();
  });

  it('does not take a PKCS#1 v1.5 signature for PSS, nor the reverse', async () => {
    const { privateKey, publicKey } = keyPairFor('RS256');
    const pss = await importVerificationKey(jwkOf(publicKey), 'PS256');
    const pkcs1 = await importVerificationKey(jwkOf(publicKey), 'RS256');
    if (!pss || !pkcs1) throw new Error('key import failed');
    const rs = parts(await signed('RS256', privateKey));
    const ps = parts(await signed('PS256', privateKey));
    expect(verifySignature(pss, rs.signingInput, rs.signature)).toBe(false);
    expect(verifySignature(pkcs1, ps.signingInput, ps.signature)).toBe(false);
  });

  it('returns false for a signature of the wrong length', async () => {
    const { privateKey, publicKey } = keyPairFor('ES256');
    const key = await importVerificationKey(jwkOf(publicKey), 'ES256');
    if (!key) throw new Error('key import failed');
    const token = parts(await signed('ES256', privateKey));
    expect(verifySignature(key, token.signingInput, token.signature.subarray(0, 63))).toBe(false);
  });

  it('re-encodes ECDSA signatures as the DER OpenSSL made, whatever their leading bytes (every curve)', () => {
    for (const [curve, scalarBytes] of [['P-256', 32], ['P-384', 48], ['P-521', 66]] as const) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
      // 200 signatures cover r and s with a high bit set and with leading zero bytes.
      for (let i = 0; i < 200; i++) {
        const der = sign('sha256', Buffer.from(`input ${i}`), privateKey);
        const jose = derToJoseSignature(Buffer.from(der), scalarBytes);
        expect(joseToDerSignature(jose, scalarBytes)?.equals(der)).toBe(true);
      }
    }
  });

  it('refuses ECDSA signatures with r or s out of range, all zero, or padded', async () => {
    const { privateKey, publicKey } = keyPairFor('ES256');
    const key = await importVerificationKey(jwkOf(publicKey), 'ES256');
    if (!key) throw new Error('key import failed');
    const token = parts(await signed('ES256', privateKey));
    const zero = new Uint8Array(64);
    expect(verifySignature(key, token.signingInput, zero)).toBe(false);
    const allOnes = new Uint8Array(64).fill(0xff);
    expect(verifySignature(key, token.signingInput, allOnes)).toBe(false);
    const padded = new Uint8Array(65);
    padded.set(token.signature, 1);
    expect(verifySignature(key, token.signingInput, padded)).toBe(false);
    expect(verifySignature(key, token.signingInput, token.signature)).toBe(true);
  });
});
