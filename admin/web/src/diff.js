// @ts-check
// A line diff for the confirmation dialogs (what a publish or an activation changes in the active
// source): Myers' O(ND) shortest edit script over lines, after trimming the common start and end,
// grouped into unified hunks with context lines. No DOM here, so the unit tests import it as it is.

/**
 * @typedef {'same' | 'add' | 'del'} DiffKind
 * @typedef {{ kind: DiffKind, text: string, oldLine: number | null, newLine: number | null }} DiffLine
 *   one line of the edit script; line numbers are 1-based (null on the side the line is not on)
 * @typedef {{ oldStart: number, oldCount: number, newStart: number, newCount: number,
 *   lines: DiffLine[] }} DiffHunk a unified hunk; starts are 1-based as in the header line
 *   "-a,b +c,d" of diff -u (with a count of 0 the start is the line before, as diff -u writes it)
 */

/**
 * Above this many differences (inserted plus deleted lines, after the common start and end are
 * trimmed) the middle is shown as all deleted and all added rather than searched further; the
 * search keeps D² numbers, so this bounds it to a few megabytes and well under a second.
 */
export const MAX_EDIT_DISTANCE = 2000;

/**
 * Splits a text into lines. A final newline ends the last line rather than starting an empty one,
 * so "a\n" and "a" are both one line (the dialog says when only the final newline differs).
 * @param {string} text
 * @returns {string[]}
 */
export function splitLines(text) {
  if (text === '') return [];
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * The edit script turning `oldText` into `newText`, line by line: every line of both texts once,
 * in order, deletions before the insertions that replace them.
 * @param {string} oldText
 * @param {string} newText
 * @returns {DiffLine[]}
 */
export function diffLines(oldText, newText) {
  return diffLineArrays(splitLines(oldText), splitLines(newText));
}

/**
 * @param {readonly string[]} a the old lines
 * @param {readonly string[]} b the new lines
 * @returns {DiffLine[]}
 */
export function diffLineArrays(a, b) {
  // Lines become small integers, so the search compares numbers rather than strings.
  /** @type {Map<string, number>} */
  const ids = new Map();
  /** @param {string} line */
  const idOf = (line) => {
    let id = ids.get(line);
    if (id === undefined) {
      id = ids.size;
      ids.set(line, id);
    }
    return id;
  };
  const x = Int32Array.from(a, idOf);
  const y = Int32Array.from(b, idOf);

  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endA = x.length;
  let endB = y.length;
  while (endA > start && endB > start && x[endA - 1] === y[endB - 1]) {
    endA--;
    endB--;
  }

  /** @type {DiffLine[]} */
  const out = [];
  for (let i = 0; i < start; i++) out.push(same(a, i, i));
  for (const [op, i, j] of middle(x, y, start, endA, start, endB)) {
    if (op === 0) out.push(same(a, i, j));
    else if (op === 1) out.push({ kind: 'del', text: a[i] ?? '', oldLine: i + 1, newLine: null });
    else out.push({ kind: 'add', text: b[j] ?? '', oldLine: null, newLine: j + 1 });
  }
  for (let i = endA, j = endB; i < a.length; i++, j++) out.push(same(a, i, j));
  return out;
}

/**
 * @param {readonly string[]} a
 * @param {number} i
 * @param {number} j
 * @returns {DiffLine}
 */
function same(a, i, j) {
  return { kind: 'same', text: a[i] ?? '', oldLine: i + 1, newLine: j + 1 };
}

/**
 * Myers' greedy search over x[a0..a1) and y[b0..b1), then the path traced back from the saved
 * frontiers. Answers [op, i, j] triples: 0 keep x[i] (= y[j]), 1 delete x[i], 2 insert y[j].
 * @param {Int32Array} x
 * @param {Int32Array} y
 * @param {number} a0
 * @param {number} a1
 * @param {number} b0
 * @param {number} b1
 * @returns {Array<[number, number, number]>}
 */
function middle(x, y, a0, a1, b0, b1) {
  const n = a1 - a0;
  const m = b1 - b0;
  /** @type {Array<[number, number, number]>} */
  const ops = [];
  if (n === 0 && m === 0) return ops;
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  // v[k + offset]: the furthest x reached on diagonal k (k = x - y), relative to a0 and b0.
  const v = new Int32Array(2 * max + 3);
  /** Frontiers after each step d, kept for the trace: trace[d] covers diagonals -d..d. */
  const trace = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v[k - 1 + offset] ?? 0) < (v[k + 1 + offset] ?? 0));
      let i = down ? (v[k + 1 + offset] ?? 0) : (v[k - 1 + offset] ?? 0) + 1;
      let j = i - k;
      while (i < n && j < m && x[a0 + i] === y[b0 + j]) {
        i++;
        j++;
      }
      v[k + offset] = i;
      if (i >= n && j >= m) {
        found = d;
        break;
      }
    }
    trace.push(v.slice(offset - d, offset + d + 1));
  }
  if (found < 0) {
    // Too different to search: everything in the middle is replaced.
    for (let i = 0; i < n; i++) ops.push([1, a0 + i, -1]);
    for (let j = 0; j < m; j++) ops.push([2, -1, b0 + j]);
    return ops;
  }
  let i = n;
  let j = m;
  for (let d = found; d > 0; d--) {
    const prev = trace[d - 1];
    if (!prev) break;
    /** @param {number} kk */
    const at = (kk) => prev[kk + d - 1] ?? 0;
    const k = i - j;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevI = at(prevK);
    const prevJ = prevI - prevK;
    while (i > (down ? prevI : prevI + 1) && j > (down ? prevJ + 1 : prevJ)) {
      i--;
      j--;
      ops.push([0, a0 + i, b0 + j]);
    }
    if (down) {
      j--;
      ops.push([2, -1, b0 + j]);
    } else {
      i--;
      ops.push([1, a0 + i, -1]);
    }
  }
  while (i > 0 && j > 0) {
    i--;
    j--;
    ops.push([0, a0 + i, b0 + j]);
  }
  ops.reverse();
  return orderReplacements(ops);
}

