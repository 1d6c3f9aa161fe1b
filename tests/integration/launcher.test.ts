/**
 * node_modules/.bin/tokenproc runs on the pinned Node 24 with --no-node-snapshot however it is
 * launched: by the system Node (20 on this machine), or directly through its shebang.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/server.ts';

const run = promisify(execFile);
const BIN = path.join(REPO_ROOT, 'node_modules', '.bin', 'tokenproc');
const SYSTEM_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => fs.existsSync(p)) ?? process.execPath;
/** A PATH without node_modules/.bin, as in a user's shell. */
const SHELL_PATH = (process.env.PATH ?? '').split(path.delimiter).filter((p) => !p.includes('node_modules')).join(path.delimiter);

describe('tokenproc launcher', () => {
  it('is linked into node_modules/.bin by the install', () => {
    expect(fs.realpathSync(BIN)).toBe(path.join(REPO_ROOT, 'server', 'bin', 'tokenproc.cjs'));
  });

  it('re-runs a sandbox command on the pinned Node 24 when started by the system node', async () => {
    const { stdout } = await run(SYSTEM_NODE, [BIN, 'run', 'procedures/seeds/curity-downscope.js', '--subject-claims', '{"scope":"invoicing trigger_invoicing"}', '--param', 'scope=invoicing', '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PATH: SHELL_PATH },
    });
    const report = JSON.parse(stdout) as { status: number; body: { scope: string } };
    expect(report.status).toBe(200);
    expect(report.body.scope).toBe('invoicing');
  });

  it('works through its shebang from a shell PATH and exits 2 with usage on a bad command', async () => {
    const { stdout } = await run(BIN, ['--version'], { cwd: REPO_ROOT, env: { ...process.env, PATH: SHELL_PATH } });
    expect(stdout.trim()).toBe('0.1.0');
    const failed = await run(BIN, ['no-such-command'], { cwd: REPO_ROOT, env: { ...process.env, PATH: SHELL_PATH } }).catch((err: { code: number; stderr: string }) => err);
    expect('code' in failed ? failed.code : 0).toBe(2);
  });
});
