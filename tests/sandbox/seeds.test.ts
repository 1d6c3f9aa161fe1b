/**
 * The two procedures of Curity's Implementing Token Exchange tutorial, copied verbatim into procedures/seeds/, run unchanged.
 */
import { describe, expect, it } from '@jest/globals';
import type { ProcedureOutcome } from '../../sandbox/types.ts';
import {
  TOKEN_TYPE_ACCESS,
  TestHost,
  createSigningKey,
  decodeJwt,
  fileProcedure,
  nowSeconds,
  recordingSink,
  testClient,
  tokenExchangeInput,
  engineForTests,
} from './test-host.ts';
import type { TestClient, TokenExchangeSpec } from './test-host.ts';

const DOWNSCOPE = fileProcedure('procedures/seeds/curity-downscope.js');
const TRANSACTION_ID = fileProcedure('procedures/seeds/curity-transaction-id.js');
const key = createSigningKey();
const engine = engineForTests();

const ORDERS_AUDIENCE = 'https://orders.example.com';
const client = (overrides: Partial<TestClient> = {}) =>
  testClient({ audiences: [ORDERS_AUDIENCE, 'https://invoicing.example.com'], scope: 'invoicing trigger_invoicing', ...overrides });
const subjectClaims = () => ({
  sub: 'alice',
  iss: 'https://tokenproc.test',
  aud: ORDERS_AUDIENCE,
  scope: 'invoicing trigger_invoicing',
  client_id: 'web-app',
  exp: nowSeconds() + 120,
});

async function exchange(procedure: typeof DOWNSCOPE, spec: Omit<TokenExchangeSpec, 'subject'> & { subject?: TokenExchangeSpec['subject'] }) {
  const host = new TestHost(key, spec.client);
  const input = tokenExchangeInput(key, { subject: { claims: subjectClaims() }, ...spec });
  const outcome = await engine.run(procedure, input, host, { requestId: 'req-1', log: recordingSink().sink });
  return { host, outcome };
}

function responseBody(outcome: ProcedureOutcome): Record<string, unknown> {
  if (outcome.kind !== 'response') throw new Error(`expected a response, got ${JSON.stringify(outcome)}`);
  return outcome.body;
}

describe("Curity's tutorial: downscoping procedure", () => {
  it('issues a signed token with the requested scope and the subject token audience', async () => {
    const { host, outcome } = await exchange(DOWNSCOPE, { client: client(), form: { scope: ['trigger_invoicing'] } });
    const body = responseBody(outcome);
    expect(host.initializeCalls).toEqual([
      { audiences: [ORDERS_AUDIENCE], scopes: ['trigger_invoicing'], subjectAttributes: { subject: 'alice' }, contextAttributes: {} },
    ]);
    expect(host.issued).toHaveLength(1);
    const issued = host.issued[0]!;
    expect(body['access_token']).toBe(issued.token);
    expect(decodeJwt(issued.token, key).verified).toBe(true);
    expect(issued.claims).toMatchObject({ sub: 'alice', scope: 'trigger_invoicing', aud: [ORDERS_AUDIENCE], client_id: 'web-app' });
    // The seed echoes the subject token's scope and data; the server reconciles scope later.
    expect(body).toMatchObject({
      scope: 'invoicing trigger_invoicing',
      token_type: 'bearer',
      issued_token_type: TOKEN_TYPE_ACCESS,
    });
    expect(body['expires_in']).toBeGreaterThan(100);
    expect(body['expires_in']).toBeLessThanOrEqual(120);
    expect(body).not.toHaveProperty('claims');
  });

  it('refuses a request without scope with the invalid_request it throws', async () => {
    const { host, outcome } = await exchange(DOWNSCOPE, { client: client() });
    expect(outcome).toEqual({
      kind: 'oauth_error',
      error: 'invalid_request',
      description: 'Missing scope in a token exchange request',
      status: 400,
    });
    expect(host.issued).toHaveLength(0);
  });

  it('surfaces the host refusing a scope outside the client as invalid_scope', async () => {
    const { outcome } = await exchange(DOWNSCOPE, { client: client({ scope: 'invoicing' }), form: { scope: ['trigger_invoicing'] } });
    expect(outcome).toMatchObject({ kind: 'oauth_error', error: 'invalid_scope', status: 400 });
  });
});

describe("Curity's tutorial: transaction_id procedure", () => {
  const customClient = () => client({ properties: { custom_token_exchange: 'true' } });

  it('binds the transaction id as a claim for clients with custom_token_exchange', async () => {
    const { host, outcome } = await exchange(TRANSACTION_ID, {
      client: customClient(),
      form: { scope: ['trigger_invoicing'], transaction_id: ['1234'] },
    });
    const body = responseBody(outcome);
    const issued = host.issued[0]!;
    expect(issued.claims).toMatchObject({ sub: 'alice', transaction_id: '1234', scope: 'trigger_invoicing' });
    // The seed sets exp in milliseconds; the host caps the lifetime to the client's TTL.
    expect(issued.claims['exp']).toBeLessThanOrEqual(nowSeconds() + 300);
    expect(host.issueCalls[0]!.data['exp']).toBeGreaterThan(nowSeconds() * 1000);
    expect(body['access_token']).toBe(issued.token);
    expect(body['token_type']).toBe('bearer');
  });

  it('uses the subject token scope for other clients', async () => {
    const { host, outcome } = await exchange(TRANSACTION_ID, { client: client() });
    responseBody(outcome);
    expect(host.initializeCalls[0]!.scopes).toEqual(['invoicing', 'trigger_invoicing']);
    expect(host.issued[0]!.claims).not.toHaveProperty('transaction_id');
  });

  it('refuses a missing scope with invalid_request', async () => {
    const { outcome } = await exchange(TRANSACTION_ID, { client: customClient(), form: { transaction_id: ['1234'] } });
    expect(outcome).toMatchObject({ kind: 'oauth_error', error: 'invalid_request', description: 'Missing scope in a token exchange request' });
  });

  it('refuses a missing transaction_id with invalid_request', async () => {
    const { host, outcome } = await exchange(TRANSACTION_ID, { client: customClient(), form: { scope: ['trigger_invoicing'] } });
    expect(outcome).toEqual({
      kind: 'oauth_error',
      error: 'invalid_request',
      description: 'Missing transaction_id in a token exchange request',
      status: 400,
    });
    expect(host.initializeCalls).toHaveLength(0);
  });
});
