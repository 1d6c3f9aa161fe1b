/**
 * RFC 7523 client assertions signed with node:crypto, and reading a JWT's `exp` without verifying
 * it (the client only needs it to bound how long an exchanged token is reused).
 */
import { constants, createPrivateKey, randomUUID, sign, type JsonWebKey, type KeyObject } from 'node:crypto';

export type AssertionAlg = 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'EdDSA';

/** A private key as a KeyObject, a PEM string (PKCS#8, SEC1 or PKCS#1) or a private JWK. */
export type PrivateKeyInput = KeyObject | string | JsonWebKey;

const EC_CURVES: Record<string, 'ES256' | 'ES384' | 'ES512'> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

export function loadPrivateKey(input: PrivateKeyInput): KeyObject {
  if (typeof input === 'string') return createPrivateKey(input);
  if (isKeyObject(input)) {
    if (input.type !== 'private') throw new TypeError('privateKey must be a private key');
    return input;
  }
  return createPrivateKey({ key: input, format: 'jwk' });
}

function isKeyObject(value: KeyObject | JsonWebKey): value is KeyObject {
  return typeof (value as KeyObject).export === 'function' && typeof (value as KeyObject).type === 'string';
}

/** The algorithm a key signs with when none is configured: ES256/384/512 by curve, RS256, EdDSA. */
export function defaultAlg(key: KeyObject): AssertionAlg {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const alg = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (alg) return alg;
      break;
    }
    case 'rsa':
      return 'RS256';
    case 'ed25519':
      return 'EdDSA';
  }
  throw new TypeError(`unsupported private key type for private_key_jwt: ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** Throws when `alg` cannot be made with `key` (a P-256 key for ES384, an EC key for RS256, ...). */
export function checkAlg(key: KeyObject, alg: AssertionAlg): void {
  const type = key.asymmetricKeyType;
  const fits =
    alg.startsWith('ES') ? type === 'ec' && EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] === alg
    : alg.startsWith('RS') || alg.startsWith('PS') ? type === 'rsa' || (alg.startsWith('PS') && type === 'rsa-pss')
    : alg === 'EdDSA' ? type === 'ed25519'
    : false;
  if (!fits) throw new TypeError(`private key of type ${type ?? 'unknown'} cannot sign ${alg}`);
}

export function signJwt(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject, alg: AssertionAlg): string {
  const input = `${b64(JSON.stringify({ ...header, alg }))}.${b64(JSON.stringify(claims))}`;
  const data = Buffer.from(input);
  let signature: Buffer;
  if (alg === 'EdDSA') signature = sign(null, data, key);
  else {
    const hash = HASHES[alg.slice(2)];
    if (!hash) throw new TypeError(`unsupported alg ${alg}`);
    if (alg.startsWith('ES')) signature = sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
    else if (alg.startsWith('PS')) signature = sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
    else signature = sign(hash, data, key);
  }
  return `${input}.${signature.toString('base64url')}`;
}

export interface AssertionInput {
  clientId: string;
  audience: string;
  key: KeyObject;
  alg: AssertionAlg;
  kid?: string | undefined;
  /** Seconds since the epoch. */
  now: number;
  lifetimeSeconds: number;
}

/** A fresh RFC 7523 client assertion: iss = sub = the client id, a random jti, a short exp. */
export function clientAssertion(input: AssertionInput): string {
  const header: Record<string, unknown> = { typ: 'JWT', ...(input.kid ? { kid: input.kid } : {}) };
  const claims = {
    iss: input.clientId,
    sub: input.clientId,
    aud: input.audience,
    jti: randomUUID(),
    iat: input.now,
    exp: input.now + input.lifetimeSeconds,
  };
  return signJwt(header, claims, input.key, input.alg);
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/**
 * The `exp` (seconds) of a value shaped like a compact JWT, read without verification; undefined
 * for anything else (opaque tokens, JWE, missing or non-numeric exp).
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (claims === null || typeof claims !== 'object') return undefined;
    const exp = (claims as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}
