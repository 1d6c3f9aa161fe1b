/**
 * Token lifecycle, black-box against the real server (SQLite store): refresh families (rotation,
 * reuse detection revoking the family and what derives from it), revocation (RFC 7009) along
 * exchange chains, opaque access tokens through introspection and as subject tokens, and the
 * procedure API members of refresh tokens and ID tokens. openid-client refreshes and revokes as a
 * real client would. No token value may reach the server's output.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import * as jose from 'jose';
import * as client from 'openid-client';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';
import { AT_TYPE, basic, clientBody, formBody, startTestServer, TOKEN_EXCHANGE, type HttpResult, type TestServer } from '../helpers/server.ts';

const SECRET = 'lifecycle-secret-0123456789abcdef';
const REFRESH_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';
const WEB = 'web';
const API = 'api';
const API2 = 'api2';
const OPAQUE = 'opaque-svc';
const PROC = 'proc-client';

let server: TestServer;
let idp: TestIdp;
/** Every token value this file handles: none may appear in the server output. */
const tokensSeen = new Set<string>();

function remember(result: HttpResult): HttpResult {
  for (const member of ['access_token', 'refresh_token', 'id_token']) {
    const value = result.body[member];
    if (typeof value === 'string') tokensSeen.add(value);
  }
  return result;
}

