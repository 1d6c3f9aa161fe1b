/**
 * The published package, as a procedure author gets it: `npm pack` (whose `prepack` builds dist/),
 * the tarball installed into an empty project, then `npx tokenproc init` and `npx tokenproc test`
 * there, launched from the system Node (the launcher re-runs the CLI on the pinned Node 24).
 *
 * Slow (a TypeScript build and an npm install): one test file, generous timeouts. The pack runs in
 * a copy of the sources (with the checkout's node_modules linked in), so the build never touches
 * the checkout's own files while other tests run. The install takes dependency tarballs from the
 * npm cache (`--prefer-offline`) but asks the registry for package metadata: `npm ci` caches only
 * tarballs, and resolving the package's version ranges needs the metadata (`--offline` would fail
 * with ENOTCACHED on a machine whose cache was filled by `npm ci`).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const REPO_BIN = path.join(ROOT, 'node_modules', '.bin');
/** What the package needs to build; tests, benchmarks and the client are not part of it. */
const SOURCES = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'tsconfig.json', 'tsconfig.build.json', 'server', 'sandbox', 'admin', 'procedures'];

let work: string;
let tarball: string;
let project: string;

/** The environment without what `npm test` adds (npm_* variables would point nested npm at this checkout). */
function cleanEnv(pathValue: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.toLowerCase().startsWith('npm_') || key === 'INIT_CWD' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  env.PATH = pathValue;
  env.NO_UPDATE_NOTIFIER = '1';
  return env;
}

/** PATH with the checkout's node_modules/.bin first (Node 24, as npm scripts run). */
const pinnedPath = (): string => [REPO_BIN, process.env.PATH ?? ''].join(path.delimiter);
/** PATH without it: `node` is the system's (Node 20 on the machines this is written for). */
const systemPath = (): string =>
  (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '' && !dir.includes(`${path.sep}node_modules${path.sep}`) && !dir.endsWith(`${path.sep}node_modules`))
    .join(path.delimiter);

function run(command: string, args: string[], cwd: string, pathValue: string, timeout = 240_000): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env: cleanEnv(pathValue), encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return result;
}

function explain(result: SpawnSyncReturns<string>): string {
  return `exit ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'tokenproc-package-'));
  const source = path.join(work, 'source');
  mkdirSync(source);
  for (const entry of SOURCES) {
    cpSync(path.join(ROOT, entry), path.join(source, entry), {
      recursive: true,
      filter: (file) => !file.startsWith(path.join(ROOT, 'admin', 'web', 'dist')) && !file.includes(`${path.sep}node_modules`),
    });
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(source, 'node_modules'), 'dir');

  const packed = run('npm', ['pack', '--pack-destination', work, '--json'], source, pinnedPath());
  if (packed.status !== 0) throw new Error(`npm pack failed: ${explain(packed)}`);
  const name = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!name) throw new Error(`npm pack wrote no tarball: ${explain(packed)}`);
  tarball = path.join(work, name);
  // postpack removed the build again.
  expect(existsSync(path.join(source, 'dist'))).toBe(false);

  project = path.join(work, 'my-procedures');
  mkdirSync(project);
  // npm 11 runs a dependency's install script only when allowScripts names it: `node` fetches the
  // pinned Node 24; isolated-vm ships a prebuilt binary and needs none.
  writeFileSync(
    path.join(project, 'package.json'),
    `${JSON.stringify({ name: 'my-procedures', version: '1.0.0', private: true, allowScripts: { node: true, 'isolated-vm': false } }, null, 2)}\n`,
  );
  const installed = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project, pinnedPath(), 480_000);
  if (installed.status !== 0) throw new Error(`npm install of the tarball failed: ${explain(installed)}`);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds JavaScript, the procedure types and the licence, never TypeScript sources', () => {
    const listed = run('tar', ['tzf', tarball], work, systemPath() || pinnedPath());
    expect(listed.status).toBe(0);
    const files = listed.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'package.json',
        'server/bin/tokenproc.cjs',
        'procedures/types/procedure-api.d.ts',
        'dist/server/cli/main.js',
        'dist/sandbox/prelude/envelope.js',
        'dist/server/schemas/client.schema.json',
        'dist/procedures/defaults/oauth-token-oauth-token-exchange.js',
        'dist/admin/web/dist/index.html',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(project, 'node_modules', 'tokenproc', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(manifest.types).toBe('procedures/types/procedure-api.d.ts');
    expect(readFileSync(path.join(project, 'node_modules', 'tokenproc', 'LICENSE'), 'utf8')).toContain('Apache License');
  });

  it('installs into an empty project, where `npx tokenproc init` and `npx tokenproc test` pass', () => {
    const pathValue = systemPath() || pinnedPath();
    const init = run('npx', ['--no-install', 'tokenproc', 'init'], project, pathValue);
    expect({ status: init.status, out: init.stdout }).toMatchObject({ status: 0, out: expect.stringContaining('created token-exchange.js') });
    const jsconfig = JSON.parse(readFileSync(path.join(project, 'jsconfig.json'), 'utf8')) as { include: string[] };
    expect(jsconfig.include).toContain('./node_modules/tokenproc/procedures/types/procedure-api.d.ts');
    expect(existsSync(path.join(project, jsconfig.include[1] ?? ''))).toBe(true);

    const tested = run('npx', ['--no-install', 'tokenproc', 'test'], project, pathValue);
    if (tested.status !== 0) throw new Error(explain(tested));
    expect(tested.stdout).toMatch(/^3 passed, 0 failed$/m);
    expect(tested.stderr).not.toContain('EBADENGINE');

    const again = run('npx', ['--no-install', 'tokenproc', 'init'], project, pathValue);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('refusing to overwrite token-exchange.js and token-exchange.test.json');
  });
});
