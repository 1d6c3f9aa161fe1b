import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProcedureEngine } from '../../sandbox/engine.ts';
import type { ProcedureEngine } from '../../sandbox/types.ts';
import { checkFiles, expandProcedurePaths } from '../../server/cli/authoring/check-files.ts';

describe('checkFiles (real sandbox compiler)', () => {
  let dir: string;
  let engine: ProcedureEngine;

  beforeAll(() => {
    engine = createProcedureEngine({ logger: { warn: () => {}, error: () => {} } });
    dir = mkdtempSync(path.join(os.tmpdir(), 'tokenproc-cli-check-'));
    mkdirSync(path.join(dir, 'procs', 'node_modules'), { recursive: true });
    writeFileSync(path.join(dir, 'procs', 'a-good.js'), 'function result(context) { return { ok: true }; }\n');
    writeFileSync(path.join(dir, 'procs', 'b-noresult.js'), 'function resul(context) { return {}; }\n');
    writeFileSync(
      path.join(dir, 'procs', 'c-warn.js'),
      'function result(context) {\n  var d = context.getPresentedSubjectToken();\n  d.exp = Date.now() + 1000;\n  return d;\n}\n',
    );
    writeFileSync(path.join(dir, 'procs', 'd-syntax.js'), 'function result(context) {\n  return {\n}\n');
    writeFileSync(path.join(dir, 'procs', 'notes.txt'), 'not a procedure');
    writeFileSync(path.join(dir, 'procs', 'node_modules', 'dep.js'), 'x');
  });

  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const check = async (files: string[]) => {
    let output = '';
    const summary = await checkFiles(expandProcedurePaths(files, dir), {
      flow: null,
      compile: (source, filename) => engine.compile(source, filename),
      write: (text) => (output += text),
      cwd: dir,
    });
    return { summary, output };
  };

  it('expands directories to their .js files, skipping node_modules', () => {
    expect(expandProcedurePaths(['procs', 'other.js'], dir)).toEqual([
      'procs/a-good.js',
      'procs/b-noresult.js',
      'procs/c-warn.js',
      'procs/d-syntax.js',
      'other.js',
    ]);
  });

  it('exits 0 for a clean file and for warnings only', async () => {
    const { summary, output } = await check(['procs/a-good.js', 'procs/c-warn.js']);
    expect(summary).toEqual({ files: 2, errors: 0, warnings: 1, exitCode: 0 });
    expect(output).toContain('procs/a-good.js: ok\n');
    expect(output).toContain('procs/c-warn.js:3:5: warning: `exp` is set from milliseconds');
    expect(output.endsWith('2 files checked: 0 errors, 1 warning\n')).toBe(true);
  });

  it('reports a missing result under its lint rule and a syntax error at its location, exit 2', async () => {
    const { summary, output } = await check(['procs/b-noresult.js', 'procs/d-syntax.js']);
    expect(summary.exitCode).toBe(2);
    expect(summary.errors).toBe(2);
    expect(output).toContain('procs/b-noresult.js:1:1: error: no `result` function');
    expect(output).toContain('[missing-result]');
    const missing = await check(['procs/nope.js']);
    expect(missing.summary.exitCode).toBe(2);
    expect(missing.output).toContain('procs/nope.js: error: cannot read: no such file\n');
    // V8 places an unexpected end of input after the last line.
    expect(output).toContain('procs/d-syntax.js:4:1: error: SyntaxError: Unexpected end of input\n  4 | \n    | ^\n');
  });
});
