/**
 * ES256 compact JWS with node:crypto only: the benchmark's identity provider mints subject tokens
 * with it, and the bare floor server and the crypto floor verify and sign with it.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export interface Es256KeyPair {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export type PublicEcJwk = { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid: string; alg: 'ES256'; use: 'sig' };
export type PrivateEcJwk = PublicEcJwk & { d: string };

export function generateEs256KeyPair(): Es256KeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = crypto.createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url');
  return { kid, privateKey, publicKey };
}

export function publicJwkOf(pair: Es256KeyPair): PublicEcJwk {
  const jwk = pair.publicKey.export({ format: 'jwk' });
  return { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y), kid: pair.kid, alg: 'ES256', use: 'sig' };
}

export function privateJwkOf(pair: Es256KeyPair): PrivateEcJwk {
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...publicJwkOf(pair), d: String(jwk.d) };
}

/** Rebuilds a key pair from a private JWK (how child servers receive the keys they use). */
export function keyPairFromJwk(jwk: PrivateEcJwk): Es256KeyPair {
  const privateKey = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  return { kid: jwk.kid, privateKey, publicKey: crypto.createPublicKey(privateKey) };
}

/*
 * Node's crypto.sign/verify take the fast path only when handed a bare KeyObject: an options
 * object such as `{ key, dsaEncoding: 'ieee-p1363' }` is first probed as a KeyObject and a
 * CryptoKey, and each failed probe throws and catches internally (about half the cost of an ES256
 * signature on Node 24). So keys go in bare, and signatures are converted between DER (what
 * OpenSSL speaks) and JWS's fixed-width r || s (RFC 7518 §3.4) here.
 */
const P256_SCALAR_BYTES = 32;

function derLength(der: Buffer, at: number): { length: number; next: number } {
  const first = der[at] ?? 0;
  if (first < 0x80) return { length: first, next: at + 1 };
  return { length: der[at + 1] ?? 0, next: at + 2 };
}

/** DER `SEQUENCE { INTEGER r, INTEGER s }` → 64-byte r || s. */
export function derToJose(der: Buffer): Buffer {
  const out = Buffer.alloc(P256_SCALAR_BYTES * 2);
  const sequence = derLength(der, 1);
  let at = sequence.next;
  for (let part = 0; part < 2; part++) {
    const integer = derLength(der, at + 1);
    let start = integer.next;
    let length = integer.length;
    while (length > P256_SCALAR_BYTES && der[start] === 0) {
      start += 1;
      length -= 1;
    }
    der.copy(out, part * P256_SCALAR_BYTES + (P256_SCALAR_BYTES - length), start, start + length);
    at = integer.next + integer.length;
  }
  return out;
}

function derInteger(scalar: Buffer): Buffer {
  let start = 0;
  while (start < scalar.length - 1 && scalar[start] === 0) start += 1;
  const trimmed = scalar.subarray(start);
  const pad = (trimmed[0] ?? 0) & 0x80 ? 1 : 0;
  const out = Buffer.alloc(2 + pad + trimmed.length);
  out[0] = 0x02;
  out[1] = pad + trimmed.length;
  trimmed.copy(out, 2 + pad);
  return out;
}

/** 64-byte r || s → DER. */
export function joseToDer(signature: Buffer): Buffer {
  const r = derInteger(signature.subarray(0, P256_SCALAR_BYTES));
  const s = derInteger(signature.subarray(P256_SCALAR_BYTES));
  const body = r.length + s.length;
  return Buffer.concat([body < 0x80 ? Buffer.from([0x30, body]) : Buffer.from([0x30, 0x81, body]), r, s]);
}

export function signEs256(key: Es256KeyPair, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const head = Buffer.from(JSON.stringify({ ...header, alg: 'ES256', kid: key.kid })).toString('base64url');
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const input = `${head}.${body}`;
  const signature = derToJose(crypto.sign('sha256', Buffer.from(input), key.privateKey));
  return `${input}.${signature.toString('base64url')}`;
}

export interface VerifiedJws {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Verifies an ES256 compact JWS against one public key; null when it is malformed or the signature fails. */
export function verifyEs256(token: string, publicKey: KeyObject): VerifiedJws | null {
  const firstDot = token.indexOf('.');
  const lastDot = token.lastIndexOf('.');
  if (firstDot <= 0 || lastDot === firstDot) return null;
  const signature = Buffer.from(token.slice(lastDot + 1), 'base64url');
  if (signature.length !== 64) return null;
  const ok = crypto.verify('sha256', Buffer.from(token.slice(0, lastDot)), publicKey, joseToDer(signature));
  if (!ok) return null;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, firstDot), 'base64url').toString('utf8')) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(token.slice(firstDot + 1, lastDot), 'base64url').toString('utf8')) as Record<string, unknown>;
    if (header.alg !== 'ES256') return null;
    return { header, claims };
  } catch {
    return null;
  }
}
