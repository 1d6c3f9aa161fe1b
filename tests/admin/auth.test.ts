/**
 * Admin API authentication and body handling, black-box: bearer key required, wrong keys slowed
 * down per address, JSON only, every body validated. The throttle test comes last: once it trips,
 * this address is refused for a minute.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clientBody, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
/** Failed authentications this file has caused so far (the throttle counts them all). */
let failures = 0;

async function call(urlPath: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.origin}/admin/api/v1${urlPath}`, init);
}

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('bearer authentication', () => {
  it('answers 401 with a Bearer challenge without a key', async () => {
    const response = await call('/clients');
    failures++;
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await response.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('answers 401 for a wrong key and for another scheme', async () => {
    const wrong = await call('/clients', { headers: { authorization: 'Bearer not-the-key' } });
    failures++;
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    const basic = await call('/clients', { headers: { authorization: `Basic ${Buffer.from(`admin:${server.adminKey}`).toString('base64')}` } });
    failures++;
    expect(basic.status).toBe(401);
  });

  it('serves the published schemas without a key', async () => {
    const response = await call('/schemas/client');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ $id: 'urn:tokenproc:schema:client' });
  });

  it('never logs the admin key', () => {
    expect(server.output()).not.toContain(server.adminKey);
  });
});

describe('JSON only, every body validated', () => {
  const authorized = () => ({ authorization: `Bearer ${server.adminKey}` });

  it('refuses a text/plain body with 415', async () => {
    const response = await call('/clients/plain', { method: 'PUT', headers: { ...authorized(), 'content-type': 'text/plain' }, body: JSON.stringify(clientBody()) });
    expect(response.status).toBe(415);
  });

  it('refuses a form body with 415', async () => {
    const response = await call('/procedures/p/activate', { method: 'POST', headers: { ...authorized(), 'content-type': 'application/x-www-form-urlencoded' }, body: 'version=1' });
    expect(response.status).toBe(415);
  });

  it('takes a POST with an empty body and no type', async () => {
    const response = await call('/clients/nobody/rotate-secret', { method: 'POST', headers: authorized() });
    expect(response.status).toBe(404);
  });

  it('refuses malformed JSON with 400', async () => {
    const response = await call('/clients/broken', { method: 'PUT', headers: { ...authorized(), 'content-type': 'application/json' }, body: '{"grant_types": [' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses an unknown member with 400 naming it', async () => {
    const client = await server.admin('PUT', '/clients/unknown-member', clientBody({ colour: 'blue' }));
    expect(client.status).toBe(400);
    expect(client.body.field).toBe('/colour');
    const upload = await server.admin('PUT', '/procedures/p', { flow: 'oauth-token-client-credentials', source: 'function result(c) { return {}; }', sauce: 1 });
    expect(upload.status).toBe(400);
    expect(upload.body.field).toBe('/sauce');
    const issuer = await server.admin('PUT', '/trusted-issuers/t', { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks', extra: true });
    expect(issuer.status).toBe(400);
    expect(issuer.body.field).toBe('/extra');
  });

  it('refuses a body that is not an object', async () => {
    const result = await server.admin('PUT', '/clients/array', [1, 2]);
    expect(result.status).toBe(400);
    expect((await server.admin('GET', '/clients')).body).toEqual([]);
  });

  it('answers unknown admin paths with a JSON 404', async () => {
    const result = await server.admin('GET', '/nothing-here');
    expect(result.status).toBe(404);
    expect(result.body.error).toBe('not_found');
  });
});

describe('repeated wrong keys', () => {
  it('answers 429 with Retry-After after 10 wrong keys from one address, and still lets the right key through', async () => {
    let limited: Response | null = null;
    for (let attempt = 0; attempt < 20 && !limited; attempt++) {
      const response = await call('/clients', { headers: { authorization: `Bearer wrong-${attempt}` } });
      if (response.status === 429) limited = response;
      else {
        expect(response.status).toBe(401);
        failures++;
      }
    }
    expect(failures).toBe(10);
    expect(limited?.status).toBe(429);
    const retryAfter = Number(limited?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // Guessing never locks out the holder of the key.
    const right = await call('/clients', { headers: { authorization: `Bearer ${server.adminKey}` } });
    expect(right.status).toBe(200);
    expect(right.headers.get('retry-after')).toBeNull();
    // Only the admin API is throttled; the rest of the server still answers this address.
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
  });
});
