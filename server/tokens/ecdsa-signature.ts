/**
 * ECDSA signatures in their two encodings, and the one rule that makes a token's string unique.
 *
 * OpenSSL speaks DER (`SEQUENCE { INTEGER r, INTEGER s }`); JWS speaks r || s, each scalar
 * zero-padded to the curve's size (RFC 7518 §3.4). Converting here lets node:crypto take its fast
 * path: a bare KeyObject, since `{ key, dsaEncoding }` is first probed as a KeyObject and as a
 * CryptoKey, each failed probe throwing internally, which costs about as much as the signature.
 *
 * For any valid (r, s), (r, n - s) is valid too: every ECDSA token has a second string. This server
 * signs only with s <= n/2 ("low S") and refuses its own tokens otherwise, so that each token it
 * issued has exactly one string. Foreign issuers' tokens are taken as they come (OpenSSL does not
 * normalise S, so refusing high S would refuse half of them); nothing identifies a token by its
 * string alone.
 */

/** The order n of each curve's base point (SEC 2; FIPS 186-4 D.1.2). */
const CURVE_ORDERS: Readonly<Record<number, bigint>> = {
  32: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  48: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  66: 0x01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

/** JWS scalar size per algorithm: P-256, P-384, P-521. */
export const ECDSA_SCALAR_BYTES: Readonly<Record<string, number>> = { ES256: 32, ES384: 48, ES512: 66 };

/** DER → fixed-width r || s. Throws on anything but an ECDSA signature of that size. */
export function derToJoseSignature(der: Buffer, scalarBytes: number): Buffer {
  const out = Buffer.alloc(scalarBytes * 2);
  // SEQUENCE tag, then a short or one-byte long form length (P-521 signatures pass 127 bytes).
  let at = (der[1] ?? 0) & 0x80 ? 2 + ((der[1] ?? 0) & 0x7f) : 2;
  for (let part = 0; part < 2; part++) {
    if (der[at] !== 0x02) throw new Error('malformed ECDSA signature');
    let length = der[at + 1] ?? 0;
    let start = at + 2;
    at = start + length;
    while (length > scalarBytes && der[start] === 0) {
      start += 1;
      length -= 1;
    }
    if (length > scalarBytes) throw new Error('malformed ECDSA signature');
    der.copy(out, part * scalarBytes + (scalarBytes - length), start, start + length);
  }
  return out;
}

/**
 * r || s → DER, or null when the signature is not exactly two scalars long (WebCrypto's own
 * check). Range checks on r and s (1 <= r, s < n) stay with OpenSSL.
 */
export function joseToDerSignature(signature: Uint8Array, scalarBytes: number): Buffer | null {
  if (signature.length !== scalarBytes * 2) return null;
  // Each INTEGER: leading zero bytes dropped (one kept for zero), a zero added before a high bit.
  const bounds = (from: number): [start: number, length: number, pad: number] => {
    let start = from;
    while (start < from + scalarBytes - 1 && signature[start] === 0) start += 1;
    const pad = (signature[start] ?? 0) & 0x80 ? 1 : 0;
    return [start, from + scalarBytes - start, pad];
  };
  const [rStart, rLength, rPad] = bounds(0);
  const [sStart, sLength, sPad] = bounds(scalarBytes);
  const content = 2 + rPad + rLength + (2 + sPad + sLength);
  // Only the sequence of a P-521 signature can pass 127 bytes (up to 138).
  const header = content < 0x80 ? 2 : 3;
  const der = Buffer.alloc(header + content);
  der[0] = 0x30;
  if (header === 2) der[1] = content;
  else {
    der[1] = 0x81;
    der[2] = content;
  }
  let at = header;
  der[at] = 0x02;
  der[at + 1] = rPad + rLength;
  at += 2 + rPad;
  der.set(signature.subarray(rStart, rStart + rLength), at);
  at += rLength;
  der[at] = 0x02;
  der[at + 1] = sPad + sLength;
  at += 2 + sPad;
  der.set(signature.subarray(sStart, sStart + sLength), at);
  return der;
}

function scalarOf(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') || '0'}`);
}

/** True when s <= n/2 (and the signature has the curve's size). */
export function isLowS(signature: Uint8Array, scalarBytes: number): boolean {
  const order = CURVE_ORDERS[scalarBytes];
  if (order === undefined || signature.length !== scalarBytes * 2) return false;
  return scalarOf(signature.subarray(scalarBytes)) <= order >> 1n;
}

/** The low-S form of an r || s signature (s replaced by n - s when above n/2); the input is left alone. */
export function toLowS(signature: Buffer, scalarBytes: number): Buffer {
  const order = CURVE_ORDERS[scalarBytes];
  if (order === undefined || signature.length !== scalarBytes * 2 || isLowS(signature, scalarBytes)) return signature;
  const s = order - scalarOf(signature.subarray(scalarBytes));
  const out = Buffer.from(signature);
  out.write(s.toString(16).padStart(scalarBytes * 2, '0'), scalarBytes, 'hex');
  return out;
}
