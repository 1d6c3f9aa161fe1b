/**
 * Structural guards for presented JWS tokens, applied before any key is looked up or any signature
 * checked: size, compact shape, canonical base64url, strict JSON (no duplicate members), the `alg`
 * allowlist, `crit`, and which registered key may verify which algorithm.
 */
import { parseStrictJson } from './strict-json.ts';

/** Asymmetric algorithms only (RFC 8725 §3.1, RFC 9068 §4): `none` and HS* are never acceptable. */
export const DEFAULT_ALLOWED_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** What a verification key must look like for an algorithm; `null` for algorithms never accepted. */
export interface KeyRequirement {
  readonly kty: 'RSA' | 'EC' | 'OKP';
  readonly crv?: string;
}

const KEY_REQUIREMENTS: Readonly<Record<string, KeyRequirement>> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  Ed25519: { kty: 'OKP', crv: 'Ed25519' },
};

/** The key an asymmetric algorithm needs, or null (for `none`, HS*, and anything unknown). */
export function keyRequirementFor(alg: string): KeyRequirement | null {
  return Object.hasOwn(KEY_REQUIREMENTS, alg) ? (KEY_REQUIREMENTS[alg] ?? null) : null;
}

/** True for algorithms this module can verify with a public key. */
export function isAsymmetricSignatureAlgorithm(alg: string): boolean {
  return keyRequirementFor(alg) !== null;
}

/** A JWK as registered or fetched: members are checked at run time, never trusted by type. */
export type JsonWebKeyLike = Readonly<Record<string, unknown>>;

/** Private or secret JWK members: a key carrying any of them is never used (RFC 7517 §9.2). */
const SECRET_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

export function hasSecretMaterial(jwk: JsonWebKeyLike): boolean {
  return SECRET_JWK_MEMBERS.some((member) => Object.hasOwn(jwk, member));
}

/**
 * Whether a registered JWK may verify a signature made with `alg`: its type and curve fit the
 * algorithm (so a public RSA or EC key can never act as an HMAC secret), it holds no private or
 * symmetric material, and its own `alg`, `use` and `key_ops`, when present, allow it.
 */
export function isKeyUsableFor(jwk: JsonWebKeyLike, alg: string): boolean {
  const requirement = keyRequirementFor(alg);
  if (!requirement) return false;
  if (jwk.kty !== requirement.kty) return false;
  if (requirement.crv !== undefined && jwk.crv !== requirement.crv) return false;
  if (hasSecretMaterial(jwk)) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify')) return false;
  }
  return true;
}

const BASE64URL_ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes unpadded base64url, refusing other alphabets, padding and non-canonical encodings (a
 * final character with stray low bits), so that exactly one text stands for each byte string.
 */
export function decodeBase64urlStrict(segment: string): Uint8Array | null {
  if (!BASE64URL_ALPHABET.test(segment) || segment.length % 4 === 1) return null;
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) return null;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type JsonSegmentResult =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly problem: 'malformed' | 'duplicate_member' };

/** Decodes one base64url segment holding a JSON object (a JOSE header or a claims set). */
export function decodeJsonObjectSegment(segment: string): JsonSegmentResult {
  const bytes = decodeBase64urlStrict(segment);
  if (!bytes || bytes.length === 0) return { ok: false, problem: 'malformed' };
  let text: string;
  try {
    text = UTF8_STRICT.decode(bytes);
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  const parsed = parseStrictJson(text);
  if (!parsed.ok) return { ok: false, problem: parsed.problem === 'duplicate_member' ? 'duplicate_member' : 'malformed' };
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, problem: 'malformed' };
  return { ok: true, value: value as Record<string, unknown> };
}

export interface ParsedCompactJws {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly alg: string;
  readonly kid: string | undefined;
  /** What the signature covers: the token up to its last dot, as bytes. */
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
}

export type CompactJwsProblem =
  | 'empty'
  | 'too_large'
  | 'not_jwt'
  | 'encrypted'
  | 'malformed'
  | 'duplicate_member'
  | 'disallowed_alg'
  | 'critical_header';

export type CompactJwsResult =
  | { readonly ok: true; readonly jws: ParsedCompactJws }
  | { readonly ok: false; readonly problem: CompactJwsProblem };

/**
 * Parses a compact JWS and applies every check that needs no key. Order matters: size comes first
 * so nothing larger than `maxBytes` is ever decoded. A value with no JWS/JWE shape (not 3 or 5
 * dot-separated parts) is `not_jwt`: an opaque token, which the caller may pass on unvalidated.
 * Key-location headers (`jku`, `x5u`, `jwk`, `x5c`) are left in the header but never used: keys
 * come only from the issuer's registered set.
 */
export function parseCompactJws(token: string, maxBytes: number, allowedAlgorithms: ReadonlySet<string>): CompactJwsResult {
  if (token.length === 0) return { ok: false, problem: 'empty' };
  if (Buffer.byteLength(token, 'utf8') > maxBytes) return { ok: false, problem: 'too_large' };
  const parts = token.split('.');
  if (parts.length === 5) return { ok: false, problem: 'encrypted' };
  if (parts.length !== 3) return { ok: false, problem: 'not_jwt' };
  const [headerSegment = '', payloadSegment = '', signatureSegment = ''] = parts;

  const header = decodeJsonObjectSegment(headerSegment);
  if (!header.ok) return { ok: false, problem: header.problem };
  const claims = decodeJsonObjectSegment(payloadSegment);
  if (!claims.ok) return { ok: false, problem: claims.problem };
  const alg = header.value.alg;
  if (typeof alg !== 'string' || !allowedAlgorithms.has(alg) || !isAsymmetricSignatureAlgorithm(alg)) {
    return { ok: false, problem: 'disallowed_alg' };
  }
  // This server implements no JWS extension, so any `crit` (RFC 7515 §4.1.11) is one it cannot
  // honour; `b64: false` (RFC 7797) is only meaningful through `crit`, so it is refused with it.
  if (Object.hasOwn(header.value, 'crit') || Object.hasOwn(header.value, 'b64')) return { ok: false, problem: 'critical_header' };
  // `enc` and `zip` belong to JWE; their presence means the token is not a plain JWS.
  if (Object.hasOwn(header.value, 'enc') || Object.hasOwn(header.value, 'zip')) return { ok: false, problem: 'encrypted' };

  const kid = header.value.kid;
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0)) return { ok: false, problem: 'malformed' };
  // Checked after `alg`, so that an unsigned (`alg: none`) token is reported as such.
  const signature = decodeBase64urlStrict(signatureSegment);
  if (!signature || signature.length === 0) return { ok: false, problem: 'malformed' };
  const signingInput = Buffer.from(token.slice(0, headerSegment.length + 1 + payloadSegment.length), 'ascii');
  return { ok: true, jws: { header: header.value, claims: claims.value, alg, kid, signingInput, signature } };
}

/**
 * The media type in `typ`, lower-cased, with the optional `application/` prefix removed
 * (RFC 7515 §4.1.9), or undefined when there is none. A non-string `typ` yields null.
 */
export function normalizedTyp(header: Readonly<Record<string, unknown>>): string | undefined | null {
  const typ = header.typ;
  if (typ === undefined) return undefined;
  if (typeof typ !== 'string') return null;
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}
