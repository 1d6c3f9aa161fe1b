/**
 * What the exchange client's cache saves on a repeated exchange: the latency of the same exchange
 * (one subject token, one audience) sent every time (`cache: false`) and answered by the cache,
 * against a real tokenproc server on loopback started as the integration tests start it, and the
 * token requests the server counted for each (from its /metrics).
 *
 *   node --no-node-snapshot client/bench/cache-savings.ts [--iterations N] [--json]
 *
 * Not part of the published package (only dist/ is); it uses the repository's test helpers.
 */
import { parseArgs } from 'node:util';
import { createTestIdp } from '../../tests/helpers/idp.ts';
import { clientBody, startTestServer, TOKEN_EXCHANGE, type TestServer } from '../../tests/helpers/server.ts';
import { createExchangeClient, type ExchangeClient } from '../src/index.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '500' }, json: { type: 'boolean', default: false } } });
const iterations = Number(values.iterations);
if (!Number.isInteger(iterations) || iterations < 10) throw new Error('--iterations must be an integer >= 10');
const SECRET = 'bench-secret-0123456789abcdef';
const AUDIENCE = 'https://invoicing.example.com';

interface Summary {
  calls: number;
  serverRequests: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

function summarise(samples: number[], serverRequests: number): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return {
    calls: samples.length,
    serverRequests,
    meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    p50Ms: round(at(0.5)),
    p90Ms: round(at(0.9)),
    p99Ms: round(at(0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

async function exchangesAtServer(server: TestServer): Promise<number> {
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('tokenproc_token_requests_total{') && line.includes(`grant_type="${TOKEN_EXCHANGE}"`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function measure(server: TestServer, client: ExchangeClient, subjectToken: string, cache: boolean): Promise<Summary> {
  const request = { subjectToken, audience: AUDIENCE, scope: 'invoicing', cache };
  for (let i = 0; i < Math.min(50, iterations / 10); i++) await client.exchange(request); // warm-up (and fills the cache)
  const before = await exchangesAtServer(server);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    await client.exchange(request);
    samples.push(performance.now() - started);
  }
  return summarise(samples, (await exchangesAtServer(server)) - before);
}

const [server, idp] = await Promise.all([startTestServer({ env: { LOG_LEVEL: 'info' } }), createTestIdp()]);
try {
  const registrations = await Promise.all([
    server.admin('PUT', '/trusted-issuers/idp', { issuer: idp.issuer, jwks: idp.jwks }),
    server.admin('PUT', '/clients/orders-api', clientBody({ client_secret: SECRET, scope: 'invoicing', audiences: [AUDIENCE] })),
  ]);
  for (const r of registrations) if (r.status >= 300) throw new Error(`set-up failed: ${r.status} ${r.text}`);
  const subjectToken = await idp.mint({ sub: 'alice', aud: 'orders-api', scope: 'invoicing' }, { expiresIn: 3600 });
  const client = createExchangeClient({ issuer: server.issuer, clientId: 'orders-api', clientSecret: SECRET });
  const uncached = await measure(server, client, subjectToken, false);
  const cached = await measure(server, client, subjectToken, true);
  const result = {
    iterations,
    node: process.version,
    uncached,
    cached,
    savedPerCallMs: Math.round((uncached.meanMs - cached.meanMs) * 1000) / 1000,
    speedup: Math.round((uncached.meanMs / Math.max(cached.meanMs, 0.001)) * 10) / 10,
  };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`repeated exchange, ${iterations} sequential calls each, one subject token and audience (Node ${process.version})`);
    console.log('               server requests   mean ms    p50 ms    p90 ms    p99 ms    max ms');
    for (const [name, s] of [['no cache', uncached], ['cache', cached]] as const) {
      console.log(`${name.padEnd(15)}${String(s.serverRequests).padStart(15)}${[s.meanMs, s.p50Ms, s.p90Ms, s.p99Ms, s.maxMs].map((v) => v.toFixed(3).padStart(10)).join('')}`);
    }
    console.log(`saved per repeated exchange: ${result.savedPerCallMs} ms (mean), ${result.speedup}x faster`);
  }
} finally {
  await server.stop();
}
