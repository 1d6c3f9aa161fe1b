/**
 * Starts `tokenproc serve` as a child process on a free loopback port, the way a user runs it,
 * and stops it again. The port comes from the server's JSON "listening" log line on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 8_000;
/** Output kept for failure messages; bounded so a chatty server cannot fill memory. */
const MAX_OUTPUT_CHARS = 20_000;

export interface ServerProcess {
  readonly origin: string;
  readonly port: number;
  readonly dataDir: string;
  /** The server's recent stdout and stderr, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** True for a JSON log line announcing the port (`msg` or winston's `message`). */
export function listeningPort(line: string): number | null {
  if (!line.startsWith('{')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const record = parsed as Record<string, unknown>;
  const text = record['msg'] ?? record['message'];
  const port = record['port'];
  return text === 'listening' && typeof port === 'number' && port > 0 ? port : null;
}

export async function startServerProcess(options: { adminKey: string }): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenproc-e2e-'));
  const child = spawn(
    process.execPath,
    ['--no-node-snapshot', 'server/cli/main.ts', 'serve', '--port', '0', '--host', '127.0.0.1'],
    {
      cwd: REPO_ROOT,
      env: serverEnv({ TOKENPROC_ADMIN_KEY: options.adminKey, TOKENPROC_DATA_DIR: dataDir, LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const record = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
  };
  child.stderr?.on('data', record);

  const stop = () => stopProcess(child).finally(() => rmSync(dataDir, { recursive: true, force: true }));
  try {
    const port = await waitForPort(child, record);
    return { origin: `http://127.0.0.1:${port}`, port, dataDir, output: () => output, stop };
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- server output ---\n${output}`);
  }
}

/** The test's environment without settings that would point the server elsewhere. */
function serverEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['PORT', 'HOST', 'TOKENPROC_DATABASE_URL', 'TOKENPROC_CONFIG', 'TOKENPROC_ISSUER']) delete env[name];
  return { ...env, ...settings };
}

function waitForPort(child: ChildProcess, record: (chunk: Buffer) => void): Promise<number> {
  return new Promise((resolvePort, reject) => {
    let pending = '';
    const timer = setTimeout(() => reject(new Error(`server did not log "listening" within ${STARTUP_TIMEOUT_MS} ms`)), STARTUP_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      record(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const port = listeningPort(line.trim());
        if (port !== null) {
          clearTimeout(timer);
          resolvePort(port);
          return;
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited before listening (code ${code}, signal ${signal})`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** SIGTERM (the server shuts down gracefully), then SIGKILL if it takes too long. */
function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}
