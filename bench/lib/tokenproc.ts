/**
 * Our server as a user runs it: `tokenproc serve` on the embedded store in a fresh data directory,
 * configured only through the admin API: a trusted identity provider with inline keys, the
 * downscoping procedure of Curity's tutorial, a client that runs it, and a client that runs the built-in defaults; optionally
 * more procedures with a client each (the hostile phase's procedures that never end), and a number
 * of worker processes (TOKENPROC_WORKERS).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startChildServer } from './child-server.ts';
import type { ChildServer } from './child-server.ts';
import { publicJwkOf } from './es256.ts';
import { RESOURCE_AUDIENCE, SUBJECT_SCOPE, TOKEN_EXCHANGE, newClient } from './scenario.ts';
import type { BenchClient, IdentityProvider } from './scenario.ts';

export const EXCHANGE_FLOW = 'oauth-token-oauth-token-exchange';
export const SEED_PROCEDURE_FILE = 'procedures/seeds/curity-downscope.js';
const SEED_PROCEDURE_ID = 'bench-curity-downscope';

export interface TokenprocTarget {
  readonly server: ChildServer;
  /** Runs the downscoping procedure of Curity's Implementing Token Exchange tutorial. */
  readonly procedureClient: BenchClient;
  /** Names no procedure: the built-in defaults run (token exchange and client_credentials). */
  readonly defaultClient: BenchClient;
  /** A client for each of `extraProcedures`, by its name. */
  readonly extraClients: ReadonlyMap<string, BenchClient>;
  /** Server-side token endpoint latency so far (Prometheus histogram sum and count), by grant type. */
  tokenLatency(): Promise<Map<string, { sumSeconds: number; count: number }>>;
  /** Uploads a new version of the procedure `procedureClient` runs (it becomes active at once). */
  uploadProcedure(source: string): Promise<void>;
  stop(): Promise<void>;
}

export interface StartTokenprocOptions {
  repoRoot: string;
  idp: IdentityProvider;
  /** Extra Node options, e.g. --cpu-prof. */
  nodeOptions?: readonly string[];
  logLevel?: string;
  /**
   * TOKENPROC_WORKERS for the server (worker processes); unset, the variable is passed on from this
   * process's environment as it is.
   */
  workers?: number;
  /** Further token-exchange procedures, each uploaded as `bench-NAME` with a client `bench-NAME-client` that runs it. */
  extraProcedures?: ReadonlyArray<{ name: string; source: string }>;
}

async function admin(origin: string, adminKey: string, method: string, urlPath: string, body: unknown): Promise<void> {
  const response = await fetch(`${origin}/admin/api/v1${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`admin ${method} ${urlPath} answered ${response.status}: ${await response.text()}`);
}

/** Parses `tokenproc_token_request_duration_seconds_{sum,count}` from the Prometheus text format. */
export function parseTokenLatency(text: string): Map<string, { sumSeconds: number; count: number }> {
  const result = new Map<string, { sumSeconds: number; count: number }>();
  const pattern = /^tokenproc_token_request_duration_seconds_(sum|count)\{grant_type="([^"]*)"\} ([0-9.eE+-]+)$/gm;
  for (const match of text.matchAll(pattern)) {
    const [, kind, grantType = '', value] = match;
    const entry = result.get(grantType) ?? { sumSeconds: 0, count: 0 };
    if (kind === 'sum') entry.sumSeconds = Number(value);
    else entry.count = Number(value);
    result.set(grantType, entry);
  }
  return result;
}

export async function startTokenproc(options: StartTokenprocOptions): Promise<TokenprocTarget> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenproc-bench-'));
  const adminKey = crypto.randomBytes(24).toString('base64url');
  const env: NodeJS.ProcessEnv = { ...process.env, TOKENPROC_ADMIN_KEY: adminKey, LOG_LEVEL: options.logLevel ?? 'warn' };
  for (const name of ['PORT', 'HOST', 'TOKENPROC_DATABASE_URL', 'TOKENPROC_CONFIG', 'TOKENPROC_ISSUER', 'TOKENPROC_DATA_DIR']) delete env[name];
  if (options.workers !== undefined) env.TOKENPROC_WORKERS = String(options.workers);
  let server: ChildServer;
  try {
    const port = await freePort();
    server = await startChildServer({
      ready: { port, path: '/healthz' },
      name: options.workers === undefined ? 'tokenproc' : `tokenproc (TOKENPROC_WORKERS=${options.workers})`,
      cwd: options.repoRoot,
      args: [...(options.nodeOptions ?? []), '--no-node-snapshot', 'server/cli/main.ts', 'serve', '--port', String(port), '--host', '127.0.0.1', '--data', dataDir],
      env,
    });
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const stop = async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const procedureClient = newClient('bench-procedure-client');
    const defaultClient = newClient('bench-default-client');
    const source = fs.readFileSync(path.join(options.repoRoot, SEED_PROCEDURE_FILE), 'utf8');
    await admin(server.origin, adminKey, 'PUT', '/trusted-issuers/bench-idp', { issuer: options.idp.issuer, jwks: { keys: [publicJwkOf(options.idp.key)] } });
    await admin(server.origin, adminKey, 'PUT', `/procedures/${SEED_PROCEDURE_ID}`, { flow: EXCHANGE_FLOW, source });
    const client = (c: BenchClient, procedures: Record<string, string>) => ({
      client_id: c.id,
      client_secret: c.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [TOKEN_EXCHANGE, 'client_credentials'],
      scope: SUBJECT_SCOPE,
      audiences: [RESOURCE_AUDIENCE],
      procedures,
      access_token_ttl: 300,
    });
    await admin(server.origin, adminKey, 'PUT', `/clients/${procedureClient.id}`, client(procedureClient, { [EXCHANGE_FLOW]: SEED_PROCEDURE_ID }));
    await admin(server.origin, adminKey, 'PUT', `/clients/${defaultClient.id}`, client(defaultClient, {}));
    const extraClients = new Map<string, BenchClient>();
    for (const extra of options.extraProcedures ?? []) {
      const extraClient = newClient(`bench-${extra.name}-client`);
      await admin(server.origin, adminKey, 'PUT', `/procedures/bench-${extra.name}`, { flow: EXCHANGE_FLOW, source: extra.source });
      await admin(server.origin, adminKey, 'PUT', `/clients/${extraClient.id}`, client(extraClient, { [EXCHANGE_FLOW]: `bench-${extra.name}` }));
      extraClients.set(extra.name, extraClient);
    }
    return {
      server,
      procedureClient,
      defaultClient,
      extraClients,
      uploadProcedure: (procedureSource: string) => admin(server.origin, adminKey, 'PUT', `/procedures/${SEED_PROCEDURE_ID}`, { flow: EXCHANGE_FLOW, source: procedureSource }),
      async tokenLatency() {
        const response = await fetch(`${server.origin}/metrics`);
        return parseTokenLatency(await response.text());
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
