/**
 * The acceptance seeds end to end, through real third-party OAuth clients (openid-client v6 and
 * oauth4webapi) against the real server:
 * - 000 (Curity): the downscoping procedure and the transaction_id procedure, verbatim;
 * - 001 (Duende): impersonation and delegation with the built-in default procedure;
 * - 002 (Janssen): an ID token exchanged for an access token for a resource.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';
import { AT_TYPE, clientBody, ID_TOKEN_TYPE, JWT_TYPE, REPO_ROOT, startTestServer, TOKEN_EXCHANGE, type TestServer } from '../helpers/server.ts';

const SECRET = 'seeds-secret-0123456789abcdef';
const FLOW = 'oauth-token-oauth-token-exchange';
const INVOICING = 'https://invoicing.example.com';
const API2 = 'https://api2.example.com';
const BACKEND = 'https://backend.example.com/api';
const DAY = 24 * 60 * 60;

let server: TestServer;
let idp: TestIdp;
let as: oauth.AuthorizationServer;
/** Response headers of the last request openid-client made. */
let lastHeaders: Headers | null = null;

function seedSource(file: string): string {
  return fs.readFileSync(path.join(REPO_ROOT, 'procedures', 'seeds', file), 'utf8');
}

function expectNoStore(headers: Headers | null | undefined): void {
  expect(headers?.get('cache-control')).toBe('no-store');
  expect(headers?.get('pragma')).toBe('no-cache');
}

/** openid-client configured for a client, recording response headers. */
async function openidClient(clientId: string): Promise<client.Configuration> {
  const config = await client.discovery(new URL(server.issuer), clientId, SECRET, client.ClientSecretBasic(SECRET), {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests],
  });
  config[client.customFetch] = async (url, options) => {
    const response = await fetch(url, options as RequestInit);
    lastHeaders = response.headers;
    return response;
  };
  return config;
}

/** oauth4webapi's generic token request; checks the no-store headers before processing. */
async function oauth4Exchange(clientId: string, parameters: Record<string, string>, recognizeNA = false): Promise<oauth.TokenEndpointResponse> {
  const c: oauth.Client = { client_id: clientId };
  const response = await oauth.genericTokenEndpointRequest(as, c, oauth.ClientSecretBasic(SECRET), TOKEN_EXCHANGE, parameters, {
    [oauth.allowInsecureRequests]: true,
  });
  expectNoStore(response.headers);
  return oauth.processGenericTokenEndpointResponse(as, c, response, recognizeNA ? { recognizedTokenTypes: { n_a: () => {} } } : {});
}

/** The rejection of a token request, as the client library reports it. */
async function refusal(request: Promise<unknown>): Promise<oauth.ResponseBodyError> {
  try {
    await request;
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) return error;
    throw error;
  }
  throw new Error('the request was not refused');
}

function expectRefusal(error: oauth.ResponseBodyError, code: string, description?: string): void {
  expect({ status: error.status, error: error.error }).toEqual({ status: 400, error: code });
  if (description !== undefined) expect(error.error_description).toBe(description);
  expectNoStore(error.response.headers);
}

/** An RFC 9068 check by an independent validator, as a resource server would do it. */
async function validateAt(token: string, audience: string): Promise<oauth.JWTAccessTokenClaims> {
  return oauth.validateJwtAccessToken(as, new Request(`${audience}/x`, { headers: { authorization: `Bearer ${token}` } }), audience, {
    [oauth.allowInsecureRequests]: true,
  });
}

function logRecords(): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const line of server.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial line
    }
  }
  return records;
}

/** Warnings that curity-downscope's response was corrected. */
function countCorrectionWarnings(): number {
  return logRecords().filter((r) => r.procedure_id === 'curity-downscope' && Array.isArray(r.corrected) && r.level === 'warn').length;
}

/** Issued-exchange audit lines of orders-api-client. */
function auditLines(): number {
  return logRecords().filter((r) => r.event === 'token_exchange' && r.client_id === 'orders-api-client' && r.outcome === 'issued').length;
}

