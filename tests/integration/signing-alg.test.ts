/**
 * RS256 (RFC 9068 §2.1: servers must support it) as the signing algorithm, and switching the
 * algorithm as a rotation: the old key stays published and its tokens keep verifying.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { basic, clientBody, formBody, startTestServer, type TestServer } from '../helpers/server.ts';

const SECRET = 'signing-alg-secret-123';
const servers: TestServer[] = [];
let dataDir = '';

afterAll(async () => {
  for (const s of servers) await s.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function jwks(server: TestServer): Promise<Array<Record<string, unknown>>> {
  return ((await (await fetch(`${server.origin}/oauth/v2/oauth-anonymous/jwks`)).json()) as { keys: Array<Record<string, unknown>> }).keys;
}

describe('TOKENPROC_SIGNING_ALG', () => {
  it('signs RS256 access tokens with a 2048-bit RSA key that a resource server validates', async () => {
    const server = await startTestServer({ env: { TOKENPROC_SIGNING_ALG: 'RS256' } });
    servers.push(server);
    dataDir = server.dataDir;
    expect((await server.admin('PUT', '/clients/rs-client', clientBody({ client_secret: SECRET, audiences: ['https://api.example.com'] }))).status).toBe(201);
    const issued = await server.token({ grant_type: 'client_credentials' }, { id: 'rs-client', secret: SECRET });
    expect(issued.status).toBe(200);
    const token = String(issued.body.access_token);
    expect(jose.decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });

    const keys = await jwks(server);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    expect(Buffer.from(String(keys[0]?.n), 'base64url').length * 8).toBeGreaterThanOrEqual(2048);
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(keys[0]?.[member]).toBeUndefined();

    const as = await oauth.processDiscoveryResponse(
      new URL(server.issuer),
      await oauth.discoveryRequest(new URL(server.issuer), { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    );
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request('https://api.example.com/', { headers: { authorization: `Bearer ${token}` } }),
      'https://api.example.com',
      { [oauth.allowInsecureRequests]: true },
    );
    expect(claims.client_id).toBe('rs-client');
  });

  it('switching back to ES256 rotates: new tokens ES256, the RSA key still published, its tokens still active', async () => {
    const first = servers[0];
    if (!first) throw new Error('the RS256 server did not start');
    const rsToken = String((await first.token({ grant_type: 'client_credentials' }, { id: 'rs-client', secret: SECRET })).body.access_token);
    await first.stop({ keepData: true });
    servers.shift();

    const server = await startTestServer({ dataDir, adminKey: first.adminKey, env: { TOKENPROC_SIGNING_ALG: 'ES256' }, args: ['--issuer', first.issuer] });
    servers.push(server);
    const issued = await server.token({ grant_type: 'client_credentials' }, { id: 'rs-client', secret: SECRET });
    expect(jose.decodeProtectedHeader(String(issued.body.access_token)).alg).toBe('ES256');
    expect((await jwks(server)).map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    const introspected = await fetch(`${server.origin}/oauth/v2/oauth-introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('rs-client', SECRET) },
      body: formBody({ token: rsToken }),
    });
    expect(((await introspected.json()) as { active: boolean }).active).toBe(true);
  });
});
