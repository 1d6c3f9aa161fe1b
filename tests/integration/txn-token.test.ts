/**
 * Transaction tokens (draft-ietf-oauth-transaction-tokens-10), black-box through the HTTP API: the
 * Txn-Token request and response, what the issued token carries, the subject token types
 * (self_signed against the client's jwks, Txn-Tokens for a replacement, unsigned JSON refused), the
 * JSON parameters, procedures deciding tctx, the host's invariants whatever a procedure returns, the
 * client member accepted_audiences, and "meant for the caller" that no procedure can forge.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';
import { AT_TYPE, clientBody, JWT_TYPE, REPO_ROOT, startTestServer, TOKEN_EXCHANGE, type HttpResult, type TestServer } from '../helpers/server.ts';

const SECRET = 'txn-secret-0123456789abcdef-xyz';
const TRUST_DOMAIN = 'trust-domain.example';
const TXN_TYPE = 'urn:ietf:params:oauth:token-type:txn_token';
const SELF_SIGNED_TYPE = 'urn:ietf:params:oauth:token-type:self_signed';
const UNSIGNED_JSON_TYPE = 'urn:ietf:params:oauth:token-type:unsigned_json';
const GATEWAY = 'gateway';
const PAYMENTS = 'payments';
const WORKLOAD = 'batch-workload';
const ORDERS_API = 'orders-api';
const ORDERS_URI = 'https://orders.example.com';

type KeyPair = Awaited<ReturnType<typeof jose.generateKeyPair>>;

let server: TestServer;
let idp: TestIdp;
let workloadKeys: KeyPair;
let otherKeys: KeyPair;
/** Every token value sent or received: none may appear in the server's output. */
const tokensSeen = new Set<string>();

const auth = (id: string) => ({ id, secret: SECRET });

function remember(result: HttpResult): HttpResult {
  if (typeof result.body.access_token === 'string') tokensSeen.add(result.body.access_token);
  return result;
}

async function userToken(claims: Record<string, unknown> = {}): Promise<string> {
  const token = await idp.mint({ sub: 'alice', aud: GATEWAY, scope: 'orders.read orders.pay', ...claims });
  tokensSeen.add(token);
  return token;
}

/** A Txn-Token request (token exchange, requested_token_type txn_token) by `caller`. */
async function txnRequest(caller: string, form: Record<string, string | string[]>): Promise<HttpResult> {
  if (typeof form.subject_token === 'string') tokensSeen.add(form.subject_token);
  return remember(
    await server.token({ grant_type: TOKEN_EXCHANGE, subject_token_type: AT_TYPE, requested_token_type: TXN_TYPE, scope: 'orders.pay', ...form }, auth(caller)),
  );
}

function expectError(result: HttpResult, status: number, error: string): void {
  expect({ status: result.status, error: result.body.error }).toEqual({ status, error });
}

/** 200 with a Txn-Token: the response per the draft; answers the token's header and claims. */
function expectTxnToken(result: HttpResult): { header: jose.ProtectedHeaderParameters; claims: jose.JWTPayload } {
  if (result.status !== 200) throw new Error(`expected 200, got ${result.status}: ${result.text}`);
  expect(result.body.token_type).toBe('N_A');
  expect(result.body.issued_token_type).toBe(TXN_TYPE);
  expect(result.body).not.toHaveProperty('refresh_token');
  expect(result.headers.get('cache-control')).toBe('no-store');
  const token = String(result.body.access_token);
  return { header: jose.decodeProtectedHeader(token), claims: jose.decodeJwt(token) };
}

async function selfSigned(claims: Record<string, unknown>, keys: KeyPair = workloadKeys, lifetime = 60): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ iss: WORKLOAD, sub: 'alice', aud: server.issuer, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'workload-key' })
    .setIssuedAt(now)
    .setExpirationTime(now + lifetime)
    .sign(keys.privateKey);
  tokensSeen.add(token);
  return token;
}

/** The workload authenticates with private_key_jwt (a client with jwks does). */
async function workloadAuth(): Promise<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new jose.SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: 'workload-key' })
    .setIssuer(WORKLOAD).setSubject(WORKLOAD).setAudience(server.issuer).setIssuedAt(now).setExpirationTime(now + 60)
    .sign(workloadKeys.privateKey);
  return { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
}

async function putProcedure(id: string, source: string): Promise<void> {
  const result = await server.admin('PUT', `/procedures/${id}`, { flow: 'oauth-token-oauth-token-exchange', source });
  if (result.status >= 300) throw new Error(`procedure ${id}: ${result.status} ${result.text}`);
}

