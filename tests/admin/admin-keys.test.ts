/**
 * Named admin keys with roles, black-box: created by an `admin` key, answered once, never shown
 * again; each role allowed exactly its routes (403 insufficient_role otherwise); the audit trail
 * names the key; a deleted key stops working.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clientBody, startTestServer, type HttpResult, type TestServer } from '../helpers/server.ts';
import { adminActorFor, CC_FLOW, markingProcedure } from './support.ts';
import { documentedOperations } from '../../admin/api/openapi.ts';

let server: TestServer;

async function as(key: string, method: string, urlPath: string, body?: unknown): Promise<HttpResult> {
  const response = await fetch(`${server.origin}/admin/api/v1${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = {};
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

async function createKey(name: string, role: string): Promise<string> {
  const created = await server.admin('POST', '/admin-keys', { name, role });
  expect(created.status).toBe(201);
  expect(created.body).toEqual({ name, role, key: expect.any(String) });
  const key = created.body.key;
  if (typeof key !== 'string') throw new Error('no key');
  return key;
}

beforeAll(async () => {
  server = await startTestServer();
  expect((await server.admin('PUT', '/procedures/marking', { flow: CC_FLOW, source: markingProcedure(1) })).status).toBe(201);
  expect((await server.admin('PUT', '/clients/role-client', clientBody({ client_secret: 'a-long-enough-secret-1234' }))).status).toBe(201);
});

afterAll(async () => {
  await server?.stop();
});

describe('managing named keys', () => {
  it('answers the key once, at least 32 random characters, and lists and reads keys without it', async () => {
    const key = await createKey('ops-alice', 'viewer');
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(await createKey('ops-bob', 'viewer')).not.toBe(key);
    const listed = await server.admin('GET', '/admin-keys');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual(
      expect.arrayContaining([{ name: 'ops-alice', role: 'viewer', created_at: expect.any(Number) }, { name: 'ops-bob', role: 'viewer', created_at: expect.any(Number) }]),
    );
    const one = await server.admin('GET', '/admin-keys/ops-alice');
    expect(one.body).toEqual({ name: 'ops-alice', role: 'viewer', created_at: expect.any(Number) });
    expect(listed.text + one.text).not.toContain(key);
    expect(server.output()).not.toContain(key);
    expect((await server.admin('GET', '/admin-keys/nobody')).status).toBe(404);
  });

  it('refuses a taken name with 409, a bad name or role with 400', async () => {
    await createKey('taken', 'viewer');
    expect((await server.admin('POST', '/admin-keys', { name: 'taken', role: 'admin' })).body).toMatchObject({ error: 'conflict' });
    expect((await server.admin('POST', '/admin-keys', { name: 'bad name', role: 'admin' })).body).toMatchObject({ error: 'invalid_request', field: '/name' });
    expect((await server.admin('POST', '/admin-keys', { name: 'x', role: 'root' })).body).toMatchObject({ error: 'invalid_request', field: '/role' });
    expect((await server.admin('GET', '/admin-keys/taken')).body).toMatchObject({ role: 'viewer' });
  });

  it('deletes a key, which then stops working', async () => {
    const key = await createKey('short-lived', 'admin');
    expect((await as(key, 'GET', '/clients')).status).toBe(200);
    expect((await server.admin('DELETE', '/admin-keys/short-lived')).status).toBe(204);
    expect((await as(key, 'GET', '/clients')).status).toBe(401);
    expect((await server.admin('DELETE', '/admin-keys/short-lived')).status).toBe(404);
  });

  it('names the key in the audit trail; the main key keeps its hash id', async () => {
    const key = await createKey('auditor-author', 'author');
    expect((await as(key, 'PUT', '/procedures/by-author', { flow: CC_FLOW, source: markingProcedure(2) })).status).toBe(201);
    const audit = await server.admin('GET', '/audit');
    const entries = audit.body as unknown as Array<{ actor: string; action: string; target_id: string; details: unknown }>;
    expect(entries.find((e) => e.action === 'procedure.upload' && e.target_id === 'by-author')?.actor).toBe('admin-key:auditor-author');
    expect(entries.find((e) => e.action === 'admin_key.create' && e.target_id === 'auditor-author')).toMatchObject({
      actor: adminActorFor(server.adminKey),
      details: { role: 'author' },
    });
    expect(audit.text).not.toContain(key);
  });
});

describe('roles', () => {
  const keys: Record<'viewer' | 'author' | 'admin', string> = { viewer: '', author: '', admin: '' };

  beforeAll(async () => {
    keys.viewer = await createKey('role-viewer', 'viewer');
    keys.author = await createKey('role-author', 'author');
    keys.admin = await createKey('role-admin', 'admin');
  });

  /** Every route, with the least role it needs. Writes aimed at missing resources where possible, so the matrix changes little. */
  const routes: Array<[string, string, unknown, 'viewer' | 'author' | 'admin']> = [
    ['GET', '/clients', undefined, 'viewer'],
    ['GET', '/clients/role-client', undefined, 'viewer'],
    ['PUT', '/clients/role-other', clientBody({ client_secret: 'a-long-enough-secret-1234' }), 'admin'],
    ['POST', '/clients/missing/rotate-secret', undefined, 'admin'],
    ['DELETE', '/clients/missing', undefined, 'admin'],
    ['PATCH', '/clients/missing', { scope: 'read' }, 'admin'],
    ['GET', '/trusted-issuers', undefined, 'viewer'],
    ['GET', '/trusted-issuers/missing', undefined, 'viewer'],
    ['PUT', '/trusted-issuers/role-issuer', { issuer: 'https://idp.example.com', jwks: { keys: [] } }, 'admin'],
    ['DELETE', '/trusted-issuers/missing', undefined, 'admin'],
    ['PATCH', '/trusted-issuers/missing', { audiences: null }, 'admin'],
    ['POST', '/trusted-issuers/test-jwks', { jwks: { keys: [] } }, 'admin'],
    ['GET', '/signing-keys', undefined, 'viewer'],
    ['POST', '/signing-keys/rotate', {}, 'admin'],
    ['GET', '/me', undefined, 'viewer'],
    ['GET', '/procedures', undefined, 'viewer'],
    ['GET', '/procedures/marking', undefined, 'viewer'],
    ['GET', '/procedures/marking/versions', undefined, 'viewer'],
    ['GET', '/procedures/marking/versions/1', undefined, 'viewer'],
    ['PUT', '/procedures/role-proc', { flow: CC_FLOW, source: markingProcedure(3) }, 'author'],
    ['POST', '/procedures/marking/activate', { version: 1 }, 'author'],
    ['POST', '/procedures/marking/activate', { version: 1, note: 'back to one' }, 'author'],
    ['POST', '/procedures/marking/dry-run', {}, 'author'],
    ['DELETE', '/procedures/missing', undefined, 'author'],
    ['GET', '/config', undefined, 'viewer'],
    ['PUT', '/config', {}, 'admin'],
    ['GET', '/audit', undefined, 'viewer'],
    ['GET', '/admin-keys', undefined, 'admin'],
    ['GET', '/admin-keys/role-viewer', undefined, 'admin'],
    ['POST', '/admin-keys', { name: 'made-in-matrix', role: 'viewer' }, 'admin'],
    ['DELETE', '/admin-keys/made-in-matrix', undefined, 'admin'],
  ];
  const rank = { viewer: 0, author: 1, admin: 2 } as const;

  it('the matrix below covers every operation that needs a key (the OpenAPI document lists them all)', () => {
    const publicPaths = new Set(['/openapi.json', '/schemas', '/schemas/{name}']);
    const operations = documentedOperations()
      .filter(({ path }) => !publicPaths.has(path))
      .flatMap(({ path, methods }) => methods.map((method) => ({ method: method.toUpperCase(), path })));
    expect(operations.length).toBeGreaterThan(25);
    const matches = (template: string, concrete: string) =>
      new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(concrete);
    const uncovered = operations.filter(({ method, path }) => !routes.some(([m, concrete]) => m === method && matches(path, concrete)));
    expect(uncovered).toEqual([]);
  });

  it.each(routes)('%s %s', async (method, urlPath, body, least) => {
    for (const role of ['viewer', 'author', 'admin'] as const) {
      const result = await as(keys[role], method, urlPath, body);
      if (rank[role] < rank[least]) {
        expect({ role, status: result.status, body: result.body }).toMatchObject({
          role,
          status: 403,
          body: { error: 'insufficient_role', details: { role, required: least } },
        });
      } else {
        expect({ role, refused: result.status === 401 || result.status === 403 }).toEqual({ role, refused: false });
      }
    }
  });

  it('a refused write changes nothing', async () => {
    expect((await as(keys.viewer, 'DELETE', '/clients/role-client')).status).toBe(403);
    expect((await server.admin('GET', '/clients/role-client')).status).toBe(200);
    const scope = (await server.admin('GET', '/clients/role-client')).body.scope;
    expect((await as(keys.author, 'PATCH', '/clients/role-client', { scope: 'read' })).status).toBe(403);
    expect((await server.admin('GET', '/clients/role-client')).body.scope).toBe(scope);
    const kids = (await server.admin('GET', '/signing-keys')).text;
    expect((await as(keys.author, 'POST', '/signing-keys/rotate', { now: true })).status).toBe(403);
    expect((await server.admin('GET', '/signing-keys')).text).toBe(kids);
  });

  it('GET /me answers each key its own role', async () => {
    for (const role of ['viewer', 'author', 'admin'] as const) {
      expect((await as(keys[role], 'GET', '/me')).body).toEqual({ actor: `admin-key:role-${role}`, role });
    }
  });
});
