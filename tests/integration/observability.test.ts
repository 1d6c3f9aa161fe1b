/**
 * What an SRE can see, on a real `tokenproc serve` with a management listener: /metrics, /healthz
 * and /readyz on their own port (and no /metrics on the public one); log events and counters for
 * failed client authentication, throttling, failed admin keys and refused token requests (with
 * the reason); per-client counters; store operation timings. No secret in any of it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { clientBody, startTestServer, type TestServer } from '../helpers/server.ts';

const SECRET = 'observability-secret-0123456789abcdef';
let server: TestServer;
let management: string;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  management = `http://127.0.0.1:${port}`;
  server = await startTestServer({ env: { TOKENPROC_MANAGEMENT_PORT: String(port) } });
  const created = await server.admin('PUT', '/clients/svc-observed', clientBody({ client_secret: SECRET, scope: 'read', grant_types: ['client_credentials'] }));
  expect(created.status).toBe(201);
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

/** Log lines (JSON) written so far. */
function logLines(): Array<Record<string, unknown>> {
  return server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

async function metricsText(): Promise<string> {
  const response = await fetch(`${management}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('management listener', () => {
  it('serves /healthz, /readyz and /metrics on its own port, and the public port no /metrics', async () => {
    expect((await fetch(`${management}/healthz`)).status).toBe(200);
    const ready = await fetch(`${management}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect(await metricsText()).toMatch(/^tokenproc_workers 1$/m);
    expect((await fetch(`${server.origin}/metrics`)).status).toBe(404);
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
  });
});

describe('events and counters', () => {
  it('tells of a failed client authentication (never the secret), counts it, and a refused request says why', async () => {
    const wrong = await server.token({ grant_type: 'client_credentials' }, { id: 'svc-observed', secret: 'not-the-secret-at-all' });
    expect(wrong.status).toBe(401);
    const refused = await server.token({ grant_type: 'client_credentials', scope: 'admin' }, { id: 'svc-observed', secret: SECRET });
    expect(refused.status).toBe(400);
    const issued = await server.token({ grant_type: 'client_credentials', scope: 'read' }, { id: 'svc-observed', secret: SECRET });
    expect(issued.status).toBe(200);

    const lines = logLines();
    const authFailure = lines.find((line) => line['event'] === 'client_auth_failure' && line['client_id'] === 'svc-observed');
    expect(authFailure).toMatchObject({ message: 'client authentication failed', method: 'client_secret_basic', level: 'info' });
    const refusal = lines.find((line) => line['event'] === 'token_refused' && line['client_id'] === 'svc-observed');
    expect(refusal).toMatchObject({ error: 'invalid_scope', grant_type: 'client_credentials' });
    expect(String(refusal?.['reason'])).toMatch(/admin/);
    expect(server.output()).not.toContain('not-the-secret-at-all');
    expect(server.output()).not.toContain(SECRET);
    expect(server.output()).not.toContain(String(issued.body.access_token));

    const text = await metricsText();
    expect(text).toMatch(/^tokenproc_client_auth_failures_total\{method="client_secret_basic",outcome="refused"\} [1-9]/m);
    expect(text).toMatch(/^tokenproc_client_token_requests_total\{client_id="svc-observed",grant_type="client_credentials",outcome="ok"\} 1$/m);
    expect(text).toMatch(/^tokenproc_client_token_requests_total\{client_id="svc-observed",grant_type="client_credentials",outcome="invalid_scope"\} 1$/m);
    expect(text).toMatch(/^tokenproc_store_operation_duration_seconds_count\{operation="putClient",outcome="ok"\} [1-9]/m);
  });

  it('tells of a throttled guesser at warn', async () => {
    for (let i = 0; i < 12; i++) await server.token({ grant_type: 'client_credentials' }, { id: 'svc-guessed', secret: `guess-${i}` });
    const throttled = logLines().find((line) => line['event'] === 'client_auth_throttled' && line['client_id'] === 'svc-guessed');
    expect(throttled).toMatchObject({ level: 'warn' });
    expect(await metricsText()).toMatch(/^tokenproc_client_auth_failures_total\{method="client_secret_basic",outcome="throttled"\} [1-9]/m);
  });

  it('tells of a wrong admin key (never the key) and counts it', async () => {
    const response = await fetch(`${server.origin}/admin/api/v1/clients`, { headers: { authorization: 'Bearer wrong-admin-key-123' } });
    expect(response.status).toBe(401);
    const failure = logLines().find((line) => line['event'] === 'admin_auth_failure');
    expect(failure).toMatchObject({ key_presented: true });
    expect(server.output()).not.toContain('wrong-admin-key-123');
    expect(await metricsText()).toMatch(/^tokenproc_admin_auth_failures_total\{outcome="refused"\} [1-9]/m);
  });
});
