/**
 * `tokenproc init`: the scaffold passes its own tests in the real sandbox, lints clean, points the
 * editor at the procedure types, and never overwrites a file.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scaffoldProcedure, procedureTypesPath } from '../../server/cli/authoring/scaffold.ts';
import { runTests } from '../../server/cli/authoring/test-runner.ts';
import { lintProcedure } from '../../server/cli/authoring/lint.ts';
import { createLocalRunner, type LocalRunner } from '../../server/runtime/local-runner.ts';
import type { CliError } from '../../server/cli/exit-codes.ts';

let dir: string;
let runner: LocalRunner;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tokenproc-init-'));
  runner = createLocalRunner();
});

afterAll(async () => {
  await runner.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('tokenproc init', () => {
  it('scaffolds a token-exchange procedure, its tests and a jsconfig.json with the procedure types', () => {
    const files = scaffoldProcedure({ dir: 'procs', flow: 'oauth-token-oauth-token-exchange' }, dir);
    expect(files.map((f) => [f.file, f.written])).toEqual([
      ['procs/token-exchange.js', true],
      ['procs/token-exchange.test.json', true],
      ['procs/jsconfig.json', true],
    ]);
    const jsconfig = JSON.parse(readFileSync(path.join(dir, 'procs', 'jsconfig.json'), 'utf8')) as { include: string[] };
    expect(path.resolve(dir, 'procs', jsconfig.include[1] ?? '')).toBe(procedureTypesPath());
    expect(existsSync(procedureTypesPath())).toBe(true);
    const source = readFileSync(path.join(dir, 'procs', 'token-exchange.js'), 'utf8');
    expect(source).toContain('@param {TokenExchangeContext} context');
    expect(lintProcedure(source, { flow: 'oauth-token-oauth-token-exchange' })).toEqual([]);
  });

  it('scaffolds the client-credentials flow next to it, keeping the existing jsconfig.json', () => {
    const files = scaffoldProcedure({ dir: 'procs', flow: 'oauth-token-client-credentials' }, dir);
    expect(files.map((f) => [f.file, f.written])).toEqual([
      ['procs/client-credentials.js', true],
      ['procs/client-credentials.test.json', true],
      ['procs/jsconfig.json', false],
    ]);
    expect(lintProcedure(readFileSync(path.join(dir, 'procs', 'client-credentials.js'), 'utf8'), { flow: 'oauth-token-client-credentials' })).toEqual([]);
  });

  it('writes tests that pass as scaffolded, in the real sandbox', async () => {
    let output = '';
    const summary = await runTests(['procs'], { runLocally: (input) => runner.run(input), cwd: dir, write: (t) => (output += t) });
    expect(summary).toEqual({ passed: 6, failed: 0, fileErrors: 0 });
    expect(output).not.toContain('note:');
    expect(output.endsWith('6 passed, 0 failed\n')).toBe(true);
  });

  it('refuses to overwrite, before writing anything (exit 2)', () => {
    writeFileSync(path.join(dir, 'lonely.test.json'), '{}');
    const attempt = () => scaffoldProcedure({ dir: '.', flow: 'oauth-token-oauth-token-exchange', name: 'lonely' }, dir);
    expect(attempt).toThrow('refusing to overwrite lonely.test.json: remove it, or choose another directory or --name');
    try {
      attempt();
    } catch (err) {
      expect((err as CliError).exitCode).toBe(2);
    }
    expect(existsSync(path.join(dir, 'lonely.js'))).toBe(false);
    expect(existsSync(path.join(dir, 'jsconfig.json'))).toBe(false);
    expect(() => scaffoldProcedure({ dir: '.', flow: 'oauth-token-oauth-token-exchange', name: '../up' }, dir)).toThrow(/--name/);
  });
});
