/**
 * The built-in default procedures (procedures/defaults/), run through the engine with a host that
 * validates and signs like the server.
 */
import { describe, expect, it } from '@jest/globals';
import { loadDefaultProcedure } from '../../sandbox/default-procedures.ts';
import type { ProcedureOutcome } from '../../sandbox/types.ts';
import {
  ISSUER,
  TOKEN_TYPE_ACCESS,
  TOKEN_TYPE_ID,
  TOKEN_TYPE_JWT,
  TestHost,
  clientCredentialsInput,
  createSigningKey,
  decodeJwt,
  nowSeconds,
  recordingSink,
  testClient,
  tokenExchangeInput,
  engineForTests,
} from './test-host.ts';
import type { TestClient, TokenExchangeSpec } from './test-host.ts';

const TOKEN_EXCHANGE = loadDefaultProcedure('oauth-token-oauth-token-exchange');
const CLIENT_CREDENTIALS = loadDefaultProcedure('oauth-token-client-credentials');
const key = createSigningKey();
const engine = engineForTests();

const INVOICING = 'https://invoicing.example.com';
const ordersClient = (overrides: Partial<TestClient> = {}) =>
  testClient({ id: 'orders-api-client', scope: 'invoicing trigger_invoicing', audiences: [INVOICING], ...overrides });

function subject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: 'alice',
    iss: ISSUER,
    aud: 'orders-api-client',
    scope: 'invoicing trigger_invoicing openid',
    client_id: 'web-app',
    department: 'finance',
    iat: nowSeconds() - 10,
    nbf: nowSeconds() - 10,
    exp: nowSeconds() + 3600,
    jti: 'subject-jti',
    ...overrides,
  };
}
const actor = (overrides: Record<string, unknown> = {}) => ({
  sub: 'orders-service',
  client_id: 'orders-api-client',
  iss: ISSUER,
  scope: 'orders',
  aud: 'orders-api-client',
  exp: nowSeconds() + 600,
  ...overrides,
});

type Spec = Partial<TokenExchangeSpec> & { subjectClaims?: Record<string, unknown> };

async function exchange(spec: Spec = {}) {
  const client = spec.client ?? ordersClient();
  const host = new TestHost(key, client);
  const input = tokenExchangeInput(key, { ...spec, client, subject: spec.subject ?? { claims: spec.subjectClaims ?? subject() } });
  const outcome = await engine.run(TOKEN_EXCHANGE, input, host, { requestId: 'req-default', log: recordingSink().sink });
  return { host, outcome, claims: host.issued[0]?.claims };
}

function body(outcome: ProcedureOutcome): Record<string, unknown> {
  if (outcome.kind !== 'response') throw new Error(`expected a response, got ${JSON.stringify(outcome)}`);
  return outcome.body;
}

function expectInvalid(outcome: ProcedureOutcome, error: string, descriptionPart: string): void {
  expect(outcome).toMatchObject({ kind: 'oauth_error', error, status: 400 });
  if (outcome.kind === 'oauth_error') expect(outcome.description).toContain(descriptionPart);
}

