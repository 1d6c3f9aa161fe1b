/**
 * End to end: `tokenproc run`, `test` and `check` as a user runs them (a child process on the
 * pinned Node with --no-node-snapshot), through the real local runner and sandbox.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const MAIN = path.join(ROOT, 'server', 'cli', 'main.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tokenproc(args: string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--no-node-snapshot', MAIN, ...args],
      { cwd, timeout: 20_000, maxBuffer: 4 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

const SUBJECT = JSON.stringify({ sub: 'alice', scope: 'invoicing trigger_invoicing' });
const CLIENT = JSON.stringify({ client_id: 'orders-api-client', scope: 'invoicing trigger_invoicing' });

describe('tokenproc CLI', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tokenproc-cli-e2e-'));
    writeFileSync(path.join(dir, 'syntax.js'), 'function result(context) {\n  var x = ;\n  return {};\n}\n');
    writeFileSync(
      path.join(dir, 'typo.js'),
      'function result(context) {\n  var t = context.getPresentedSubjectTokens();\n  return { t: t };\n}\n',
    );
    writeFileSync(
      path.join(dir, 'boom.js'),
      'function result(context) {\n  logger.info("hello {}", context.client.id);\n  var t = context.getPresentedSubjectToken();\n  return t.nothing.here;\n}\n',
    );
    writeFileSync(path.join(dir, 'client.json'), CLIENT);
    writeFileSync(
      path.join(dir, 'boom.test.yaml'),
      [
        'procedure: ./boom.js',
        'cases:',
        '  - name: expects a token but the procedure throws',
        '    input:',
        '      subjectClaims: { sub: alice }',
        '    expect:',
        '      status: 200',
        '',
      ].join('\n'),
    );
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("check: passes the example procedures and warns about the millisecond exp of Curity's tutorial procedure", async () => {
    const run = await tokenproc(['check', 'procedures/seeds/curity-downscope.js', 'procedures/seeds/curity-transaction-id.js']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('procedures/seeds/curity-downscope.js: ok\n');
    expect(run.stdout).toContain('procedures/seeds/curity-transaction-id.js:18:11: warning: `exp` is set from milliseconds');
    expect(run.stdout).toContain('  18 | tokenData.exp = Math.round(date.getTime());\n     |           ^\n');
    expect(run.stdout.endsWith('2 files checked: 0 errors, 1 warning\n')).toBe(true);
  });

  it('check: a syntax error is file:line:column with the source line, exit 2', async () => {
    const run = await tokenproc(['check', 'syntax.js'], dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("syntax.js:2:11: error: SyntaxError: Unexpected token ';'\n  2 |   var x = ;\n    |           ^\n");
  });

  it('check: a misspelt API call suggests the right name, exit 2', async () => {
    const typo = await tokenproc(['check', 'typo.js'], dir);
    expect(typo.code).toBe(2);
    expect(typo.stdout).toContain(
      'typo.js:2:19: error: the context has no method `getPresentedSubjectTokens`: did you mean getPresentedSubjectToken? [unknown-api]',
    );
  });

  it('run: prints the response and the decoded token', async () => {
    const run = await tokenproc([
      'run',
      'procedures/seeds/curity-downscope.js',
      '--subject-claims',
      SUBJECT,
      '--client',
      CLIENT,
      '--param',
      'scope=invoicing',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith('HTTP 200\n')).toBe(true);
    expect(run.stdout).toContain('issued access_token #1\n  header:\n');
    expect(run.stdout).toMatch(/"sub": "alice",\n/);
    expect(run.stdout).toMatch(/"exp": \d+,? {2}# \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(now\+300s\)/);
  });

  it('run --json: one JSON document with the decoded claims; @file values', async () => {
    const run = await tokenproc(
      [
        'run',
        path.join(ROOT, 'procedures/seeds/curity-downscope.js'),
        '--subject-claims',
        SUBJECT,
        '--client',
        '@client.json',
        '--param',
        'scope=invoicing',
        '--json',
      ],
      dir,
    );
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { status: number; tokens: Array<{ claims: Record<string, unknown> }> };
    expect(report.status).toBe(200);
    expect(report.tokens[0]?.claims).toMatchObject({ sub: 'alice', scope: 'invoicing', client_id: 'orders-api-client' });
  });

  it('run: a refusal prints the OAuth error and exits 1', async () => {
    const run = await tokenproc(['run', 'procedures/seeds/curity-downscope.js', '--subject-claims', SUBJECT, '--client', CLIENT]);
    expect(run.code).toBe(1);
    expect(run.stdout.startsWith('HTTP 400 invalid_request: Missing scope in a token exchange request\n')).toBe(true);
  });

  it('run: a procedure that throws points at file:line:column, with logger lines inline', async () => {
    const run = await tokenproc(['run', 'boom.js', '--subject-claims', '{"sub":"alice"}'], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('log info  hello local-client\n');
    expect(run.stdout).toContain(
      "boom.js:4:20: error: runtime_error: TypeError: Cannot read properties of undefined (reading 'here')\n  4 |   return t.nothing.here;\n",
    );
  });

  it('run: usage errors exit 2 with a message and no stack trace', async () => {
    const run = await tokenproc(['run', 'procedures/seeds/curity-downscope.js', '--subject-claims', '{not json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^tokenproc: --subject-claims: not valid JSON/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('test: runs the seed test files and ends with the count', async () => {
    const run = await tokenproc(['test', 'procedures/seeds']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('✓ procedures/seeds/curity-downscope.test.json › refuses a request without scope (invalid_request)\n');
    expect(run.stdout).toMatch(/\n\d+ passed, 0 failed\n$/);
  });

  it('test: a failing case prints the diff and the procedure failure, exit 1', async () => {
    const run = await tokenproc(['test'], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      [
        '✗ boom.test.yaml › expects a token but the procedure throws',
        '    status',
        '      expected: 200',
        '      actual:   500',
        '    response: HTTP 500 server_error',
      ].join('\n'),
    );
    expect(run.stdout).toContain("procedure failed: runtime_error: TypeError: Cannot read properties of undefined (reading 'here') (boom.js:4:20)");
    expect(run.stdout.endsWith('\n0 passed, 1 failed\n')).toBe(true);
  });

  it('test: a path without test files exits 2', async () => {
    const run = await tokenproc(['test', 'syntax.js'], dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('✗ syntax.js: not a test file');
    expect(run.stdout.endsWith('0 passed, 1 failed\n')).toBe(true);
  });

  it('every command has --help', async () => {
    for (const command of ['run', 'test', 'check']) {
      const run = await tokenproc([command, '--help']);
      expect({ command, code: run.code }).toEqual({ command, code: 0 });
      expect(run.stdout).toContain(`Usage: tokenproc ${command}`);
      expect(run.stdout).toContain('Exit codes:');
    }
  });
});
