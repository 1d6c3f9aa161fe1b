import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { discoverTestFiles, loadTestFile, parseTestDocument } from '../../server/cli/authoring/test-cases.ts';
import { buildCaseRunInput, caseNowMs, evaluateCase, runTests } from '../../server/cli/authoring/test-runner.ts';
import { escapeXml, jsonReporter, junitReporter } from '../../server/cli/authoring/test-reporters.ts';
import type { LocalRunInput, LocalRunResult } from '../../server/cli/authoring/local-run.ts';

const NOW_SECONDS = 1_767_225_600;

function result(overrides: Partial<LocalRunResult> = {}): LocalRunResult {
  return { status: 200, body: {}, issued: [], logs: [], diagnostic: null, ...overrides };
}

function tokenResult(claims: Record<string, unknown>): LocalRunResult {
  return result({
    body: { access_token: 'eyJ.x.y', token_type: 'bearer', scope: claims.scope, expires_in: 300 },
    issued: [{ kind: 'access_token', token: 'eyJ.x.y', header: { alg: 'ES256', typ: 'at+jwt' }, claims }],
  });
}

describe('test-case files', () => {
  it('validates every problem with its path', () => {
    const loaded = parseTestDocument(
      {
        procedure: './p.js',
        flow: 'password',
        cases: [
          { name: 'a', input: { subjectClaim: {} }, expect: { status: 200, tokn: {} } },
          { input: {}, expect: { token: { claims: { exp: '<now+x>' } } } },
          { name: 'c' },
        ],
      },
      '/t/p.test.json',
    );
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.errors).toEqual([
      expect.stringContaining('flow: expected one of'),
      expect.stringContaining('cases[0].input: unknown key "subjectClaim"'),
      expect.stringContaining('cases[0].expect: unknown key "tokn"'),
      'cases[1].name: expected a string',
      expect.stringContaining('cases[1].expect.token.claims.exp: matcher <now+x>'),
      'cases[2].expect: missing',
    ]);
  });

  it('merges defaults into each case and resolves the procedure next to the file', () => {
    const loaded = parseTestDocument(
      {
        procedure: './p.js',
        flow: 'client-credentials',
        defaults: { client: { scope: 'a' }, params: { scope: 'a' } },
        cases: [{ name: 'x', input: { params: { scope: 'b' } }, expect: { status: 200 } }],
      },
      '/t/dir/p.test.json',
    );
    expect(loaded).toMatchObject({
      ok: true,
      testFile: {
        procedurePath: '/t/dir/p.js',
        flow: 'oauth-token-client-credentials',
        cases: [{ name: 'x', input: { client: { scope: 'a' }, params: { scope: 'b' } } }],
      },
    });
  });

  it('builds the runner input: params as pairs, <now±N> claims as seconds, the case clock', () => {
    const loaded = parseTestDocument(
      { procedure: './p.js', cases: [{ name: 'x', expect: { status: 200 } }] },
      '/t/p.test.json',
    );
    if (!loaded.ok) throw new Error('fixture');
    const nowMs = caseNowMs({ now: '2026-01-01T00:00:00Z' }, 0);
    expect(nowMs).toBe(NOW_SECONDS * 1000);
    expect(caseNowMs({ now: NOW_SECONDS }, 0)).toBe(NOW_SECONDS * 1000);
    expect(caseNowMs({}, 42)).toBe(42);
    const input = buildCaseRunInput(
      loaded.testFile,
      {
        subjectClaims: { sub: 'alice', exp: '<now+600>' },
        params: { audience: ['a', 'b'], scope: 'x' },
        now: NOW_SECONDS,
      },
      { id: 'p', source: 'src', filename: 'p.js' },
      nowMs,
    );
    expect(input).toEqual({
      flow: 'oauth-token-oauth-token-exchange',
      procedure: { id: 'p', source: 'src', filename: 'p.js' },
      subjectClaims: { sub: 'alice', exp: NOW_SECONDS + 600 },
      params: [
        ['audience', 'a'],
        ['audience', 'b'],
        ['scope', 'x'],
      ],
      now: NOW_SECONDS * 1000,
    });
  });
});