describe('default token-exchange procedure', () => {
  it('impersonates: same sub, no act, caller as client_id, subject claims carried over', async () => {
    const { host, outcome, claims } = await exchange();
    const response = body(outcome);
    expect(decodeJwt(String(response['access_token']), key).verified).toBe(true);
    expect(response).toMatchObject({ issued_token_type: TOKEN_TYPE_ACCESS, token_type: 'Bearer', scope: 'invoicing trigger_invoicing' });
    expect(claims).toMatchObject({ sub: 'alice', client_id: 'orders-api-client', department: 'finance', aud: [INVOICING] });
    expect(claims).not.toHaveProperty('act');
    expect(claims!['jti']).not.toBe('subject-jti');
    expect(host.issued[0]!.kind).toBe('access_token');
    expect(host.issueCalls[0]!.data).not.toHaveProperty('may_act');
    expect(host.issueCalls[0]!.data).not.toHaveProperty('nbf');
  });

  it('keeps the subject token act untouched when impersonating', async () => {
    const { claims } = await exchange({ subjectClaims: subject({ act: { sub: 'gateway' } }) });
    expect(claims!['act']).toEqual({ sub: 'gateway' });
  });

  it('delegates: act holds only the actor identity', async () => {
    const { outcome, claims } = await exchange({ actor: { claims: actor({ department: 'ops' }) } });
    body(outcome);
    expect(claims!['sub']).toBe('alice');
    expect(claims!['act']).toEqual({ sub: 'orders-service', client_id: 'orders-api-client', iss: ISSUER });
  });

  it('nests the subject token act inside the new actor', async () => {
    const { claims } = await exchange({ subjectClaims: subject({ act: { sub: 'gateway', act: { sub: 'edge' } } }), actor: { claims: actor() } });
    expect(claims!['act']).toEqual({
      sub: 'orders-service',
      client_id: 'orders-api-client',
      iss: ISSUER,
      act: { sub: 'gateway', act: { sub: 'edge' } },
    });
  });

  it('accepts an actor that may_act names and refuses one it does not', async () => {
    const allowed = await exchange({ subjectClaims: subject({ may_act: { sub: 'orders-service', iss: ISSUER } }), actor: { claims: actor() } });
    expect(allowed.claims!['act']).toMatchObject({ sub: 'orders-service' });
    expect(allowed.claims).not.toHaveProperty('may_act');

    const otherSub = await exchange({ subjectClaims: subject({ may_act: { sub: 'billing-service' } }), actor: { claims: actor() } });
    expectInvalid(otherSub.outcome, 'invalid_request', 'may_act');
    const otherIss = await exchange({ subjectClaims: subject({ may_act: { sub: 'orders-service', iss: 'https://elsewhere' } }), actor: { claims: actor() } });
    expectInvalid(otherIss.outcome, 'invalid_request', 'may_act');
    expect(otherIss.host.issued).toHaveLength(0);
  });

  it('without an actor, lets only the client may_act names exchange the token', async () => {
    const allowed = await exchange({ subjectClaims: subject({ may_act: { client_id: 'orders-api-client' } }) });
    body(allowed.outcome);
    const refused = await exchange({ subjectClaims: subject({ may_act: { sub: 'someone-else' } }) });
    expectInvalid(refused.outcome, 'invalid_request', 'may_act');
  });

  it('allows an act chain of depth 5 and refuses depth 6', async () => {
    const chain = (depth: number): Record<string, unknown> | undefined =>
      depth === 0 ? undefined : { sub: `hop-${depth}`, ...(depth > 1 ? { act: chain(depth - 1) } : {}) };
    const five = await exchange({ subjectClaims: subject({ act: chain(4) }), actor: { claims: actor() } });
    body(five.outcome);
    let depth = 0;
    for (let link = five.claims!['act'] as Record<string, unknown> | undefined; link; link = link['act'] as Record<string, unknown> | undefined) depth++;
    expect(depth).toBe(5);
    const six = await exchange({ subjectClaims: subject({ act: chain(5) }), actor: { claims: actor() } });
    expectInvalid(six.outcome, 'invalid_request', 'deeper than 5');
  });

  it('refuses an actor that already appears in the chain', async () => {
    const repeated = await exchange({ subjectClaims: subject({ act: { sub: 'gateway', act: { sub: 'orders-service', iss: ISSUER } } }), actor: { claims: actor() } });
    expectInvalid(repeated.outcome, 'invalid_request', 'already appears');
    // Same sub from another issuer is another actor.
    const otherIssuer = await exchange({ subjectClaims: subject({ act: { sub: 'orders-service', iss: 'https://partner.example' } }), actor: { claims: actor() } });
    body(otherIssuer.outcome);
  });

  it('grants requested ∩ subject ∩ client scopes and refuses anything outside', async () => {
    const narrowed = await exchange({ requestedScopes: ['trigger_invoicing'] });
    expect(body(narrowed.outcome)['scope']).toBe('trigger_invoicing');
    expect(narrowed.host.initializeCalls[0]!.scopes).toEqual(['trigger_invoicing']);

    const notOnSubject = await exchange({ subjectClaims: subject({ scope: 'invoicing' }), requestedScopes: ['trigger_invoicing'] });
    expectInvalid(notOnSubject.outcome, 'invalid_scope', 'trigger_invoicing');
    const notForClient = await exchange({ requestedScopes: ['openid'] });
    expectInvalid(notForClient.outcome, 'invalid_scope', 'openid');
    const nothingShared = await exchange({ subjectClaims: subject({ scope: 'openid profile' }) });
    expectInvalid(nothingShared.outcome, 'invalid_scope', 'No scope');
  });

  it('lets a subject token without a scope claim (an ID token) take the client scopes', async () => {
    const { scope: _ignored, ...idTokenClaims } = subject({ nonce: 'n-1', auth_time: nowSeconds() - 60 });
    const all = await exchange({ subjectClaims: idTokenClaims });
    expect(body(all.outcome)['scope']).toBe('invoicing trigger_invoicing');
    const narrowed = await exchange({ subjectClaims: idTokenClaims, requestedScopes: ['invoicing'] });
    expect(narrowed.claims!['scope']).toBe('invoicing');
    const emptyScope = await exchange({ subjectClaims: subject({ scope: '' }) });
    expectInvalid(emptyScope.outcome, 'invalid_scope', 'No scope');
  });

  it('uses requested audiences, else the client audiences; the host refuses foreign ones', async () => {
    const client = ordersClient({ audiences: [INVOICING, 'https://reports.example.com'] });
    const requested = await exchange({ client, requestedAudiences: ['https://reports.example.com'] });
    expect(requested.claims!['aud']).toEqual(['https://reports.example.com']);
    const defaulted = await exchange({ client });
    expect(defaulted.claims!['aud']).toEqual([INVOICING, 'https://reports.example.com']);
    const foreign = await exchange({ client, requestedAudiences: ['https://evil.example.com'] });
    expect(foreign.outcome).toMatchObject({ kind: 'oauth_error', error: 'invalid_target' });
  });

  it('never outlives the subject token', async () => {
    const exp = nowSeconds() + 60;
    const { outcome, claims } = await exchange({ subjectClaims: subject({ exp }) });
    expect(claims!['exp']).toBe(exp);
    expect(body(outcome)['expires_in']).toBeLessThanOrEqual(60);
    const long = await exchange();
    expect(long.claims!['exp']).toBeLessThanOrEqual(nowSeconds() + 300);
  });

  it('issues the requested token type with the matching issuer', async () => {
    const jwt = await exchange({ requestedTokenType: TOKEN_TYPE_JWT });
    expect(body(jwt.outcome)).toMatchObject({ issued_token_type: TOKEN_TYPE_JWT, token_type: 'N_A' });
    expect(jwt.host.issued[0]!.kind).toBe('jwt');
    const idToken = await exchange({ requestedTokenType: TOKEN_TYPE_ID });
    expect(body(idToken.outcome)).toMatchObject({ issued_token_type: TOKEN_TYPE_ID, token_type: 'N_A' });
    expect(idToken.host.issued[0]!.kind).toBe('id_token');
    const access = await exchange({ requestedTokenType: TOKEN_TYPE_ACCESS });
    expect(body(access.outcome)).toMatchObject({ issued_token_type: TOKEN_TYPE_ACCESS, token_type: 'Bearer' });
    const saml = await exchange({ requestedTokenType: 'urn:ietf:params:oauth:token-type:saml2' });
    expectInvalid(saml.outcome, 'invalid_request', 'requested_token_type');
  });

  it('refuses subject and actor tokens the server could not validate', async () => {
    const subjectUnvalidated = await exchange({ subject: { claims: null, value: 'opaque-subject-token' } });
    expectInvalid(subjectUnvalidated.outcome, 'invalid_request', 'subject token');
    const actorUnvalidated = await exchange({ actor: { claims: null, value: 'opaque-actor-token' } });
    expectInvalid(actorUnvalidated.outcome, 'invalid_request', 'actor token');
  });
});

describe('default client-credentials procedure', () => {
  it('issues the default access token data with the default issuer', async () => {
    const host = new TestHost(key, ordersClient({ accessTokenTtl: 600 }));
    const input = clientCredentialsInput(host, ['invoicing']);
    const outcome = await engine.run(CLIENT_CREDENTIALS, input, host, { requestId: 'req-cc', log: recordingSink().sink });
    const response = body(outcome);
    expect(host.issued).toHaveLength(1);
    const issued = host.issued[0]!;
    expect(issued.kind).toBe('access_token');
    expect(issued.header['typ']).toBe('at+jwt');
    expect(response['access_token']).toBe(issued.token);
    expect(issued.claims).toMatchObject({ sub: 'orders-api-client', client_id: 'orders-api-client', scope: 'invoicing', aud: [INVOICING] });
    expect(response).toMatchObject({ token_type: 'Bearer', scope: 'invoicing' });
    expect(response['expires_in']).toBeGreaterThan(590);
    expect(response['expires_in']).toBeLessThanOrEqual(600);
    expect(host.issueCalls[0]!.delegation).toMatchObject({ clientId: 'orders-api-client', scope: 'invoicing' });
  });
});
