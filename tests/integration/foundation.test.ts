/**
 * The foundation, black-box: a real `tokenproc serve` on loopback, real third-party OAuth clients.
 * Client authentication, the error catalogue, client_credentials, metadata, JWKS, introspection,
 * restart durability and masked logs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { basic, clientBody, formBody, startTestServer, TOKEN_EXCHANGE, type TestServer } from '../helpers/server.ts';

const SECRET = 'orders-secret-0123456789';
const ODD_SECRET = 's3cr+t%/ with spaces & "quotes"';
let server: TestServer;
let keyPair: { privateKey: jose.CryptoKey; publicJwk: jose.JWK };

function expectNoStore(headers: Headers): void {
  expect(headers.get('cache-control')).toBe('no-store');
  expect(headers.get('pragma')).toBe('no-cache');
}

function expectOAuthError(result: { status: number; headers: Headers; body: Record<string, unknown> }, status: number, error: string): void {
  expect({ status: result.status, error: result.body.error }).toEqual({ status, error });
  expect(typeof result.body.error_description).toBe('string');
  expect(String(result.body.error_description)).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/);
  expectNoStore(result.headers);
  if (status === 401) expect(result.headers.get('www-authenticate')).toMatch(/^Basic /);
}

beforeAll(async () => {
  server = await startTestServer();
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  keyPair = { privateKey, publicJwk: { ...(await jose.exportJWK(publicKey)), kid: 'jwt-client-key', alg: 'ES256' } };
  const puts = [
    server.admin('PUT', '/clients/orders-api-client', clientBody({ client_secret: SECRET, scope: 'read write invoicing', audiences: ['https://api.example.com', 'https://other.example.com'] })),
    server.admin('PUT', '/clients/svc:odd', clientBody({ client_secret: ODD_SECRET })),
    server.admin('PUT', '/clients/post-client', clientBody({ client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post' })),
    server.admin('PUT', '/clients/cc-only', clientBody({ client_secret: SECRET, grant_types: ['client_credentials'] })),
    server.admin('PUT', '/clients/te-only', clientBody({ client_secret: SECRET, grant_types: [TOKEN_EXCHANGE] })),
    server.admin('PUT', '/clients/jwt-client', clientBody({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [keyPair.publicJwk] } })),
  ];
  for (const result of await Promise.all(puts)) expect(result.status).toBe(201);
});

afterAll(async () => {
  await server?.stop();
});

describe('client_credentials', () => {
  it('issues an RFC 9068 access token with Basic auth, verifiable against the JWKS', async () => {
    const result = await server.token({ grant_type: 'client_credentials', scope: 'read' }, { id: 'orders-api-client', secret: SECRET });
    expect(result.status).toBe(200);
    expectNoStore(result.headers);
    expect(result.body).toMatchObject({ token_type: 'Bearer', scope: 'read' });
    // The client's 300 s TTL, counted from when the response is made: a second boundary crossed
    // between fixing exp and answering makes it 299 (RFC 6749 §5.1 "lifetime ... from the response").
    expect([299, 300]).toContain(result.body.expires_in);
    expect(result.body.refresh_token).toBeUndefined();
    const jwks = jose.createRemoteJWKSet(new URL(`${server.origin}/oauth/v2/oauth-anonymous/jwks`));
    const { payload, protectedHeader } = await jose.jwtVerify(String(result.body.access_token), jwks, { issuer: server.issuer, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: 'orders-api-client', client_id: 'orders-api-client', scope: 'read' });
    expect(payload.aud).toEqual(['https://api.example.com', 'https://other.example.com']);
    expect(typeof payload.jti).toBe('string');
    expect(String(payload.jti).length).toBeGreaterThanOrEqual(22);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
  });

  it('grants the whole client scope when none is requested, and honours resource', async () => {
    const result = await server.token({ grant_type: 'client_credentials', resource: 'https://api.example.com' }, { id: 'orders-api-client', secret: SECRET });
    expect(result.status).toBe(200);
    expect(result.body.scope).toBe('read write invoicing');
    expect(jose.decodeJwt(String(result.body.access_token)).aud).toBe('https://api.example.com');
  });

  it('refuses a scope outside the client scope and a resource outside its audiences', async () => {
    expectOAuthError(await server.token({ grant_type: 'client_credentials', scope: 'read admin' }, { id: 'orders-api-client', secret: SECRET }), 400, 'invalid_scope');
    expectOAuthError(await server.token({ grant_type: 'client_credentials', resource: 'https://evil.example.com' }, { id: 'orders-api-client', secret: SECRET }), 400, 'invalid_target');
    expectOAuthError(await server.token({ grant_type: 'client_credentials', resource: 'https://api.example.com/#frag' }, { id: 'orders-api-client', secret: SECRET }), 400, 'invalid_target');
  });

  it('lets resource repeat but not audience, which only token exchange may repeat', async () => {
    const auth = { id: 'orders-api-client', secret: SECRET };
    const twoResources = await server.token({ grant_type: 'client_credentials', resource: ['https://api.example.com', 'https://other.example.com'] }, auth);
    expect(twoResources.status).toBe(200);
    const twoAudiences = await server.token({ grant_type: 'client_credentials', audience: ['https://api.example.com', 'https://other.example.com'] }, auth);
    expectOAuthError(twoAudiences, 400, 'invalid_request');
    expect(twoAudiences.body.error_description).toBe('Parameter audience is repeated');
  });

  it('treats empty parameters as omitted and ignores unknown ones', async () => {
    const result = await server.token({ grant_type: 'client_credentials', scope: '', foo: 'bar', 'x-y': '1' }, { id: 'orders-api-client', secret: SECRET });
    expect(result.status).toBe(200);
    expect(result.body.scope).toBe('read write invoicing');
  });
});

describe('client authentication', () => {
  it('form-urlencodes Basic credentials (RFC 6749 §2.3.1) and refuses the raw form', async () => {
    const ok = await server.token({ grant_type: 'client_credentials' }, { id: 'svc:odd', secret: ODD_SECRET });
    expect(ok.status).toBe(200);
    const raw = await fetch(`${server.origin}/oauth/v2/oauth-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`svc:odd:${ODD_SECRET}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(raw.status).toBe(401);
  });

  it('accepts the scheme in any case and a charset on the content type', async () => {
    const response = await fetch(`${server.origin}/oauth/v2/oauth-token`, {
      method: 'POST',
      headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded;charset=UTF-8', authorization: basic('orders-api-client', SECRET).replace('Basic', 'basic') },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
  });

  it('accepts client_secret_post from any secret client', async () => {
    for (const id of ['post-client', 'orders-api-client']) {
      const result = await server.token({ grant_type: 'client_credentials', client_id: id, client_secret: SECRET });
      expect(result.status).toBe(200);
    }
  });

  it('answers a wrong secret and an unknown client identically with 401 invalid_client', async () => {
    const wrong = await server.token({ grant_type: 'client_credentials' }, { id: 'orders-api-client', secret: 'not-the-secret' });
    const unknown = await server.token({ grant_type: 'client_credentials' }, { id: 'nobody', secret: 'not-the-secret' });
    expectOAuthError(wrong, 401, 'invalid_client');
    expectOAuthError(unknown, 401, 'invalid_client');
    expect(wrong.body).toEqual(unknown.body);
  });

  it('requires authentication; client_id alone does not authenticate', async () => {
    expectOAuthError(await server.token({ grant_type: 'client_credentials' }), 401, 'invalid_client');
    expectOAuthError(await server.token({ grant_type: 'client_credentials', client_id: 'orders-api-client' }), 401, 'invalid_client');
  });

  it('refuses two authentication methods at once and a mismatching body client_id', async () => {
    expectOAuthError(await server.token({ grant_type: 'client_credentials', client_secret: SECRET }, { id: 'orders-api-client', secret: SECRET }), 400, 'invalid_request');
    expectOAuthError(await server.token({ grant_type: 'client_credentials', client_id: 'post-client' }, { id: 'orders-api-client', secret: SECRET }), 400, 'invalid_request');
    const same = await server.token({ grant_type: 'client_credentials', client_id: 'orders-api-client' }, { id: 'orders-api-client', secret: SECRET });
    expect(same.status).toBe(200);
  });

  it('authenticates private_key_jwt with oauth4webapi, and refuses a replayed assertion', async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(server.issuer),
      await oauth.discoveryRequest(new URL(server.issuer), { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    );
    const c: oauth.Client = { client_id: 'jwt-client' };
    const response = await oauth.clientCredentialsGrantRequest(as, c, oauth.PrivateKeyJwt({ key: keyPair.privateKey, kid: 'jwt-client-key' }), new URLSearchParams({ scope: 'read' }), {
      [oauth.allowInsecureRequests]: true,
    });
    const tokens = await oauth.processClientCredentialsResponse(as, c, response);
    expect(tokens.token_type).toBe('bearer');

    const now = Math.floor(Date.now() / 1000);
    const assertion = await new jose.SignJWT({ jti: 'fixed-jti-1' })
      .setProtectedHeader({ alg: 'ES256', kid: 'jwt-client-key' })
      .setIssuer('jwt-client').setSubject('jwt-client').setAudience(server.issuer).setIssuedAt(now).setExpirationTime(now + 60)
      .sign(keyPair.privateKey);
    const form = { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
    expect((await server.token(form)).status).toBe(200);
    expectOAuthError(await server.token(form), 401, 'invalid_client');
    const foreignAud = await new jose.SignJWT({ jti: 'fixed-jti-2' })
      .setProtectedHeader({ alg: 'ES256', kid: 'jwt-client-key' })
      .setIssuer('jwt-client').setSubject('jwt-client').setAudience('https://elsewhere.example.com').setIssuedAt(now).setExpirationTime(now + 60)
      .sign(keyPair.privateKey);
    expectOAuthError(await server.token({ ...form, client_assertion: foreignAud }), 401, 'invalid_client');
  });

  it('checks a client assertion with the same verifier as a presented token: padding, expiry and HMAC refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = (jti: string, exp = now + 60) =>
      new jose.SignJWT({ jti })
        .setProtectedHeader({ alg: 'ES256', kid: 'jwt-client-key' })
        .setIssuer('jwt-client').setSubject('jwt-client').setAudience(server.issuer).setIssuedAt(now).setExpirationTime(exp)
        .sign(keyPair.privateKey);
    const form = (clientAssertion: string) => ({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
    });
    // jose accepted this second spelling of a valid signature; the strict parse does not.
    expectOAuthError(await server.token(form(`${await assertion('padded-1')}==`)), 401, 'invalid_client');
    expectOAuthError(await server.token(form(await assertion('expired-1', now - 3600))), 401, 'invalid_client');
    // A century-long assertion would have its jti kept for a century: refused.
    const forever = await server.token(form(await assertion('forever-1', now + 100 * 365 * 86400)));
    expectOAuthError(forever, 401, 'invalid_client');
    expect(forever.body.error_description).toBe('client_assertion may live at most 600 seconds');
    const hmac = await new jose.SignJWT({ jti: 'hmac-1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('jwt-client').setSubject('jwt-client').setAudience(server.issuer).setIssuedAt(now).setExpirationTime(now + 60)
      .sign(new TextEncoder().encode('a-secret-that-is-long-enough-for-hs256'));
    expectOAuthError(await server.token(form(hmac)), 401, 'invalid_client');
    // And a fresh, well-formed one still passes.
    expect((await server.token(form(await assertion('fine-1')))).status).toBe(200);
  });
});

describe('error catalogue', () => {
  const auth = () => ({ id: 'orders-api-client', secret: SECRET });

  it('unsupported_grant_type, invalid_request for a missing grant_type, unauthorized_client both ways', async () => {
    expectOAuthError(await server.token({ grant_type: 'password' }, auth()), 400, 'unsupported_grant_type');
    expectOAuthError(await server.token({ scope: 'read' }, auth()), 400, 'invalid_request');
    expectOAuthError(await server.token({ grant_type: 'client_credentials' }, { id: 'te-only', secret: SECRET }), 400, 'unauthorized_client');
    expectOAuthError(
      await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' }, { id: 'cc-only', secret: SECRET }),
      400,
      'unauthorized_client',
    );
  });

  it('refuses repeated parameters except resource and audience', async () => {
    const response = await fetch(`${server.origin}/oauth/v2/oauth-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('orders-api-client', SECRET) },
      body: 'grant_type=client_credentials&scope=read&scope=write',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    const twoResources = await server.token({ grant_type: 'client_credentials', resource: ['https://api.example.com', 'https://other.example.com'] }, auth());
    expect(twoResources.status).toBe(200);
    expect(jose.decodeJwt(String(twoResources.body.access_token)).aud).toEqual(['https://api.example.com', 'https://other.example.com']);
  });

  it('refuses other content types, other methods and oversized bodies', async () => {
    const json = await fetch(`${server.origin}/oauth/v2/oauth-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic('orders-api-client', SECRET) },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    expect(json.status).toBe(400);
    expect(json.headers.get('cache-control')).toBe('no-store');
    const get = await fetch(`${server.origin}/oauth/v2/oauth-token?grant_type=client_credentials`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const big = await fetch(`${server.origin}/oauth/v2/oauth-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('orders-api-client', SECRET) },
      body: `grant_type=client_credentials&pad=${'a'.repeat(70 * 1024)}`,
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toBe('invalid_request');
    expect(big.headers.get('cache-control')).toBe('no-store');
  });

  it('never reads credentials from the query string', async () => {
    const response = await fetch(`${server.origin}/oauth/v2/oauth-token?client_id=orders-api-client&client_secret=${SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(401);
  });

  it('keeps error_description within the RFC 6749 character set', async () => {
    const result = await server.token(
      { grant_type: TOKEN_EXCHANGE, subject_token: '€"\\', subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' },
      auth(),
    );
    expectOAuthError(result, 400, 'invalid_request');
  });
});

describe('discovery, JWKS and introspection', () => {
  it('serves RFC 8414 metadata at both well-known paths without empty arrays', async () => {
    for (const wellKnown of ['oauth-authorization-server', 'openid-configuration']) {
      const response = await fetch(`${server.origin}/.well-known/${wellKnown}`);
      expect(response.status).toBe(200);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(server.issuer);
      expect(metadata.token_endpoint).toBe(`${server.issuer}/oauth/v2/oauth-token`);
      expect(metadata.introspection_endpoint).toBe(`${server.issuer}/oauth/v2/oauth-introspect`);
      expect(new Set(metadata.grant_types_supported as string[])).toEqual(new Set(['client_credentials', TOKEN_EXCHANGE, 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer']));
      expect(metadata.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
      expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain('none');
      for (const value of Object.values(metadata)) if (Array.isArray(value)) expect(value.length).toBeGreaterThan(0);
      expect(metadata.response_types_supported).toBeUndefined();
    }
    expect((await fetch(`${server.origin}/.well-known/oauth-authorization-serverx`)).status).toBe(404);
  });

  it('publishes public keys only, each with kid, alg and use', async () => {
    const response = await fetch(`${server.origin}/oauth/v2/oauth-anonymous/jwks`);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const { keys } = (await response.json()) as { keys: Array<Record<string, unknown>> };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) expect(key[member]).toBeUndefined();
      expect(key).toMatchObject({ use: 'sig', alg: 'ES256' });
      expect(typeof key.kid).toBe('string');
    }
  });

  it('works with openid-client v6: discovery, client_credentials, introspection; oauth4webapi validates the token', async () => {
    const config = await client.discovery(new URL(server.issuer), 'orders-api-client', SECRET, client.ClientSecretBasic(SECRET), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read write', resource: 'https://api.example.com' });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('read write');
    const introspection = await client.tokenIntrospection(config, tokens.access_token);
    expect(introspection).toMatchObject({ active: true, client_id: 'orders-api-client', scope: 'read write', sub: 'orders-api-client', token_type: 'Bearer' });

    const as = await oauth.processDiscoveryResponse(
      new URL(server.issuer),
      await oauth.discoveryRequest(new URL(server.issuer), { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    );
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request('https://api.example.com/x', { headers: { authorization: `Bearer ${tokens.access_token}` } }),
      'https://api.example.com',
      { [oauth.allowInsecureRequests]: true },
    );
    expect(claims.client_id).toBe('orders-api-client');
  });

  it('introspects garbage, tampered and foreign tokens as exactly {active:false}, and requires client auth', async () => {
    const issued = await server.token({ grant_type: 'client_credentials' }, { id: 'orders-api-client', secret: SECRET });
    const token = String(issued.body.access_token);
    const [h, p, s] = token.split('.') as [string, string, string];
    const tamperedPayload = Buffer.from(JSON.stringify({ ...jose.decodeJwt(token), scope: 'admin' })).toString('base64url');
    const foreign = await new jose.SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256' }).setIssuer(server.issuer).setExpirationTime('5m').setIssuedAt()
      .sign((await jose.generateKeyPair('ES256')).privateKey);
    // `==` padding: a second spelling of the same signature, which the token exchange refuses too.
    for (const candidate of ['garbage', `${h}.${tamperedPayload}.${s}`, foreign, `${h}.${p}.${s}==`, `${h}.${p}=.${s}`]) {
      const response = await fetch(`${server.origin}/oauth/v2/oauth-introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('orders-api-client', SECRET) },
        body: formBody({ token: candidate, token_type_hint: 'refresh_token' }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ active: false });
    }
    expect(p.length).toBeGreaterThan(0);
    const unauthenticated = await fetch(`${server.origin}/oauth/v2/oauth-introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({ token }),
    });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toMatch(/^Basic /);
  });
});

describe('operations', () => {
  it('serves health, readiness and Prometheus metrics with token request counts', async () => {
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.origin}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    expect(metrics).toMatch(/tokenproc_token_requests_total\{grant_type="client_credentials",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/tokenproc_token_request_duration_seconds_bucket/);
    expect(metrics).toMatch(/tokenproc_procedure_duration_seconds_count\{flow="oauth-token-client-credentials"\} [1-9]/);
  });

  it('never writes secrets, tokens or Authorization headers to the log', async () => {
    const issued = await server.token({ grant_type: 'client_credentials' }, { id: 'orders-api-client', secret: SECRET });
    await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: String(issued.body.access_token), subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' }, {
      id: 'orders-api-client',
      secret: SECRET,
    });
    await new Promise((r) => setTimeout(r, 200));
    const log = server.output();
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain(ODD_SECRET);
    expect(log).not.toContain(String(issued.body.access_token));
    expect(log).not.toContain(basic('orders-api-client', SECRET).slice(6));
    expect(log).not.toContain(server.adminKey);
  });
});

describe('admin API basics', () => {
  it('requires the admin key and never returns secrets', async () => {
    const anonymous = await fetch(`${server.origin}/admin/api/v1/clients`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const listed = await server.admin('GET', '/clients');
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(SECRET);
    expect(listed.text).not.toContain('scrypt');
  });

  it('names the offending field of an invalid body', async () => {
    const result = await server.admin('PUT', '/clients/bad', clientBody({ scope: 'two  spaces' }));
    expect(result.status).toBe(400);
    expect(result.body.field).toBe('/scope');
  });

  it('generates a base64url secret when none is given, shown once', async () => {
    const created = await server.admin('PUT', '/clients/generated', clientBody());
    expect(created.status).toBe(201);
    const secret = String(created.body.client_secret);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect((await server.admin('GET', '/clients/generated')).body.client_secret).toBeUndefined();
    expect((await server.token({ grant_type: 'client_credentials' }, { id: 'generated', secret })).status).toBe(200);
  });
});

describe('restart', () => {
  it('keeps signing keys and data across a restart', async () => {
    const before = await server.token({ grant_type: 'client_credentials' }, { id: 'orders-api-client', secret: SECRET });
    const jwksBefore = await (await fetch(`${server.origin}/oauth/v2/oauth-anonymous/jwks`)).json();
    const dataDir = server.dataDir;
    const adminKey = server.adminKey;
    await server.stop({ keepData: true });
    const restarted = await startTestServer({ dataDir, adminKey, args: ['--issuer', server.issuer] });
    try {
      expect(await (await fetch(`${restarted.origin}/oauth/v2/oauth-anonymous/jwks`)).json()).toEqual(jwksBefore);
      const introspected = await fetch(`${restarted.origin}/oauth/v2/oauth-introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('orders-api-client', SECRET) },
        body: formBody({ token: String(before.body.access_token) }),
      });
      expect(((await introspected.json()) as { active: boolean }).active).toBe(true);
    } finally {
      await restarted.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
