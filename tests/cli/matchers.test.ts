import { describe, it, expect } from '@jest/globals';
import {
  ABSENT,
  findMatcherErrors,
  matchObject,
  matchValue,
  parseMatcher,
  resolveTimes,
} from '../../server/cli/authoring/matchers.ts';
import type { Mismatch } from '../../server/cli/authoring/matchers.ts';
import { formatMismatch } from '../../server/cli/authoring/diff.ts';

const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z
const context = { nowSeconds: NOW };

function mismatches(expected: unknown, actual: unknown): Mismatch[] {
  const out: Mismatch[] = [];
  matchValue(expected, actual, 'v', context, out);
  return out;
}

describe('matchers', () => {
  it('parses matchers and leaves plain strings alone', () => {
    expect(parseMatcher('<now+300>')).toEqual({ ok: true, matcher: { kind: 'now', offset: 300 } });
    expect(parseMatcher('<now-5>')).toEqual({ ok: true, matcher: { kind: 'now', offset: -5 } });
    expect(parseMatcher('<contains:invoicing>')).toEqual({ ok: true, matcher: { kind: 'contains', text: 'invoicing' } });
    expect(parseMatcher('invoicing')).toBeNull();
    expect(parseMatcher('<now+soon>')).toMatchObject({ ok: false });
    expect(parseMatcher('<presnt>')).toMatchObject({ ok: false, error: expect.stringContaining('unknown matcher') });
  });

  it('finds malformed matchers with their path', () => {
    expect(findMatcherErrors({ token: { claims: { exp: '<now+x>', ok: '<present>' } } }, 'expect')).toEqual([
      expect.stringMatching(/^expect\.token\.claims\.exp: matcher <now\+x>/),
    ]);
  });

  it('matches exact values, with deep equality for arrays and nested objects', () => {
    expect(mismatches('a', 'a')).toEqual([]);
    expect(mismatches(300, 300)).toEqual([]);
    expect(mismatches(['a', 'b'], ['a', 'b'])).toEqual([]);
    expect(mismatches({ sub: 'x', act: { sub: 'y' } }, { sub: 'x', act: { sub: 'y' } })).toEqual([]);
    expect(mismatches('a', 'b')).toEqual([{ path: 'v', expected: 'a', actual: 'b' }]);
    expect(mismatches(['a'], ['a', 'b'])).toEqual([{ path: 'v', expected: ['a'], actual: ['a', 'b'] }]);
    expect(mismatches(1, '1')).toHaveLength(1);
  });

  it('reports the path of a nested mismatch and unexpected nested keys', () => {
    expect(mismatches({ act: { sub: 'y' } }, { act: { sub: 'z', iss: 'i' } })).toEqual([
      { path: 'v.act.sub', expected: 'y', actual: 'z' },
      { path: 'v.act.iss', expected: ABSENT, actual: 'i', note: 'unexpected key' },
    ]);
  });

  it('matches presence and absence (null counts as absent)', () => {
    const out: Mismatch[] = [];
    matchObject({ a: '<present>', b: '<absent>', c: '<absent>' }, { a: 1, c: null }, 'claims', context, out, true);
    expect(out).toEqual([]);
    matchObject({ a: '<absent>', b: '<present>' }, { a: 1 }, 'claims', context, out, true);
    expect(out.map((m) => m.path)).toEqual(['claims.a', 'claims.b']);
    expect(out[1]?.actual).toBe(ABSENT);
  });

  it('ignores keys a subset expectation does not name', () => {
    const out: Mismatch[] = [];
    matchObject({ scope: 'x' }, { scope: 'x', sub: 'alice' }, 'claims', context, out, true);
    expect(out).toEqual([]);
  });

  it('matches times relative to the case clock within 5 seconds', () => {
    expect(mismatches('<now+300>', NOW + 300)).toEqual([]);
    expect(mismatches('<now+300>', NOW + 305)).toEqual([]);
    expect(mismatches('<now-60>', NOW - 62)).toEqual([]);
    expect(mismatches('<now>', NOW)).toEqual([]);
    const [miss] = mismatches('<now+300>', NOW + 306);
    expect(miss?.note).toBe(`${NOW + 300} ± 5 (2026-01-01T00:05:00Z)`);
    expect(mismatches('<now+86400>', (NOW + 86400) * 1000)).toHaveLength(1);
    expect(mismatches('<now>', '1767225600')).toHaveLength(1);
  });

  it('matches types, containment, approximate numbers and patterns', () => {
    expect(mismatches('<any-string>', 'x')).toEqual([]);
    expect(mismatches('<any-string>', 1)).toHaveLength(1);
    expect(mismatches('<any-number>', 1.5)).toEqual([]);
    expect(mismatches('<any-number>', '1')).toHaveLength(1);
    expect(mismatches('<contains:invoicing>', 'trigger_invoicing invoicing')).toEqual([]);
    expect(mismatches('<contains:api>', ['web', 'api'])).toEqual([]);
    expect(mismatches('<contains:api>', ['web'])).toHaveLength(1);
    expect(mismatches('<approx:300>', 297)).toEqual([]);
    expect(mismatches('<approx:300>', 290)).toHaveLength(1);
    expect(mismatches('<matches:^Missing scope>', 'Missing scope in a token exchange request')).toEqual([]);
    expect(mismatches('<matches:^x$>', 'y')).toHaveLength(1);
  });

  it('uses matchers inside arrays and nested objects', () => {
    expect(mismatches({ act: { sub: '<any-string>', act: '<absent>' } }, { act: { sub: 'svc' } })).toEqual([]);
    expect(mismatches(['<any-string>', '<any-number>'], ['a', 1])).toEqual([]);
  });

  it('resolves <now±N> in inputs to epoch seconds', () => {
    expect(resolveTimes({ sub: 'a', exp: '<now+600>', nested: { nbf: '<now-5>' }, list: ['<now>'] }, NOW)).toEqual({
      sub: 'a',
      exp: NOW + 600,
      nested: { nbf: NOW - 5 },
      list: [NOW],
    });
  });
});

describe('mismatch diff', () => {
  it('shows path, expected and actual, with the resolved time and the actual offset', () => {
    const [miss] = mismatches('<now+300>', NOW + 86400);
    expect(formatMismatch({ ...miss!, path: 'token.claims.exp' }, NOW * 1000)).toBe(
      [
        '    token.claims.exp',
        `      expected: <now+300>  (${NOW + 300} ± 5 (2026-01-01T00:05:00Z))`,
        `      actual:   ${NOW + 86400}  (2026-01-02T00:00:00Z, now+86400s)`,
      ].join('\n'),
    );
  });

  it('shows absence and multi-line values aligned', () => {
    const text = formatMismatch({ path: 'body.act', expected: { sub: 'a' }, actual: ABSENT }, NOW * 1000);
    expect(text).toBe(['    body.act', '      expected: {', '                  "sub": "a"', '                }', '      actual:   (absent)'].join('\n'));
  });
});
