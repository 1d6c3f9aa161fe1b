/**
 * `tokenproc test`: runs each case of each test file through the local runner (the same pipeline
 * and sandbox as the server), matches the expectations, prints ✓/✗ per case with a diff per
 * failure, and ends with exactly `N passed, N failed`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalRunInput, LocalRunResult, RunLocally } from './local-run.ts';
import { ABSENT, matchObject, matchValue, resolveTimes } from './matchers.ts';
import type { MatchContext, Mismatch } from './matchers.ts';
import { formatMismatches } from './diff.ts';
import { procedureIdFromFile } from './run-input.ts';
import { correctionLines, diagnosticText, procedureLabels } from './run-format.ts';
import { discoverTestFiles, loadTestFile } from './test-cases.ts';
import type { CaseExpectation, CaseInput, TestFile, TokenExpectation } from './test-cases.ts';
import { textReporter } from './test-reporters.ts';
import type { TestReporter } from './test-reporters.ts';

export interface TestSummary {
  passed: number;
  failed: number;
  /** Test files (or paths) that could not be loaded; each also counts as one failure. */
  fileErrors: number;
}

export interface TestRunOptions {
  runLocally: RunLocally;
  /** Where the default (text) reporter writes; unused when `reporter` is given. */
  write: (text: string) => void;
  /** How results are shown: the text reporter on `write` by default (see test-reporters.ts). */
  reporter?: TestReporter;
  cwd: string;
  /** Only cases whose name contains this text. */
  filter?: string;
}

/** The case clock in epoch ms: `now` from the input (seconds or ISO date) or the wall clock. */
export function caseNowMs(input: CaseInput, wallClockMs: number): number {
  if (typeof input.now === 'number') return input.now * 1000;
  if (typeof input.now === 'string') return Date.parse(input.now);
  return wallClockMs;
}

function toPairs(params: CaseInput['params']): Array<[string, string]> {
  if (params === undefined) return [];
  if (Array.isArray(params)) return params.map(([k, v]) => [k, v]);
  return Object.entries(params).flatMap(([k, v]) => (Array.isArray(v) ? v.map((item): [string, string] => [k, item]) : [[k, v]]));
}

/** A case's input as the local runner takes it; `<now+N>` in claims becomes epoch seconds. */
export function buildCaseRunInput(
  testFile: TestFile,
  input: CaseInput,
  procedure: LocalRunInput['procedure'],
  nowMs: number,
): LocalRunInput {
  const nowSeconds = Math.floor(nowMs / 1000);
  const run: LocalRunInput = { flow: testFile.flow, procedure };
  if (input.client) run.client = input.client;
  if (input.subjectToken !== undefined) run.subjectToken = input.subjectToken;
  if (input.subjectClaims) run.subjectClaims = resolveTimes(input.subjectClaims, nowSeconds) as Record<string, unknown>;
  if (input.subjectTokenType !== undefined) run.subjectTokenType = input.subjectTokenType;
  if (input.actorToken !== undefined) run.actorToken = input.actorToken;
  if (input.actorClaims) run.actorClaims = resolveTimes(input.actorClaims, nowSeconds) as Record<string, unknown>;
  if (input.actorTokenType !== undefined) run.actorTokenType = input.actorTokenType;
  if (input.assertionClaims) run.assertionClaims = resolveTimes(input.assertionClaims, nowSeconds) as Record<string, unknown>;
  const params = toPairs(input.params);
  if (params.length > 0) run.params = params;
  if (input.now !== undefined) run.now = nowMs;
  return run;
}

function matchToken(expected: TokenExpectation, actual: LocalRunResult['issued'][number], path: string, context: MatchContext, out: Mismatch[]): void {
  if (expected.kind !== undefined) matchValue(expected.kind, actual.kind, `${path}.kind`, context, out);
  if (expected.header) matchObject(expected.header, actual.header, `${path}.header`, context, out, true);
  if (expected.claims) matchObject(expected.claims, actual.claims, `${path}.claims`, context, out, true);
}

/** Every way a run's result differs from a case's expectations (empty: the case passes). */
export function evaluateCase(expect: CaseExpectation, result: LocalRunResult, nowMs: number): Mismatch[] {
  const context: MatchContext = { nowSeconds: nowMs / 1000 };
  const out: Mismatch[] = [];
  if (expect.status !== undefined) matchValue(expect.status, result.status, 'status', context, out);
  if (expect.error !== undefined) {
    matchValue(expect.error, Object.hasOwn(result.body, 'error') ? result.body.error : ABSENT, 'error', context, out);
  }
  if (expect.body) matchObject(expect.body, result.body, 'body', context, out, true);

  if (expect.token === '<absent>') {
    if (result.issued.length > 0) {
      out.push({ path: 'token', expected: '<absent>', actual: `${result.issued.length} issued (${result.issued.map((t) => t.kind).join(', ')})` });
    }
  } else if (expect.token) {
    const wanted = expect.token.kind;
    const token = wanted === undefined ? result.issued[0] : result.issued.find((t) => t.kind === wanted);
    if (!token) out.push({ path: 'token', expected: wanted ? `an issued ${wanted}` : 'an issued token', actual: ABSENT });
    else matchToken(expect.token, token, 'token', context, out);
  }
  if (expect.tokens) {
    if (expect.tokens.length !== result.issued.length) {
      out.push({ path: 'tokens', expected: `${expect.tokens.length} issued`, actual: `${result.issued.length} issued` });
    } else {
      expect.tokens.forEach((t, i) => {
        const issued = result.issued[i];
        if (issued) matchToken(t, issued, `tokens[${i}]`, context, out);
      });
    }
  }

  for (const wanted of expect.logs ?? []) {
    const found = result.logs.some((line) => {
      const probe: Mismatch[] = [];
      if (wanted.level !== undefined) matchValue(wanted.level, line.level, 'level', context, probe);
      if (wanted.message !== undefined) matchValue(wanted.message, line.message, 'message', context, probe);
      return probe.length === 0;
    });
    if (!found) out.push({ path: 'logs', expected: wanted, actual: result.logs.map((l) => `${l.level}: ${l.message}`) });
  }

  if (expect.diagnostic === '<absent>') {
    if (result.diagnostic) out.push({ path: 'diagnostic', expected: '<absent>', actual: result.diagnostic });
  } else if (expect.diagnostic) {
    if (!result.diagnostic) out.push({ path: 'diagnostic', expected: expect.diagnostic, actual: ABSENT });
    else matchObject(expect.diagnostic, { ...result.diagnostic }, 'diagnostic', context, out, true);
  }
  return out;
}

