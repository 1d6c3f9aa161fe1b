/**
 * The admin API for platform admins, black-box over a real server: GET /me (who the key is),
 * signing keys (list, page, rotate as `tokenproc keys rotate` does) and the trusted-issuer JWKS
 * test (a key set served by a loopback HTTP server, a 404, a body that is not JSON, inline sets).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { clientBody, startTestServer, type HttpResult, type TestServer } from '../helpers/server.ts';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';
import { adminActorFor } from './support.ts';

let server: TestServer;
let idp: TestIdp;
/** A loopback HTTP server answering each path as `routes` says. */
let jwksServer: http.Server;
let jwksOrigin: string;
const routes = new Map<string, { status: number; type: string; body: string; redirect?: string }>();

interface SigningKey {
  kid: string;
  alg: string;
  created_at: number;
  signs_from: number;
  retired_at: number | null;
  published: boolean;
  signing: boolean;
  public_jwk: Record<string, unknown>;
}

async function as(key: string, method: string, urlPath: string, body?: unknown): Promise<HttpResult> {
  const response = await fetch(`${server.origin}/admin/api/v1${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
}

async function createKey(name: string, role: string): Promise<string> {
  const created = await server.admin('POST', '/admin-keys', { name, role });
  expect(created.status).toBe(201);
  const key = created.body.key;
  if (typeof key !== 'string') throw new Error('no key');
  return key;
}

async function signingKeys(): Promise<SigningKey[]> {
  const listed = await server.admin('GET', '/signing-keys');
  expect(listed.status).toBe(200);
  return listed.body as unknown as SigningKey[];
}

async function publishedKids(): Promise<string[]> {
  const response = await fetch(`${server.origin}/oauth/v2/oauth-anonymous/jwks`);
  const jwks = (await response.json()) as { keys: Array<{ kid: string }> };
  return jwks.keys.map((k) => k.kid).sort();
}

async function issuedKid(): Promise<string> {
  const token = await server.token({ grant_type: 'client_credentials', scope: 'read' }, { id: 'keys-client', secret: 'a-long-enough-secret-1234' });
  expect(token.status).toBe(200);
  return jose.decodeProtectedHeader(String(token.body.access_token)).kid ?? '';
}

beforeAll(async () => {
  idp = await createTestIdp();
  jwksServer = http.createServer((req, res) => {
    const answer = routes.get(req.url ?? '');
    if (!answer) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      return;
    }
    res.writeHead(answer.status, { 'content-type': answer.type, ...(answer.redirect ? { location: answer.redirect } : {}) }).end(answer.body);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksOrigin = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  server = await startTestServer();
  expect((await server.admin('PUT', '/clients/keys-client', clientBody({ client_secret: 'a-long-enough-secret-1234' }))).status).toBe(201);
});

afterAll(async () => {
  await server?.stop();
  await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
});

describe('GET /me', () => {
  it('names the presented key and its role, for every role', async () => {
    expect(await server.admin('GET', '/me')).toMatchObject({ status: 200, body: { actor: adminActorFor(server.adminKey), role: 'admin' } });
    for (const role of ['viewer', 'author', 'admin'] as const) {
      const key = await createKey(`me-${role}`, role);
      const me = await as(key, 'GET', '/me');
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ actor: `admin-key:me-${role}`, role });
    }
  });

  it('needs a key', async () => {
    expect((await fetch(`${server.origin}/admin/api/v1/me`)).status).toBe(401);
  });
});

describe('signing keys', () => {
  it('lists the keys with their public JWK and state, never private material', async () => {
    const listed = await server.admin('GET', '/signing-keys');
    const keys = listed.body as unknown as SigningKey[];
    expect(keys.length).toBeGreaterThanOrEqual(1);
    const signing = keys.filter((k) => k.signing);
    expect(signing).toHaveLength(1);
    expect(signing[0]).toEqual({
      kid: expect.any(String),
      alg: 'ES256',
      created_at: expect.any(Number),
      signs_from: expect.any(Number),
      retired_at: null,
      published: true,
      signing: true,
      public_jwk: { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: signing[0]?.kid, alg: 'ES256', use: 'sig' },
    });
    for (const key of keys) expect(Object.keys(key.public_jwk).filter((m) => ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].includes(m))).toEqual([]);
    expect(listed.text).not.toContain('private');
    expect(keys.filter((k) => k.published).map((k) => k.kid).sort()).toEqual(await publishedKids());
  });

  it('rotates as `tokenproc keys rotate` does: the new key is published now and signs later', async () => {
    const before = await signingKeys();
    const current = before.find((k) => k.signing);
    const startedAt = Math.floor(Date.now() / 1000);
    const rotated = await server.admin('POST', '/signing-keys/rotate', {});
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ kid: expect.any(String), signs_from: expect.any(Number), pruned: [] });
    const kid = String(rotated.body.kid);
    expect(Number(rotated.body.signs_from)).toBeGreaterThan(startedAt + 60);

    const after = await signingKeys();
    expect(after[0]).toMatchObject({ kid, published: true, signing: false, signs_from: rotated.body.signs_from, retired_at: null });
    expect(after.find((k) => k.kid === current?.kid)).toMatchObject({ signing: true, published: true, retired_at: rotated.body.signs_from });
    // This instance serves the new key at once, and still signs with the old one.
    expect(await publishedKids()).toContain(kid);
    expect(await issuedKid()).toBe(current?.kid);

    const audit = await server.admin('GET', `/audit?target_type=signing_key&target_id=${encodeURIComponent(kid)}`);
    expect(audit.body).toEqual([expect.objectContaining({ action: 'signing_key.add', actor: adminActorFor(server.adminKey), details: { alg: 'ES256', retired: [current?.kid] } })]);
  });

  it('with now: true the new key signs at once; the audit trail names the named key that rotated', async () => {
    const key = await createKey('key-rotator', 'admin');
    const rotated = await as(key, 'POST', '/signing-keys/rotate', { now: true });
    expect(rotated.status).toBe(200);
    const kid = String(rotated.body.kid);
    expect(Math.abs(Number(rotated.body.signs_from) - Date.now() / 1000)).toBeLessThan(5);
    expect((await signingKeys()).filter((k) => k.signing).map((k) => k.kid)).toEqual([kid]);
    expect(await issuedKid()).toBe(kid);
    expect(await publishedKids()).toContain(kid);
    const audit = await server.admin('GET', `/audit?action=signing_key.add&target_id=${encodeURIComponent(kid)}`);
    expect(audit.body).toEqual([expect.objectContaining({ actor: 'admin-key:key-rotator' })]);
  });

  it('rotates with no body at all; refuses a body that is not the schema', async () => {
    const count = (await signingKeys()).length;
    const bare = await fetch(`${server.origin}/admin/api/v1/signing-keys/rotate`, { method: 'POST', headers: { authorization: `Bearer ${server.adminKey}` } });
    expect(bare.status).toBe(200);
    expect((await signingKeys()).length).toBe(count + 1);
    expect((await server.admin('POST', '/signing-keys/rotate', { now: 'yes' })).body).toMatchObject({ error: 'invalid_request', field: '/now' });
    expect((await server.admin('POST', '/signing-keys/rotate', { later: true })).body).toMatchObject({ error: 'invalid_request', field: '/later' });
    expect((await signingKeys()).length).toBe(count + 1);
  });

  it('pages with limit and cursor like the other lists', async () => {
    const all = await signingKeys();
    expect(all.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const page = await server.admin('GET', `/signing-keys?limit=1&cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(200);
      const items = page.body.items as SigningKey[];
      expect(items.length).toBeLessThanOrEqual(1);
      seen.push(...items.map((k) => k.kid));
      if (page.body.next_cursor === null) break;
      cursor = String(page.body.next_cursor);
    }
    expect(seen).toEqual(all.map((k) => k.kid));
    expect((await server.admin('GET', '/signing-keys?limit=0')).body).toMatchObject({ error: 'invalid_request', field: 'limit' });
    const clientsCursor = (await server.admin('GET', '/clients?limit=1&cursor=')).body.next_cursor;
    const foreign = await server.admin('GET', `/signing-keys?cursor=${encodeURIComponent(String(clientsCursor ?? 'x'))}`);
    expect(foreign.body).toMatchObject({ error: 'invalid_request', field: 'cursor' });
  });
});

