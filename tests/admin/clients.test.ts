/**
 * Admin API, clients and trusted issuers, black-box: create, replace, read, list, delete; the
 * client secret is write-only (shown once when generated, and by the rotate call), and a rotated
 * secret takes effect at the token endpoint at once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clientBody, startTestServer, type TestServer } from '../helpers/server.ts';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';

const SECRET = 'clients-test-secret-0123';
let server: TestServer;
let idp: TestIdp;

const cc = (id: string, secret: string) => server.token({ grant_type: 'client_credentials' }, { id, secret });

/** No member of any response may carry a secret or its hash. */
function expectNoSecretMaterial(text: string, ...secrets: string[]): void {
  expect(text).not.toContain('client_secret_hash');
  expect(text).not.toContain('scrypt$');
  for (const secret of secrets) expect(text).not.toContain(secret);
}

beforeAll(async () => {
  [server, idp] = await Promise.all([startTestServer(), createTestIdp()]);
});

afterAll(async () => {
  await server?.stop();
});

describe('clients', () => {
  let generated = '';

  it('creates a client with a given secret and never returns it', async () => {
    const created = await server.admin('PUT', '/clients/given-secret', clientBody({ client_secret: SECRET, name: 'Given', scope: 'read' }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ client_id: 'given-secret', name: 'Given', scope: 'read', has_secret: true });
    expect(created.body.client_secret).toBeUndefined();
    expectNoSecretMaterial(created.text, SECRET);
    expect((await cc('given-secret', SECRET)).status).toBe(200);
  });

  it('generates a secret for a client that brings none and shows it only in the create response', async () => {
    const created = await server.admin('PUT', '/clients/generated', clientBody());
    expect(created.status).toBe(201);
    generated = String(created.body.client_secret);
    expect(generated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await cc('generated', generated)).status).toBe(200);

    const read = await server.admin('GET', '/clients/generated');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ client_id: 'generated', has_secret: true });
    expectNoSecretMaterial(read.text, generated);
  });

  it('reads and lists clients without secrets', async () => {
    const listed = await server.admin('GET', '/clients');
    expect(listed.status).toBe(200);
    const ids = (listed.body as unknown as Array<{ client_id: string }>).map((c) => c.client_id);
    expect(ids).toEqual(['generated', 'given-secret']);
    expectNoSecretMaterial(listed.text, SECRET, generated);
    expect((await server.admin('GET', '/clients/nobody')).status).toBe(404);
  });

  it('replaces a client, keeping its secret when the body brings none', async () => {
    const replaced = await server.admin('PUT', '/clients/given-secret', clientBody({ scope: 'read write', properties: { tier: 'gold' } }));
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ scope: 'read write', properties: { tier: 'gold' }, has_secret: true });
    expect(replaced.body.client_secret).toBeUndefined();
    expect(replaced.body.name).toBeUndefined();
    expect((await server.admin('GET', '/clients/given-secret')).body).toMatchObject({ scope: 'read write', properties: { tier: 'gold' } });
    const token = await server.token({ grant_type: 'client_credentials', scope: 'write' }, { id: 'given-secret', secret: SECRET });
    expect(token.status).toBe(200);
  });

  it('takes back what GET answered, changed, ignoring the members the server sets (times, has_secret)', async () => {
    await server.admin('PUT', '/clients/round-trip', clientBody({ client_secret: SECRET, scope: 'read' }));
    const read = await server.admin('GET', '/clients/round-trip');
    expect(read.body).toHaveProperty('created_at');
    expect(read.body).toHaveProperty('has_secret', true);
    const written = await server.admin('PUT', '/clients/round-trip', { ...read.body, scope: 'read write' });
    expect(written.status).toBe(200);
    expect(written.body).toMatchObject({ scope: 'read write', has_secret: true, created_at: read.body.created_at });
    expect((await cc('round-trip', SECRET)).status).toBe(200);
    const issuerRead = await server.admin('PUT', '/trusted-issuers/round-trip-idp', { issuer: 'https://idp.round-trip.example', jwks_uri: 'https://idp.round-trip.example/jwks' });
    expect(issuerRead.status).toBe(201);
    const issuer = await server.admin('GET', '/trusted-issuers/round-trip-idp');
    expect((await server.admin('PUT', '/trusted-issuers/round-trip-idp', { ...issuer.body, audiences: ['https://api.example'] })).status).toBe(200);
    // Other tests list this server's clients and issuers.
    expect((await server.admin('DELETE', '/trusted-issuers/round-trip-idp')).status).toBe(204);
    expect((await server.admin('DELETE', '/clients/round-trip')).status).toBe(204);
  });

  it('rotates a secret: the new one is shown once and works, the old one stops working', async () => {
    expect((await cc('generated', generated)).status).toBe(200);
    const rotated = await server.admin('POST', '/clients/generated/rotate-secret');
    expect(rotated.status).toBe(200);
    const fresh = String(rotated.body.client_secret);
    expect(rotated.body.client_id).toBe('generated');
    expect(fresh).not.toBe(generated);
    expect((await cc('generated', generated)).status).toBe(401);
    expect((await cc('generated', fresh)).status).toBe(200);
    expectNoSecretMaterial((await server.admin('GET', '/clients/generated')).text, fresh, generated);
    expect((await server.admin('POST', '/clients/nobody/rotate-secret')).status).toBe(404);
  });

  it('has no secret to rotate for a private_key_jwt client', async () => {
    const jwk = idp.jwks.keys[0];
    const created = await server.admin('PUT', '/clients/jwt-client', clientBody({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] } }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ has_secret: false, token_endpoint_auth_method: 'private_key_jwt' });
    expect(created.body.client_secret).toBeUndefined();
    expect((await server.admin('POST', '/clients/jwt-client/rotate-secret')).status).toBe(409);
  });

  it('validates the body: unknown members, a client_id differing from the path, bad values', async () => {
    const unknown = await server.admin('PUT', '/clients/given-secret', clientBody({ scopes: 'read' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.field).toBe('/scopes');
    const otherId = await server.admin('PUT', '/clients/given-secret', clientBody({ client_id: 'someone-else' }));
    expect(otherId.status).toBe(400);
    expect(otherId.body.field).toBe('/client_id');
    const badGrant = await server.admin('PUT', '/clients/given-secret', clientBody({ grant_types: ['password'] }));
    expect(badGrant.status).toBe(400);
    expect(badGrant.body.field).toBe('/grant_types/0');
    expect((await server.admin('GET', '/clients/given-secret')).body.scope).toBe('read write');
  });

  it('deletes a client: gone from the API and from the token endpoint', async () => {
    expect((await server.admin('DELETE', '/clients/given-secret')).status).toBe(204);
    expect((await server.admin('GET', '/clients/given-secret')).status).toBe(404);
    expect((await server.admin('DELETE', '/clients/given-secret')).status).toBe(404);
    expect((await cc('given-secret', SECRET)).status).toBe(401);
  });
});