/** What the response was, shown under a failure so the diff has context. */
function describeOutcome(result: LocalRunResult, procedure: LocalRunInput['procedure']): string[] {
  const procedureFile = procedure.filename;
  const lines: string[] = [];
  const error = typeof result.body.error === 'string' ? result.body.error : null;
  const description = typeof result.body.error_description === 'string' ? `: ${result.body.error_description}` : '';
  lines.push(`    response: HTTP ${result.status}${error ? ` ${error}${description}` : ''}`);
  const d = result.diagnostic;
  if (d) {
    const where = d.line === null ? procedureFile : `${procedureFile}:${d.line}:${d.column ?? 1}`;
    lines.push(`    procedure failed: ${d.reason}: ${diagnosticText(d, procedureLabels(procedure))} (${where})`);
  }
  for (const log of result.logs.slice(0, 20)) lines.push(`    log ${log.level}: ${log.message}`);
  lines.push(...correctionLines(result.corrections, '    '));
  return lines;
}

export async function runTestFile(testFile: TestFile, options: TestRunOptions, summary: TestSummary): Promise<void> {
  const reporter = options.reporter ?? textReporter(options.write);
  const procedureFile = path.relative(options.cwd, testFile.procedurePath) || testFile.procedurePath;
  let source: string;
  try {
    source = readFileSync(testFile.procedurePath, 'utf8');
  } catch {
    reporter.fileError(testFile.file, `procedure ${testFile.procedure} not found (${procedureFile})`, []);
    summary.failed++;
    summary.fileErrors++;
    return;
  }
  const procedure = { id: procedureIdFromFile(testFile.procedurePath), source, filename: procedureFile };
  for (const testCase of testFile.cases) {
    if (options.filter !== undefined && !testCase.name.includes(options.filter)) continue;
    const nowMs = caseNowMs(testCase.input, Date.now());
    const started = performance.now();
    const finished = { file: testFile.file, name: testCase.name };
    let result: LocalRunResult;
    try {
      result = await options.runLocally(buildCaseRunInput(testFile, testCase.input, procedure, nowMs));
    } catch (err) {
      summary.failed++;
      const message = `the local runner failed: ${err instanceof Error ? err.message : String(err)}`;
      reporter.caseFinished({ ...finished, passed: false, durationMs: performance.now() - started, message, details: [`    ${message}`], notes: [] });
      continue;
    }
    const durationMs = performance.now() - started;
    const mismatches = evaluateCase(testCase.expect, result, nowMs);
    // The server's corrections of the response pass silently only if nobody is told: a note either way.
    const notes = correctionLines(result.corrections, '    ');
    if (mismatches.length === 0) {
      summary.passed++;
      reporter.caseFinished({ ...finished, passed: true, durationMs, message: null, details: [], notes });
    } else {
      summary.failed++;
      const paths = mismatches.map((m) => m.path || '(response)');
      const message = `${mismatches.length === 1 ? 'differs at' : `${mismatches.length} differences:`} ${paths.join(', ')}`;
      const details = [formatMismatches(mismatches, nowMs), ...describeOutcome(result, procedure)];
      reporter.caseFinished({ ...finished, passed: false, durationMs, message, details, notes: [] });
    }
  }
}

/** Runs every test file under `paths`; the reporter shows each case and the closing `N passed, N failed`. */
export async function runTests(paths: readonly string[], options: TestRunOptions): Promise<TestSummary> {
  const reporter = options.reporter ?? textReporter(options.write);
  const withReporter = { ...options, reporter };
  const summary: TestSummary = { passed: 0, failed: 0, fileErrors: 0 };
  const { files, errors } = discoverTestFiles(paths, options.cwd);
  for (const error of errors) {
    reporter.fileError(null, error, []);
    summary.failed++;
    summary.fileErrors++;
  }
  if (files.length === 0 && errors.length === 0) reporter.noTestFiles();
  for (const file of files) {
    const loaded = loadTestFile(path.resolve(options.cwd, file));
    if (!loaded.ok) {
      reporter.fileError(file, 'invalid test file', loaded.errors);
      summary.failed++;
      summary.fileErrors++;
      continue;
    }
    await runTestFile({ ...loaded.testFile, file }, withReporter, summary);
  }
  reporter.finished(summary);
  return summary;
}
