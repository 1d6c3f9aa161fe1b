/**
 * RFC 8693 token exchange, black-box against the real server with the built-in default procedure:
 * the rfc-checklist sections E (request), F (response), G (error codes) and H (act, may_act,
 * client_id, scope), delegation chains, and the one structured log line per exchange.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';
import {
  AT_TYPE,
  basic,
  clientBody,
  formBody,
  ID_TOKEN_TYPE,
  JWT_TYPE,
  startTestServer,
  TOKEN_EXCHANGE,
  type HttpResult,
  type TestServer,
} from '../helpers/server.ts';

const SECRET = 'exchange-secret-0123456789abcdef';
const A = 'api-a';
const B = 'api-b';
const C = 'api-c';
const B_AUDIENCES = ['https://api.example.com', 'https://a.test/api?tenant=1', 'https://b2.example.com', 'backend', C];
const REFRESH_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';

let server: TestServer;
let idp: TestIdp;
/** Every token value this file sends or receives: none may appear in the server output. */
const tokensSeen = new Set<string>();

const auth = (id: string) => ({ id, secret: SECRET });

function remember(result: HttpResult): HttpResult {
  if (typeof result.body.access_token === 'string') tokensSeen.add(result.body.access_token);
  return result;
}

function expectNoStore(headers: Headers): void {
  expect(headers.get('cache-control')).toBe('no-store');
  expect(headers.get('pragma')).toBe('no-cache');
}

/** 200 with the no-store headers; returns the decoded claims of the issued token. */
function expectIssued(result: HttpResult): jose.JWTPayload {
  if (result.status !== 200) throw new Error(`expected 200, got ${result.status}: ${result.text}`);
  expectNoStore(result.headers);
  expect(result.headers.get('content-type')).toMatch(/^application\/json/);
  expect(typeof result.body.access_token).toBe('string');
  expect(result.body.refresh_token).toBeUndefined();
  return jose.decodeJwt(String(result.body.access_token));
}

function expectError(result: HttpResult, status: number, error: string): void {
  expect({ status: result.status, error: result.body.error }).toEqual({ status, error });
  expect(String(result.body.error_description ?? '')).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/);
  expectNoStore(result.headers);
  if (status === 401) expect(result.headers.get('www-authenticate')).toMatch(/^Basic /);
}

/** A user token from the trusted IdP, meant for B unless the claims say otherwise. */
async function userToken(claims: Record<string, unknown> = {}, options: { typ?: string; expiresIn?: number } = {}): Promise<string> {
  const token = await idp.mint({ sub: 'alice', aud: B, client_id: 'web-app', scope: 'read write orders', ...claims }, options);
  tokensSeen.add(token);
  return token;
}

/** An actor token from the IdP for a service, meant for `caller`. */
async function serviceToken(sub: string, caller: string, claims: Record<string, unknown> = {}): Promise<string> {
  return userToken({ sub, aud: caller, client_id: caller, scope: 'read', ...claims });
}

async function exchange(caller: string, form: Record<string, string | string[]>): Promise<HttpResult> {
  for (const name of ['subject_token', 'actor_token']) {
    const value = form[name];
    if (typeof value === 'string' && value.length >= 20) tokensSeen.add(value);
  }
  return remember(await server.token({ grant_type: TOKEN_EXCHANGE, subject_token_type: AT_TYPE, ...form }, auth(caller)));
}

async function clientCredentials(caller: string, form: Record<string, string> = {}): Promise<string> {
  const result = remember(await server.token({ grant_type: 'client_credentials', ...form }, auth(caller)));
  expect(result.status).toBe(200);
  return String(result.body.access_token);
}

