/**
 * The token endpoint's own cost per request, in process and without HTTP: the server's runtime
 * (createRuntime on a real SQLite store, the real sandbox, signing keys, metrics and a logger at
 * LOG_LEVEL that writes to nowhere) handles the same requests as `npm run bench`, one at a time.
 * Reports main-thread CPU, whole-process CPU and wall time per request. With no load generator and
 * no sockets competing for the two cores, it is far less noisy than the HTTP benchmark: use it to
 * tell whether a change to the server made requests cheaper.
 *
 * Usage: node --no-node-snapshot bench/endpoint-cost.ts   (BENCH_COST_DURATION seconds per
 * scenario, default 3; LOG_LEVEL default warn)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createProcedureEngine } from '../sandbox/engine.ts';
import { hashSecret } from '../server/clients/secrets.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/logging.ts';
import { createMetrics } from '../server/metrics.ts';
import { TOKEN_PATH } from '../server/oauth/metadata.ts';
import type { EndpointRequest } from '../server/oauth/token-endpoint.ts';
import { createRuntime } from '../server/runtime/runtime.ts';
import { openStore } from '../server/store/index.ts';
import { GRANT_REFRESH_TOKEN } from '../server/store/types.ts';
import { publicJwkOf } from './lib/es256.ts';
import {
  CLIENT_CREDENTIALS_BODY,
  basicAuthorization,
  benchClientRecord,
  bodyPool,
  createIdentityProvider,
  exchangeBodies,
  newClient,
} from './lib/scenario.ts';
import type { BenchClient, BodyPool } from './lib/scenario.ts';
import { mainThreadCpuSeconds, processCpuSeconds } from './lib/thread-cpu.ts';
import { EXCHANGE_FLOW, SEED_PROCEDURE_FILE } from './lib/tokenproc.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface EndpointCost {
  scenario: string;
  requests: number;
  mainThreadMicros: number;
  processCpuMicros: number;
  wallMicros: number;
}

export async function measureEndpointCost(seconds: number, logLevel: string): Promise<EndpointCost[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenproc-cost-'));
  const store = openStore({ dataDir });
  const engine = createProcedureEngine({ logger: { warn: () => undefined, error: () => undefined } });
  try {
    await store.migrate();
    const config = { ...loadConfig({ LOG_LEVEL: logLevel }, { port: 8080, data: dataDir }), issuerFromPort: false };
    const nowhere = new Writable({ write: (_chunk, _encoding, done) => done() });
    const logger = createLogger({ level: logLevel, stream: nowhere });
    const idp = createIdentityProvider();
    const now = Math.floor(Date.now() / 1000);
    await store.putTrustedIssuer({ id: 'bench-idp', issuer: idp.issuer, jwks: { keys: [publicJwkOf(idp.key)] }, created_at: now, updated_at: now }, 'bench');
    const source = fs.readFileSync(path.join(REPO_ROOT, SEED_PROCEDURE_FILE), 'utf8');
    await store.putProcedureVersion({ id: 'bench-seed', flow: EXCHANGE_FLOW, source, sha256: createHash('sha256').update(source).digest('hex') }, 'bench');
    const procedureClient = newClient('bench-procedure-client');
    const defaultClient = newClient('bench-default-client');
    await store.putClient(benchClientRecord(procedureClient.id, { secretHash: await hashSecret(procedureClient.secret), procedures: { [EXCHANGE_FLOW]: 'bench-seed' } }), 'bench');
    await store.putClient(benchClientRecord(defaultClient.id, { secretHash: await hashSecret(defaultClient.secret) }), 'bench');
    // Token lifecycle (BENCH_COST_ONLY=lifecycle): an opaque-format client, and a client allowed refresh tokens.
    const opaqueClient = newClient('bench-opaque-client');
    const refreshClient = newClient('bench-refresh-client');
    await store.putClient({ ...benchClientRecord(opaqueClient.id, { secretHash: await hashSecret(opaqueClient.secret) }), access_token_format: 'opaque' }, 'bench');
    const refreshRecord = benchClientRecord(refreshClient.id, { secretHash: await hashSecret(refreshClient.secret) });
    await store.putClient({ ...refreshRecord, grant_types: [...refreshRecord.grant_types, GRANT_REFRESH_TOKEN] }, 'bench');
    const runtime = await createRuntime({ config, store, logger, metrics: createMetrics(), engine });

    // The refresh scenario presents, each time, the refresh token the previous answer rotated to.
    let latestRefreshToken = '';
    const refreshBodies: BodyPool = {
      size: 1,
      next: () => new URLSearchParams({ grant_type: GRANT_REFRESH_TOKEN, refresh_token: latestRefreshToken }).toString(),
      sample: () => '',
    };
    const keepRefreshToken = (body: Readonly<Record<string, unknown>>) => {
      if (typeof body.refresh_token === 'string') latestRefreshToken = body.refresh_token;
    };
    const scenarios: Array<[string, BenchClient, BodyPool, ((body: Readonly<Record<string, unknown>>) => void)?]> = [
      ['exchange (Curity downscoping procedure)', procedureClient, exchangeBodies(idp, procedureClient.id, 256)],
      ['exchange (built-in default procedure)', defaultClient, exchangeBodies(idp, defaultClient.id, 256)],
      ['client_credentials (default procedure)', defaultClient, bodyPool([CLIENT_CREDENTIALS_BODY])],
      ['lifecycle: exchange to an opaque access token', opaqueClient, exchangeBodies(idp, opaqueClient.id, 256)],
      ['lifecycle: exchange with a refresh token', refreshClient, exchangeBodies(idp, refreshClient.id, 256), keepRefreshToken],
      ['lifecycle: refresh_token grant', refreshClient, refreshBodies, keepRefreshToken],
    ];
    const results: EndpointCost[] = [];
    // BENCH_COST_ONLY=seed|default|cc measures one scenario (for a profile of that path alone).
    const only = process.env.BENCH_COST_ONLY;
    const matches = (scenario: string): boolean => {
      if (only === 'cc') return scenario.includes('client_credentials');
      if (only === 'seed') return scenario.includes('Curity');
      if (only === 'default') return scenario.includes('built-in default procedure');
      if (only === 'lifecycle') return scenario.startsWith('lifecycle');
      // Unset: the three request paths of every earlier run (comparable across versions).
      return !scenario.startsWith('lifecycle');
    };
    const selected = scenarios.filter(([scenario]) => matches(scenario));
    for (const [scenario, client, pool, after] of selected) {
      let sequence = 0;
      const once = async () => {
        const body = pool.next();
        const request: EndpointRequest = {
          method: 'POST',
          path: TOKEN_PATH,
          headers: { host: '127.0.0.1', 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), authorization: basicAuthorization(client) },
          body,
          remoteAddress: '127.0.0.1',
          requestId: `bench-${++sequence}`,
        };
        const result = await runtime.tokenEndpoint.handle(request);
        if (result.status !== 200) throw new Error(`${scenario} answered ${result.status}: ${JSON.stringify(result.body)}`);
        after?.(result.body);
      };
      for (let i = 0; i < 500; i++) await once();
      const main0 = mainThreadCpuSeconds(process.pid);
      const cpu0 = processCpuSeconds(process.pid);
      const started = performance.now();
      const deadline = started + seconds * 1000;
      let requests = 0;
      while (performance.now() < deadline) {
        await once();
        requests += 1;
      }
      const wallMs = performance.now() - started;
      results.push({
        scenario,
        requests,
        mainThreadMicros: ((mainThreadCpuSeconds(process.pid) - main0) * 1e6) / requests,
        processCpuMicros: ((processCpuSeconds(process.pid) - cpu0) * 1e6) / requests,
        wallMicros: (wallMs * 1000) / requests,
      });
    }
    return results;
  } finally {
    await engine.close();
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(
      'usage: node --no-node-snapshot bench/endpoint-cost.ts\n\nThe token endpoint in process, without HTTP, one request at a time: main-thread and process CPU\n' +
        'per request. Environment: BENCH_COST_DURATION (seconds per scenario, default 3), BENCH_COST_ONLY=seed|default|cc|lifecycle\n' +
        '(lifecycle: opaque access tokens, an exchange that also issues a refresh token, the refresh_token grant),\n' +
        'LOG_LEVEL (default warn). Compare versions in alternating runs; see bench/RESULTS.md.\n',
    );
    process.exit(0);
  }
  const seconds = Number(process.env.BENCH_COST_DURATION ?? 3);
  const logLevel = process.env.LOG_LEVEL ?? 'warn';
  const results = await measureEndpointCost(Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) : 3, logLevel);
  process.stdout.write(`token endpoint cost per request, in process, one at a time (LOG_LEVEL=${logLevel}, load average ${(os.loadavg()[0] ?? 0).toFixed(2)}):\n`);
  for (const r of results) {
    process.stdout.write(
      `  ${r.scenario.padEnd(40)} main thread ${r.mainThreadMicros.toFixed(0).padStart(5)} µs   process ${r.processCpuMicros.toFixed(0).padStart(5)} µs   wall ${r.wallMicros.toFixed(0).padStart(5)} µs   (${r.requests} requests)\n`,
    );
  }
  process.stdout.write(`${JSON.stringify(Object.fromEntries(results.map((r) => [r.scenario, { main_us: Math.round(r.mainThreadMicros), cpu_us: Math.round(r.processCpuMicros), wall_us: Math.round(r.wallMicros) }])))}\n`);
}
