/**
 * How `tokenproc test` shows its results (`--reporter`):
 * - `text` (default): ✓/✗ per case as it finishes, a diff under each failure, and the closing line
 *   `N passed, N failed`;
 * - `json`: one JSON document on stdout once every case ran;
 * - `junit`: JUnit XML on stdout (one <testsuite> per test file, one <testcase> per case, <failure>
 *   with the difference, <error> for a test file that could not be used), for CI systems.
 * With `json` and `junit`, stdout holds only the document; the closing `N passed, N failed` line
 * goes to stderr.
 */
import type { TestSummary } from './test-runner.ts';

export const REPORTER_NAMES = ['text', 'json', 'junit'] as const;
export type ReporterName = (typeof REPORTER_NAMES)[number];

export interface CaseResult {
  /** The test file, as discovered or given. */
  file: string;
  name: string;
  passed: boolean;
  durationMs: number;
  /** One line saying why the case failed (null when it passed). */
  message: string | null;
  /** The failure in full, as the text reporter prints it under the case (indented lines). */
  details: string[];
  /** Things the author should know even when the case passed (the server corrected the response). */
  notes: string[];
}

export interface TestReporter {
  caseFinished(result: CaseResult): void;
  /** A path, a test file or its procedure that could not be used; `file` is null for a bad path. */
  fileError(file: string | null, message: string, details: string[]): void;
  noTestFiles(): void;
  finished(summary: TestSummary): void;
}

export interface ReporterStreams {
  /** The report (stdout). */
  out: (text: string) => void;
  /** Progress and the closing line when stdout holds a document (stderr). */
  err: (text: string) => void;
}

const closingLine = (summary: TestSummary): string => `${summary.passed} passed, ${summary.failed} failed\n`;

export function textReporter(write: (text: string) => void): TestReporter {
  return {
    caseFinished(result) {
      const label = `${result.file} › ${result.name}`;
      const lines = [`${result.passed ? '✓' : '✗'} ${label}`, ...(result.passed ? result.notes : result.details)];
      write(`${lines.join('\n')}\n`);
    },
    fileError(file, message, details) {
      write(`✗ ${file === null ? message : `${file}: ${message}`}\n${details.map((d) => `${indentLines(d, '    ')}\n`).join('')}`);
    },
    noTestFiles() {
      write('no test files found (*.test.json, *.test.yaml)\n');
    },
    finished(summary) {
      write(closingLine(summary));
    },
  };
}

function indentLines(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? '' : prefix + line))
    .join('\n');
}

/** Leading indentation common to every line (the text reporter's), removed for the documents. */
function dedent(lines: readonly string[]): string {
  const text = lines.join('\n');
  const all = text.split('\n');
  const indents = all.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0);
  const common = indents.length === 0 ? 0 : Math.min(...indents);
  return all.map((l) => l.slice(common)).join('\n');
}

interface FileErrorRecord {
  file: string | null;
  message: string;
  details: string[];
}

/** Collects everything, writes it once at the end. */
function collecting(render: (cases: CaseResult[], errors: FileErrorRecord[], summary: TestSummary) => string, streams: ReporterStreams): TestReporter {
  const cases: CaseResult[] = [];
  const errors: FileErrorRecord[] = [];
  return {
    caseFinished(result) {
      cases.push(result);
    },
    fileError(file, message, details) {
      errors.push({ file, message, details });
    },
    noTestFiles() {
      streams.err('no test files found (*.test.json, *.test.yaml)\n');
    },
    finished(summary) {
      streams.out(render(cases, errors, summary));
      streams.err(closingLine(summary));
    },
  };
}

export function jsonReporter(streams: ReporterStreams): TestReporter {
  return collecting((cases, errors, summary) => {
    const document = {
      passed: summary.passed,
      failed: summary.failed,
      fileErrors: summary.fileErrors,
      cases: cases.map((c) => ({
        file: c.file,
        name: c.name,
        status: c.passed ? 'passed' : 'failed',
        durationMs: Math.round(c.durationMs * 10) / 10,
        ...(c.passed ? {} : { message: c.message, details: dedent(c.details) }),
        ...(c.notes.length > 0 ? { notes: dedent(c.notes) } : {}),
      })),
      errors: errors.map((e) => ({ file: e.file, message: e.message, details: e.details })),
    };
    return `${JSON.stringify(document, null, 2)}\n`;
  }, streams);
}

/**
 * Text for XML attribute values and character data: the five special characters escaped, and the
 * characters XML 1.0 cannot hold at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF) replaced.
 */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

export function junitReporter(streams: ReporterStreams): TestReporter {
  return collecting((cases, errors, summary) => {
    // One suite per test file, in the order they ran; a file that could not be used is a suite with one erroring case.
    const suites = new Map<string, { cases: CaseResult[]; errors: FileErrorRecord[] }>();
    const suite = (name: string) => {
      let found = suites.get(name);
      if (!found) suites.set(name, (found = { cases: [], errors: [] }));
      return found;
    };
    for (const e of errors) suite(e.file ?? e.message.split(':')[0] ?? 'tokenproc test').errors.push(e);
    for (const c of cases) suite(c.file).cases.push(c);

    const attr = (name: string, value: string | number) => `${name}="${escapeXml(String(value))}"`;
    const totalTime = cases.reduce((sum, c) => sum + c.durationMs, 0);
    const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
    out.push(
      `<testsuites ${[attr('name', 'tokenproc test'), attr('tests', cases.length + errors.length), attr('failures', summary.failed - summary.fileErrors), attr('errors', summary.fileErrors), attr('time', seconds(totalTime))].join(' ')}>`,
    );
    for (const [name, content] of suites) {
      const failures = content.cases.filter((c) => !c.passed).length;
      const time = content.cases.reduce((sum, c) => sum + c.durationMs, 0);
      out.push(
        `  <testsuite ${[attr('name', name), attr('tests', content.cases.length + content.errors.length), attr('failures', failures), attr('errors', content.errors.length), attr('time', seconds(time))].join(' ')}>`,
      );
      for (const e of content.errors) {
        out.push(`    <testcase ${[attr('classname', name), attr('name', '(test file)'), attr('time', '0.000')].join(' ')}>`);
        out.push(`      <error ${[attr('message', e.message), attr('type', 'TestFileError')].join(' ')}>${escapeXml([e.message, ...e.details].join('\n'))}</error>`);
        out.push('    </testcase>');
      }
      for (const c of content.cases) {
        const open = `    <testcase ${[attr('classname', name), attr('name', c.name), attr('time', seconds(c.durationMs))].join(' ')}`;
        const inner: string[] = [];
        if (!c.passed) {
          inner.push(`      <failure ${[attr('message', c.message ?? 'failed'), attr('type', 'AssertionError')].join(' ')}>${escapeXml(dedent(c.details))}</failure>`);
        }
        if (c.notes.length > 0) inner.push(`      <system-out>${escapeXml(dedent(c.notes))}</system-out>`);
        out.push(inner.length === 0 ? `${open}/>` : [`${open}>`, ...inner, '    </testcase>'].join('\n'));
      }
      out.push('  </testsuite>');
    }
    out.push('</testsuites>');
    return `${out.join('\n')}\n`;
  }, streams);
}

export function createReporter(name: ReporterName, streams: ReporterStreams): TestReporter {
  switch (name) {
    case 'text':
      return textReporter(streams.out);
    case 'json':
      return jsonReporter(streams);
    case 'junit':
      return junitReporter(streams);
  }
}