async function waitForLogLine(match: (record: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 100; attempt++) {
    for (const line of server.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (match(record)) return record;
      } catch {
        // a partial line
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no matching log line');
}

beforeAll(async () => {
  [server, idp] = await Promise.all([startTestServer(), createTestIdp()]);
  const setup = [
    server.admin('PUT', '/trusted-issuers/idp', { issuer: idp.issuer, jwks: idp.jwks }),
    server.admin('PUT', '/procedures/curity-downscope', { flow: FLOW, source: seedSource('curity-downscope.js') }),
    server.admin('PUT', '/procedures/curity-transaction-id', { flow: FLOW, source: seedSource('curity-transaction-id.js') }),
  ];
  for (const result of await Promise.all(setup)) expect([200, 201]).toContain(result.status);
  const orders = { client_secret: SECRET, scope: 'invoicing trigger_invoicing', audiences: [INVOICING] };
  const clients = [
    server.admin('PUT', '/clients/orders-api-client', clientBody({ ...orders, procedures: { [FLOW]: 'curity-downscope' } })),
    server.admin('PUT', '/clients/orders-custom', clientBody({ ...orders, properties: { custom_token_exchange: 'true' }, procedures: { [FLOW]: 'curity-transaction-id' } })),
    server.admin('PUT', '/clients/orders-plain', clientBody({ ...orders, procedures: { [FLOW]: 'curity-transaction-id' } })),
    server.admin('PUT', '/clients/api1', clientBody({ client_secret: SECRET, scope: 'api2', audiences: [API2] })),
    server.admin('PUT', '/clients/rs08', clientBody({ client_secret: SECRET, scope: 'api', audiences: [BACKEND] })),
  ];
  for (const result of await Promise.all(clients)) expect(result.status).toBe(201);
  as = await oauth.processDiscoveryResponse(
    new URL(server.issuer),
    await oauth.discoveryRequest(new URL(server.issuer), { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
  );
});

afterAll(async () => {
  await server?.stop();
});

describe("Curity's Implementing Token Exchange tutorial, procedure 1: downscoping", () => {
  const userToken = (caller: string) =>
    idp.mint({ sub: 'alice', aud: [caller, INVOICING], client_id: 'web-app', scope: 'invoicing trigger_invoicing other' });

  it('openid-client: scope=invoicing issues an invoicing token, and the response scope is corrected to it', async () => {
    const config = await openidClient('orders-api-client');
    const tokens = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: await userToken('orders-api-client'),
      subject_token_type: AT_TYPE,
      scope: 'invoicing',
    });
    expectNoStore(lastHeaders);
    expect(tokens).toMatchObject({ token_type: 'bearer', issued_token_type: AT_TYPE, scope: 'invoicing' });
    const claims = jose.decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ iss: server.issuer, sub: 'alice', scope: 'invoicing' });
    expect(claims.aud).toEqual(['orders-api-client', INVOICING]);
    // expires_in is the issued lifetime (counted when the response was made, right after issuance).
    expect(Math.abs(Number(tokens.expires_in) - ((claims.exp ?? 0) - (claims.iat ?? 0)))).toBeLessThanOrEqual(1);
    expect((await validateAt(tokens.access_token, INVOICING)).scope).toBe('invoicing');
    // The procedure answered scope = the subject's scope; the server corrected it and said so.
    const warning = await waitForLogLine((r) => r.procedure_id === 'curity-downscope' && Array.isArray(r.corrected));
    expect(warning.level).toBe('warn');
    expect(warning.corrected).toContain('scope');
  });

  it('oauth4webapi: the same exchange; the same correction is not warned about again', async () => {
    const tokens = await oauth4Exchange('orders-api-client', { subject_token: await userToken('orders-api-client'), subject_token_type: AT_TYPE, scope: 'invoicing' });
    expect(tokens).toMatchObject({ token_type: 'bearer', issued_token_type: AT_TYPE, scope: 'invoicing' });
    expect(jose.decodeJwt(tokens.access_token).scope).toBe('invoicing');
    // The audit line of an exchange follows its correction line: once this one's is out, both are.
    await waitForLogLine(() => auditLines() >= 2);
    expect(countCorrectionWarnings()).toBe(1);
  });

  it('a request without scope is refused with the seed’s invalid_request, through both clients', async () => {
    const subject = await userToken('orders-api-client');
    const config = await openidClient('orders-api-client');
    const viaOpenid = await refusal(client.genericGrantRequest(config, TOKEN_EXCHANGE, { subject_token: subject, subject_token_type: AT_TYPE }));
    expectRefusal(viaOpenid, 'invalid_request', 'Missing scope in a token exchange request');
    const viaOauth4 = await refusal(oauth4Exchange('orders-api-client', { subject_token: subject, subject_token_type: AT_TYPE }));
    expectRefusal(viaOauth4, 'invalid_request', 'Missing scope in a token exchange request');
  });

  it('a scope outside the client is invalid_scope even though the procedure asks for it', async () => {
    const error = await refusal(oauth4Exchange('orders-api-client', { subject_token: await userToken('orders-api-client'), subject_token_type: AT_TYPE, scope: 'other' }));
    expectRefusal(error, 'invalid_scope');
  });
});

