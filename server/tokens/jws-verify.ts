/**
 * Checking a presented JWS's signature with WebCrypto (its work runs on the thread pool), from the
 * parts parseCompactJws has already decoded and checked: the header and payload are not parsed a
 * second time. What a generic JOSE library would check again per token is settled once per key, at
 * import: the key's algorithm, curve and hash come from `alg`, and RSA keys below 2048 bits are
 * refused (RFC 7518 §3.3, §3.5).
 */
import { webcrypto } from 'node:crypto';
import type { JsonWebKeyLike } from './jws-guards.ts';

type ImportParams = webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm;
type VerifyParams = webcrypto.Algorithm | webcrypto.EcdsaParams | webcrypto.RsaPssParams;

interface AlgorithmEntry {
  readonly importParams: ImportParams;
  readonly verifyParams: VerifyParams;
  readonly minRsaBits?: number;
}

const rsa = (name: 'RSASSA-PKCS1-v1_5' | 'RSA-PSS', bits: 256 | 384 | 512): AlgorithmEntry => ({
  importParams: { name, hash: `SHA-${bits}` },
  // RFC 7518 §3.5: the PSS salt is as long as the hash.
  verifyParams: name === 'RSA-PSS' ? { name, saltLength: bits / 8 } : { name },
  minRsaBits: 2048,
});
const ecdsa = (namedCurve: 'P-256' | 'P-384' | 'P-521', bits: 256 | 384 | 512): AlgorithmEntry => ({
  importParams: { name: 'ECDSA', namedCurve },
  verifyParams: { name: 'ECDSA', hash: `SHA-${bits}` },
});
const ed25519: AlgorithmEntry = { importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } };

/** Every algorithm jws-guards accepts for a presented token (KEY_REQUIREMENTS there). */
const ALGORITHMS: Readonly<Record<string, AlgorithmEntry>> = {
  RS256: rsa('RSASSA-PKCS1-v1_5', 256),
  RS384: rsa('RSASSA-PKCS1-v1_5', 384),
  RS512: rsa('RSASSA-PKCS1-v1_5', 512),
  PS256: rsa('RSA-PSS', 256),
  PS384: rsa('RSA-PSS', 384),
  PS512: rsa('RSA-PSS', 512),
  ES256: ecdsa('P-256', 256),
  ES384: ecdsa('P-384', 384),
  ES512: ecdsa('P-521', 512),
  EdDSA: ed25519,
  Ed25519: ed25519,
};

/** A public key ready to check signatures of one algorithm. */
export interface VerificationKey {
  readonly alg: string;
  readonly key: webcrypto.CryptoKey;
}

/**
 * Imports the public members of a JWK for `alg`, or null when the key cannot serve it: an unknown
 * algorithm, a key of another type or curve, a malformed key, or an RSA modulus below 2048 bits.
 */
export async function importVerificationKey(publicJwk: JsonWebKeyLike, alg: string): Promise<VerificationKey | null> {
  const entry = Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined;
  if (!entry) return null;
  let key: webcrypto.CryptoKey;
  try {
    key = await webcrypto.subtle.importKey('jwk', publicJwk as webcrypto.JsonWebKey, entry.importParams, false, ['verify']);
  } catch {
    return null;
  }
  if (entry.minRsaBits !== undefined) {
    const modulusLength = (key.algorithm as webcrypto.RsaHashedKeyAlgorithm).modulusLength;
    if (typeof modulusLength !== 'number' || modulusLength < entry.minRsaBits) return null;
  }
  return { alg, key };
}

/** True when `signature` is `key`'s signature over `signingInput` (the token up to its last dot). */
export async function verifySignature(key: VerificationKey, signingInput: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const entry = ALGORITHMS[key.alg];
  if (!entry) return false;
  try {
    return await webcrypto.subtle.verify(entry.verifyParams, key.key, signature, signingInput);
  } catch {
    return false;
  }
}
