/** Readable expected-vs-actual blocks for failed test cases. */
import { ABSENT, parseMatcher } from './matchers.ts';
import type { Mismatch } from './matchers.ts';
import { isoDate, relativeToNow } from './run-format.ts';

const MAX_VALUE_CHARS = 2000;

function showValue(value: unknown): string {
  if (value === ABSENT) return '(absent)';
  if (value === undefined) return '(undefined)';
  if (typeof value === 'string' && parseMatcher(value)?.ok) return value;
  const text = JSON.stringify(value, null, 2) ?? String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}... (${text.length} characters)` : text;
}

/** Continuation lines of a multi-line value line up under its first line. */
function hang(label: string, text: string, indent: string): string {
  const [first, ...rest] = text.split('\n');
  const pad = ' '.repeat(label.length);
  return [`${indent}${label}${first ?? ''}`, ...rest.map((line) => `${indent}${pad}${line}`)].join('\n');
}

export function formatMismatch(mismatch: Mismatch, nowMs: number, indent = '    '): string {
  let expected = showValue(mismatch.expected);
  if (mismatch.note) expected += `  (${mismatch.note})`;
  let actual = showValue(mismatch.actual);
  const matcher = typeof mismatch.expected === 'string' ? parseMatcher(mismatch.expected) : null;
  if (matcher?.ok && matcher.matcher.kind === 'now' && typeof mismatch.actual === 'number') {
    const date = isoDate(mismatch.actual);
    if (date) actual += `  (${date}, ${relativeToNow(mismatch.actual, nowMs)})`;
  }
  return [
    `${indent}${mismatch.path || '(response)'}`,
    hang('expected: ', expected, `${indent}  `),
    hang('actual:   ', actual, `${indent}  `),
  ].join('\n');
}

export function formatMismatches(mismatches: readonly Mismatch[], nowMs: number, indent = '    '): string {
  return mismatches.map((m) => formatMismatch(m, nowMs, indent)).join('\n');
}
