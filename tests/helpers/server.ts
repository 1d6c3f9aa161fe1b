/**
 * Integration-test harness: starts the real `tokenproc serve` in a child process on a free
 * loopback port with a fresh data directory, and talks to it over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const AT_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

export interface HttpResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

export interface TestServer {
  readonly origin: string;
  readonly issuer: string;
  readonly port: number;
  readonly adminKey: string;
  readonly dataDir: string;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  admin(method: string, urlPath: string, body?: unknown): Promise<HttpResult>;
  token(form: Record<string, string | string[]>, auth?: { id: string; secret: string }, headers?: Record<string, string>): Promise<HttpResult>;
  /** Stops the server; its data directory is removed unless kept (or given by the caller). */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  adminKey?: string;
  env?: Record<string, string>;
  args?: string[];
}

async function parse(response: Response): Promise<HttpResult> {
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = {};
  }
  return { status: response.status, headers: response.headers, body, text };
}

export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

export function formBody(form: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const value of Array.isArray(v) ? v : [v]) params.append(k, value);
  return params.toString();
}

export async function startTestServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tokenproc-it-'));
  const adminKey = options.adminKey ?? crypto.randomBytes(24).toString('base64url');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['PORT', 'HOST', 'TOKENPROC_DATABASE_URL', 'TOKENPROC_CONFIG', 'TOKENPROC_ISSUER']) delete env[name];
  const child: ChildProcess = spawn(
    process.execPath,
    ['--no-node-snapshot', 'server/cli/main.ts', 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, ...(options.args ?? [])],
    { cwd: REPO_ROOT, env: { ...env, TOKENPROC_ADMIN_KEY: adminKey, LOG_LEVEL: 'debug', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20000);
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('"listening"')) continue;
        try {
          const record = JSON.parse(line) as { message?: string; port?: number };
          if (record.message === 'listening' && typeof record.port === 'number') {
            clearTimeout(timer);
            resolve(record.port);
            return;
          }
        } catch {
          // a partial line; wait for more
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  const origin = `http://127.0.0.1:${port}`;
  const issuer = options.args?.includes('--issuer') ? String(options.args[options.args.indexOf('--issuer') + 1]) : `http://localhost:${port}`;
  return {
    origin,
    issuer,
    port,
    adminKey,
    dataDir,
    output: () => output,
    async admin(method, urlPath, body) {
      const response = await fetch(`${origin}/admin/api/v1${urlPath}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return parse(response);
    },
    async token(form, auth, headers = {}) {
      const response = await fetch(`${origin}/oauth/v2/oauth-token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(auth ? { authorization: basic(auth.id, auth.secret) } : {}),
          ...headers,
        },
        body: formBody(form),
      });
      return parse(response);
    },
    async stop(stopOptions = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
        await exited;
        clearTimeout(timer);
      }
      if (!options.dataDir && !stopOptions.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A client registration body with sensible test defaults. */
export function clientBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: [TOKEN_EXCHANGE, 'client_credentials'],
    scope: 'read write',
    audiences: [],
    properties: {},
    procedures: {},
    access_token_ttl: 300,
    accept_unvalidated_tokens: false,
    ...overrides,
  };
}