/**
 * Within each run of changes, deletions first and then insertions, as unified diffs show them.
 * @param {Array<[number, number, number]>} ops
 */
function orderReplacements(ops) {
  /** @type {Array<[number, number, number]>} */
  const out = [];
  /** @type {Array<[number, number, number]>} */
  let added = [];
  for (const op of ops) {
    if (op[0] === 2) {
      added.push(op);
      continue;
    }
    if (op[0] === 0 && added.length > 0) {
      out.push(...added);
      added = [];
    }
    out.push(op);
  }
  out.push(...added);
  return out;
}

/**
 * Groups an edit script into unified hunks: each change with up to `context` unchanged lines on
 * either side; hunks whose context would touch are merged. No changes: no hunks.
 * @param {DiffLine[]} lines
 * @param {number} [context]
 * @returns {DiffHunk[]}
 */
export function toHunks(lines, context = 3) {
  /** @type {DiffHunk[]} */
  const hunks = [];
  const changed = lines.flatMap((line, index) => (line.kind === 'same' ? [] : [index]));
  let k = 0;
  while (k < changed.length) {
    const first = changed[k] ?? 0;
    let last = first;
    k++;
    while (k < changed.length && (changed[k] ?? 0) - last <= 2 * context + 1) {
      last = changed[k] ?? last;
      k++;
    }
    const from = Math.max(0, first - context);
    const to = Math.min(lines.length, last + context + 1);
    const slice = lines.slice(from, to);
    hunks.push({ ...rangesOf(lines, from, slice), lines: slice });
  }
  return hunks;
}

/**
 * The numbers of a hunk's header line (old start and count, new start and count) for a hunk
 * that starts at lines[from].
 * @param {DiffLine[]} lines
 * @param {number} from
 * @param {DiffLine[]} slice
 */
function rangesOf(lines, from, slice) {
  // The line numbers before the hunk: the last ones seen on each side.
  let oldBefore = 0;
  let newBefore = 0;
  for (let i = 0; i < from; i++) {
    const line = lines[i];
    if (line?.oldLine) oldBefore = line.oldLine;
    if (line?.newLine) newBefore = line.newLine;
  }
  const oldCount = slice.filter((l) => l.kind !== 'add').length;
  const newCount = slice.filter((l) => l.kind !== 'del').length;
  return {
    oldStart: oldCount === 0 ? oldBefore : oldBefore + 1,
    oldCount,
    newStart: newCount === 0 ? newBefore : newBefore + 1,
    newCount,
  };
}

/**
 * @param {DiffHunk} hunk
 * @returns {string}
 */
export function hunkHeader(hunk) {
  return `@@ -${hunk.oldStart},${hunk.oldCount} +${hunk.newStart},${hunk.newCount} @@`;
}

/**
 * How many lines were added and removed.
 * @param {DiffLine[]} lines
 */
export function diffStats(lines) {
  let added = 0;
  let removed = 0;
  for (const line of lines) {
    if (line.kind === 'add') added++;
    else if (line.kind === 'del') removed++;
  }
  return { added, removed };
}

/**
 * The diff as `diff -u` writes it (without the file header lines), for copying and for tests.
 * @param {string} oldText
 * @param {string} newText
 * @param {number} [context]
 */
export function unifiedDiff(oldText, newText, context = 3) {
  const marks = { same: ' ', add: '+', del: '-' };
  return toHunks(diffLines(oldText, newText), context)
    .flatMap((hunk) => [hunkHeader(hunk), ...hunk.lines.map((l) => `${marks[l.kind]}${l.text}`)])
    .join('\n');
}