describe("Curity's Implementing Token Exchange tutorial, procedure 2: transaction_id", () => {
  const userToken = (caller: string, scope = 'invoicing trigger_invoicing other') =>
    idp.mint({ sub: 'alice', aud: [caller, INVOICING], client_id: 'web-app', scope });

  it('custom_token_exchange: the transaction_id claim, and an exp in milliseconds capped at 24 h', async () => {
    const config = await openidClient('orders-custom');
    const tokens = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: await userToken('orders-custom'),
      subject_token_type: AT_TYPE,
      scope: 'trigger_invoicing',
      transaction_id: '1234',
    });
    expectNoStore(lastHeaders);
    expect(tokens).toMatchObject({ token_type: 'bearer', issued_token_type: AT_TYPE, scope: 'trigger_invoicing' });
    const claims = jose.decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ sub: 'alice', transaction_id: '1234', scope: 'trigger_invoicing' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(DAY);
    // The seed answered secondsUntil(milliseconds); the response was made to match the token.
    expect(tokens.expires_in).toBeGreaterThanOrEqual(DAY - 2);
    expect(tokens.expires_in).toBeLessThanOrEqual(DAY);
  });

  it('custom_token_exchange: no scope, or no transaction_id, is invalid_request', async () => {
    const subject = await userToken('orders-custom');
    const config = await openidClient('orders-custom');
    expectRefusal(
      await refusal(client.genericGrantRequest(config, TOKEN_EXCHANGE, { subject_token: subject, subject_token_type: AT_TYPE, transaction_id: '1234' })),
      'invalid_request',
      'Missing scope in a token exchange request',
    );
    expectRefusal(
      await refusal(oauth4Exchange('orders-custom', { subject_token: subject, subject_token_type: AT_TYPE, scope: 'trigger_invoicing' })),
      'invalid_request',
      'Missing transaction_id in a token exchange request',
    );
  });

  it('a client without the property takes the plain path: the subject scopes and lifetime, no transaction_id', async () => {
    const subject = await userToken('orders-plain', 'invoicing trigger_invoicing');
    const tokens = await oauth4Exchange('orders-plain', { subject_token: subject, subject_token_type: AT_TYPE, scope: 'invoicing', transaction_id: '1234' });
    expect(tokens).toMatchObject({ token_type: 'bearer', issued_token_type: AT_TYPE, scope: 'invoicing trigger_invoicing' });
    const claims = jose.decodeJwt(tokens.access_token);
    expect(claims).not.toHaveProperty('transaction_id');
    expect(claims.exp).toBe(jose.decodeJwt(subject).exp);
    // On the plain path the subject's own scopes are asked for: one outside the client is refused.
    expectRefusal(await refusal(oauth4Exchange('orders-plain', { subject_token: await userToken('orders-plain'), subject_token_type: AT_TYPE })), 'invalid_scope');
  });
});

