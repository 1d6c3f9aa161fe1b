/**
 * The failed-authentication throttles over HTTP, on a real `tokenproc serve` behind a (pretend)
 * proxy on loopback, TOKENPROC_TRUST_PROXY=loopback: the admin API counts wrong keys per client
 * address (X-Forwarded-For, as req.ip resolves it), and neither throttle ever refuses the holder
 * of the credential. A bad TOKENPROC_TRUST_PROXY stops the server at start.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clientBody, startTestServer, type TestServer } from '../helpers/server.ts';

const SECRET = 'throttle-test-secret-0123456789';
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: { TOKENPROC_TRUST_PROXY: 'loopback' } });
  const created = await server.admin('PUT', '/clients/svc-guessed', clientBody({ client_secret: SECRET, scope: 'read' }));
  expect(created.status).toBe(201);
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

async function adminCall(key: string, forwardedFor: string): Promise<Response> {
  const response = await fetch(`${server.origin}/admin/api/v1/clients`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': forwardedFor } });
  await response.arrayBuffer();
  return response;
}

describe('admin key throttle behind a trusted proxy', () => {
  it('answers 429 to the address that guessed, not to others, and never to the right key', async () => {
    for (let i = 0; i < 10; i++) expect((await adminCall(`wrong-${i}`, '203.0.113.1')).status).toBe(401);
    const limited = await adminCall('wrong-10', '203.0.113.1');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    expect((await adminCall(server.adminKey, '203.0.113.1')).status).toBe(200);
    expect((await adminCall('wrong', '203.0.113.2')).status).toBe(401);
  });
});

describe('client secret throttle', () => {
  it('answers 429 to the address that guessed, checks no more of its guesses, and lets the owner through from elsewhere', async () => {
    const guesser = { 'x-forwarded-for': '203.0.113.50' };
    let limited: Awaited<ReturnType<TestServer['token']>> | null = null;
    let failures = 0;
    for (let attempt = 0; attempt < 30 && !limited; attempt++) {
      const result = await server.token({ grant_type: 'client_credentials' }, { id: 'svc-guessed', secret: `wrong-${attempt}` }, guesser);
      if (result.status === 429) limited = result;
      else {
        expect(result.status).toBe(401);
        failures++;
      }
    }
    // 10 per (client id, client address), as the token endpoint resolves the address behind the proxy.
    expect(failures).toBe(10);
    expect(limited?.body.error).toBe('invalid_client');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited?.headers.get('cache-control')).toBe('no-store');
    // The guessing address is refused even with the right secret (it is not checked from there).
    expect((await server.token({ grant_type: 'client_credentials', scope: 'read' }, { id: 'svc-guessed', secret: SECRET }, guesser)).status).toBe(429);

    const owner = await server.token({ grant_type: 'client_credentials', scope: 'read' }, { id: 'svc-guessed', secret: SECRET }, { 'x-forwarded-for': '203.0.113.60' });
    expect(owner.status).toBe(200);
    expect(typeof owner.body.access_token).toBe('string');
  });
});
