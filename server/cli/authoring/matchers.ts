/**
 * Expected-vs-actual matching for procedure test cases. Expected values are JSON; a string of the
 * form `<...>` is a matcher. Top-level objects (body, claims, header) are matched as subsets: keys
 * not named are ignored. Nested objects and arrays must match exactly (every key, every element),
 * with matchers allowed anywhere inside.
 */

/** Tolerance of the time matchers (`<now+N>`) and `<approx:N>`, in seconds. */
export const TIME_TOLERANCE_SECONDS = 5;

/** Marks a key that does not exist (as opposed to one whose value is null). */
export const ABSENT: unique symbol = Symbol('absent');
export type Actual = unknown;

export interface MatchContext {
  /** The case's clock, epoch seconds. */
  nowSeconds: number;
}

export interface Mismatch {
  /** Where, e.g. `token.claims.scope` or `body.act.sub`. */
  path: string;
  expected: unknown;
  /** `ABSENT` when the key does not exist. */
  actual: Actual;
  /** What the matcher meant, e.g. "1700000300 ± 5 (2023-11-14T22:18:20Z)". */
  note?: string;
}

export type Matcher =
  | { kind: 'present' }
  | { kind: 'absent' }
  | { kind: 'now'; offset: number }
  | { kind: 'any-string' }
  | { kind: 'any-number' }
  | { kind: 'contains'; text: string }
  | { kind: 'approx'; value: number }
  | { kind: 'matches'; pattern: RegExp };

/** Anything shaped like a matcher (`<word...>`); used to reject unknown ones at load time. */
const MATCHER_SHAPE = /^<([a-z][a-z-]*)([:+-].*)?>$/s;

export const MATCHER_NAMES: readonly string[] = [
  '<present>',
  '<absent>',
  '<now>',
  '<now+N>',
  '<now-N>',
  '<any-string>',
  '<any-number>',
  '<contains:TEXT>',
  '<approx:N>',
  '<matches:REGEX>',
];

export type ParsedMatcher = { ok: true; matcher: Matcher } | { ok: false; error: string } | null;

/** The matcher a string denotes, an error for a malformed one, or null for a plain string. */
export function parseMatcher(text: string): ParsedMatcher {
  const shape = MATCHER_SHAPE.exec(text);
  if (!shape) return null;
  const name = shape[1] ?? '';
  const rest = shape[2] ?? '';
  const argument = rest.startsWith(':') ? rest.slice(1) : null;
  const bad = (why: string): ParsedMatcher => ({ ok: false, error: `matcher ${text}: ${why}` });
  switch (name) {
    case 'present':
    case 'absent':
    case 'any-string':
    case 'any-number':
      return rest === '' ? { ok: true, matcher: { kind: name } } : bad('takes no argument');
    case 'now': {
      if (rest === '') return { ok: true, matcher: { kind: 'now', offset: 0 } };
      if (!/^[+-]\d+$/.test(rest)) return bad('expected <now>, <now+SECONDS> or <now-SECONDS>');
      return { ok: true, matcher: { kind: 'now', offset: Number(rest) } };
    }
    case 'contains':
      return argument === null || argument === '' ? bad('expected <contains:TEXT>') : { ok: true, matcher: { kind: 'contains', text: argument } };
    case 'approx': {
      const value = argument === null ? Number.NaN : Number(argument);
      return Number.isFinite(value) && argument !== '' ? { ok: true, matcher: { kind: 'approx', value } } : bad('expected <approx:NUMBER>');
    }
    case 'matches': {
      if (argument === null || argument === '') return bad('expected <matches:REGEX>');
      try {
        return { ok: true, matcher: { kind: 'matches', pattern: new RegExp(argument, 'u') } };
      } catch (err) {
        return bad(`invalid regular expression (${(err as Error).message})`);
      }
    }
    default:
      return bad(`unknown matcher; known: ${MATCHER_NAMES.join(' ')}`);
  }
}

/** Every malformed or unknown matcher inside an expected value, with its path. */
export function findMatcherErrors(expected: unknown, path: string): string[] {
  if (typeof expected === 'string') {
    const parsed = parseMatcher(expected);
    return parsed && !parsed.ok ? [`${path}: ${parsed.error}`] : [];
  }
  if (Array.isArray(expected)) return expected.flatMap((item, i) => findMatcherErrors(item, `${path}[${i}]`));
  if (expected !== null && typeof expected === 'object') {
    return Object.entries(expected).flatMap(([key, value]) => findMatcherErrors(value, joinPath(path, key)));
  }
  return [];
}

