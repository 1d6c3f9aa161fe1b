/*
 * Prelude module: SHA-256 for `idTokenIssuer.atHash(accessToken)` (OpenID Connect Core §3.1.3.6:
 * the left half of the SHA-256 of the token's ASCII octets, base64url). Computed inside the
 * isolate: the answer is only the procedure's own data, so no host callback (and no host object)
 * is needed for it. Only operators and captured intrinsics run here, never replaceable methods.
 */
/* exported atHashOf */
/* global freeze, stringCharCodeAt, RangeErrorCtor, StringCtor -- intrinsics.js */
/* global call, bareList -- helpers.js */

const SHA256_K = freeze([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Tokens are at most 16 KiB; anything far longer is not a token. */
const MAX_HASHED_CHARS = 65536;

/** UTF-8 octets of a string (ASCII tokens are their own octets). */
function utf8Octets(text) {
  const out = bareList();
  for (let i = 0; i < text.length; i++) {
    let code = call(stringCharCodeAt, text, [i]);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = call(stringCharCodeAt, text, [i + 1]);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (code < 0x80) {
      out[out.length] = code;
    } else if (code < 0x800) {
      out[out.length] = 0xc0 | (code >>> 6);
      out[out.length] = 0x80 | (code & 0x3f);
    } else if (code < 0x10000) {
      out[out.length] = 0xe0 | (code >>> 12);
      out[out.length] = 0x80 | ((code >>> 6) & 0x3f);
      out[out.length] = 0x80 | (code & 0x3f);
    } else {
      out[out.length] = 0xf0 | (code >>> 18);
      out[out.length] = 0x80 | ((code >>> 12) & 0x3f);
      out[out.length] = 0x80 | ((code >>> 6) & 0x3f);
      out[out.length] = 0x80 | (code & 0x3f);
    }
  }
  return out;
}

function rotr(x, n) {
  return (x >>> n) | (x << (32 - n));
}

/** FIPS 180-4 SHA-256 of an octet list; answers the 32 digest octets. */
function sha256Octets(message) {
  const bitLength = message.length * 8;
  const padded = bareList();
  for (let i = 0; i < message.length; i++) padded[i] = message[i];
  padded[padded.length] = 0x80;
  while (padded.length % 64 !== 56) padded[padded.length] = 0;
  // The length as a 64-bit big-endian number; messages here are far below 2^32 bits.
  for (let shift = 56; shift >= 32; shift -= 8) padded[padded.length] = 0;
  for (let shift = 24; shift >= 0; shift -= 8) padded[padded.length] = (bitLength >>> shift) & 0xff;

  let h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a;
  let h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
  const w = bareList();
  for (let block = 0; block < padded.length; block += 64) {
    for (let t = 0; t < 16; t++) {
      const at = block + t * 4;
      w[t] = ((padded[at] << 24) | (padded[at + 1] << 16) | (padded[at + 2] << 8) | padded[at + 3]) | 0;
    }
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
      const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let t = 0; t < 64; t++) {
      const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const ch = (e & f) ^ (~e & g);
      const temp1 = (h + S1 + ch + SHA256_K[t] + w[t]) | 0;
      const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const temp2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + temp1) | 0;
      d = c;
      c = b;
      b = a;
      a = (temp1 + temp2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  const words = [h0, h1, h2, h3, h4, h5, h6, h7];
  const digest = bareList();
  for (let i = 0; i < 8; i++) {
    digest[digest.length] = (words[i] >>> 24) & 0xff;
    digest[digest.length] = (words[i] >>> 16) & 0xff;
    digest[digest.length] = (words[i] >>> 8) & 0xff;
    digest[digest.length] = words[i] & 0xff;
  }
  return digest;
}

/** base64url without padding (RFC 4648 §5). */
function base64url(octets, count) {
  let out = '';
  for (let i = 0; i < count; i += 3) {
    const b0 = octets[i];
    const b1 = i + 1 < count ? octets[i + 1] : 0;
    const b2 = i + 2 < count ? octets[i + 2] : 0;
    out += BASE64URL_ALPHABET[b0 >>> 2] + BASE64URL_ALPHABET[((b0 & 3) << 4) | (b1 >>> 4)];
    if (i + 1 < count) out += BASE64URL_ALPHABET[((b1 & 15) << 2) | (b2 >>> 6)];
    if (i + 2 < count) out += BASE64URL_ALPHABET[b2 & 63];
  }
  return out;
}

/** OIDC `at_hash` of a token: base64url of the left 128 bits of its SHA-256. */
function atHashOf(token) {
  const text = typeof token === 'string' ? token : StringCtor(token);
  if (text.length > MAX_HASHED_CHARS) throw new RangeErrorCtor('atHash: the value is longer than ' + MAX_HASHED_CHARS + ' characters');
  return base64url(sha256Octets(utf8Octets(text)), 16);
}