async function introspect(token: string, caller: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.origin}/oauth/v2/oauth-introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(caller, SECRET) },
    body: formBody({ token }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

function actDepth(claims: Record<string, unknown>): number {
  let depth = 0;
  for (let act = claims.act as Record<string, unknown> | undefined; act && depth < 20; act = act.act as Record<string, unknown> | undefined) depth++;
  return depth;
}

/** `{sub, act: {sub, act: ...}}` for the given subs, outermost first. */
function nestedAct(subs: readonly string[]): Record<string, unknown> | undefined {
  let act: Record<string, unknown> | undefined;
  for (const sub of [...subs].reverse()) act = act ? { sub, act } : { sub };
  return act;
}

beforeAll(async () => {
  [server, idp] = await Promise.all([startTestServer(), createTestIdp()]);
  const registrations = [
    server.admin('PUT', '/trusted-issuers/idp', { issuer: idp.issuer, jwks: idp.jwks }),
    server.admin('PUT', `/clients/${A}`, clientBody({ client_secret: SECRET, grant_types: ['client_credentials'], scope: 'read write', audiences: [B] })),
    server.admin('PUT', `/clients/${B}`, clientBody({ client_secret: SECRET, scope: 'read write orders admin', audiences: B_AUDIENCES })),
    server.admin('PUT', `/clients/${C}`, clientBody({ client_secret: SECRET, scope: 'read write', audiences: ['https://c.example.com'] })),
    server.admin('PUT', '/clients/stranger', clientBody({ client_secret: SECRET, scope: 'read', audiences: ['https://stranger.example.com'] })),
    server.admin('PUT', '/clients/cc-only', clientBody({ client_secret: SECRET, grant_types: ['client_credentials'] })),
  ];
  for (const result of await Promise.all(registrations)) expect([200, 201]).toContain(result.status);
});

afterAll(async () => {
  await server?.stop();
});

describe('E. token-exchange request (RFC 8693 §2.1)', () => {
  it('40: a valid exchange of a trusted user token is issued', async () => {
    const claims = expectIssued(await exchange(B, { subject_token: await userToken() }));
    expect(claims).toMatchObject({ iss: server.issuer, sub: 'alice', client_id: B, scope: 'read write orders' });
    expect(claims.aud).toEqual(B_AUDIENCES);
  });

  it('41: subject_token is required (an empty value counts as absent)', async () => {
    expectError(await exchange(B, {}), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: '' }), 400, 'invalid_request');
  });

  it('42: subject_token_type is required and must be supported', async () => {
    const subject = await userToken();
    expectError(await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: subject }, auth(B)), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: subject, subject_token_type: REFRESH_TYPE }), 400, 'invalid_request');
  });

  it('43: actor_token_type goes with actor_token and only with it; empty values are absent', async () => {
    const subject = await userToken();
    const actor = await serviceToken('svc-b', B);
    expectError(await exchange(B, { subject_token: subject, actor_token: actor }), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: subject, actor_token_type: AT_TYPE }), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: subject, actor_token: actor, actor_token_type: 'urn:ietf:params:oauth:token-type:saml1' }), 400, 'invalid_request');
    expectIssued(await exchange(B, { subject_token: subject, actor_token_type: '' }));
    expectIssued(await exchange(B, { subject_token: subject, actor_token: actor, actor_token_type: AT_TYPE }));
  });

  it('44: resource is an absolute URI without a fragment; a query is fine', async () => {
    const subject = await userToken();
    for (const resource of ['/api', 'https://a.test/#f', 'notauri']) {
      expectError(await exchange(B, { subject_token: subject, resource }), 400, 'invalid_target');
    }
    const claims = expectIssued(await exchange(B, { subject_token: subject, resource: 'https://a.test/api?tenant=1' }));
    expect(claims.aud).toBe('https://a.test/api?tenant=1');
  });

  it('45: several resource and audience values all end up in aud', async () => {
    const subject = await userToken();
    const two = expectIssued(await exchange(B, { subject_token: subject, resource: ['https://api.example.com', 'https://b2.example.com'] }));
    expect(two.aud).toEqual(['https://api.example.com', 'https://b2.example.com']);
    const mixed = expectIssued(await exchange(B, { subject_token: subject, resource: 'https://api.example.com', audience: 'backend' }));
    expect(mixed.aud).toEqual(['https://api.example.com', 'backend']);
  });

  it('46: a known logical audience is issued; an unknown one is invalid_target', async () => {
    const subject = await userToken();
    expect(expectIssued(await exchange(B, { subject_token: subject, audience: 'backend' })).aud).toBe('backend');
    expectError(await exchange(B, { subject_token: subject, audience: 'nobody-knows-this' }), 400, 'invalid_target');
  });

  it('47: a resource this server knows but the client may not target is invalid_target', async () => {
    const subject = await userToken();
    expectError(await exchange(B, { subject_token: subject, resource: 'https://stranger.example.com' }), 400, 'invalid_target');
    expectError(await exchange(B, { subject_token: subject, resource: ['https://api.example.com', 'https://stranger.example.com'] }), 400, 'invalid_target');
  });

  it('48: scope within subject ∩ client is granted; anything else is invalid_scope', async () => {
    const subject = await userToken({ scope: 'read write' });
    expect(expectIssued(await exchange(B, { subject_token: subject, scope: 'write' })).scope).toBe('write');
    // admin: the client may have it, the subject does not.
    expectError(await exchange(B, { subject_token: subject, scope: 'read admin' }), 400, 'invalid_scope');
    // delete: neither has it.
    expectError(await exchange(B, { subject_token: subject, scope: 'delete' }), 400, 'invalid_scope');
    // C may not have orders even though the subject does.
    const forC = await userToken({ aud: C, scope: 'read orders' });
    expectError(await exchange(C, { subject_token: forC, scope: 'orders' }), 400, 'invalid_scope');
    expect(expectIssued(await exchange(C, { subject_token: forC })).scope).toBe('read');
  });

  it('49: requested_token_type access_token, jwt, omitted; unsupported refused, refresh_token refused to a client without the refresh_token grant', async () => {
    const subject = await userToken();
    const omitted = await exchange(B, { subject_token: subject });
    expectIssued(omitted);
    expect(omitted.body).toMatchObject({ issued_token_type: AT_TYPE, token_type: 'Bearer' });
    const access = await exchange(B, { subject_token: subject, requested_token_type: AT_TYPE });
    expectIssued(access);
    expect(access.body).toMatchObject({ issued_token_type: AT_TYPE, token_type: 'Bearer' });
    const jwt = await exchange(B, { subject_token: subject, requested_token_type: JWT_TYPE });
    expectIssued(jwt);
    expect(jwt.body).toMatchObject({ issued_token_type: JWT_TYPE, token_type: 'N_A' });
    expectError(await exchange(B, { subject_token: subject, requested_token_type: 'urn:ietf:params:oauth:token-type:saml1' }), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: subject, requested_token_type: REFRESH_TYPE }), 400, 'unauthorized_client');
  });

  it('50: tokens are validated by their declared type', async () => {
    const idToken = await userToken({}, { typ: 'JWT' });
    expectError(await exchange(B, { subject_token: idToken }), 400, 'invalid_request');
    expectIssued(await exchange(B, { subject_token: idToken, subject_token_type: JWT_TYPE }));
    // A JWT this server issued as `jwt` (typ JWT) is not an access token.
    const jwt = await exchange(B, { subject_token: await userToken(), requested_token_type: JWT_TYPE });
    expectIssued(jwt);
    expect(jose.decodeProtectedHeader(String(jwt.body.access_token)).typ).toBe('JWT');
    expectError(await exchange(B, { subject_token: String(jwt.body.access_token) }), 400, 'invalid_request');
    expectIssued(await exchange(B, { subject_token: String(jwt.body.access_token), subject_token_type: JWT_TYPE }));
  });

  it('51: an exchange does not consume its subject token', async () => {
    const subject = await clientCredentials(A, { audience: B });
    const first = expectIssued(await exchange(B, { subject_token: subject }));
    const second = expectIssued(await exchange(B, { subject_token: subject }));
    expect(first.jti).not.toBe(second.jti);
    expect(first).toMatchObject({ sub: A, client_id: B, scope: 'read write' });
    expect(await introspect(subject, B)).toMatchObject({ active: true, sub: A, client_id: A });
  });

  it('52: a subject token not meant for the caller is invalid_request', async () => {
    const forSomeoneElse = await userToken({ aud: 'https://elsewhere.example.com', client_id: 'web-app' });
    expectError(await exchange(B, { subject_token: forSomeoneElse }), 400, 'invalid_request');
    const forC = await userToken({ aud: C });
    expectError(await exchange(B, { subject_token: forC }), 400, 'invalid_request');
    // Meant for B through its client_id claim alone.
    expectIssued(await exchange(B, { subject_token: await userToken({ aud: 'https://elsewhere.example.com', client_id: B }) }));
  });

  it('53: more than 4 resource and audience values are invalid_target', async () => {
    const subject = await userToken();
    expectIssued(await exchange(B, { subject_token: subject, resource: ['https://api.example.com', 'https://b2.example.com'], audience: ['backend', C] }));
    expectError(
      await exchange(B, { subject_token: subject, resource: ['https://api.example.com', 'https://b2.example.com', 'https://a.test/api?tenant=1'], audience: ['backend', C] }),
      400,
      'invalid_target',
    );
  });
});