async function putClient(id: string, overrides: Record<string, unknown>): Promise<HttpResult> {
  return server.admin('PUT', `/clients/${id}`, clientBody({ client_secret: SECRET, ...overrides }));
}

beforeAll(async () => {
  [server, idp, workloadKeys, otherKeys] = await Promise.all([
    startTestServer({ env: { TOKENPROC_TRUST_DOMAIN: TRUST_DOMAIN } }),
    createTestIdp(),
    jose.generateKeyPair('ES256', { extractable: true }),
    jose.generateKeyPair('ES256', { extractable: true }),
  ]);
  const workloadJwk = { ...(await jose.exportJWK(workloadKeys.publicKey)), kid: 'workload-key', alg: 'ES256', use: 'sig' };
  await putProcedure('gateway-txn', readFileSync(path.join(REPO_ROOT, 'procedures/examples/txn-token-gateway.js'), 'utf8'));
  const registrations = [
    server.admin('PUT', '/trusted-issuers/idp', { issuer: idp.issuer, jwks: idp.jwks }),
    // The gateway may also refresh: a Txn-Token response still never carries a refresh token.
    putClient(GATEWAY, { scope: 'orders.read orders.pay', grant_types: [TOKEN_EXCHANGE, 'refresh_token'] }),
    putClient(PAYMENTS, { scope: 'orders.read orders.pay' }),
    putClient('narrow', { scope: 'orders.read' }),
    putClient('shop', { scope: 'orders.read orders.pay', procedures: { 'oauth-token-oauth-token-exchange': 'gateway-txn' } }),
    server.admin('PUT', `/clients/${WORKLOAD}`, clientBody({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [workloadJwk] }, scope: 'orders.read reports' })),
  ];
  for (const result of await Promise.all(registrations)) expect([200, 201]).toContain(result.status);
});

afterAll(async () => {
  await server?.stop();
});

describe('Txn-Token issuance (draft §Txn-Token Request, §Txn-Token Response, §JWT Body Claims)', () => {
  it('issues a Txn-Token: typ txntoken+jwt, the required claims, N_A, no refresh token', async () => {
    const before = Math.floor(Date.now() / 1000);
    const result = await txnRequest(GATEWAY, { subject_token: await userToken(), audience: TRUST_DOMAIN });
    const { header, claims } = expectTxnToken(result);
    expect(header.typ).toBe('txntoken+jwt');
    expect(claims).toMatchObject({ aud: TRUST_DOMAIN, sub: 'alice', scope: 'orders.pay', req_wl: GATEWAY, iss: server.issuer });
    expect(claims.txn).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.iat).toBeGreaterThanOrEqual(before - 1);
    expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(300);
    expect(result.body.expires_in).toBeLessThanOrEqual(300);
    expect(result.body.scope).toBe('orders.pay');
  });

  it('gives every Txn-Token its own txn', async () => {
    const subject = await userToken();
    const txns = new Set<unknown>();
    for (let i = 0; i < 3; i++) txns.add(expectTxnToken(await txnRequest(GATEWAY, { subject_token: subject })).claims.txn);
    expect(txns.size).toBe(3);
  });

  it('audience, when sent, must be the trust domain (invalid_target otherwise)', async () => {
    const subject = await userToken();
    expectError(await txnRequest(GATEWAY, { subject_token: subject, audience: 'https://orders.example.com' }), 400, 'invalid_target');
    expectError(await txnRequest(GATEWAY, { subject_token: subject, audience: [TRUST_DOMAIN, 'other'] }), 400, 'invalid_target');
    expectError(await txnRequest(GATEWAY, { subject_token: subject, resource: 'https://orders.example.com/' }), 400, 'invalid_target');
    expect(expectTxnToken(await txnRequest(GATEWAY, { subject_token: subject })).claims.aud).toBe(TRUST_DOMAIN);
  });

  it('scope is required and never wider than the subject\'s or the client\'s', async () => {
    expectError(await txnRequest(GATEWAY, { subject_token: await userToken(), scope: '' }), 400, 'invalid_request');
    expectError(await txnRequest(GATEWAY, { subject_token: await userToken({ scope: 'orders.read' }), scope: 'orders.pay' }), 400, 'invalid_scope');
    expectError(await txnRequest('narrow', { subject_token: await userToken({ aud: 'narrow' }), scope: 'orders.pay' }), 400, 'invalid_scope');
    // draft §Unknown subject_token scope: a subject without a scope is never treated as unconstrained.
    expectError(await txnRequest(GATEWAY, { subject_token: await userToken({ scope: undefined }) }), 400, 'invalid_scope');
    expect(expectTxnToken(await txnRequest(GATEWAY, { subject_token: await userToken(), scope: 'orders.read' })).claims.scope).toBe('orders.read');
  });

  it('request_context and request_details must be JSON objects; the default puts them in rctx (with req_ip) and tctx', async () => {
    const subject = await userToken();
    for (const bad of ['[1,2]', '"text"', '42', 'null', '{not json', '{"a":1,"a":2}']) {
      expectError(await txnRequest(GATEWAY, { subject_token: subject, request_details: bad }), 400, 'invalid_request');
      expectError(await txnRequest(GATEWAY, { subject_token: subject, request_context: bad }), 400, 'invalid_request');
    }
    const { claims } = expectTxnToken(
      await txnRequest(GATEWAY, {
        subject_token: subject,
        request_details: JSON.stringify({ action: 'BUY', ticker: 'MSFT', quantity: '100' }),
        request_context: JSON.stringify({ authn: 'face', req_ip: '203.0.113.9' }),
      }),
    );
    expect(claims.tctx).toEqual({ action: 'BUY', ticker: 'MSFT', quantity: '100' });
    expect(claims.rctx).toMatchObject({ authn: 'face' });
    // req_ip is the caller's address as the server saw it, whatever the request said.
    expect(String((claims.rctx as Record<string, unknown>).req_ip)).toMatch(/127\.0\.0\.1$/);
  });

  it('takes no actor token, and answers no refresh token even to a client allowed one', async () => {
    const subject = await userToken();
    expectError(await txnRequest(GATEWAY, { subject_token: subject, actor_token: subject, actor_token_type: AT_TYPE }), 400, 'invalid_request');
    expect(expectTxnToken(await txnRequest(GATEWAY, { subject_token: subject })).claims).not.toHaveProperty('refresh_token');
  });
});

