/**
 * node_modules/.bin/tokenproc runs on the pinned Node 24 with --no-node-snapshot however it is
 * launched: by the system Node (20 on this machine), or directly through its shebang.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

describe('tokenproc launched by an npm script', () => {
  it('stops the server when npm stops its script (the script shell dies and the launcher is orphaned)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenproc-orphan-'));
    try {
      // As `npm start` runs it: a shell whose child is the launcher, npm_lifecycle_event set.
      const shell = spawn('sh', ['-c', `"${BIN}" serve --port 0 --data "${dataDir}" & wait`], {
        cwd: REPO_ROOT,
        env: { ...process.env, PATH: SHELL_PATH, npm_lifecycle_event: 'start', TOKENPROC_ADMIN_KEY: 'orphan-test-admin-key-0123456789abcdef', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      shell.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const deadline = Date.now() + 20_000;
      while (!output.includes('"listening"') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(output).toContain('"listening"');
      const serving = (): number[] => processesFor(dataDir);
      expect(serving().length).toBeGreaterThan(0);
      // npm stopping the script: the shell goes, without passing anything on.
      shell.kill('SIGKILL');
      const stopBy = Date.now() + 15_000;
      while (serving().length > 0 && Date.now() < stopBy) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(serving()).toEqual([]);
    } finally {
      for (const pid of processesFor(dataDir)) process.kill(pid, 'SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** Pids of processes whose command line names `dataDir` (the launcher and the server it started). */
function processesFor(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(dataDir) && !cmdline.startsWith('sh\0')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
