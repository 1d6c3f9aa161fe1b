/**
 * Checking a presented JWS's signature, from the parts parseCompactJws has already decoded and
 * checked: the header and payload are not parsed a second time. What a generic JOSE library would
 * check again per token is settled once per key, at import: WebCrypto imports the JWK for `alg`
 * (key type, curve and hash from `alg`), and RSA keys below 2048 bits are refused (RFC 7518 §3.3,
 * §3.5).
 *
 * The signature itself is checked in one of two ways, the same OpenSSL check either way:
 * - `verifySignature`: node:crypto's synchronous `verify` on the calling thread. One request at a
 *   time it is the cheaper: WebCrypto's hand-off to the thread pool and back cost ~85 µs of CPU on
 *   top of the ~55 µs an ES256 check takes (bench/RESULTS.md, session 4). What WebCrypto checks
 *   before OpenSSL is repeated: an ECDSA signature must be exactly two scalars long (RFC 7518
 *   §3.4); it is then re-encoded as DER (ecdsa-signature.ts), so the key goes in bare.
 * - `verifySignatureOffThread`: WebCrypto, whose work runs on the thread pool. When the event loop
 *   is busy this wins: the check runs on another core while the loop serves other requests, and
 *   completions are handled in batches (saturated, 2 cores: ~2500 against ~1900 exchanges/s).
 * The caller picks by load (server/runtime/event-loop-load.ts).
 */
import crypto, { webcrypto } from 'node:crypto';
import { joseToDerSignature } from './ecdsa-signature.ts';
import type { JsonWebKeyLike } from './jws-guards.ts';

type ImportParams = webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm;

type VerifyParams = webcrypto.Algorithm | webcrypto.EcdsaParams | webcrypto.RsaPssParams;

type SignatureScheme =
  | { readonly kind: 'rsa-pkcs1'; readonly hash: string }
  | { readonly kind: 'rsa-pss'; readonly hash: string; readonly saltLength: number }
  | { readonly kind: 'ecdsa'; readonly hash: string; readonly scalarBytes: number }
  | { readonly kind: 'eddsa' };

interface AlgorithmEntry {
  readonly importParams: ImportParams;
  readonly verifyParams: VerifyParams;
  readonly scheme: SignatureScheme;
  readonly minRsaBits?: number;
}

const rsa = (name: 'RSASSA-PKCS1-v1_5' | 'RSA-PSS', bits: 256 | 384 | 512): AlgorithmEntry => ({
  importParams: { name, hash: `SHA-${bits}` },
  // RFC 7518 §3.5: the PSS salt is as long as the hash.
  verifyParams: name === 'RSA-PSS' ? { name, saltLength: bits / 8 } : { name },
  scheme: name === 'RSA-PSS' ? { kind: 'rsa-pss', hash: `sha${bits}`, saltLength: bits / 8 } : { kind: 'rsa-pkcs1', hash: `sha${bits}` },
  minRsaBits: 2048,
});
const ecdsa = (namedCurve: 'P-256' | 'P-384' | 'P-521', bits: 256 | 384 | 512, scalarBytes: number): AlgorithmEntry => ({
  importParams: { name: 'ECDSA', namedCurve },
  verifyParams: { name: 'ECDSA', hash: `SHA-${bits}` },
  scheme: { kind: 'ecdsa', hash: `sha${bits}`, scalarBytes },
});
const ed25519: AlgorithmEntry = { importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' }, scheme: { kind: 'eddsa' } };

/** Every algorithm jws-guards accepts for a presented token (KEY_REQUIREMENTS there). */
const ALGORITHMS: Readonly<Record<string, AlgorithmEntry>> = {
  RS256: rsa('RSASSA-PKCS1-v1_5', 256),
  RS384: rsa('RSASSA-PKCS1-v1_5', 384),
  RS512: rsa('RSASSA-PKCS1-v1_5', 512),
  PS256: rsa('RSA-PSS', 256),
  PS384: rsa('RSA-PSS', 384),
  PS512: rsa('RSA-PSS', 512),
  ES256: ecdsa('P-256', 256, 32),
  ES384: ecdsa('P-384', 384, 48),
  ES512: ecdsa('P-521', 512, 66),
  EdDSA: ed25519,
  Ed25519: ed25519,
};

/** A public key ready to check signatures of one algorithm. */
export interface VerificationKey {
  readonly alg: string;
  /** For node:crypto on the calling thread. */
  readonly key: crypto.KeyObject;
  /** The same key for WebCrypto (the thread pool). */
  readonly cryptoKey: webcrypto.CryptoKey;
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
    // Extractable, so that node:crypto can take it as a KeyObject (a public key has nothing to hide).
    key = await webcrypto.subtle.importKey('jwk', publicJwk as webcrypto.JsonWebKey, entry.importParams, true, ['verify']);
  } catch {
    return null;
  }
  if (entry.minRsaBits !== undefined) {
    const modulusLength = (key.algorithm as webcrypto.RsaHashedKeyAlgorithm).modulusLength;
    if (typeof modulusLength !== 'number' || modulusLength < entry.minRsaBits) return null;
  }
  return { alg, key: crypto.KeyObject.from(key), cryptoKey: key };
}

/** True when `signature` is `key`'s signature over `signingInput` (the token up to its last dot). */
export function verifySignature(key: VerificationKey, signingInput: Uint8Array, signature: Uint8Array): boolean {
  const entry = Object.hasOwn(ALGORITHMS, key.alg) ? ALGORITHMS[key.alg] : undefined;
  if (!entry) return false;
  const { scheme } = entry;
  try {
    switch (scheme.kind) {
      case 'ecdsa': {
        const der = joseToDerSignature(signature, scheme.scalarBytes);
        return der !== null && crypto.verify(scheme.hash, signingInput, key.key, der);
      }
      case 'rsa-pkcs1':
        return crypto.verify(scheme.hash, signingInput, key.key, signature);
      case 'rsa-pss':
        return crypto.verify(scheme.hash, signingInput, { key: key.key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }, signature);
      case 'eddsa':
        return crypto.verify(null, signingInput, key.key, signature);
    }
  } catch {
    return false;
  }
}

/** The same check as verifySignature, run by WebCrypto on the thread pool. */
export async function verifySignatureOffThread(key: VerificationKey, signingInput: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const entry = Object.hasOwn(ALGORITHMS, key.alg) ? ALGORITHMS[key.alg] : undefined;
  if (!entry) return false;
  try {
    return await webcrypto.subtle.verify(entry.verifyParams, key.cryptoKey, signature, signingInput);
  } catch {
    return false;
  }
}