describe('F. token-exchange response (RFC 8693 §2.2.1)', () => {
  it('54-56: access_token is a string, issued_token_type and token_type match what was issued', async () => {
    const subject = await userToken();
    const cases: Array<[string | undefined, string, string, string]> = [
      [undefined, AT_TYPE, 'Bearer', 'at+jwt'],
      [JWT_TYPE, JWT_TYPE, 'N_A', 'JWT'],
      [ID_TOKEN_TYPE, ID_TOKEN_TYPE, 'N_A', 'JWT'],
    ];
    for (const [requested, issuedType, tokenType, typ] of cases) {
      const result = await exchange(B, { subject_token: subject, ...(requested ? { requested_token_type: requested } : {}) });
      expectIssued(result);
      expect(result.body).toMatchObject({ issued_token_type: issuedType, token_type: tokenType });
      expect(jose.decodeProtectedHeader(String(result.body.access_token)).typ).toBe(typ);
    }
  });

  it('57: expires_in is the issued lifetime', async () => {
    const result = await exchange(B, { subject_token: await userToken() });
    const claims = expectIssued(result);
    expect(typeof result.body.expires_in).toBe('number');
    expect(Math.abs(Number(result.body.expires_in) - ((claims.exp ?? 0) - (claims.iat ?? 0)))).toBeLessThanOrEqual(1);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);
  });

  it('58: scope is in the response and matches the issued token', async () => {
    const subject = await userToken({ scope: 'read write' });
    const narrowed = await exchange(B, { subject_token: subject, scope: 'read' });
    expect(expectIssued(narrowed).scope).toBe('read');
    expect(narrowed.body.scope).toBe('read');
    // Nothing requested: granted subject ∩ client, and the response says so.
    const whole = await exchange(B, { subject_token: subject });
    expect(expectIssued(whole).scope).toBe('read write');
    expect(whole.body.scope).toBe('read write');
  });

  it('59: no refresh_token is issued to a client without the refresh_token grant', async () => {
    const result = await exchange(B, { subject_token: await userToken() });
    expectIssued(result);
    expect(Object.keys(result.body)).not.toContain('refresh_token');
  });

  it('60: the lifetime never grows beyond the subject token or the configured maximum', async () => {
    const subject = await userToken({}, { expiresIn: 120 });
    const subjectExp = Number(jose.decodeJwt(subject).exp);
    const result = await exchange(B, { subject_token: subject });
    const claims = expectIssued(result);
    expect(claims.exp).toBeLessThanOrEqual(subjectExp);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(120);
    expect(Number(result.body.expires_in)).toBeLessThanOrEqual(120);
    expect(Number(result.body.expires_in)).toBeGreaterThan(0);
  });

  it('61: success and error responses carry Cache-Control: no-store and Pragma: no-cache', async () => {
    expectIssued(await exchange(B, { subject_token: await userToken() }));
    expectError(await exchange(B, { subject_token: 'not-a-token' }), 400, 'invalid_request');
  });
});

