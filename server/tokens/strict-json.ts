/**
 * A strict JSON reader for security-relevant documents (JOSE headers, JWT claims).
 *
 * JSON.parse keeps the last of duplicate member names, while other parsers keep the first; a token
 * whose header or claims carry a name twice can therefore mean different things to different
 * readers (RFC 7515 §5.2, RFC 7519 §4: such a token must be rejected). This module scans the text
 * with a small recursive-descent validator that compares decoded member names, and only then hands
 * the text to JSON.parse, so the values are exactly what JSON.parse produces.
 */

export type StrictJsonResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: 'malformed' | 'duplicate_member' | 'too_deep' | 'forbidden_member' };

/** Deeper nesting is refused rather than risking the stack on hostile input. */
export const MAX_JSON_DEPTH = 32;

class JsonScanError extends Error {
  readonly problem: 'malformed' | 'duplicate_member' | 'too_deep' | 'forbidden_member';
  constructor(problem: 'malformed' | 'duplicate_member' | 'too_deep' | 'forbidden_member') {
    super(problem);
    this.problem = problem;
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

const NUMBER_PATTERN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class StrictJsonScanner {
  private readonly text: string;
  private pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  scanDocument(): void {
    this.skipWhitespace();
    this.scanValue(0);
    this.skipWhitespace();
    if (this.pos !== this.text.length) throw new JsonScanError('malformed');
  }

  private skipWhitespace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos += 1;
      else break;
    }
  }

  private scanValue(depth: number): void {
    const c = this.text[this.pos];
    if (c === '{') this.scanObject(depth + 1);
    else if (c === '[') this.scanArray(depth + 1);
    else if (c === '"') this.scanString();
    else if (this.text.startsWith('true', this.pos)) this.pos += 4;
    else if (this.text.startsWith('false', this.pos)) this.pos += 5;
    else if (this.text.startsWith('null', this.pos)) this.pos += 4;
    else this.scanNumber();
  }

  private scanObject(depth: number): void {
    if (depth > MAX_JSON_DEPTH) throw new JsonScanError('too_deep');
    this.pos += 1; // '{'
    const names = new Set<string>();
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') throw new JsonScanError('malformed');
      const name = this.scanString();
      // JSON.parse turns "__proto__" into an own property, which a later Object.assign or
      // for-in copy would treat as the prototype; no legitimate JOSE member uses the name.
      if (name === '__proto__') throw new JsonScanError('forbidden_member');
      if (names.has(name)) throw new JsonScanError('duplicate_member');
      names.add(name);
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') throw new JsonScanError('malformed');
      this.pos += 1;
      this.skipWhitespace();
      this.scanValue(depth);
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === '}') return;
      if (next !== ',') throw new JsonScanError('malformed');
    }
  }

  private scanArray(depth: number): void {
    if (depth > MAX_JSON_DEPTH) throw new JsonScanError('too_deep');
    this.pos += 1; // '['
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos += 1;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      this.scanValue(depth);
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === ']') return;
      if (next !== ',') throw new JsonScanError('malformed');
    }
  }

  /** Scans a string literal and returns its decoded value (so "a" and "\u0061" compare equal). */
  private scanString(): string {
    this.pos += 1; // opening quote
    let decoded = '';
    for (;;) {
      if (this.pos >= this.text.length) throw new JsonScanError('malformed');
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos += 1;
        return decoded;
      }
      if (c < 0x20) throw new JsonScanError('malformed');
      if (c !== 0x5c) {
        decoded += this.text[this.pos];
        this.pos += 1;
        continue;
      }
      const escape = this.text[this.pos + 1];
      if (escape === undefined) throw new JsonScanError('malformed');
      if (escape === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonScanError('malformed');
        decoded += String.fromCharCode(Number.parseInt(hex, 16));
        this.pos += 6;
        continue;
      }
      const simple = SIMPLE_ESCAPES[escape];
      if (simple === undefined) throw new JsonScanError('malformed');
      decoded += simple;
      this.pos += 2;
    }
  }

  private scanNumber(): void {
    NUMBER_PATTERN.lastIndex = this.pos;
    const match = NUMBER_PATTERN.exec(this.text);
    if (!match || match[0].length === 0) throw new JsonScanError('malformed');
    this.pos += match[0].length;
  }
}

/** Parses JSON text, refusing duplicate member names (at any depth), `__proto__` members and deep nesting. */
export function parseStrictJson(text: string): StrictJsonResult {
  try {
    new StrictJsonScanner(text).scanDocument();
  } catch (error) {
    if (error instanceof JsonScanError) return { ok: false, problem: error.problem };
    throw error;
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    // Unreachable when the scanner is right; kept so a scanner gap can never throw to the caller.
    return { ok: false, problem: 'malformed' };
  }
}