async function post(path: string, form: Record<string, string>, caller: string, secret = SECRET): Promise<HttpResult> {
  const response = await fetch(`${server.origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(caller, secret) },
    body: formBody(form),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
}

const introspect = async (token: string, caller = API2): Promise<Record<string, unknown>> => (await post('/oauth/v2/oauth-introspect', { token }, caller)).body;
const revoke = (token: string, caller: string, hint?: string): Promise<HttpResult> =>
  post('/oauth/v2/oauth-revoke', { token, ...(hint ? { token_type_hint: hint } : {}) }, caller);

async function exchange(caller: string, form: Record<string, string>): Promise<HttpResult> {
  return remember(await server.token({ grant_type: TOKEN_EXCHANGE, subject_token_type: AT_TYPE, ...form }, { id: caller, secret: SECRET }));
}

async function refresh(caller: string, refreshToken: string, form: Record<string, string> = {}): Promise<HttpResult> {
  return remember(await server.token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...form }, { id: caller, secret: SECRET }));
}

function ok(result: HttpResult): Record<string, unknown> {
  if (result.status !== 200) throw new Error(`expected 200, got ${result.status}: ${result.text}`);
  return result.body;
}

function expectError(result: HttpResult, status: number, error: string): void {
  expect({ status: result.status, error: result.body.error }).toEqual({ status, error });
}

/** A user token from the trusted IdP, meant for `aud`. */
async function userToken(aud: string, claims: Record<string, unknown> = {}): Promise<string> {
  const token = await idp.mint({ sub: 'alice', aud, scope: 'read write', ...claims });
  tokensSeen.add(token);
  return token;
}

function atHash(token: string): string {
  return crypto.createHash('sha256').update(token, 'ascii').digest().subarray(0, 16).toString('base64url');
}

const EXCHANGE_WITH_ID_TOKEN = `
function result(context) {
  var subject = context.getPresentedSubjectToken();
  var full = context.getInitializedContext(context.subjectAttributes(), context.contextAttributes(), null, ['openid', 'read']);
  var delegation = context.getPresentedSubjectTokenDelegation();
  var data = full.getDefaultAccessTokenData();
  data.sub = subject.sub;
  data.amr = ['pwd'];
  var accessToken = full.accessTokenIssuer.issue(data, delegation);
  var idTokenData = full.getDefaultIdTokenData();
  idTokenData.at_hash = full.idTokenIssuer.atHash(accessToken);
  var refreshData = full.getDefaultRefreshTokenData();
  refreshData.amr = ['pwd'];
  return {
    access_token: accessToken,
    refresh_token: full.refreshTokenIssuer.issue(refreshData, delegation),
    id_token: full.idTokenIssuer.issue(idTokenData, delegation),
    token_type: 'Bearer',
    expires_in: secondsUntil(data.exp),
    scope: 'openid read',
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  };
}`;

const REFRESH_PROCEDURE = `
function result(context) {
  var presented = context.presentedToken;
  if (presented.value !== null) throw exceptionFactory.internalServerException('the spent value must not be shown');
  var data = context.getDefaultAccessTokenData(context.delegation);
  data.refreshed_from = presented.data.sub + '/' + context.delegation.clientId;
  data.amr_seen = presented.data.amr ? presented.data.amr.join(',') : 'none';
  var accessToken = context.accessTokenIssuer.issue(data, context.delegation);
  return {
    access_token: accessToken,
    refresh_token: context.refreshTokenIssuer.issue(context.getDefaultRefreshTokenData(), context.delegation),
    token_type: 'Bearer',
    expires_in: secondsUntil(data.exp),
    scope: data.scope,
  };
}`;

/** Returns the subject token itself as refresh_token: not issued in this call, so refused. */
const RETURNS_FOREIGN_REFRESH = `
function result(context) {
  var full = context.getInitializedContext(null, null, null, ['read']);
  return {
    access_token: full.accessTokenIssuer.issue(full.getDefaultAccessTokenData(), null),
    refresh_token: context.getSubjectTokenValue(),
    token_type: 'Bearer',
  };
}`;

/** getDefaultAccessTokenJwtIssuer(): a JWT even for a client whose format is opaque. */
const JWT_ALWAYS = `
function result(context) {
  var full = context.getInitializedContext(null, null, null, ['read']);
  return { access_token: full.getDefaultAccessTokenJwtIssuer().issue(full.getDefaultAccessTokenData(), null), token_type: 'Bearer' };
}`;

beforeAll(async () => {
  [server, idp] = await Promise.all([startTestServer(), createTestIdp()]);
  const refreshGrants = [TOKEN_EXCHANGE, 'client_credentials', 'refresh_token'];
  const setup = [
    server.admin('PUT', '/trusted-issuers/idp', { issuer: idp.issuer, jwks: idp.jwks }),
    server.admin('PUT', `/clients/${WEB}`, clientBody({ client_secret: SECRET, grant_types: refreshGrants, scope: 'read write', audiences: [API], refresh_token_ttl: 3600 })),
    server.admin('PUT', `/clients/${API}`, clientBody({ client_secret: SECRET, grant_types: [TOKEN_EXCHANGE, 'client_credentials'], scope: 'read write', audiences: [API2] })),
    server.admin('PUT', `/clients/${API2}`, clientBody({ client_secret: SECRET, grant_types: [TOKEN_EXCHANGE], scope: 'read write' })),
    server.admin('PUT', `/clients/${OPAQUE}`, clientBody({ client_secret: SECRET, grant_types: refreshGrants, scope: 'read write', audiences: [API], access_token_format: 'opaque' })),
    server.admin('PUT', '/procedures/with-id-token', { flow: 'oauth-token-oauth-token-exchange', source: EXCHANGE_WITH_ID_TOKEN }),
    server.admin('PUT', '/procedures/custom-refresh', { flow: 'oauth-token-refresh', source: REFRESH_PROCEDURE }),
    server.admin('PUT', '/procedures/foreign-refresh', { flow: 'oauth-token-oauth-token-exchange', source: RETURNS_FOREIGN_REFRESH }),
    server.admin('PUT', '/procedures/jwt-always', { flow: 'oauth-token-oauth-token-exchange', source: JWT_ALWAYS }),
  ];
  for (const result of await Promise.all(setup)) if (result.status >= 300) throw new Error(`setup failed: ${result.status} ${result.text}`);
  const procClients = [
    server.admin('PUT', `/clients/${PROC}`, clientBody({
      client_secret: SECRET,
      grant_types: refreshGrants,
      scope: 'openid read write',
      procedures: { 'oauth-token-oauth-token-exchange': 'with-id-token', 'oauth-token-refresh': 'custom-refresh' },
    })),
    server.admin('PUT', '/clients/foreign-refresh', clientBody({ client_secret: SECRET, grant_types: refreshGrants, procedures: { 'oauth-token-oauth-token-exchange': 'foreign-refresh' } })),
    server.admin('PUT', '/clients/opaque-jwt', clientBody({ client_secret: SECRET, access_token_format: 'opaque', procedures: { 'oauth-token-oauth-token-exchange': 'jwt-always' } })),
  ];
  for (const result of await Promise.all(procClients)) if (result.status >= 300) throw new Error(`setup failed: ${result.status} ${result.text}`);
}, 60_000);

afterAll(async () => {
  const output = server.output();
  await server.stop();
  const leaked = [...tokensSeen].filter((token) => output.includes(token));
  expect(leaked).toEqual([]);
});

describe('metadata and client members', () => {
  it('names the revocation endpoint and the refresh_token grant; the admin API keeps the new client members', async () => {
    const metadata = (await (await fetch(`${server.origin}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.revocation_endpoint).toBe(`${server.issuer}/oauth/v2/oauth-revoke`);
    expect(metadata.revocation_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
    expect(metadata.grant_types_supported).toContain('refresh_token');
    const openid = (await (await fetch(`${server.origin}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(openid.revocation_endpoint).toBe(metadata.revocation_endpoint);
    expect((await server.admin('GET', `/clients/${OPAQUE}`)).body).toMatchObject({ access_token_format: 'opaque' });
    expect((await server.admin('GET', `/clients/${WEB}`)).body).toMatchObject({ refresh_token_ttl: 3600 });
    const bad = await server.admin('PUT', '/clients/bad-format', clientBody({ client_secret: SECRET, access_token_format: 'paseto' }));
    expect(bad.status).toBe(400);
  });
});

describe('refresh families', () => {
  it('rotates on every use; reuse of a spent token is invalid_grant and revokes the family and its access tokens', async () => {
    const issued = ok(await exchange(WEB, { subject_token: await userToken(WEB) }));
    expect(typeof issued.refresh_token).toBe('string');
    const first = String(issued.refresh_token);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const sibling = String(issued.access_token);
    expect(jose.decodeJwt(sibling).tkp_chain).toEqual(expect.arrayContaining([expect.stringMatching(/^rf\./)]));
    expect(await introspect(first)).toMatchObject({ active: true, client_id: WEB, sub: 'alice', scope: 'read write' });

    // Narrowing is allowed; the next refresh token keeps the family's scope.
    const second = ok(await refresh(WEB, first, { scope: 'read' }));
    expect(second).toMatchObject({ token_type: 'Bearer', scope: 'read' });
    expect(second.refresh_token).not.toBe(first);
    const refreshed = String(second.access_token);
    expect(jose.decodeJwt(refreshed)).toMatchObject({ sub: 'alice', client_id: WEB, scope: 'read' });
    expect(await introspect(String(second.refresh_token))).toMatchObject({ active: true, scope: 'read write' });
    expectError(await refresh(WEB, String(second.refresh_token), { scope: 'read admin' }), 400, 'invalid_scope');

    // The spent one is inactive; presenting it again revokes the whole family.
    expect(await introspect(first)).toEqual({ active: false });
    expect(await introspect(refreshed)).toMatchObject({ active: true });
    const reuse = await refresh(WEB, first);
    expectError(reuse, 400, 'invalid_grant');
    expect(String(reuse.body.error_description)).toMatch(/already used/);
    expectError(await refresh(WEB, String(second.refresh_token)), 400, 'invalid_grant');
    expect(await introspect(String(second.refresh_token))).toEqual({ active: false });
    expect(await introspect(refreshed)).toEqual({ active: false });
    expect(await introspect(sibling)).toEqual({ active: false });
    expectError(await exchange(API, { subject_token: refreshed }), 400, 'invalid_request');
  });

  it('refuses a refresh token of another client (invalid_grant) without spending it', async () => {
    const issued = ok(await exchange(WEB, { subject_token: await userToken(WEB) }));
    const token = String(issued.refresh_token);
    expectError(await refresh(OPAQUE, token), 400, 'invalid_grant');
    expectError(await refresh(API, token), 400, 'unauthorized_client');
    expect(ok(await refresh(WEB, token)).refresh_token).toEqual(expect.any(String));
  });

  it('issues no refresh token with an actor, and refuses requested_token_type refresh_token then', async () => {
    const subject = await userToken(WEB, { may_act: { sub: 'svc' } });
    const actor = await userToken(WEB, { sub: 'svc', client_id: WEB });
    const delegated = ok(await exchange(WEB, { subject_token: subject, actor_token: actor, actor_token_type: AT_TYPE }));
    expect(jose.decodeJwt(String(delegated.access_token)).act).toMatchObject({ sub: 'svc' });
    expect(delegated.refresh_token).toBeUndefined();
    const refused = await exchange(WEB, { subject_token: subject, actor_token: actor, actor_token_type: AT_TYPE, requested_token_type: REFRESH_TYPE });
    expectError(refused, 400, 'invalid_request');
    // A subject that already carries `act` is delegated too.
    const viaDelegated = await exchange(API, { subject_token: String(delegated.access_token) });
    expect(ok(viaDelegated).refresh_token).toBeUndefined();
  });

  it('issues the refresh token as the issued token for requested_token_type refresh_token', async () => {
    const result = ok(await exchange(WEB, { subject_token: await userToken(WEB), requested_token_type: REFRESH_TYPE }));
    expect(result).toMatchObject({ issued_token_type: REFRESH_TYPE, token_type: 'N_A', scope: 'read write' });
    expect(result.refresh_token).toBeUndefined();
    expect(Number(result.expires_in)).toBeGreaterThan(3500);
    const used = ok(await refresh(WEB, String(result.access_token)));
    expect(jose.decodeJwt(String(used.access_token))).toMatchObject({ sub: 'alice', client_id: WEB });
  });

  it('works with openid-client: refresh, then revoke the refresh token, which ends the family', async () => {
    const config = await client.discovery(new URL(server.issuer), WEB, SECRET, client.ClientSecretBasic(SECRET), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    const issued = ok(await exchange(WEB, { subject_token: await userToken(WEB) }));
    const tokens = await client.refreshTokenGrant(config, String(issued.refresh_token));
    remember({ status: 200, headers: new Headers(), text: '', body: { ...tokens } });
    expect(tokens.token_type).toBe('bearer');
    expect(typeof tokens.refresh_token).toBe('string');
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    await client.tokenRevocation(config, String(tokens.refresh_token), { token_type_hint: 'refresh_token' });
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(client.refreshTokenGrant(config, String(tokens.refresh_token))).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('revocation along the exchange chain', () => {
  it('revoking an ancestor makes a two-hop chain inactive and unusable as a subject', async () => {
    const first = ok(await exchange(WEB, { subject_token: await userToken(WEB), audience: API }));
    const hop1 = String(first.access_token);
    const hop2 = String(ok(await exchange(API, { subject_token: hop1, audience: API2 })).access_token);
    const hop3 = String(ok(await exchange(API2, { subject_token: hop2 })).access_token);
    const hop1Id = String(jose.decodeJwt(hop1).jti);
    expect(jose.decodeJwt(hop3).tkp_chain).toEqual(expect.arrayContaining([hop1Id, String(jose.decodeJwt(hop2).jti)]));
    for (const token of [hop1, hop2, hop3]) expect(await introspect(token)).toMatchObject({ active: true });

    // Another client cannot revoke it: refused, and the token stays active (RFC 7009 §2.1).
    const refused = await revoke(hop1, API);
    expectError(refused, 400, 'unauthorized_client');
    expect(await introspect(hop1)).toMatchObject({ active: true });

    expect((await revoke(hop1, WEB)).status).toBe(200);
    for (const token of [hop1, hop2, hop3]) expect(await introspect(token)).toEqual({ active: false });
    const reused = await exchange(API2, { subject_token: hop2 });
    expectError(reused, 400, 'invalid_request');
    expect(String(reused.body.error_description)).toMatch(/revoked/);
    // The refresh token of the same exchange does not derive from the access token: it still works.
    expect(ok(await refresh(WEB, String(first.refresh_token))).access_token).toEqual(expect.any(String));
  });

  it('answers 200 for unknown tokens and repeated revocations; needs client authentication', async () => {
    expect((await revoke('not-a-token', WEB)).status).toBe(200);
    expect((await revoke('a.b.c', WEB, 'access_token')).status).toBe(200);
    const token = String(ok(await exchange(WEB, { subject_token: await userToken(WEB) })).access_token);
    expect((await revoke(token, WEB, 'refresh_token')).status).toBe(200);
    expect((await revoke(token, WEB)).status).toBe(200);
    expect(await introspect(token)).toEqual({ active: false });
    expectError(await post('/oauth/v2/oauth-revoke', { token }, WEB, 'wrong-secret-0123456789'), 401, 'invalid_client');
    const missing = await post('/oauth/v2/oauth-revoke', {}, WEB);
    expectError(missing, 400, 'invalid_request');
  });
});

describe('opaque access tokens', () => {
  it('are random references resolved by introspection, usable as subject tokens, and revocable with their descendants', async () => {
    const issued = ok(remember(await server.token({ grant_type: 'client_credentials', scope: 'read' }, { id: OPAQUE, secret: SECRET })));
    const opaque = String(issued.access_token);
    expect(opaque).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(issued).toMatchObject({ token_type: 'Bearer', scope: 'read' });
    const claims = await introspect(opaque);
    expect(claims).toMatchObject({ active: true, client_id: OPAQUE, sub: OPAQUE, aud: API, scope: 'read', token_type: 'Bearer', iss: server.issuer });

    const derived = ok(await exchange(API, { subject_token: opaque, audience: API2 }));
    const derivedClaims = jose.decodeJwt(String(derived.access_token));
    expect(derivedClaims).toMatchObject({ sub: OPAQUE, client_id: API, aud: API2 });
    expect(derivedClaims.tkp_chain).toContain(claims.jti);
    // Meant for api, not for api2.
    expectError(await exchange(API2, { subject_token: opaque }), 400, 'invalid_request');

    expectError(await revoke(opaque, API), 400, 'unauthorized_client');
    expect((await revoke(opaque, OPAQUE)).status).toBe(200);
    expect(await introspect(opaque)).toEqual({ active: false });
    expect(await introspect(String(derived.access_token))).toEqual({ active: false });
    expectError(await exchange(API, { subject_token: opaque }), 400, 'invalid_request');
  });

  it('the exchange and the refresh grant issue the client\u2019s format; getDefaultAccessTokenJwtIssuer stays a JWT', async () => {
    const subject = await userToken(OPAQUE);
    const issued = ok(await exchange(OPAQUE, { subject_token: subject }));
    expect(String(issued.access_token)).not.toContain('.');
    const refreshed = ok(await refresh(OPAQUE, String(issued.refresh_token)));
    expect(String(refreshed.access_token)).not.toContain('.');
    expect(await introspect(String(refreshed.access_token))).toMatchObject({ active: true, sub: 'alice', client_id: OPAQUE });
    // requested_token_type jwt uses jwtIssuer: a JWT whatever the format.
    const jwt = ok(await exchange(OPAQUE, { subject_token: subject, requested_token_type: 'urn:ietf:params:oauth:token-type:jwt' }));
    expect(jose.decodeJwt(String(jwt.access_token)).sub).toBe('alice');
    const always = ok(await exchange('opaque-jwt', { subject_token: await userToken('opaque-jwt') }));
    expect(jose.decodeJwt(String(always.access_token))).toMatchObject({ sub: 'alice', client_id: 'opaque-jwt' });
  });
});

describe('procedure API for refresh and ID tokens', () => {
  it('a procedure issues a refresh token and an ID token whose at_hash matches the access token', async () => {
    const result = ok(await exchange(PROC, { subject_token: await userToken(PROC, { scope: 'openid read' }) }));
    const accessToken = String(result.access_token);
    const idToken = jose.decodeJwt(String(result.id_token));
    expect(idToken).toMatchObject({ sub: 'alice', azp: PROC, at_hash: atHash(accessToken) });
    expect(typeof result.refresh_token).toBe('string');

    // The client's oauth-token-refresh procedure sees the presented token's data and the delegation.
    const refreshed = ok(await refresh(PROC, String(result.refresh_token), { scope: 'read' }));
    expect(jose.decodeJwt(String(refreshed.access_token))).toMatchObject({ sub: 'alice', scope: 'read', refreshed_from: `alice/${PROC}`, amr_seen: 'pwd' });
    expect(ok(await refresh(PROC, String(refreshed.refresh_token))).access_token).toEqual(expect.any(String));
  });

  it('a refresh_token the procedure did not issue in this call is refused', async () => {
    const result = await exchange('foreign-refresh', { subject_token: await userToken('foreign-refresh', { scope: 'read' }) });
    expectError(result, 500, 'server_error');
    expect(result.body.error_description).toBe('The token procedure returned a refresh_token this request did not issue');
  });
});