describe('G. error codes of token exchange', () => {
  it('62: invalid_request for invalid tokens, missing or repeated parameters and bad type pairings', async () => {
    const subject = await userToken();
    expectError(await exchange(B, { subject_token: [subject, subject] }), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: subject, subject_token_type: [AT_TYPE, JWT_TYPE] }), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: `${subject.slice(0, -4)}AAAA` }), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: subject, subject_token_type: ID_TOKEN_TYPE }), 400, 'invalid_request');
  });

  it('63: invalid_client with a challenge for missing or wrong credentials', async () => {
    const form = { grant_type: TOKEN_EXCHANGE, subject_token: await userToken(), subject_token_type: AT_TYPE };
    expectError(await server.token(form), 401, 'invalid_client');
    expectError(await server.token(form, { id: B, secret: 'wrong-secret' }), 401, 'invalid_client');
    expectError(await server.token({ ...form, client_id: B }), 401, 'invalid_client');
  });

  it('64: a bad subject or actor token is never invalid_grant', async () => {
    const subject = await userToken();
    const bad = [
      await exchange(B, { subject_token: 'opaque-value' }),
      await exchange(B, { subject_token: await userToken({ aud: C }) }),
      await exchange(B, { subject_token: subject, actor_token: 'opaque-value', actor_token_type: AT_TYPE }),
      await exchange(B, { subject_token: subject, actor_token: await serviceToken('svc-b', C), actor_token_type: AT_TYPE }),
    ];
    for (const result of bad) {
      expect(result.body.error).not.toBe('invalid_grant');
      expectError(result, 400, 'invalid_request');
    }
  });

  it('65: unauthorized_client for a client without the token-exchange grant', async () => {
    expectError(await exchange('cc-only', { subject_token: await userToken({ aud: 'cc-only' }) }), 400, 'unauthorized_client');
  });

  it('66: unsupported_grant_type', async () => {
    expectError(await server.token({ grant_type: 'urn:x', subject_token: await userToken(), subject_token_type: AT_TYPE }, auth(B)), 400, 'unsupported_grant_type');
  });

  it('67: invalid_scope for a scope the subject does not carry', async () => {
    expectError(await exchange(B, { subject_token: await userToken({ scope: 'read' }), scope: 'orders' }), 400, 'invalid_scope');
  });

  it('68: invalid_target for a target outside the client audiences', async () => {
    expectError(await exchange(B, { subject_token: await userToken(), audience: 'https://c.example.com' }), 400, 'invalid_target');
  });
});

