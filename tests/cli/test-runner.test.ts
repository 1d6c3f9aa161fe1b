import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { discoverTestFiles, loadTestFile, parseTestDocument } from '../../server/cli/authoring/test-cases.ts';
import { buildCaseRunInput, caseNowMs, evaluateCase, runTests } from '../../server/cli/authoring/test-runner.ts';
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
