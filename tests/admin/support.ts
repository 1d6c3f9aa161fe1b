/** Shared by the admin API tests: procedures that mark their tokens, token decoding, a killable server. */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import * as jose from 'jose';
import { REPO_ROOT, type HttpResult } from '../helpers/server.ts';

export const CC_FLOW = 'oauth-token-client-credentials';
export const TE_FLOW = 'oauth-token-oauth-token-exchange';

export function sha256Hex(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * A client_credentials procedure whose tokens carry `v` (which version ran). With busyMs it spins
 * that long first, so a request stays in flight; `extra` is appended to the source (e.g. filler).
 */
export function markingProcedure(v: number, options: { busyMs?: number; extra?: string; log?: string } = {}): string {
  const lines = ['function result(context) {'];
  if (options.busyMs) lines.push(`  var until = Date.now() + ${options.busyMs};`, '  while (Date.now() < until) {}');
  if (options.log) lines.push(`  logger.info(${JSON.stringify(options.log)}, ${v});`);
  lines.push(
    '  var data = context.getDefaultAccessTokenData();',
    `  data.v = ${v};`,
    '  var token = context.getDefaultAccessTokenJwtIssuer().issue(data, context.getDefaultDelegationData());',
    "  return { access_token: token, token_type: 'Bearer', expires_in: secondsUntil(data.exp), scope: data.scope };",
    '}',
  );
  return `${lines.join('\n')}\n${options.extra ?? ''}`;
}

export function claimsOf(result: HttpResult): Record<string, unknown> {
  const token = result.body.access_token;
  if (typeof token !== 'string') throw new Error(`no access token in ${result.status} ${result.text}`);
  return jose.decodeJwt(token);
}

export function adminActorFor(adminKey: string): string {
  return `admin:${sha256Hex(adminKey).slice(0, 8)}`;
}

/** A `tokenproc serve` child the caller may SIGKILL (the shared harness only stops gracefully). */
export interface KillableServer {
  readonly child: ChildProcess;
  readonly origin: string;
  output(): string;
}

export async function startKillableServer(dataDir: string, adminKey: string): Promise<KillableServer> {
  const env: NodeJS.ProcessEnv = { ...process.env, TOKENPROC_ADMIN_KEY: adminKey, LOG_LEVEL: 'info' };
  for (const name of ['PORT', 'HOST', 'TOKENPROC_DATABASE_URL', 'TOKENPROC_CONFIG', 'TOKENPROC_ISSUER']) delete env[name];
  const child = spawn(process.execPath, ['--no-node-snapshot', 'server/cli/main.ts', 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${output}`));
    }, 20_000);
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      const match = /"message":"listening"[^\n]*"port":(\d+)|"port":(\d+)[^\n]*"message":"listening"/.exec(output);
      const found = match?.[1] ?? match?.[2];
      if (found) {
        clearTimeout(timer);
        resolve(Number(found));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return { child, origin: `http://127.0.0.1:${port}`, output: () => output };
}

/** Polls `read` until `done` holds, at most `attempts` times, 50 ms apart; returns the last value. */
export async function eventually<T>(read: () => T | Promise<T>, done: (value: T) => boolean, attempts = 40): Promise<T> {
  let value = await read();
  for (let i = 1; i < attempts && !done(value); i++) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}
