/**
 * The crypto floor: ES256 verify of a subject token plus ES256 sign of a new token, with
 * node:crypto, in a tight loop on one core (this thread, while nothing else runs). One operation is
 * one verify and one sign: the cryptographic work of one exchange, and an upper bound on any
 * single-core exchange rate.
 */
import crypto from 'node:crypto';
import { generateEs256KeyPair, signEs256, verifyEs256 } from './es256.ts';
import type { IdentityProvider } from './scenario.ts';

export interface CryptoFloorResult {
  /** verify + sign pairs per second on one core. */
  opsPerSecond: number;
  verifyMicros: number;
  signMicros: number;
}

export function measureCryptoFloor(idp: IdentityProvider, subjectTokens: readonly string[], seconds: number): CryptoFloorResult {
  if (subjectTokens.length === 0) throw new RangeError('the crypto floor needs subject tokens');
  const signer = generateEs256KeyPair();
  let verifyNs = 0n;
  let signNs = 0n;
  let ops = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  while (performance.now() < deadline) {
    // Check the clock every 64 operations only, so timing does not weigh on the loop.
    for (let i = 0; i < 64; i++) {
      const token = subjectTokens[ops % subjectTokens.length] as string;
      const t0 = process.hrtime.bigint();
      const verified = verifyEs256(token, idp.key.publicKey);
      const t1 = process.hrtime.bigint();
      if (!verified) throw new Error('the crypto floor could not verify its own subject token');
      const now = Math.floor(Date.now() / 1000);
      signEs256(signer, { typ: 'at+jwt' }, {
        iss: 'http://localhost',
        sub: verified.claims.sub,
        aud: verified.claims.aud,
        client_id: verified.claims.client_id,
        scope: 'invoicing',
        iat: now,
        exp: now + 300,
        jti: crypto.randomBytes(18).toString('base64url'),
      });
      signNs += process.hrtime.bigint() - t1;
      verifyNs += t1 - t0;
      ops += 1;
    }
  }
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    opsPerSecond: ops / elapsedSeconds,
    verifyMicros: Number(verifyNs) / 1000 / ops,
    signMicros: Number(signNs) / 1000 / ops,
  };
}