describe('H. act, may_act, client_id and scope (RFC 8693 §4)', () => {
  it('69: delegation puts the actor in act (with iss for an external actor)', async () => {
    const subject = await userToken();
    const external = expectIssued(await exchange(B, { subject_token: subject, actor_token: await serviceToken('svc-b', B), actor_token_type: AT_TYPE }));
    expect(external.act).toEqual({ sub: 'svc-b', client_id: B, iss: idp.issuer });
    expect(external.sub).toBe('alice');
    const own = await clientCredentials(B);
    const delegated = expectIssued(await exchange(B, { subject_token: subject, actor_token: own, actor_token_type: AT_TYPE }));
    expect(delegated.act).toEqual({ sub: B, client_id: B, iss: server.issuer });
  });

  it('70: an existing chain nests under the new actor', async () => {
    const subject = await userToken({ act: { sub: 'svc-a' } });
    const claims = expectIssued(await exchange(B, { subject_token: subject, actor_token: await serviceToken('svc-b', B), actor_token_type: AT_TYPE }));
    expect(claims.act).toEqual({ sub: 'svc-b', client_id: B, iss: idp.issuer, act: { sub: 'svc-a' } });
  });

  it('71: act holds identity members only', async () => {
    const actor = await serviceToken('svc-b', B, { scope: 'read', may_act: { sub: 'x' }, nbf: Math.floor(Date.now() / 1000) - 10, extra: 'y' });
    const claims = expectIssued(await exchange(B, { subject_token: await userToken(), actor_token: actor, actor_token_type: AT_TYPE }));
    expect(Object.keys(claims.act as object).sort()).toEqual(['client_id', 'iss', 'sub']);
  });

  it('72: policy looks at top-level claims and the current actor only', async () => {
    const subject = await userToken({ scope: 'read', act: { sub: 'x', act: { sub: 'admin', scope: 'admin' } } });
    expectError(await exchange(B, { subject_token: subject, scope: 'admin' }), 400, 'invalid_scope');
    const claims = expectIssued(await exchange(B, { subject_token: subject }));
    expect(claims.scope).toBe('read');
  });

  it('73: impersonation issues no act', async () => {
    const claims = expectIssued(await exchange(B, { subject_token: await userToken() }));
    expect(claims).not.toHaveProperty('act');
    expect(claims.sub).toBe('alice');
  });

  it('74: may_act is enforced for the actor, and for the caller without one', async () => {
    const subject = await userToken({ may_act: { sub: 'svc-b' } });
    const allowed = expectIssued(await exchange(B, { subject_token: subject, actor_token: await serviceToken('svc-b', B), actor_token_type: AT_TYPE }));
    expect(allowed.act).toMatchObject({ sub: 'svc-b' });
    expect(allowed).not.toHaveProperty('may_act');
    expectError(await exchange(B, { subject_token: subject, actor_token: await serviceToken('svc-c', B), actor_token_type: AT_TYPE }), 400, 'invalid_request');
    expectError(await exchange(B, { subject_token: subject }), 400, 'invalid_request');
    // may_act naming the caller allows impersonation by that caller.
    expectIssued(await exchange(B, { subject_token: await userToken({ may_act: { client_id: B } }) }));
  });

  it('75: may_act is identity only: an expired exp inside it changes nothing', async () => {
    const subject = await userToken({ may_act: { sub: 'svc-b', exp: 1 } });
    expectIssued(await exchange(B, { subject_token: subject, actor_token: await serviceToken('svc-b', B), actor_token_type: AT_TYPE }));
  });

  it('76: client_id is the requesting client, not the subject token client', async () => {
    const claims = expectIssued(await exchange(B, { subject_token: await userToken({ client_id: 'web-app' }) }));
    expect(claims.client_id).toBe(B);
  });

  it('77: scope is one space-separated string even when the subject sent an array', async () => {
    const claims = expectIssued(await exchange(B, { subject_token: await userToken({ scope: ['read', 'write'] }) }));
    expect(claims.scope).toBe('read write');
  });

  it('78/109: introspection of a delegated token shows act, client_id and scope', async () => {
    const result = await exchange(B, { subject_token: await userToken(), actor_token: await serviceToken('svc-b', B), actor_token_type: AT_TYPE, scope: 'read' });
    const claims = expectIssued(result);
    const introspected = await introspect(String(result.body.access_token), C);
    expect(introspected).toMatchObject({ active: true, sub: 'alice', client_id: B, scope: 'read', iss: server.issuer, token_type: 'Bearer', jti: claims.jti });
    expect(introspected.act).toEqual(claims.act);
    expect(introspected.exp).toBe(claims.exp);
  });

  it('109: claims carried over from a subject never override the introspection answer', async () => {
    const result = await exchange(B, { subject_token: await userToken({ active: false, token_type: 'N_A' }) });
    const claims = expectIssued(result);
    expect(claims.active).toBe(false);
    expect(await introspect(String(result.body.access_token), C)).toMatchObject({ active: true, token_type: 'Bearer', sub: 'alice' });
  });
});

