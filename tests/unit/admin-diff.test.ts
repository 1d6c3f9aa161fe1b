/**
 * The admin page's line diff (admin/web/src/diff.js), shown in the publish and activate
 * confirmation dialogs: a shortest edit script, unified hunks with context, and `@@` numbers as
 * `diff -u` writes them.
 */
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
// @ts-expect-error -- a browser module in checked JS, imported as it is (no declaration file)
import * as diffModule from '../../admin/web/src/diff.js';

type DiffKind = 'same' | 'add' | 'del';
interface DiffLine {
  kind: DiffKind;
  text: string;
  oldLine: number | null;
  newLine: number | null;
}
interface DiffHunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  lines: DiffLine[];
}
const { diffLines, diffLineArrays, toHunks, unifiedDiff, diffStats, splitLines, MAX_EDIT_DISTANCE } = diffModule as {
  diffLines: (a: string, b: string) => DiffLine[];
  diffLineArrays: (a: readonly string[], b: readonly string[]) => DiffLine[];
  toHunks: (lines: DiffLine[], context?: number) => DiffHunk[];
  unifiedDiff: (a: string, b: string, context?: number) => string;
  diffStats: (lines: DiffLine[]) => { added: number; removed: number };
  splitLines: (text: string) => string[];
  MAX_EDIT_DISTANCE: number;
};

/** Length of a longest common subsequence, by the textbook table (small inputs only). */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = table[i] as number[];
      const above = table[i - 1] as number[];
      row[j] = a[i - 1] === b[j - 1] ? (above[j - 1] as number) + 1 : Math.max(above[j] as number, row[j - 1] as number);
    }
  }
  return (table[a.length] as number[])[b.length] as number;
}

describe('admin page line diff', () => {
  it('splits lines, a final newline ending the last line', () => {
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a')).toEqual(['a']);
    expect(splitLines('a\n')).toEqual(['a']);
    expect(splitLines('a\r\nb\n\n')).toEqual(['a', 'b', '']);
  });

  it('answers only unchanged lines for equal texts, and no hunks', () => {
    const lines = diffLines('a\nb\nc\n', 'a\nb\nc\n');
    expect(lines.map((l) => l.kind)).toEqual(['same', 'same', 'same']);
    expect(toHunks(lines)).toEqual([]);
    expect(unifiedDiff('x\n', 'x\n')).toBe('');
  });

  it('marks one changed line with both line numbers, deletion first', () => {
    const lines = diffLines('one\ntwo\nthree\n', 'one\nTWO\nthree\n');
    expect(lines).toEqual([
      { kind: 'same', text: 'one', oldLine: 1, newLine: 1 },
      { kind: 'del', text: 'two', oldLine: 2, newLine: null },
      { kind: 'add', text: 'TWO', oldLine: null, newLine: 2 },
      { kind: 'same', text: 'three', oldLine: 3, newLine: 3 },
    ]);
    expect(diffStats(lines)).toEqual({ added: 1, removed: 1 });
  });

  it('writes unified hunks with context and diff -u numbers', () => {
    const old = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n');
    const changed = old.replace('line 10', 'line ten').replace('line 19\n', '');
    expect(unifiedDiff(old, changed, 2)).toBe(
      ['@@ -8,5 +8,5 @@', ' line 8', ' line 9', '-line 10', '+line ten', ' line 11', ' line 12',
        '@@ -17,4 +17,3 @@', ' line 17', ' line 18', '-line 19', ' line 20'].join('\n'),
    );
    // Close changes share one hunk.
    const near = old.replace('line 10', 'line ten').replace('line 14', 'line fourteen');
    expect(toHunks(diffLines(old, near), 2)).toHaveLength(1);
  });

  it('numbers a hunk of an empty side as diff -u does', () => {
    expect(unifiedDiff('', 'a\nb\n')).toBe('@@ -0,0 +1,2 @@\n+a\n+b');
    expect(unifiedDiff('a\nb\n', '')).toBe('@@ -1,2 +0,0 @@\n-a\n-b');
    expect(unifiedDiff('a\nc\n', 'a\nb\nc\n', 0)).toBe('@@ -1,0 +2,1 @@\n+b');
  });

  it('is a shortest edit script that rebuilds both texts', () => {
    const line = fc.constantFrom('a', 'b', 'c', 'd', '', '  x');
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.array(line, { maxLength: 30 }), (a, b) => {
        const script = diffLineArrays(a, b);
        expect(script.filter((l) => l.kind !== 'add').map((l) => l.text)).toEqual(a);
        expect(script.filter((l) => l.kind !== 'del').map((l) => l.text)).toEqual(b);
        // Line numbers count each side in order.
        expect(script.flatMap((l) => (l.oldLine === null ? [] : [l.oldLine]))).toEqual(a.map((_, i) => i + 1));
        expect(script.flatMap((l) => (l.newLine === null ? [] : [l.newLine]))).toEqual(b.map((_, i) => i + 1));
        // Shortest: as many kept lines as a longest common subsequence has.
        expect(script.filter((l) => l.kind === 'same')).toHaveLength(lcsLength(a, b));
        // The hunks' numbers agree with their lines.
        for (const hunk of toHunks(script, 1)) {
          expect(hunk.lines.filter((l) => l.kind !== 'add')).toHaveLength(hunk.oldCount);
          expect(hunk.lines.filter((l) => l.kind !== 'del')).toHaveLength(hunk.newCount);
          const firstOld = hunk.lines.find((l) => l.oldLine !== null)?.oldLine;
          if (firstOld !== undefined) expect(hunk.oldStart).toBe(firstOld);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives up searching past the edit distance bound but still answers a correct script', () => {
    const a = Array.from({ length: MAX_EDIT_DISTANCE }, (_, i) => `old ${i}`);
    const b = Array.from({ length: MAX_EDIT_DISTANCE }, (_, i) => `new ${i}`);
    const started = Date.now();
    const script = diffLineArrays(['same', ...a, 'end'], ['same', ...b, 'end']);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(diffStats(script)).toEqual({ added: MAX_EDIT_DISTANCE, removed: MAX_EDIT_DISTANCE });
    expect(script[0]).toEqual({ kind: 'same', text: 'same', oldLine: 1, newLine: 1 });
    expect(script.at(-1)).toEqual({ kind: 'same', text: 'end', oldLine: MAX_EDIT_DISTANCE + 2, newLine: MAX_EDIT_DISTANCE + 2 });
  });
});