describe('POST /trusted-issuers/test-jwks', () => {
  it('fetches a key set from a URL and lists its usable keys', async () => {
    routes.set('/jwks', { status: 200, type: 'application/json', body: JSON.stringify(idp.jwks) });
    const tested = await server.admin('POST', '/trusted-issuers/test-jwks', { jwks_uri: `${jwksOrigin}/jwks` });
    expect(tested.status).toBe(200);
    expect(tested.body).toEqual({ ok: true, keys: [{ kid: idp.kid, kty: 'EC', alg: 'ES256', use: 'sig' }] });
  });

  it('says why a URL gives no keys: a 404, a body that is not JSON, no usable keys, a redirect, nobody listening', async () => {
    routes.set('/html', { status: 200, type: 'text/html', body: '<html>login</html>' });
    routes.set('/symmetric', { status: 200, type: 'application/json', body: JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }) });
    routes.set('/moved', { status: 302, type: 'text/plain', body: '', redirect: `${jwksOrigin}/jwks` });
    routes.set('/not-a-set', { status: 200, type: 'application/json', body: JSON.stringify({ keys: 'none' }) });
    const problem = async (uri: string): Promise<string> => {
      const tested = await server.admin('POST', '/trusted-issuers/test-jwks', { jwks_uri: uri });
      expect(tested.status).toBe(200);
      expect(tested.body).toEqual({ ok: false, problem: expect.any(String) });
      return String(tested.body.problem);
    };
    expect(await problem(`${jwksOrigin}/missing`)).toMatch(/HTTP 404/);
    expect(await problem(`${jwksOrigin}/html`)).toMatch(/not JSON/);
    expect(await problem(`${jwksOrigin}/symmetric`)).toMatch(/no usable keys/);
    expect(await problem(`${jwksOrigin}/not-a-set`)).toMatch(/not a JWK Set/);
    expect(await problem(`${jwksOrigin}/moved`)).toMatch(/redirect/);
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await problem(`http://127.0.0.1:${closedPort}/jwks`)).toMatch(/unreachable/);
  });

  it('checks an inline key set without fetching anything', async () => {
    expect((await server.admin('POST', '/trusted-issuers/test-jwks', { jwks: idp.jwks })).body).toEqual({ ok: true, keys: [{ kid: idp.kid, kty: 'EC', alg: 'ES256', use: 'sig' }] });
    const [publicKey] = idp.jwks.keys;
    const { kid: _kid, alg: _alg, use: _use, ...bare } = publicKey ?? {};
    expect((await server.admin('POST', '/trusted-issuers/test-jwks', { jwks: { keys: [bare] } })).body).toEqual({ ok: true, keys: [{ kid: null, kty: 'EC', alg: null, use: null }] });
    expect((await server.admin('POST', '/trusted-issuers/test-jwks', { jwks: { keys: [] } })).body).toMatchObject({ ok: false, problem: expect.stringMatching(/no usable keys/) });
    expect((await server.admin('POST', '/trusted-issuers/test-jwks', { jwks: { keys: [{ ...publicKey, use: 'enc' }] } })).body).toMatchObject({ ok: false });
    expect((await server.admin('POST', '/trusted-issuers/test-jwks', { jwks: { nothing: true } })).body).toMatchObject({ ok: false, problem: expect.stringMatching(/not a JWK Set/) });
  });

  it('refuses what is not http(s), both or neither of jwks_uri and jwks, with 400', async () => {
    for (const uri of ['file:///etc/passwd', 'ftp://127.0.0.1/jwks', 'gopher://127.0.0.1/']) {
      expect((await server.admin('POST', '/trusted-issuers/test-jwks', { jwks_uri: uri })).body).toMatchObject({ error: 'invalid_request', field: '/jwks_uri' });
    }
    expect((await server.admin('POST', '/trusted-issuers/test-jwks', {})).body).toMatchObject({ error: 'invalid_request' });
    expect((await server.admin('POST', '/trusted-issuers/test-jwks', { jwks_uri: `${jwksOrigin}/jwks`, jwks: idp.jwks })).body).toMatchObject({ error: 'invalid_request', field: '/jwks' });
  });

  it('stores nothing', async () => {
    expect((await server.admin('GET', '/trusted-issuers')).body).toEqual([]);
    expect((await server.admin('GET', '/audit?target_type=trusted_issuer')).body).toEqual([]);
  });
});