describe('delegation chains with the default procedure', () => {
  it('three hops: A → B (actor B) → C (actor C) nests act as C{B}', async () => {
    const fromA = await clientCredentials(A, { audience: B });
    const actorB = await clientCredentials(B);
    const hop1 = await exchange(B, { subject_token: fromA, actor_token: actorB, actor_token_type: AT_TYPE, audience: C });
    const t1 = expectIssued(hop1);
    expect(t1).toMatchObject({ sub: A, client_id: B, aud: C, act: { sub: B, client_id: B, iss: server.issuer } });

    const actorC = await clientCredentials(C);
    const hop2 = await exchange(C, { subject_token: String(hop1.body.access_token), actor_token: actorC, actor_token_type: AT_TYPE });
    const t2 = expectIssued(hop2);
    expect(t2.sub).toBe(A);
    expect(t2.client_id).toBe(C);
    expect(t2.scope).toBe('read write');
    expect(t2.act).toEqual({ sub: C, client_id: C, iss: server.issuer, act: { sub: B, client_id: B, iss: server.issuer } });
    expect((await introspect(String(hop2.body.access_token), A)).act).toEqual(t2.act);
  });

  it('the chain is at most 5 deep', async () => {
    const actor = await serviceToken('svc-new', B);
    const four = await userToken({ act: nestedAct(['s1', 's2', 's3', 's4']) });
    const claims = expectIssued(await exchange(B, { subject_token: four, actor_token: actor, actor_token_type: AT_TYPE }));
    expect(actDepth(claims)).toBe(5);
    const five = await userToken({ act: nestedAct(['s1', 's2', 's3', 's4', 's5']) });
    expectError(await exchange(B, { subject_token: five, actor_token: actor, actor_token_type: AT_TYPE }), 400, 'invalid_request');
  });

  it('no actor appears twice in a chain', async () => {
    const actor = await serviceToken('svc-b', B);
    for (const act of [{ sub: 'svc-b', iss: idp.issuer }, { sub: 'svc-x', act: { sub: 'svc-b' } }]) {
      expectError(await exchange(B, { subject_token: await userToken({ act }), actor_token: actor, actor_token_type: AT_TYPE }), 400, 'invalid_request');
    }
  });

  it('downscoping only: requested ∩ subject ∩ client', async () => {
    const subject = await userToken({ scope: 'read orders' });
    expect(expectIssued(await exchange(B, { subject_token: subject })).scope).toBe('read orders');
    expect(expectIssued(await exchange(B, { subject_token: subject, scope: 'orders' })).scope).toBe('orders');
    expectError(await exchange(B, { subject_token: subject, scope: 'orders write' }), 400, 'invalid_scope');
  });

  it('requested_token_type jwt and id_token are N_A tokens with typ JWT', async () => {
    const subject = await userToken();
    for (const type of [JWT_TYPE, ID_TOKEN_TYPE]) {
      const result = await exchange(B, { subject_token: subject, requested_token_type: type, audience: 'backend' });
      const claims = expectIssued(result);
      expect(result.body).toMatchObject({ issued_token_type: type, token_type: 'N_A' });
      expect(jose.decodeProtectedHeader(String(result.body.access_token)).typ).toBe('JWT');
      expect(claims).toMatchObject({ sub: 'alice', aud: 'backend', iss: server.issuer });
    }
  });

  it('the exchanged token verifies against the JWKS and keeps the lifetime within the subject', async () => {
    const subject = await userToken({}, { expiresIn: 90 });
    const result = await exchange(B, { subject_token: subject, resource: 'https://api.example.com' });
    expectIssued(result);
    const jwks = jose.createRemoteJWKSet(new URL(`${server.origin}/oauth/v2/oauth-anonymous/jwks`));
    const { payload } = await jose.jwtVerify(String(result.body.access_token), jwks, { issuer: server.issuer, audience: 'https://api.example.com', typ: 'at+jwt' });
    expect(payload.exp).toBeLessThanOrEqual(Number(jose.decodeJwt(subject).exp));
  });
});