describe("Duende's impersonation and delegation example, with the default procedure", () => {
  const frontEndToken = () => idp.mint({ sub: '123', aud: 'api1', client_id: 'front_end', scope: 'api2' });

  it('impersonation (openid-client): same sub, no act, client_id is the caller', async () => {
    const config = await openidClient('api1');
    const tokens = await client.genericGrantRequest(config, TOKEN_EXCHANGE, { subject_token: await frontEndToken(), subject_token_type: AT_TYPE });
    expectNoStore(lastHeaders);
    expect(tokens).toMatchObject({ token_type: 'bearer', issued_token_type: AT_TYPE, scope: 'api2' });
    const claims = await validateAt(tokens.access_token, API2);
    expect(claims).toMatchObject({ sub: '123', client_id: 'api1', scope: 'api2', aud: API2 });
    expect(claims).not.toHaveProperty('act');
  });

  it('delegation (oauth4webapi): the caller’s own token as actor puts the caller in act', async () => {
    const c: oauth.Client = { client_id: 'api1' };
    const ccResponse = await oauth.clientCredentialsGrantRequest(as, c, oauth.ClientSecretBasic(SECRET), new URLSearchParams({ scope: 'api2' }), {
      [oauth.allowInsecureRequests]: true,
    });
    const actor = await oauth.processClientCredentialsResponse(as, c, ccResponse);
    const tokens = await oauth4Exchange('api1', {
      subject_token: await frontEndToken(),
      subject_token_type: AT_TYPE,
      actor_token: actor.access_token,
      actor_token_type: AT_TYPE,
    });
    const claims = await validateAt(tokens.access_token, API2);
    expect(claims).toMatchObject({ sub: '123', client_id: 'api1' });
    expect(claims.act).toEqual({ sub: 'api1', client_id: 'api1', iss: server.issuer });
  });

  it('a jwt requested through both clients comes back as N_A', async () => {
    const viaOauth4 = await oauth4Exchange('api1', { subject_token: await frontEndToken(), subject_token_type: AT_TYPE, requested_token_type: JWT_TYPE }, true);
    expect(viaOauth4).toMatchObject({ token_type: 'n_a', issued_token_type: JWT_TYPE });
    expect(jose.decodeProtectedHeader(viaOauth4.access_token).typ).toBe('JWT');
    const config = await openidClient('api1');
    const viaOpenid = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: await frontEndToken(),
      subject_token_type: AT_TYPE,
      requested_token_type: JWT_TYPE,
    });
    expectNoStore(lastHeaders);
    expect(viaOpenid).toMatchObject({ token_type: 'n_a', issued_token_type: JWT_TYPE });
  });
});

describe("Janssen's ID token for a resource example, with the default procedure", () => {
  const idToken = () => idp.mint({ sub: 'bdc@example.com', aud: 'rs08', nonce: 'n-0S6_WzA2Mj', auth_time: Math.floor(Date.now() / 1000) - 60 }, { typ: 'JWT' });

  it('openid-client: an access token for the resource', async () => {
    const config = await openidClient('rs08');
    const tokens = await client.genericGrantRequest(config, TOKEN_EXCHANGE, { subject_token: await idToken(), subject_token_type: ID_TOKEN_TYPE, resource: BACKEND });
    expectNoStore(lastHeaders);
    expect(tokens.issued_token_type).toBe(AT_TYPE);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expires_in).toBeGreaterThan(0);
    const claims = await validateAt(tokens.access_token, BACKEND);
    expect(claims).toMatchObject({ sub: 'bdc@example.com', aud: BACKEND, client_id: 'rs08' });
  });

  it('oauth4webapi: the same exchange; the ID token is not accepted as an access token', async () => {
    const subject = await idToken();
    const tokens = await oauth4Exchange('rs08', { subject_token: subject, subject_token_type: ID_TOKEN_TYPE, resource: BACKEND });
    expect(tokens).toMatchObject({ token_type: 'bearer', issued_token_type: AT_TYPE });
    expect(jose.decodeJwt(tokens.access_token).aud).toBe(BACKEND);
    expectRefusal(await refusal(oauth4Exchange('rs08', { subject_token: subject, subject_token_type: AT_TYPE, resource: BACKEND })), 'invalid_request');
  });
});
