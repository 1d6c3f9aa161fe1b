/**
 * Redaction of procedure log lines. A procedure sees the token values of its call and may try to log
 * them in a disguised form, so besides removing exact occurrences and JWT-shaped strings, a line that
 * still holds a long enough run of a token's characters (ignoring everything that cannot occur in a
 * base64url token, forwards or reversed) is replaced as a whole.
 *
 * This stops splitting, interleaving separators, reversing and JSON escaping. It cannot stop a
 * procedure that re-encodes a token (hex, case change, character shifts, filler characters from the
 * base64url alphabet between short pieces): whoever can read a value can always smuggle it out.
 */
import { randomInt } from 'node:crypto';

/**
 * Compact JWS/JWE-looking strings are never logged, whoever they belong to. Same pattern as
 * host-bridge.ts. Global, so only use it with `replace`/`matchAll`, which reset `lastIndex`.
 */
export const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?/g;

/** Shorter secrets are not redacted at all: replacing every "abc" would garble lines and reveal the value. */
export const MIN_SECRET_LENGTH = 8;

/**
 * Length of the runs of a secret that make a line unloggable. 12 base64url characters carry 72 bits,
 * so a run of a random token turning up by chance in ordinary text (words, ids, dates, URLs, which
 * after stripping are mostly lowercase letters and digits) is practically impossible, while a split,
 * spaced out or reversed token is one long run again once separators are stripped, and a half or a
 * signature logged alone is hundreds of characters. A smaller value would not stop a procedure that
 * puts base64url filler between its pieces (pieces of even 3 characters fit one 2048-character line),
 * so the length is set by false positives. Secrets whose stripped value is shorter are matched
 * exactly only.
 */
export const SECRET_WINDOW = 12;

/** Stands in for an exact occurrence of a secret or a JWT-looking string. */
export const REDACTED = '[redacted]';

/** Replaces a whole line that holds part of a secret: which part, and where, would already tell too much. */
export const PARTIAL_SECRET_LINE = '[redacted: the line contained part of a token]';

/** Secrets are per call, so a few dozen covers every call in flight; the windows are rebuilt when evicted. */
const WINDOW_CACHE_LIMIT = 64;

/** Stripped line length from which building the bit filter (128 KiB) pays for itself. */
const FILTER_THRESHOLD = 4096;
/** 2^20 bits: a few thousand windows per secret leave it sparse enough to skip almost every position. */
const FILTER_BITS = 20;

const NOT_BASE64URL = /[^A-Za-z0-9_-]+/g;
/**
 * Escapes JSON.stringify (or a procedure) may write. Decoded so that `\n` between two token characters
 * counts as a separator rather than as the letter n, and `\u0065` as the character it stands for.
 */
const ESCAPE_SEQUENCE = /\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|[bfnrtv\\])/g;

const HASH_MASK = 0x3fffffff;
/** The filter takes a hash's top bits, which mix better than the low ones in a hash modulo 2^30. */
const HASH_TO_FILTER = 30 - FILTER_BITS;
/**
 * Random per process so a procedure cannot craft text whose windows collide with a token's hashes
 * and make every position of a long line pay for a verification.
 */
const HASH_BASE = randomInt(1 << 16, 1 << 20) | 1;
/** HASH_BASE^(SECRET_WINDOW - 1) mod 2^30, to drop the outgoing character of a rolling hash. */
const HASH_DROP = (() => {
  let power = 1;
  for (let i = 1; i < SECRET_WINDOW; i += 1) power = Math.imul(power, HASH_BASE) & HASH_MASK;
  return power;
})();
/** Base64url character code to 0..63; only called on stripped text. */
const DIGIT = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i += 1) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/** The windows of one secret, forwards and reversed. */
interface SecretWindows {
  readonly hashes: ReadonlySet<number>;
  readonly forward: string;
  readonly reversed: string;
}

/** Redacts log lines for one fixed list of secrets. */
export interface SecretMatcher {
  /** The line with secrets and JWT-looking strings replaced, or PARTIAL_SECRET_LINE if part of a secret remains. */
  redact(text: string): string;
  /** Whether the text, stripped to base64url characters, holds SECRET_WINDOW characters of a secret in a row. */
  containsPart(text: string): boolean;
}

/** The base64url characters of a text, in order, after decoding escape sequences. */
export function stripToBase64url(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, decodeEscape).replace(NOT_BASE64URL, '');
}

function decodeEscape(_match: string, unicode: string | undefined, hex: string | undefined): string {
  const code = unicode ?? hex;
  return code === undefined ? ' ' : String.fromCharCode(Number.parseInt(code, 16));
}