describe('evaluateCase', () => {
  const nowMs = NOW_SECONDS * 1000;

  it('passes when status, body and token claims match', () => {
    const actual = tokenResult({ sub: 'alice', scope: 'invoicing', exp: NOW_SECONDS + 300, transaction_id: '1234' });
    expect(
      evaluateCase(
        {
          status: 200,
          body: { scope: 'invoicing', expires_in: '<approx:300>' },
          token: { header: { typ: 'at+jwt' }, claims: { scope: 'invoicing', exp: '<now+300>', act: '<absent>', transaction_id: '<present>' } },
        },
        actual,
        nowMs,
      ),
    ).toEqual([]);
  });

  it('reports each difference with its path', () => {
    const actual = tokenResult({ sub: 'alice', scope: 'invoicing trigger_invoicing', exp: NOW_SECONDS + 86400 });
    const found = evaluateCase({ status: 400, token: { claims: { scope: 'invoicing', exp: '<now+300>' } } }, actual, nowMs);
    expect(found.map((m) => m.path)).toEqual(['status', 'token.claims.scope', 'token.claims.exp']);
  });

  it('checks the OAuth error, absent tokens and the diagnostic', () => {
    const refused = result({ status: 400, body: { error: 'invalid_request', error_description: 'Missing scope' } });
    expect(evaluateCase({ status: 400, error: 'invalid_request', token: '<absent>', diagnostic: '<absent>' }, refused, nowMs)).toEqual([]);
    expect(evaluateCase({ error: 'invalid_scope' }, refused, nowMs)).toEqual([
      { path: 'error', expected: 'invalid_scope', actual: 'invalid_request' },
    ]);
    expect(evaluateCase({ token: '<absent>' }, tokenResult({}), nowMs).map((m) => m.path)).toEqual(['token']);
    expect(evaluateCase({ token: { claims: {} } }, refused, nowMs).map((m) => m.path)).toEqual(['token']);
    const failed = result({ status: 500, body: { error: 'server_error' }, diagnostic: { reason: 'runtime_error', message: 'TypeError: x', line: 3, column: 7 } });
    expect(evaluateCase({ diagnostic: { reason: 'runtime_error', line: 3 } }, failed, nowMs)).toEqual([]);
  });

  it('matches tokens by kind, all tokens in order, and log lines', () => {
    const actual = result({
      issued: [
        { kind: 'access_token', token: 'a', header: {}, claims: { sub: 'a' } },
        { kind: 'jwt', token: 'j', header: {}, claims: { sub: 'j' } },
      ],
      logs: [{ level: 'warn', message: 'scope narrowed to invoicing' }],
    });
    expect(evaluateCase({ token: { kind: 'jwt', claims: { sub: 'j' } } }, actual, nowMs)).toEqual([]);
    expect(evaluateCase({ tokens: [{ claims: { sub: 'a' } }, { kind: 'jwt' }] }, actual, nowMs)).toEqual([]);
    expect(evaluateCase({ tokens: [{ claims: { sub: 'a' } }] }, actual, nowMs).map((m) => m.path)).toEqual(['tokens']);
    expect(evaluateCase({ logs: [{ level: 'warn', message: '<contains:narrowed>' }] }, actual, nowMs)).toEqual([]);
    expect(evaluateCase({ logs: [{ level: 'error' }] }, actual, nowMs).map((m) => m.path)).toEqual(['logs']);
  });
});