export function joinPath(path: string, key: string): string {
  const safe = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  if (path === '') return safe;
  return safe.startsWith('"') ? `${path}[${safe}]` : `${path}.${safe}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function dateNote(epochSeconds: number): string {
  const ms = epochSeconds * 1000;
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? ` (${new Date(ms).toISOString().replace('.000Z', 'Z')})` : '';
}

function applyMatcher(matcher: Matcher, actual: Actual, context: MatchContext): { pass: boolean; note?: string } {
  switch (matcher.kind) {
    case 'present':
      return { pass: actual !== ABSENT && actual !== null };
    case 'absent':
      return { pass: actual === ABSENT || actual === null };
    case 'any-string':
      return { pass: typeof actual === 'string' };
    case 'any-number':
      return { pass: typeof actual === 'number' && Number.isFinite(actual) };
    case 'now': {
      const target = Math.floor(context.nowSeconds) + matcher.offset;
      const note = `${target} ± ${TIME_TOLERANCE_SECONDS}${dateNote(target)}`;
      return { pass: typeof actual === 'number' && Math.abs(actual - target) <= TIME_TOLERANCE_SECONDS, note };
    }
    case 'approx':
      return {
        pass: typeof actual === 'number' && Math.abs(actual - matcher.value) <= TIME_TOLERANCE_SECONDS,
        note: `${matcher.value} ± ${TIME_TOLERANCE_SECONDS}`,
      };
    case 'contains':
      if (typeof actual === 'string') return { pass: actual.includes(matcher.text), note: `a string containing "${matcher.text}"` };
      if (Array.isArray(actual)) return { pass: actual.some((item) => item === matcher.text), note: `an array with "${matcher.text}"` };
      return { pass: false, note: 'a string or an array' };
    case 'matches':
      return { pass: typeof actual === 'string' && matcher.pattern.test(actual), note: `a string matching /${matcher.pattern.source}/` };
  }
}

/** Matches one value; nested objects must have exactly the expected keys. */
export function matchValue(expected: unknown, actual: Actual, path: string, context: MatchContext, out: Mismatch[]): void {
  if (typeof expected === 'string') {
    const parsed = parseMatcher(expected);
    if (parsed?.ok) {
      const { pass, note } = applyMatcher(parsed.matcher, actual, context);
      if (!pass) out.push(note === undefined ? { path, expected, actual } : { path, expected, actual, note });
      return;
    }
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.push({ path, expected, actual });
      return;
    }
    expected.forEach((item, i) => matchValue(item, actual[i], `${path}[${i}]`, context, out));
    return;
  }
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) {
      out.push({ path, expected, actual });
      return;
    }
    matchObject(expected, actual, path, context, out, false);
    return;
  }
  if (!Object.is(expected, actual) && !(expected === 0 && actual === 0)) out.push({ path, expected, actual });
}

/**
 * Matches an object's keys. As a subset (`subset`), keys the expectation does not name are ignored;
 * otherwise an unexpected key is a mismatch.
 */
export function matchObject(
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
  path: string,
  context: MatchContext,
  out: Mismatch[],
  subset: boolean,
): void {
  for (const [key, value] of Object.entries(expected)) {
    matchValue(value, Object.hasOwn(actual, key) ? actual[key] : ABSENT, joinPath(path, key), context, out);
  }
  if (subset) return;
  for (const [key, value] of Object.entries(actual)) {
    if (!Object.hasOwn(expected, key)) out.push({ path: joinPath(path, key), expected: ABSENT, actual: value, note: 'unexpected key' });
  }
}

/** Replaces `<now>`, `<now+N>` and `<now-N>` with epoch seconds (for claims in a case's input). */
export function resolveTimes(value: unknown, nowSeconds: number): unknown {
  if (typeof value === 'string') {
    const parsed = parseMatcher(value);
    return parsed?.ok && parsed.matcher.kind === 'now' ? Math.floor(nowSeconds) + parsed.matcher.offset : value;
  }
  if (Array.isArray(value)) return value.map((item) => resolveTimes(item, nowSeconds));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveTimes(item, nowSeconds)]));
  }
  return value;
}