function digit(text: string, index: number): number {
  return DIGIT[text.charCodeAt(index)] ?? 0;
}

/** Hash of the window ending at `index` (inclusive), given the hash of the window ending just before it. */
function rollHash(stripped: string, index: number, previous: number): number {
  let hash = previous;
  // Math.imul keeps the low 32 bits exactly, which is all a hash modulo 2^30 needs.
  if (index >= SECRET_WINDOW) hash = (hash - Math.imul(digit(stripped, index - SECRET_WINDOW), HASH_DROP)) & HASH_MASK;
  return (Math.imul(hash, HASH_BASE) + digit(stripped, index)) & HASH_MASK;
}

function addWindowHashes(stripped: string, hashes: Set<number>): void {
  let hash = 0;
  for (let i = 0; i < stripped.length; i += 1) {
    hash = rollHash(stripped, i, hash);
    if (i >= SECRET_WINDOW - 1) hashes.add(hash);
  }
}

/** Whether the window of `stripped` ending before `end` is really part of the secret, not a hash collision. */
function holdsWindow(windows: SecretWindows, stripped: string, end: number): boolean {
  const window = stripped.slice(end - SECRET_WINDOW, end);
  return windows.forward.includes(window) || windows.reversed.includes(window);
}

const windowCache = new Map<string, SecretWindows>();

/** Builds (or takes from the LRU cache) the windows of a secret; null when it is too short to have any. */
function windowsOf(secret: string): SecretWindows | null {
  const cached = windowCache.get(secret);
  if (cached !== undefined) {
    windowCache.delete(secret);
    windowCache.set(secret, cached);
    return cached;
  }
  const forward = stripToBase64url(secret);
  if (forward.length < SECRET_WINDOW) return null;
  const reversed = forward.split('').reverse().join('');
  const hashes = new Set<number>();
  addWindowHashes(forward, hashes);
  addWindowHashes(reversed, hashes);
  const windows: SecretWindows = { hashes, forward, reversed };
  windowCache.set(secret, windows);
  if (windowCache.size > WINDOW_CACHE_LIMIT) {
    const oldest = windowCache.keys().next();
    if (oldest.done !== true) windowCache.delete(oldest.value);
  }
  return windows;
}

export function createSecretMatcher(secrets: readonly string[]): SecretMatcher {
  // Longest first, so a secret containing another is replaced whole rather than around the shorter one.
  const exact = [...new Set(secrets)].filter((secret) => secret.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  const windowSets = exact.map(windowsOf).filter((windows): windows is SecretWindows => windows !== null);

  let filter: Uint32Array | null = null;
  /**
   * One bit per hash prefix for all secrets: on a long line most positions are then dismissed by a
   * single array read instead of a set lookup per secret.
   */
  function hashFilter(): Uint32Array {
    if (filter === null) {
      filter = new Uint32Array(1 << (FILTER_BITS - 5));
      for (const windows of windowSets) {
        for (const hash of windows.hashes) {
          const bit = hash >>> HASH_TO_FILTER;
          filter[bit >>> 5] = (filter[bit >>> 5] ?? 0) | (1 << (bit & 31));
        }
      }
    }
    return filter;
  }

  function containsPart(text: string): boolean {
    if (windowSets.length === 0) return false;
    const stripped = stripToBase64url(text);
    // Short lines (the usual case) are cheaper to check directly than to build the filter for.
    const bits = stripped.length > FILTER_THRESHOLD ? hashFilter() : null;
    let hash = 0;
    for (let i = 0; i < stripped.length; i += 1) {
      hash = rollHash(stripped, i, hash);
      if (i < SECRET_WINDOW - 1) continue;
      if (bits !== null) {
        const bit = hash >>> HASH_TO_FILTER;
        if ((((bits[bit >>> 5] ?? 0) >>> (bit & 31)) & 1) === 0) continue;
      }
      for (const windows of windowSets) {
        if (windows.hashes.has(hash) && holdsWindow(windows, stripped, i + 1)) return true;
      }
    }
    return false;
  }

  function redact(text: string): string {
    let result = text;
    for (const secret of exact) {
      if (result.includes(secret)) result = result.split(secret).join(REDACTED);
    }
    result = result.replace(JWT_PATTERN, REDACTED);
    // Checked after the exact replacements so a plainly logged token keeps the rest of its line.
    return containsPart(result) ? PARTIAL_SECRET_LINE : result;
  }

  return { redact, containsPart };
}

/**
 * Redacts one log line against the call's current secrets. Cheap to call per line with a growing
 * list: each secret's windows are built once and cached.
 */
export function redactLogLine(text: string, secrets: readonly string[]): string {
  return createSecretMatcher(secrets).redact(text);
}