describe('runTests', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tokenproc-cli-test-'));
    mkdirSync(path.join(dir, 'procs', 'nested'), { recursive: true });
    mkdirSync(path.join(dir, 'node_modules', 'x'), { recursive: true });
    writeFileSync(path.join(dir, 'procs', 'p.js'), 'function result(context) { return {}; }\n');
    writeFileSync(
      path.join(dir, 'procs', 'p.test.json'),
      JSON.stringify({
        procedure: './p.js',
        cases: [
          { name: 'downscopes', input: { params: { scope: 'invoicing' } }, expect: { status: 200, token: { claims: { scope: 'invoicing' } } } },
          { name: 'wrong scope', input: { params: { scope: 'other' } }, expect: { status: 200, token: { claims: { scope: 'invoicing' } } } },
        ],
      }),
    );
    writeFileSync(
      path.join(dir, 'procs', 'nested', 'q.test.yaml'),
      ['procedure: ../p.js', 'cases:', '  - name: refuses without scope', '    expect:', '      error: invalid_request', ''].join('\n'),
    );
    writeFileSync(path.join(dir, 'procs', 'broken.test.json'), '{"procedure": "./p.js", "cases": [');
    writeFileSync(path.join(dir, 'node_modules', 'x', 'ignored.test.json'), '{}');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  // Answers like a procedure that issues exactly the requested scope and refuses without one.
  const fakeRunner = async (input: LocalRunInput): Promise<LocalRunResult> => {
    const scope = input.params?.find(([k]) => k === 'scope')?.[1];
    if (!scope) return result({ status: 400, body: { error: 'invalid_request', error_description: 'Missing scope' } });
    return tokenResult({ sub: 'alice', scope });
  };

  it('discovers test files recursively, skipping node_modules, and maps a procedure to its test file', () => {
    expect(discoverTestFiles([], dir)).toEqual({
      files: ['procs/broken.test.json', 'procs/nested/q.test.yaml', 'procs/p.test.json'],
      errors: [],
    });
    expect(discoverTestFiles(['procs/p.js', 'missing'], dir)).toEqual({
      files: ['procs/p.test.json'],
      errors: ['missing: no such file or directory'],
    });
  });

  it('loads YAML test files', () => {
    const loaded = loadTestFile(path.join(dir, 'procs', 'nested', 'q.test.yaml'));
    expect(loaded).toMatchObject({ ok: true, testFile: { procedurePath: path.join(dir, 'procs', 'p.js') } });
  });

  it('prints one line per case, a diff per failure and the closing count', async () => {
    let output = '';
    const summary = await runTests([], { runLocally: fakeRunner, cwd: dir, write: (t) => (output += t) });
    expect(summary).toEqual({ passed: 2, failed: 2, fileErrors: 1 });
    const lines = output.split('\n');
    expect(lines[0]).toBe('✗ procs/broken.test.json: invalid test file');
    expect(lines[1]).toMatch(/^ {4}not valid JSON: /);
    expect(output).toContain('✓ procs/nested/q.test.yaml › refuses without scope\n');
    expect(output).toContain('✓ procs/p.test.json › downscopes\n');
    expect(output).toContain(
      ['✗ procs/p.test.json › wrong scope', '    token.claims.scope', '      expected: "invoicing"', '      actual:   "other"', '    response: HTTP 200'].join('\n'),
    );
    expect(output.endsWith('\n2 passed, 2 failed\n')).toBe(true);
  });

  it('writes JUnit XML for CI: a suite per file, a case per case, failures and file errors, all escaped', async () => {
    let out = '';
    let err = '';
    const reporter = junitReporter({ out: (t) => (out += t), err: (t) => (err += t) });
    const summary = await runTests([], { runLocally: fakeRunner, cwd: dir, write: () => undefined, reporter });
    expect(summary).toEqual({ passed: 2, failed: 2, fileErrors: 1 });
    expect(err).toBe('2 passed, 2 failed\n');
    expect(out.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="tokenproc test" tests="4" failures="1" errors="1" ')).toBe(true);
    expect(out).toContain('<testsuite name="procs/p.test.json" tests="2" failures="1" errors="0" ');
    expect(out).toMatch(/<testcase classname="procs\/p.test.json" name="downscopes" time="\d+\.\d{3}"\/>/);
    expect(out).toContain('<failure message="differs at token.claims.scope" type="AssertionError">token.claims.scope\n  expected: &quot;invoicing&quot;\n  actual:   &quot;other&quot;\nresponse: HTTP 200');
    expect(out).toContain('<testcase classname="procs/broken.test.json" name="(test file)" time="0.000">\n      <error message="invalid test file" type="TestFileError">');
    // Every element opened is closed, in order (a well-formedness check without an XML parser).
    const stack: string[] = [];
    for (const [, closing, name, selfClosing] of out.matchAll(/<(\/?)([a-z-]+)[^>]*?(\/?)>/g)) {
      if (closing) expect(stack.pop()).toBe(name);
      else if (!selfClosing) stack.push(name ?? '');
    }
    expect(stack).toEqual([]);
    expect(escapeXml('a<b>&"c\' \u0001')).toBe('a&lt;b&gt;&amp;&quot;c&apos; \uFFFD');
  });

  it('writes one JSON document with every case', async () => {
    let out = '';
    const reporter = jsonReporter({ out: (t) => (out += t), err: () => undefined });
    await runTests(['procs/p.test.json'], { runLocally: fakeRunner, cwd: dir, write: () => undefined, reporter });
    const document = JSON.parse(out) as { passed: number; failed: number; cases: Array<Record<string, unknown>> };
    expect(document).toMatchObject({ passed: 1, failed: 1, fileErrors: 0, errors: [] });
    expect(document.cases.map((c) => [c.name, c.status])).toEqual([
      ['downscopes', 'passed'],
      ['wrong scope', 'failed'],
    ]);
    expect(document.cases[1]).toMatchObject({ message: 'differs at token.claims.scope', details: expect.stringContaining('expected: "invoicing"') });
  });

  it("checks a case's client against the admin API's client schema", () => {
    const loaded = parseTestDocument({ procedure: './p.js', cases: [{ name: 'a', input: { client: { scopes: 'x' } }, expect: { status: 200 } }] }, path.join(dir, 't.test.json'));
    expect(loaded).toEqual({ ok: false, errors: ['cases[0].input.client: "scopes" is not allowed: did you mean "scope"?'] });
  });

  it('shows the whole YAML error, with the offending line', async () => {
    writeFileSync(path.join(dir, 'procs', 'bad.test.yaml'), ['procedure: ./p.js', 'cases:', '  - name: a', ' expect:', '      status: 200', ''].join('\n'));
    let output = '';
    await runTests(['procs/bad.test.yaml'], { runLocally: fakeRunner, cwd: dir, write: (t) => (output += t) });
    rmSync(path.join(dir, 'procs', 'bad.test.yaml'));
    expect(output).toContain('    not valid YAML: All mapping items must start at the same column at line 4, column 1:\n\n      - name: a\n     expect:\n    ^\n');
  });

  it('notes under a passing case that the server corrected the response', async () => {
    let output = '';
    const correcting = async (input: LocalRunInput): Promise<LocalRunResult> => ({
      ...(await fakeRunner(input)),
      corrections: [{ member: 'scope', returned: 'invoicing trigger_invoicing', sent: 'invoicing' }],
    });
    await runTests(['procs/p.test.json'], { runLocally: correcting, cwd: dir, write: (t) => (output += t), filter: 'downscopes' });
    expect(output).toBe(
      [
        '✓ procs/p.test.json › downscopes',
        "    note: the server corrected the procedure's response to match the issued token (the server logs a warning):",
        '      scope  returned "invoicing trigger_invoicing", sent "invoicing"',
        '1 passed, 0 failed',
        '',
      ].join('\n'),
    );
  });

  it('filters cases by name and reports a runner crash as a failure', async () => {
    let output = '';
    const crashing = async (): Promise<LocalRunResult> => {
      throw new Error('engine exploded');
    };
    const summary = await runTests(['procs/p.test.json'], { runLocally: crashing, cwd: dir, write: (t) => (output += t), filter: 'wrong' });
    expect(summary).toEqual({ passed: 0, failed: 1, fileErrors: 0 });
    expect(output).toBe('✗ procs/p.test.json › wrong scope\n    the local runner failed: engine exploded\n0 passed, 1 failed\n');
  });
});
