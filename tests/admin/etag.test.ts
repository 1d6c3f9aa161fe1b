/**
 * ETag / If-Match on the admin API's single resources, black-box: every GET of one resource has a
 * strong ETag; a write whose If-Match no longer matches is 412 precondition_failed and changes
 * nothing; of two writers holding the same ETag exactly one wins.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clientBody, startTestServer, type HttpResult, type TestServer } from '../helpers/server.ts';
import { CC_FLOW, markingProcedure } from './support.ts';

let server: TestServer;

async function call(method: string, urlPath: string, headers: Record<string, string>, body?: unknown): Promise<HttpResult> {
  const response = await fetch(`${server.origin}/admin/api/v1${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${server.adminKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
}

async function etagOf(urlPath: string): Promise<string> {
  const read = await server.admin('GET', urlPath);
  expect(read.status).toBe(200);
  const tag = read.headers.get('etag');
  expect(tag).toMatch(/^"[A-Za-z0-9_-]+"$/);
  return tag ?? '';
}

const secretClient = (overrides: Record<string, unknown> = {}) => clientBody({ client_secret: 'a-long-enough-secret-1234', ...overrides });

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('clients', () => {
  it('answers a strong ETag that changes with the record, and is the same when it does not', async () => {
    expect((await server.admin('PUT', '/clients/etag-a', secretClient())).status).toBe(201);
    const first = await etagOf('/clients/etag-a');
    expect(await etagOf('/clients/etag-a')).toBe(first);
    expect((await server.admin('PUT', '/clients/etag-a', secretClient({ scope: 'other' }))).status).toBe(200);
    expect(await etagOf('/clients/etag-a')).not.toBe(first);
  });

  it('refuses a stale If-Match with 412 and changes nothing; takes the current one', async () => {
    await server.admin('PUT', '/clients/etag-b', secretClient({ scope: 'one' }));
    const stale = await etagOf('/clients/etag-b');
    expect((await call('PUT', '/clients/etag-b', { 'if-match': stale }, secretClient({ scope: 'two' }))).status).toBe(200);
    const refused = await call('PUT', '/clients/etag-b', { 'if-match': stale }, secretClient({ scope: 'three' }));
    expect(refused.status).toBe(412);
    expect(refused.body).toMatchObject({ error: 'precondition_failed' });
    expect((await call('DELETE', '/clients/etag-b', { 'if-match': stale })).status).toBe(412);
    expect((await call('POST', '/clients/etag-b/rotate-secret', { 'if-match': stale })).status).toBe(412);
    expect((await server.admin('GET', '/clients/etag-b')).body).toMatchObject({ scope: 'two' });
    // A weak tag never matches (If-Match compares strongly).
    const current = await etagOf('/clients/etag-b');
    expect((await call('DELETE', '/clients/etag-b', { 'if-match': `W/${current}` })).status).toBe(412);
    expect((await call('DELETE', '/clients/etag-b', { 'if-match': `"x", ${current}` })).status).toBe(204);
  });

  it('If-Match: * means the resource must exist', async () => {
    expect((await call('PUT', '/clients/etag-new', { 'if-match': '*' }, secretClient())).status).toBe(412);
    expect((await server.admin('GET', '/clients/etag-new')).status).toBe(404);
    await server.admin('PUT', '/clients/etag-new', secretClient());
    expect((await call('PUT', '/clients/etag-new', { 'if-match': '*' }, secretClient({ scope: 'x' }))).status).toBe(200);
  });

  it('lets exactly one of two admins with the same ETag win', async () => {
    await server.admin('PUT', '/clients/etag-race', secretClient({ scope: 'base' }));
    const tag = await etagOf('/clients/etag-race');
    const [a, b] = await Promise.all([
      call('PUT', '/clients/etag-race', { 'if-match': tag }, secretClient({ scope: 'alice' })),
      call('PUT', '/clients/etag-race', { 'if-match': tag }, secretClient({ scope: 'bob' })),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
    expect((await server.admin('GET', '/clients/etag-race')).body).toMatchObject({ scope: a.status === 200 ? 'alice' : 'bob' });
  });
});

describe('procedures, trusted issuers, admin keys', () => {
  it('checks procedure uploads, activation and delete against the active version', async () => {
    await server.admin('PUT', '/procedures/etag-proc', { flow: CC_FLOW, source: markingProcedure(1) });
    const v1 = await etagOf('/procedures/etag-proc');
    await etagOf('/procedures/etag-proc/versions/1');
    expect((await call('PUT', '/procedures/etag-proc', { 'if-match': v1 }, { flow: CC_FLOW, source: markingProcedure(2) })).status).toBe(200);
    expect((await call('POST', '/procedures/etag-proc/activate', { 'if-match': v1 }, { version: 1 })).status).toBe(412);
    expect((await call('PUT', '/procedures/etag-proc', { 'if-match': v1 }, { flow: CC_FLOW, source: markingProcedure(3) })).status).toBe(412);
    expect((await call('DELETE', '/procedures/etag-proc', { 'if-match': v1 })).status).toBe(412);
    expect((await server.admin('GET', '/procedures/etag-proc')).body).toMatchObject({ version: 2 });
    const v2 = await etagOf('/procedures/etag-proc');
    expect((await call('POST', '/procedures/etag-proc/activate', { 'if-match': v2 }, { version: 1 })).status).toBe(200);
  });

  it('checks trusted issuers', async () => {
    const body = { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks' };
    await server.admin('PUT', '/trusted-issuers/etag-idp', body);
    const tag = await etagOf('/trusted-issuers/etag-idp');
    expect((await call('PUT', '/trusted-issuers/etag-idp', { 'if-match': tag }, { ...body, audiences: ['a'] })).status).toBe(200);
    expect((await call('PUT', '/trusted-issuers/etag-idp', { 'if-match': tag }, body)).status).toBe(412);
    expect((await call('DELETE', '/trusted-issuers/etag-idp', { 'if-match': tag })).status).toBe(412);
    expect((await server.admin('GET', '/trusted-issuers/etag-idp')).body).toMatchObject({ audiences: ['a'] });
  });

  it('checks admin key deletes', async () => {
    await server.admin('POST', '/admin-keys', { name: 'etag-key', role: 'viewer' });
    const tag = await etagOf('/admin-keys/etag-key');
    expect((await call('DELETE', '/admin-keys/etag-key', { 'if-match': '"stale"' })).status).toBe(412);
    expect((await call('DELETE', '/admin-keys/etag-key', { 'if-match': tag })).status).toBe(204);
    expect((await call('DELETE', '/admin-keys/etag-key', { 'if-match': '*' })).status).toBe(412);
  });
});