describe('observability', () => {
  async function exchangeLogLine(subject: string): Promise<Record<string, unknown>> {
    // The child's stdout reaches us asynchronously: wait (bounded) for the line to arrive.
    for (let attempt = 0; attempt < 100; attempt++) {
      for (const line of server.output().split('\n')) {
        if (!line.includes('"token_exchange"')) continue;
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          if (record.event === 'token_exchange' && record.subject === subject) return record;
        } catch {
          // a partial line
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no token_exchange log line for ${subject}`);
  }

  it('logs one structured line per exchange: client, subject, actor, scopes, outcome', async () => {
    const issued = await exchange(B, {
      subject_token: await userToken({ sub: 'log-subject-1', scope: 'read write' }),
      actor_token: await serviceToken('log-actor-1', B),
      actor_token_type: AT_TYPE,
      scope: 'read',
    });
    expectIssued(issued);
    expect(await exchangeLogLine('log-subject-1')).toMatchObject({
      client_id: B,
      subject: 'log-subject-1',
      actor: 'log-actor-1',
      requested_scope: 'read',
      granted_scope: 'read',
      outcome: 'issued',
    });

    expectError(await exchange(B, { subject_token: await userToken({ sub: 'log-subject-2', scope: 'read' }), scope: 'write' }), 400, 'invalid_scope');
    expect(await exchangeLogLine('log-subject-2')).toMatchObject({
      client_id: B,
      subject: 'log-subject-2',
      actor: null,
      requested_scope: 'write',
      granted_scope: null,
      outcome: 'invalid_scope',
    });
    const lines = server.output().split('\n').filter((line) => line.includes('"token_exchange"') && line.includes('log-subject-1'));
    expect(lines).toHaveLength(1);
  });

  it('never writes a subject, actor or issued token value to the output', async () => {
    const output = server.output();
    expect(tokensSeen.size).toBeGreaterThan(20);
    for (const token of tokensSeen) {
      expect(output.includes(token)).toBe(false);
      // Neither the signature nor the payload part alone.
      const [, payload, signature] = token.split('.');
      if (signature) expect(output.includes(signature)).toBe(false);
      if (payload && payload.length > 40) expect(output.includes(payload)).toBe(false);
    }
  });
});
