/**
 * TOKENPROC_WORKERS: several processes serving one port under a supervisor. An admin write reaches
 * every worker at once, `/metrics` answers for the whole server, and a worker that crashes or stops
 * responding (a procedure stuck where V8 cannot interrupt it) is replaced while the others serve.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { basic, clientBody, formBody, startTestServer, type TestServer } from '../helpers/server.ts';

const SECRET = 'workers-test-secret-0123456789';
let server: TestServer;

/** Worker pids in the order their "listening" lines appeared. */
function listeningPids(output: string): number[] {
  const pids: number[] = [];
  for (const line of output.split('\n')) {
    if (!line.includes('"listening"')) continue;
    try {
      const record = JSON.parse(line) as { message?: string; pid?: number };
      if (record.message === 'listening' && typeof record.pid === 'number') pids.push(record.pid);
    } catch {
      // a partial line
    }
  }
  return pids;
}

async function waitFor<T>(what: string, probe: () => T | null, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== null) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${server.output().slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One client_credentials request on a connection of its own, so the kernel picks the worker. */
function freshConnectionToken(clientId: string): Promise<number> {
  const body = formBody({ grant_type: 'client_credentials', scope: 'read' });
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${server.origin}/oauth/v2/oauth-token`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, SECRET), connection: 'close', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function metricValue(text: string, pattern: RegExp): number {
  let total = 0;
  for (const match of text.matchAll(pattern)) total += Number(match[1]);
  return total;
}

beforeAll(async () => {
  server = await startTestServer({ env: { TOKENPROC_WORKERS: '2', LOG_LEVEL: 'info', TOKENPROC_SANDBOX_CPU_MS: '50' } });
  await waitFor('two workers', () => (listeningPids(server.output()).length >= 2 ? true : null), 20_000);
});

afterAll(async () => {
  await server?.stop();
});

describe('two worker processes on one port', () => {
  it('reach every worker with an admin write at once and count both in /metrics', async () => {
    expect(new Set(listeningPids(server.output())).size).toBe(2);
    expect((await server.admin('PUT', '/clients/spread', clientBody({ client_secret: SECRET }))).status).toBe(201);
    // No waiting for the 1 s poll: whichever worker takes the connection already knows the client.
    const statuses = await Promise.all(Array.from({ length: 30 }, () => freshConnectionToken('spread')));
    expect(statuses.filter((status) => status !== 200)).toEqual([]);

    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    expect(metrics).toMatch(/^tokenproc_workers 2$/m);
    expect(metricValue(metrics, /^tokenproc_token_requests_total\{grant_type="client_credentials",outcome="ok"\} (\d+)$/gm)).toBe(30);
  });

  it('suspends a procedure that keeps failing on its limits in every worker, not just the one that saw it', async () => {
    const uploaded = await server.admin('PUT', '/procedures/spinner', { flow: 'oauth-token-client-credentials', source: 'function result(context) { for (;;) {} }' });
    expect(uploaded.status).toBe(201);
    expect(
      (await server.admin('PUT', '/clients/spinning', clientBody({ client_secret: SECRET, procedures: { 'oauth-token-client-credentials': 'spinner' } }))).status,
    ).toBe(201);
    const outcomes = (text: string, outcome: string) => metricValue(text, new RegExp(`^tokenproc_procedure_runs_total\\{flow="oauth-token-client-credentials",outcome="${outcome}"\\} (\\d+)$`, 'gm'));
    // Three limit failures suspend the pair in the worker that served them; of six, one worker sees three.
    for (let i = 0; i < 6; i++) expect(await freshConnectionToken('spinning')).toBe(500);
    await waitFor('the suspension', () => (server.output().includes('procedure suspended after repeated limit failures') ? true : null), 5000);
    const before = await (await fetch(`${server.origin}/metrics`)).text();
    const timeouts = outcomes(before, 'timeout');
    expect(timeouts).toBeGreaterThanOrEqual(3);
    // Whichever worker takes these, none runs the procedure again.
    const statuses = await Promise.all(Array.from({ length: 12 }, () => freshConnectionToken('spinning')));
    expect(statuses.every((status) => status === 500)).toBe(true);
    const after = await (await fetch(`${server.origin}/metrics`)).text();
    expect(outcomes(after, 'timeout')).toBe(timeouts);
    expect(outcomes(after, 'suspended')).toBe(outcomes(before, 'suspended') + 12);
    expect(metricValue(after, /^tokenproc_sandbox_suspended (\d+)$/gm)).toBe(2);
  });

  it('logs each audit entry once, in the worker that wrote it', async () => {
    const ids: number[] = [];
    for (const line of server.output().split('\n')) {
      if (!line.includes('"message":"audit"')) continue;
      const record = JSON.parse(line) as { audit_id?: number };
      if (typeof record.audit_id === 'number') ids.push(record.audit_id);
    }
    // The tests above wrote a client, a procedure and another client: three entries or more.
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('replaces a worker that crashes while the other keeps serving', async () => {
    const [victim] = listeningPids(server.output());
    process.kill(victim!, 'SIGKILL');
    const statuses = await Promise.all(Array.from({ length: 20 }, () => freshConnectionToken('spread')));
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    const replacement = await waitFor('a replacement worker', () => listeningPids(server.output()).find((pid, index) => index >= 2 && pid !== victim) ?? null, 20_000);
    expect(replacement).not.toBe(victim);
    expect(server.output()).toContain('worker exited unexpectedly');
  });

  it('kills and replaces a worker whose event loop stopped, as a procedure stuck in native code would leave it', async () => {
    const before = listeningPids(server.output());
    const stuck = before[before.length - 1]!;
    process.kill(stuck, 'SIGSTOP');
    try {
      const statuses = await Promise.all(Array.from({ length: 20 }, () => freshConnectionToken('spread')));
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      await waitFor('the watchdog', () => (server.output().includes('worker stopped responding') ? true : null), 15_000);
      await waitFor('a replacement worker', () => (listeningPids(server.output()).length > before.length ? true : null), 20_000);
    } finally {
      try {
        process.kill(stuck, 'SIGCONT');
      } catch {
        // already gone: the watchdog killed it
      }
    }
    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    expect(metrics).toMatch(/^tokenproc_worker_restarts_total\{reason="unresponsive"\} 1$/m);
    expect(metrics).toMatch(/^tokenproc_workers 2$/m);
  });
});