describe('trusted issuers', () => {
  it('creates, reads, lists, replaces and deletes', async () => {
    const byKeys = await server.admin('PUT', '/trusted-issuers/inline-idp', { issuer: idp.issuer, jwks: idp.jwks, allowed_algs: ['ES256'] });
    expect(byKeys.status).toBe(201);
    expect(byKeys.body).toMatchObject({ id: 'inline-idp', issuer: idp.issuer, jwks: idp.jwks, allowed_algs: ['ES256'] });
    const byUri = await server.admin('PUT', '/trusted-issuers/remote-idp', { issuer: 'https://remote.example.com', jwks_uri: 'https://remote.example.com/jwks' });
    expect(byUri.status).toBe(201);

    expect((await server.admin('GET', '/trusted-issuers/remote-idp')).body).toMatchObject({ jwks_uri: 'https://remote.example.com/jwks' });
    const listed = await server.admin('GET', '/trusted-issuers');
    expect((listed.body as unknown as Array<{ id: string }>).map((t) => t.id)).toEqual(['inline-idp', 'remote-idp']);

    const replaced = await server.admin('PUT', '/trusted-issuers/remote-idp', {
      issuer: 'https://remote.example.com',
      jwks_uri: 'https://remote.example.com/keys',
      audiences: ['https://api.example.com'],
    });
    expect(replaced.status).toBe(200);
    expect((await server.admin('GET', '/trusted-issuers/remote-idp')).body).toMatchObject({
      jwks_uri: 'https://remote.example.com/keys',
      audiences: ['https://api.example.com'],
    });

    expect((await server.admin('DELETE', '/trusted-issuers/remote-idp')).status).toBe(204);
    expect((await server.admin('GET', '/trusted-issuers/remote-idp')).status).toBe(404);
    expect((await server.admin('DELETE', '/trusted-issuers/remote-idp')).status).toBe(404);
  });

  it('takes exactly one of jwks and jwks_uri', async () => {
    const both = await server.admin('PUT', '/trusted-issuers/both', { issuer: idp.issuer, jwks: idp.jwks, jwks_uri: 'https://idp.example.com/jwks' });
    expect(both.status).toBe(400);
    expect(both.body.field).toBe('/jwks');
    const neither = await server.admin('PUT', '/trusted-issuers/neither', { issuer: idp.issuer });
    expect(neither.status).toBe(400);
    expect(String(neither.body.error_description)).toMatch(/exactly one of jwks_uri or jwks/);
    const otherId = await server.admin('PUT', '/trusted-issuers/one', { id: 'two', issuer: idp.issuer, jwks: idp.jwks });
    expect(otherId.status).toBe(400);
    expect(otherId.body.field).toBe('/id');
    const badUri = await server.admin('PUT', '/trusted-issuers/bad-uri', { issuer: idp.issuer, jwks_uri: 'not a uri' });
    expect(badUri.status).toBe(400);
    expect(badUri.body.field).toBe('/jwks_uri');
    const listed = await server.admin('GET', '/trusted-issuers');
    expect((listed.body as unknown as Array<{ id: string }>).map((t) => t.id)).toEqual(['inline-idp']);
  });

  it('accepts subject tokens from a trusted issuer once registered', async () => {
    const secret = String((await server.admin('PUT', '/clients/exchanger', clientBody({ scope: 'read' }))).body.client_secret);
    const subject = await idp.mint({ sub: 'alice', aud: 'exchanger', scope: 'read' });
    const exchange = () =>
      server.token(
        { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' },
        { id: 'exchanger', secret },
      );
    expect((await exchange()).status).toBe(200);
    expect((await server.admin('DELETE', '/trusted-issuers/inline-idp')).status).toBe(204);
    const refused = await exchange();
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
  });
});