describe('subject token types (draft §Subject Token Types)', () => {
  it('a self-signed JWT verified against the calling client\'s jwks is a subject', async () => {
    const subject = await selfSigned({ scope: 'orders.read' });
    const result = remember(
      await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: SELF_SIGNED_TYPE, requested_token_type: TXN_TYPE, scope: 'orders.read', ...(await workloadAuth()) }),
    );
    expect(expectTxnToken(result).claims).toMatchObject({ sub: 'alice', req_wl: WORKLOAD, scope: 'orders.read', aud: TRUST_DOMAIN });
  });

  it('a self-signed JWT without scope stands for the client\'s scope, no more', async () => {
    const form = async (scope: string) => ({
      grant_type: TOKEN_EXCHANGE, subject_token: await selfSigned({}), subject_token_type: SELF_SIGNED_TYPE, requested_token_type: TXN_TYPE, scope, ...(await workloadAuth()),
    });
    expect(expectTxnToken(remember(await server.token(await form('reports')))).claims.scope).toBe('reports');
    expectError(await server.token(await form('orders.pay')), 400, 'invalid_scope');
  });

  it('refuses a self-signed JWT signed by another key, addressed elsewhere, or long-lived', async () => {
    const attempt = async (subject: string) =>
      server.token({ grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: SELF_SIGNED_TYPE, requested_token_type: TXN_TYPE, scope: 'orders.read', ...(await workloadAuth()) });
    const otherKey = await attempt(await selfSigned({}, otherKeys));
    expectError(otherKey, 400, 'invalid_request');
    expect(otherKey.body.error_description).toMatch(/not signed by a key of this client/);
    expectError(await attempt(await selfSigned({ aud: 'https://elsewhere.example.com' })), 400, 'invalid_request');
    expectError(await attempt(await selfSigned({}, workloadKeys, 3600)), 400, 'invalid_request');
    // A client without jwks has nothing to verify a self-signed JWT with.
    expectError(await txnRequest(GATEWAY, { subject_token: await selfSigned({}), subject_token_type: SELF_SIGNED_TYPE }), 400, 'invalid_request');
  });

  it('refuses unsigned JSON subjects, and unsigned (alg none) JWTs', async () => {
    expectError(await txnRequest(GATEWAY, { subject_token: JSON.stringify({ sub: 'alice' }), subject_token_type: UNSIGNED_JSON_TYPE }), 400, 'invalid_request');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: GATEWAY, sub: 'alice', aud: server.issuer })).toString('base64url')}.`;
    expectError(await txnRequest(GATEWAY, { subject_token: none, subject_token_type: SELF_SIGNED_TYPE }), 400, 'invalid_request');
    expectError(await txnRequest(GATEWAY, { subject_token: none }), 400, 'invalid_request');
  });

  it('self-signed and Txn-Token subjects are exchanged only for a Txn-Token', async () => {
    const txnToken = String((await txnRequest(GATEWAY, { subject_token: await userToken() })).body.access_token);
    expectError(await txnRequest(PAYMENTS, { subject_token: txnToken, subject_token_type: TXN_TYPE, requested_token_type: AT_TYPE }), 400, 'invalid_request');
    const selfSignedForAccess = await server.token({
      grant_type: TOKEN_EXCHANGE, subject_token: await selfSigned({}), subject_token_type: SELF_SIGNED_TYPE, ...(await workloadAuth()),
    });
    expectError(selfSignedForAccess, 400, 'invalid_request');
  });
});

describe('replacement Txn-Tokens (draft §Txn-Token as a subject_token)', () => {
  it('keeps txn, sub, aud and tctx; the scope may narrow, never widen', async () => {
    const original = await txnRequest(GATEWAY, {
      subject_token: await userToken(),
      scope: 'orders.read orders.pay',
      request_details: JSON.stringify({ order_id: 'ord-1', amount: 10 }),
    });
    const first = expectTxnToken(original).claims;
    const replaced = expectTxnToken(
      await txnRequest(PAYMENTS, { subject_token: String(original.body.access_token), subject_token_type: TXN_TYPE, scope: 'orders.pay', request_details: JSON.stringify({ order_id: 'ord-666' }) }),
    ).claims;
    expect(replaced).toMatchObject({ txn: first.txn, sub: first.sub, aud: first.aud, tctx: first.tctx, scope: 'orders.pay', req_wl: PAYMENTS });
    expect(replaced.tctx).toEqual({ order_id: 'ord-1', amount: 10 });
    const narrow = await txnRequest(PAYMENTS, { subject_token: String(original.body.access_token), subject_token_type: TXN_TYPE, scope: 'orders.read' });
    const narrowed = await txnRequest(PAYMENTS, { subject_token: String(narrow.body.access_token), subject_token_type: TXN_TYPE, scope: 'orders.pay' });
    expectError(narrowed, 400, 'invalid_scope');
  });

  it('a Txn-Token is never accepted as an access token, nor an access token as a Txn-Token', async () => {
    const txnToken = String((await txnRequest(GATEWAY, { subject_token: await userToken() })).body.access_token);
    for (const type of [AT_TYPE, JWT_TYPE]) {
      const asAccess = await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: txnToken, subject_token_type: type }, auth(GATEWAY));
      expectError(asAccess, 400, 'invalid_request');
      expect(asAccess.body.error_description).toMatch(/wrong typ/);
    }
    const accessToken = await userToken({ aud: TRUST_DOMAIN });
    expectError(await txnRequest(PAYMENTS, { subject_token: accessToken, subject_token_type: TXN_TYPE }), 400, 'invalid_request');
    // An actor must be a real token too.
    const subject = await userToken();
    expectError(await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: AT_TYPE, actor_token: txnToken, actor_token_type: AT_TYPE }, auth(GATEWAY)), 400, 'invalid_request');
  });
});

describe('procedures decide tctx; the host enforces the rules whatever they return', () => {
  it('the worked example puts the order id and amount from request_details into tctx', async () => {
    const { claims } = expectTxnToken(
      await txnRequest('shop', { subject_token: await userToken({ aud: 'shop' }), request_details: JSON.stringify({ order_id: 'ord-1001', amount: 129.5, card: '4111' }) }),
    );
    expect(claims.tctx).toEqual({ order_id: 'ord-1001', amount: 129.5, currency: 'EUR' });
    expect(claims.req_wl).toBe('shop');
    expectError(await txnRequest('shop', { subject_token: await userToken({ aud: 'shop' }), request_details: JSON.stringify({ order_id: 'x', amount: 1 }) }), 400, 'invalid_request');
  });

  it('aud, txn, req_wl, iat are the host\'s and exp is capped at 300 s, whatever the procedure sets', async () => {
    await putProcedure('txn-liar', `function result(context) {
      var full = context.getInitializedContext(null, null, [], context.getRequestedScopes());
      var data = full.getDefaultTransactionTokenData();
      data.aud = 'https://evil.example'; data.txn = 'fixed'; data.req_wl = 'someone-else'; data.iat = 1; data.exp = data.exp + 86400;
      data.tctx = { decided: 'by the procedure' };
      return { access_token: full.transactionTokenIssuer.issue(data), token_type: 'Bearer', issued_token_type: 'x', expires_in: 99999 };
    }`);
    expect((await putClient('liar', { scope: 'orders.pay', procedures: { 'oauth-token-oauth-token-exchange': 'txn-liar' } })).status).toBeLessThan(300);
    const result = await txnRequest('liar', { subject_token: await userToken({ aud: 'liar' }) });
    const { claims } = expectTxnToken(result);
    expect(claims).toMatchObject({ aud: TRUST_DOMAIN, req_wl: 'liar', tctx: { decided: 'by the procedure' } });
    expect(claims.txn).not.toBe('fixed');
    expect((claims.exp as number) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(301);
    expect(result.body.expires_in).toBeLessThanOrEqual(300);
  });

  it('refuses a Txn-Token that carries the subject token, a replacement that changes tctx, and an access token answered to a Txn-Token request', async () => {
    await putProcedure('txn-bad', `function result(context) {
      var full = context.getInitializedContext(null, null, [], context.getRequestedScopes());
      var data = full.getDefaultTransactionTokenData();
      var mode = context.request.getFormParameter('mode');
      if (mode === 'leak') data.tctx = { token: context.getSubjectTokenValue() };
      if (mode === 'tctx') data.tctx = { order_id: 'changed' };
      if (mode === 'access') return { access_token: full.accessTokenIssuer.issue(full.getDefaultAccessTokenData()), token_type: 'Bearer' };
      return { access_token: full.transactionTokenIssuer.issue(data), token_type: 'N_A' };
    }`);
    expect((await putClient('bad', { scope: 'orders.pay', procedures: { 'oauth-token-oauth-token-exchange': 'txn-bad' } })).status).toBeLessThan(300);
    const subject = await userToken({ aud: 'bad' });
    expectError(await txnRequest('bad', { subject_token: subject, mode: 'leak' }), 500, 'server_error');
    expectError(await txnRequest('bad', { subject_token: subject, mode: 'access' }), 500, 'server_error');
    const original = String((await txnRequest(GATEWAY, { subject_token: await userToken(), request_details: '{"order_id":"o-1"}' })).body.access_token);
    expectError(await txnRequest('bad', { subject_token: original, subject_token_type: TXN_TYPE, mode: 'tctx' }), 500, 'server_error');
    expectTxnToken(await txnRequest('bad', { subject_token: original, subject_token_type: TXN_TYPE }));
  });

  it('transactionTokenIssuer is refused outside a Txn-Token request', async () => {
    await putProcedure('txn-sneaky', `function result(context) {
      var full = context.getInitializedContext(null, null, [], context.getRequestedScopes());
      return { access_token: full.transactionTokenIssuer.issue({ sub: 'alice', scope: 'orders.pay' }), token_type: 'N_A' };
    }`);
    expect((await putClient('sneaky', { scope: 'orders.pay', procedures: { 'oauth-token-oauth-token-exchange': 'txn-sneaky' } })).status).toBeLessThan(300);
    const result = await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: await userToken({ aud: 'sneaky' }), subject_token_type: AT_TYPE, scope: 'orders.pay' }, auth('sneaky'));
    expectError(result, 400, 'invalid_request');
  });
});

describe('accepted_audiences and "meant for the caller"', () => {
  it('a token addressed to the API URI is accepted by a client that lists it in accepted_audiences', async () => {
    const forApi = await userToken({ aud: ORDERS_URI, scope: 'orders.read' });
    expect((await putClient(ORDERS_API, { scope: 'orders.read' })).status).toBeLessThan(300);
    const refused = await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: forApi, subject_token_type: AT_TYPE }, auth(ORDERS_API));
    expectError(refused, 400, 'invalid_request');
    expect(refused.body.error_description).toMatch(/not meant for this client/);
    expect((await putClient(ORDERS_API, { scope: 'orders.read', accepted_audiences: [ORDERS_URI] })).status).toBeLessThan(300);
    const accepted = remember(await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: forApi, subject_token_type: AT_TYPE }, auth(ORDERS_API)));
    expect(accepted.status).toBe(200);
    expect((await server.admin('GET', `/clients/${ORDERS_API}`)).body.accepted_audiences).toEqual([ORDERS_URI]);
    // The configuration document (export/import) carries it too.
    const exported = await server.admin('GET', '/config');
    expect(exported.status).toBe(200);
    const clients = exported.body.clients as Array<Record<string, unknown>>;
    expect(clients.find((c) => c.client_id === ORDERS_API)?.accepted_audiences).toEqual([ORDERS_URI]);
  });

  it('the admin API validates accepted_audiences', async () => {
    for (const bad of ['https://orders.example.com', [''], [1], ['a', 'a']]) {
      const result = await putClient('bad-audiences', { accepted_audiences: bad });
      expect(result.status).toBe(400);
    }
  });

  it('a procedure cannot make a token meant for another client by setting client_id', async () => {
    await putProcedure('spoof', `function result(context) {
      var full = context.getInitializedContext(null, null, ['https://api.example'], []);
      var data = full.getDefaultAccessTokenData();
      data.sub = 'admin'; data.client_id = 'te-default'; data.azp = 'te-default';
      return { access_token: full.accessTokenIssuer.issue(data), token_type: 'Bearer' };
    }`);
    expect((await putClient('h-spoof', { scope: '', audiences: ['https://api.example'], procedures: { 'oauth-token-oauth-token-exchange': 'spoof' } })).status).toBeLessThan(300);
    expect((await putClient('te-default', { scope: 'read', audiences: ['https://te.example'] })).status).toBeLessThan(300);
    const minted = remember(await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: await userToken({ aud: 'h-spoof' }), subject_token_type: AT_TYPE }, auth('h-spoof')));
    expect(minted.status).toBe(200);
    const claims = jose.decodeJwt(String(minted.body.access_token));
    expect(claims).toMatchObject({ client_id: 'te-default', tkp_client: 'h-spoof' });
    const reused = await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: String(minted.body.access_token), subject_token_type: AT_TYPE }, auth('te-default'));
    expectError(reused, 400, 'invalid_request');
    expect(reused.body.error_description).toMatch(/not meant for this client/);
    // The client that asked for it may exchange it again: the host recorded it as the requester.
    expect((await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: String(minted.body.access_token), subject_token_type: AT_TYPE }, auth('h-spoof'))).status).toBe(200);
  });

  it('a procedure cannot set act, may_act or cnf that the presented tokens do not carry', async () => {
    await putProcedure('forger', `function result(context) {
      var full = context.getInitializedContext(null, null, [], context.getRequestedScopes());
      var data = full.getDefaultAccessTokenData();
      var what = context.request.getFormParameter('forge');
      if (what === 'act') data.act = { sub: 'someone-trusted' };
      if (what === 'may_act') data.may_act = { sub: 'attacker' };
      if (what === 'cnf') data.cnf = { jkt: 'attacker-key-thumbprint' };
      if (what === 'kept') { data.act = context.getPresentedSubjectToken().act; data.cnf = context.getPresentedSubjectToken().cnf; }
      return { access_token: full.accessTokenIssuer.issue(data), token_type: 'Bearer' };
    }`);
    expect((await putClient('forger', { scope: 'orders.read', procedures: { 'oauth-token-oauth-token-exchange': 'forger' } })).status).toBeLessThan(300);
    const subject = await userToken({ aud: 'forger', scope: 'orders.read', act: { sub: 'gateway-svc' }, cnf: { jkt: 'subject-key' } });
    for (const forge of ['act', 'may_act', 'cnf']) {
      const result = await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: AT_TYPE, forge }, auth('forger'));
      expectError(result, 500, 'server_error');
    }
    const kept = remember(await server.token({ grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: AT_TYPE, forge: 'kept' }, auth('forger')));
    expect(kept.status).toBe(200);
    expect(jose.decodeJwt(String(kept.body.access_token))).toMatchObject({ act: { sub: 'gateway-svc' }, cnf: { jkt: 'subject-key' } });
  });
});

describe('metadata and logs', () => {
  it('the metadata advertises the txn_token type and the trust domain', async () => {
    const response = await fetch(`${server.origin}/.well-known/oauth-authorization-server`);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata.requested_token_types_supported).toContain(TXN_TYPE);
    expect(metadata.subject_token_types_supported).toEqual(expect.arrayContaining([TXN_TYPE, SELF_SIGNED_TYPE]));
    expect(metadata.txn_token_trust_domain).toBe(TRUST_DOMAIN);
  });

  it('no token value (Txn-Tokens included) ever reaches the log', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const output = server.output();
    expect(output).toContain('token exchange');
    for (const token of tokensSeen) expect(output.includes(token)).toBe(false);
  });
});
