/** The synchronous compact-JWS signer: every signature must verify with an independent library. */
import { describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import * as jose from 'jose';
import { derToJoseSignature, isLowS, toLowS } from '../../server/tokens/ecdsa-signature.ts';
import { EphemeralSigner } from '../../server/tokens/keys.ts';

describe('signCompact', () => {
  it.each(['ES256', 'RS256'] as const)('produces %s tokens that jose verifies, over many keys and payloads', async (alg) => {
    const rounds = alg === 'ES256' ? 40 : 4;
    for (let round = 0; round < rounds; round++) {
      const signer = new EphemeralSigner('https://issuer.example', alg);
      const jwks = jose.createLocalJWKSet({ keys: signer.publicKeys().map((k) => ({ ...k })) });
      for (let i = 0; i < 10; i++) {
        const payload = { sub: crypto.randomBytes(8 + i).toString('hex'), n: i };
        const { token, header } = signer.sign({ typ: 'at+jwt' }, payload);
        expect(header.alg).toBe(alg);
        const verified = await jose.compactVerify(token, jwks);
        expect(JSON.parse(Buffer.from(verified.payload).toString())).toEqual(payload);
      }
    }
  });
});

describe('sign with pre-serialised claims', () => {
  it('signs the JSON text as given, so the token carries exactly those bytes', async () => {
    const signer = new EphemeralSigner('https://issuer.example');
    const text = JSON.stringify({ sub: 'alice', scope: 'a b', n: 1 });
    const { token } = signer.sign({ typ: 'at+jwt' }, text);
    const jwks = jose.createLocalJWKSet({ keys: signer.publicKeys().map((k) => ({ ...k })) });
    const verified = await jose.compactVerify(token, jwks);
    expect(Buffer.from(verified.payload).toString()).toBe(text);
  });
});

describe('derToJoseSignature', () => {
  it('matches node’s own ieee-p1363 encoding, including short r and s', () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // r or s shorter than 32 bytes (DER shorter than 70 bytes) comes about once in 128 signatures:
    // keep signing until one has been seen, so the padding path is always exercised. The bound
    // makes a miss astronomically unlikely (p < 1e-16) rather than merely rare.
    let shortSeen = 0;
    for (let i = 0; i < 5000 && (shortSeen === 0 || i < 200); i++) {
      const data = Buffer.from(`message ${i}`);
      const der = crypto.sign('sha256', data, privateKey);
      const raw = derToJoseSignature(der, 32);
      expect(raw.length).toBe(64);
      if (der.length < 70) shortSeen += 1;
      expect(crypto.verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
    }
    expect(shortSeen).toBeGreaterThan(0);
  });

  it('refuses input that is not a DER ECDSA signature', () => {
    expect(() => derToJoseSignature(Buffer.from([0x30, 0x06, 0x05, 0x01, 0x01, 0x02, 0x01, 0x01]), 32)).toThrow(/malformed/);
  });
});

describe('low-S signatures', () => {
  it('the signer only ever produces low-S ES256 signatures (each token has one string)', () => {
    const signer = new EphemeralSigner('https://issuer.example');
    // Without normalisation about half of OpenSSL's signatures are high-S: 64 in a row low is 2^-64.
    for (let i = 0; i < 64; i++) {
      const { token } = signer.sign({ typ: 'at+jwt' }, { sub: `user-${i}` });
      expect(isLowS(Buffer.from(token.split('.')[2] ?? '', 'base64url'), 32)).toBe(true);
    }
  });

  it('toLowS gives the other valid signature of the same message, and leaves low-S ones alone', () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let highSeen = 0;
    for (let i = 0; i < 400 && highSeen < 3; i++) {
      const data = Buffer.from(`message ${i}`);
      const raw = derToJoseSignature(crypto.sign('sha256', data, privateKey), 32);
      const low = toLowS(raw, 32);
      expect(isLowS(low, 32)).toBe(true);
      expect(crypto.verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, low)).toBe(true);
      if (isLowS(raw, 32)) expect(low.equals(raw)).toBe(true);
      else {
        highSeen += 1;
        expect(low.subarray(0, 32).equals(raw.subarray(0, 32))).toBe(true);
        expect(low.equals(raw)).toBe(false);
      }
    }
    expect(highSeen).toBe(3);
  });
});
