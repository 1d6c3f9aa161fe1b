/**
 * Black-box over a real server: PATCH of clients and trusted issuers (JSON Merge Patch, the merged
 * result validated as a PUT body, If-Match, 404, the new ETag, the audit entry), 405 with Allow for
 * a method a known path does not offer, and change notes on procedure uploads and activations.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { basic, clientBody, startTestServer, type HttpResult, type TestServer } from '../helpers/server.ts';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';
import { adminActorFor, CC_FLOW, markingProcedure } from './support.ts';

let server: TestServer;
let idp: TestIdp;

async function request(method: string, urlPath: string, options: { body?: string; type?: string; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  const response = await fetch(`${server.origin}/admin/api/v1${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${server.adminKey}`, ...(options.type ? { 'content-type': options.type } : {}), ...(options.headers ?? {}) },
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = {};
  }
  return { status: response.status, headers: response.headers, body, text };
}

function patch(urlPath: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  return request('PATCH', urlPath, { body: JSON.stringify(body), type: 'application/merge-patch+json', headers });
}

async function auditOf(targetId: string): Promise<Array<{ action: string; actor: string; details: unknown; old_version: string | null; new_version: string | null }>> {
  return (await server.admin('GET', `/audit?target_id=${encodeURIComponent(targetId)}`)).body as unknown as Array<{
    action: string;
    actor: string;
    details: unknown;
    old_version: string | null;
    new_version: string | null;
  }>;
}

beforeAll(async () => {
  idp = await createTestIdp();
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('PATCH /clients/{id}', () => {
  beforeAll(async () => {
    expect((await server.admin('PUT', '/clients/patched', clientBody({ name: 'Before', client_secret: 'first-secret-long-enough', audiences: ['https://a.example'], properties: { a: '1', b: '2' } }))).status).toBe(201);
  });

  it('merges the patch into the client (objects member by member, null removes), answers it with its new ETag, and audits it as a replace', async () => {
    const before = await server.admin('GET', '/clients/patched');
    const patched = await patch('/clients/patched', { scope: 'read', properties: { b: null, c: '3' }, name: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ client_id: 'patched', scope: 'read', properties: { a: '1', c: '3' }, audiences: ['https://a.example'], has_secret: true });
    expect(patched.body).not.toHaveProperty('name');
    expect(patched.body).not.toHaveProperty('client_secret');
    expect(patched.body).not.toHaveProperty('client_secret_hash');
    const after = await server.admin('GET', '/clients/patched');
    expect(after.body).toEqual(patched.body);
    expect(patched.headers.get('etag')).toBe(after.headers.get('etag'));
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    expect(after.body.created_at).toBe(before.body.created_at);
    const [entry] = await auditOf('patched');
    expect(entry).toMatchObject({ action: 'client.replace', actor: adminActorFor(server.adminKey), details: { changed: ['name', 'properties', 'scope'] } });
    // The secret was kept.
    expect((await server.token({ grant_type: 'client_credentials' }, { id: 'patched', secret: 'first-secret-long-enough' })).status).toBe(200);
  });

  it('sets the secret, write-only', async () => {
    const patched = await patch('/clients/patched', { client_secret: 'second-secret-long-enough' });
    expect(patched.status).toBe(200);
    expect(patched.text).not.toContain('second-secret-long-enough');
    expect((await server.token({ grant_type: 'client_credentials' }, { id: 'patched', secret: 'second-secret-long-enough' })).status).toBe(200);
    const old = await fetch(`${server.origin}/oauth/v2/oauth-token`, {
      method: 'POST',
      headers: { authorization: basic('patched', 'first-secret-long-enough'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(old.status).toBe(401);
    expect((await auditOf('patched'))[0]).toMatchObject({ details: { changed: ['client_secret'] } });
  });

  it('validates the merged result as a PUT body; a refused patch changes nothing', async () => {
    const before = await server.admin('GET', '/clients/patched');
    expect((await patch('/clients/patched', { access_token_ttl: 'long' })).body).toMatchObject({ error: 'invalid_request', field: '/access_token_ttl' });
    expect((await patch('/clients/patched', { unknown_member: 1 })).body).toMatchObject({ error: 'invalid_request', field: '/unknown_member' });
    // Removing a required member leaves a client the schema refuses.
    expect((await patch('/clients/patched', { grant_types: null })).body).toMatchObject({ error: 'invalid_request', field: '/grant_types' });
    expect((await patch('/clients/patched', { client_id: 'other' })).body).toMatchObject({ error: 'invalid_request', field: '/client_id' });
    expect((await patch('/clients/patched', { procedures: { [CC_FLOW]: 'no-such-procedure' } })).body).toMatchObject({ error: 'invalid_request' });
    expect((await patch('/clients/patched', ['not', 'an', 'object'])).body).toMatchObject({ error: 'invalid_request' });
    // Members the server sets are ignored, as a PUT ignores them.
    expect((await patch('/clients/patched', { created_at: 1, has_secret: false })).status).toBe(200);
    const after = await server.admin('GET', '/clients/patched');
    expect({ ...after.body, updated_at: 0 }).toEqual({ ...before.body, updated_at: 0 });
  });

  it('honours If-Match: 412 and nothing changed when it does not match; the current ETag passes', async () => {
    const current = await server.admin('GET', '/clients/patched');
    const etag = current.headers.get('etag') ?? '';
    expect((await patch('/clients/patched', { scope: 'write' }, { 'if-match': '"stale"' })).body).toMatchObject({ error: 'precondition_failed' });
    expect((await server.admin('GET', '/clients/patched')).headers.get('etag')).toBe(etag);
    const passed = await patch('/clients/patched', { scope: 'write' }, { 'if-match': etag });
    expect(passed.status).toBe(200);
    expect((await patch('/clients/patched', { scope: 'read' }, { 'if-match': etag })).status).toBe(412);
    expect((await server.admin('GET', '/clients/patched')).body).toMatchObject({ scope: 'write' });
  });

  it('answers 404 for a client that does not exist, creating nothing', async () => {
    expect((await patch('/clients/nobody', { scope: 'read' })).body).toMatchObject({ error: 'not_found' });
    expect((await server.admin('GET', '/clients/nobody')).status).toBe(404);
  });

  it('takes application/merge-patch+json and application/json, nothing else', async () => {
    expect((await request('PATCH', '/clients/patched', { body: JSON.stringify({ scope: 'read' }), type: 'application/json' })).status).toBe(200);
    const wrong = await request('PATCH', '/clients/patched', { body: 'scope=read', type: 'application/x-www-form-urlencoded' });
    expect(wrong.status).toBe(415);
    expect(wrong.body).toMatchObject({ error: 'invalid_request' });
    // PUT keeps taking only application/json.
    expect((await request('PUT', '/clients/patched', { body: JSON.stringify(clientBody()), type: 'application/merge-patch+json' })).status).toBe(415);
  });
});

describe('PATCH /trusted-issuers/{id}', () => {
  beforeAll(async () => {
    expect((await server.admin('PUT', '/trusted-issuers/patched-idp', { issuer: idp.issuer, jwks_uri: 'https://idp.example.com/jwks', audiences: ['x'] })).status).toBe(201);
  });

  it('switches jwks_uri for inline keys, answers the issuer with its new ETag, and audits it as a put', async () => {
    const patched = await patch('/trusted-issuers/patched-idp', { jwks_uri: null, jwks: idp.jwks, allowed_algs: ['ES256'] });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ id: 'patched-idp', issuer: idp.issuer, jwks: idp.jwks, allowed_algs: ['ES256'], audiences: ['x'], created_at: expect.any(Number), updated_at: expect.any(Number) });
    const read = await server.admin('GET', '/trusted-issuers/patched-idp');
    expect(read.body).toEqual(patched.body);
    expect(patched.headers.get('etag')).toBe(read.headers.get('etag'));
    expect((await auditOf('patched-idp'))[0]).toMatchObject({ action: 'trusted_issuer.put', actor: adminActorFor(server.adminKey), details: { issuer: idp.issuer, created: false } });
  });

  it('refuses a merged result that is not a valid trusted issuer, and honours If-Match', async () => {
    const before = await server.admin('GET', '/trusted-issuers/patched-idp');
    expect((await patch('/trusted-issuers/patched-idp', { jwks_uri: 'https://idp.example.com/jwks' })).body).toMatchObject({ error: 'invalid_request', field: '/jwks' });
    expect((await patch('/trusted-issuers/patched-idp', { jwks: null })).body).toMatchObject({ error: 'invalid_request' });
    expect((await patch('/trusted-issuers/patched-idp', { id: 'renamed' })).body).toMatchObject({ error: 'invalid_request', field: '/id' });
    expect((await patch('/trusted-issuers/patched-idp', { audiences: null }, { 'if-match': '"stale"' })).status).toBe(412);
    const after = await server.admin('GET', '/trusted-issuers/patched-idp');
    expect(after.body).toEqual(before.body);
    expect((await patch('/trusted-issuers/patched-idp', { audiences: null }, { 'if-match': before.headers.get('etag') ?? '' })).status).toBe(200);
    expect((await server.admin('GET', '/trusted-issuers/patched-idp')).body).not.toHaveProperty('audiences');
  });

  it('answers 404 for an issuer that does not exist', async () => {
    expect((await patch('/trusted-issuers/nobody', { issuer: idp.issuer, jwks: idp.jwks })).body).toMatchObject({ error: 'not_found' });
    expect((await server.admin('GET', '/trusted-issuers/nobody')).status).toBe(404);
  });
});

describe('405 method_not_allowed', () => {
  it.each([
    ['DELETE', '/audit', 'GET, HEAD, OPTIONS'],
    ['POST', '/clients/x', 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT'],
    ['PUT', '/clients', 'GET, HEAD, OPTIONS'],
    ['GET', '/signing-keys/rotate', 'OPTIONS, POST'],
    ['PATCH', '/procedures/x', 'DELETE, GET, HEAD, OPTIONS, PUT'],
    ['DELETE', '/me', 'GET, HEAD, OPTIONS'],
  ])('%s %s answers 405 with Allow: %s', async (method, urlPath, allow) => {
    const answered = await request(method, urlPath, method === 'GET' || method === 'DELETE' ? {} : { body: '{}', type: 'application/json' });
    expect(answered.status).toBe(405);
    expect(answered.headers.get('allow')).toBe(allow);
    expect(answered.body).toEqual({ error: 'method_not_allowed', error_description: expect.any(String) });
  });

  it('unknown paths stay 404, and a key is still needed', async () => {
    expect((await request('DELETE', '/no-such-thing')).body).toMatchObject({ error: 'not_found' });
    expect((await request('GET', '/clients/x/y/z')).status).toBe(404);
    expect((await fetch(`${server.origin}/admin/api/v1/audit`, { method: 'DELETE' })).status).toBe(401);
  });

  it('is answered to every role (no role could do it)', async () => {
    const created = await server.admin('POST', '/admin-keys', { name: 'viewer-405', role: 'viewer' });
    const response = await fetch(`${server.origin}/admin/api/v1/audit`, { method: 'DELETE', headers: { authorization: `Bearer ${String(created.body.key)}` } });
    expect(response.status).toBe(405);
  });
});

describe('change notes', () => {
  it('stores a trimmed note with the uploaded version, answers note (null without one) on versions, and audits it', async () => {
    const first = await server.admin('PUT', '/procedures/noted', { flow: CC_FLOW, source: markingProcedure(1), note: '  first version for invoicing  ' });
    expect(first.status).toBe(201);
    expect((await server.admin('PUT', '/procedures/noted', { flow: CC_FLOW, source: markingProcedure(2) })).status).toBe(200);
    const third = await server.admin('PUT', '/procedures/noted', { flow: CC_FLOW, source: markingProcedure(3), note: '   ' });
    expect(third.status).toBe(200);
    const versions = (await server.admin('GET', '/procedures/noted/versions')).body as unknown as Array<{ version: number; note: string | null }>;
    expect(versions.map((v) => [v.version, v.note])).toEqual([
      [1, 'first version for invoicing'],
      [2, null],
      [3, null],
    ]);
    expect((await server.admin('GET', '/procedures/noted/versions/1')).body).toMatchObject({ version: 1, note: 'first version for invoicing' });
    expect((await server.admin('GET', '/procedures/noted')).body).toMatchObject({ version: 3, note: null });
    const uploads = (await auditOf('noted')).filter((e) => e.action === 'procedure.upload').reverse();
    expect(uploads.map((e) => e.details)).toEqual([
      expect.objectContaining({ note: 'first version for invoicing' }),
      expect.not.objectContaining({ note: expect.anything() }),
      expect.not.objectContaining({ note: expect.anything() }),
    ]);
  });

  it('carries an activation note in the audit entry; the version keeps its upload note', async () => {
    const activated = await server.admin('POST', '/procedures/noted/activate', { version: 1, note: 'roll back: v3 broke invoicing' });
    expect(activated.status).toBe(200);
    expect((await server.admin('GET', '/procedures/noted')).body).toMatchObject({ version: 1, note: 'first version for invoicing' });
    const [entry] = await auditOf('noted');
    expect(entry).toMatchObject({ action: 'procedure.activate', old_version: '3', new_version: '1', details: expect.objectContaining({ note: 'roll back: v3 broke invoicing' }) });
  });

  it('refuses a note of more than 500 characters, several lines or control characters, storing nothing', async () => {
    const refused = [
      { note: 'x'.repeat(501) },
      { note: 'two\nlines' },
      { note: 'a\ttab' },
      { note: 'bell\u0007' },
      { note: 'line\u2028separator' },
      { note: 42 },
    ];
    for (const extra of refused) {
      const upload = await server.admin('PUT', '/procedures/noted', { flow: CC_FLOW, source: markingProcedure(9), ...extra });
      expect({ extra, status: upload.status, body: upload.body }).toMatchObject({ status: 400, body: { error: 'invalid_request', field: '/note' } });
      const activate = await server.admin('POST', '/procedures/noted/activate', { version: 2, ...extra });
      expect({ extra, status: activate.status }).toMatchObject({ status: 400 });
    }
    expect((await server.admin('GET', '/procedures/noted')).body).toMatchObject({ version: 1 });
    expect(((await server.admin('GET', '/procedures/noted/versions')).body as unknown as unknown[]).length).toBe(3);
    expect((await server.admin('PUT', '/procedures/noted', { flow: CC_FLOW, source: markingProcedure(9), note: 'é'.repeat(500) })).status).toBe(200);
  });
});
