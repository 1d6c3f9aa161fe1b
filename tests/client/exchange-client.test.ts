/**
 * The exchange client (client/) against a real tokenproc server on loopback: discovery, the three
 * client authentication methods, the cache as the server counts it (`/metrics`), the Express
 * middleware in a real app, and no token value in any error or log line.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import * as jose from 'jose';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { inspect } from 'node:util';
import {
  createExchangeClient,
  ExchangeError,
  exchangedToken,
  exchangeMiddleware,
  type ExchangeClient,
  type ExchangeClientOptions,
} from '../../client/src/index.ts';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';
import { clientBody, startTestServer, TOKEN_EXCHANGE, type TestServer } from '../helpers/server.ts';

const SECRET = 'client-secret-0123456789abcdef';
const API = 'orders-api';
const A = 'https://a.example.com';
const B = 'https://b.example.com';

let server: TestServer;
let idp: TestIdp;
let ecKey: KeyObject;
let rsaKey: KeyObject;
/** Every token, secret and key this file handles: none may appear in an error or a log line. */
const secrets = new Set<string>([SECRET]);
const logLines: string[] = [];
const logger = {
  debug: (message: string, fields: Record<string, unknown>) => void logLines.push(JSON.stringify({ message, ...fields })),
  warn: (message: string, fields: Record<string, unknown>) => void logLines.push(JSON.stringify({ message, ...fields })),
};

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Token exchanges the server has counted (all outcomes). */
async function exchangesAtServer(): Promise<number> {
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('tokenproc_token_requests_total{') && line.includes(`grant_type="${TOKEN_EXCHANGE}"`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Runs `body` and answers how many exchanges the server counted meanwhile. */
async function counted(body: () => Promise<unknown>): Promise<number> {
  const before = await exchangesAtServer();
  await body();
  return (await exchangesAtServer()) - before;
}

/** A user token from the trusted IdP, meant for the three API clients. */
async function userToken(claims: Record<string, unknown> = {}, expiresIn = 600): Promise<string> {
  const token = await idp.mint({ sub: 'alice', aud: [API, 'orders-jwt', 'orders-rsa'], scope: 'read write orders', ...claims }, { expiresIn });
  secrets.add(token);
  return token;
}

function secretClient(extra: Partial<ExchangeClientOptions> = {}): ExchangeClient {
  return createExchangeClient({ issuer: server.issuer, clientId: API, clientSecret: SECRET, logger, ...extra });
}

function audOf(token: string): unknown {
  return jose.decodeJwt(token).aud;
}

function remember<T extends { access_token: string }>(response: T): T {
  secrets.add(response.access_token);
  return response;
}

async function failure(promise: Promise<unknown>): Promise<ExchangeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ExchangeError);
    return error as ExchangeError;
  }
  throw new Error('expected the exchange to fail');
}

/** Everything an error could show: JSON, inspect (hidden members too), stack, each own property. */
function serialised(error: Error): string {
  const record = error as unknown as Record<string, unknown>;
  return [JSON.stringify(error), inspect(error, { showHidden: true, depth: 10 }), String(error.stack), ...Object.getOwnPropertyNames(error).map((k) => inspect(record[k]))].join('\n');
}

function expectNoSecret(text: string): void {
  for (const secret of secrets) {
    expect(text.includes(secret)).toBe(false);
    // A JWT's signature alone would do harm too (with the header and claims, which are public).
    const signature = secret.split('.')[2];
    if (signature && signature.length > 20) expect(text.includes(signature)).toBe(false);
  }
}

beforeAll(async () => {
  [server, idp] = await Promise.all([startTestServer(), createTestIdp()]);
  ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const publicJwk = (key: KeyObject, kid: string, alg: string) => ({ ...createPublicKey(key).export({ format: 'jwk' }), kid, alg, use: 'sig' });
  const registrations = [
    server.admin('PUT', '/trusted-issuers/idp', { issuer: idp.issuer, jwks: idp.jwks }),
    server.admin('PUT', `/clients/${API}`, clientBody({ client_secret: SECRET, scope: 'read write orders', audiences: [A, B] })),
    server.admin('PUT', '/clients/orders-jwt', clientBody({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [publicJwk(ecKey, 'ec-1', 'ES256')] }, audiences: [A] })),
    server.admin('PUT', '/clients/orders-rsa', clientBody({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [publicJwk(rsaKey, 'rsa-1', 'RS256')] }, audiences: [A] })),
  ];
  for (const result of await Promise.all(registrations)) expect([200, 201]).toContain(result.status);
});

afterAll(async () => {
  await server?.stop();
});

describe('exchange client against tokenproc', () => {
  it('discovers the token endpoint from the issuer metadata', async () => {
    const client = secretClient();
    expect(await client.tokenEndpoint()).toBe(`${server.issuer}/oauth/v2/oauth-token`);
  });

  it('makes no request for a second call within the lifetime', async () => {
    const client = secretClient();
    const subject = await userToken();
    let first: { access_token: string } | undefined;
    let second: { access_token: string } | undefined;
    const requests = await counted(async () => {
      first = remember(await client.exchange({ subjectToken: subject, audience: A, scope: 'read' }));
      second = await client.exchange({ subjectToken: subject, audience: A, scope: 'read' });
    });
    expect(requests).toBe(1);
    expect(second?.access_token).toBe(first?.access_token);
    expect(audOf(String(first?.access_token))).toBe(A);
    expect(client.stats()).toMatchObject({ requests: 1, hits: 1 });
  });

  it('never shares an entry between audiences, scopes or subjects', async () => {
    const client = secretClient();
    const alice = await userToken();
    const bob = await userToken({ sub: 'bob' });
    const tokens: string[] = [];
    const requests = await counted(async () => {
      for (let round = 0; round < 2; round++) {
        for (const [subject, audience, scope] of [[alice, A, 'read'], [alice, B, 'read'], [alice, A, 'write'], [bob, A, 'read']] as const) {
          const response = remember(await client.exchange({ subjectToken: subject, audience, scope }));
          tokens.push(response.access_token);
          const claims = jose.decodeJwt(response.access_token);
          expect({ aud: claims.aud, scope: claims.scope, sub: claims.sub }).toEqual({ aud: audience, scope, sub: subject === alice ? 'alice' : 'bob' });
        }
      }
    });
    expect(requests).toBe(4);
    expect(new Set(tokens).size).toBe(4);
    expect(tokens.slice(4)).toEqual(tokens.slice(0, 4));
  });

  it('makes one request for ten concurrent misses', async () => {
    const client = secretClient();
    const subject = await userToken();
    let responses: Array<{ access_token: string }> = [];
    const requests = await counted(async () => {
      responses = await Promise.all(Array.from({ length: 10 }, () => client.exchange({ subjectToken: subject, audience: B })));
    });
    expect(requests).toBe(1);
    expect(new Set(responses.map((r) => remember(r).access_token)).size).toBe(1);
    expect(client.stats()).toMatchObject({ requests: 1, coalesced: 9 });
  });

  it('refreshes an entry once it is within its margin of expiry', async () => {
    let offset = 0;
    const client = secretClient({ now: () => Date.now() + offset });
    const subject = await userToken({}, 3600);
    const tokens: string[] = [];
    const exchange = async () => tokens.push(remember(await client.exchange({ subjectToken: subject, audience: A })).access_token);
    // access_token_ttl 300: reused until 300 - 30 s.
    expect(await counted(async () => {
      await exchange();
      offset = 260_000;
      await exchange();
    })).toBe(1);
    expect(await counted(async () => {
      offset = 280_000;
      await exchange();
      await exchange();
    })).toBe(1);
    expect(tokens[1]).toBe(tokens[0]);
    expect(tokens[2]).not.toBe(tokens[0]);
    expect(tokens[3]).toBe(tokens[2]);
  });

  it('does not retry a refused exchange in a loop (negative cache), and asks again after the refusal TTL', async () => {
    let offset = 0;
    const client = secretClient({ now: () => Date.now() + offset, cache: { refusalTtlSeconds: 5 } });
    const foreign = await userToken({ aud: 'someone-else' });
    const errors: ExchangeError[] = [];
    expect(await counted(async () => {
      for (let i = 0; i < 25; i++) errors.push(await failure(client.exchange({ subjectToken: foreign, audience: A })));
    })).toBe(1);
    expect(errors.map((e) => [e.error, e.status, e.transient])).toEqual(Array.from({ length: 25 }, () => ['invalid_request', 400, false]));
    expect(errors.filter((e) => e.cached)).toHaveLength(24);
    offset = 5_000;
    expect(await counted(() => failure(client.exchange({ subjectToken: foreign, audience: A })))).toBe(1);
  });

  it('authenticates with client_secret_post', async () => {
    const client = secretClient({ authMethod: 'client_secret_post', tokenEndpoint: `${server.origin}/oauth/v2/oauth-token` });
    const response = remember(await client.exchange({ subjectToken: await userToken(), audience: A }));
    expect(audOf(response.access_token)).toBe(A);
  });

  it.each([
    ['ES256', 'orders-jwt', 'ec-1'],
    ['RS256', 'orders-rsa', 'rsa-1'],
  ] as const)('authenticates with private_key_jwt (%s), a fresh assertion per request', async (alg, clientId, kid) => {
    const client = createExchangeClient({ issuer: server.issuer, clientId, privateKey: alg === 'ES256' ? ecKey : rsaKey, kid, alg, logger });
    const subject = await userToken();
    // Two requests in the same second: the server refuses a replayed assertion, so each must be new.
    const requests = await counted(async () => {
      for (const scope of ['read', 'write']) {
        const response = remember(await client.exchange({ subjectToken: subject, audience: A, scope }));
        expect(jose.decodeJwt(response.access_token)).toMatchObject({ aud: A, scope, client_id: clientId });
      }
    });
    expect(requests).toBe(2);
  });

  it('private_key_jwt takes a PEM or a JWK too, and a wrong key is invalid_client', async () => {
    const pem = ecKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const jwk = ecKey.export({ format: 'jwk' });
    secrets.add(pem);
    if (typeof jwk.d === 'string') secrets.add(jwk.d);
    for (const privateKey of [pem, jwk]) {
      const client = createExchangeClient({ issuer: server.issuer, clientId: 'orders-jwt', privateKey, kid: 'ec-1', logger });
      remember(await client.exchange({ subjectToken: await userToken(), audience: A }));
    }
    const wrong = createExchangeClient({ issuer: server.issuer, clientId: 'orders-jwt', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, kid: 'ec-1', logger });
    const error = await failure(wrong.exchange({ subjectToken: await userToken(), audience: A }));
    expect({ error: error.error, status: error.status }).toEqual({ error: 'invalid_client', status: 401 });
  });

  it('puts no token, secret or assertion in any error or log line', async () => {
    const errors: ExchangeError[] = [];
    const subject = await userToken({ aud: 'someone-else' });
    const actor = await userToken({ sub: 'svc' });
    errors.push(await failure(secretClient().exchange({ subjectToken: subject, actorToken: actor, audience: A })));
    errors.push(await failure(createExchangeClient({ issuer: server.issuer, clientId: API, clientSecret: `${SECRET}-wrong`, logger }).exchange({ subjectToken: actor, audience: A })));
    secrets.add(`${SECRET}-wrong`);
    const port = await closedPort();
    errors.push(await failure(secretClient({ tokenEndpoint: `http://127.0.0.1:${port}/token` }).exchange({ subjectToken: subject, audience: A })));
    errors.push(await failure(secretClient().exchange({ subjectToken: await userToken(), audience: 'https://not-allowed.example.com' })));
    errors.push(await failure(createExchangeClient({ issuer: `http://127.0.0.1:${port}`, clientId: API, clientSecret: SECRET }).exchange({ subjectToken: subject })));
    expect(errors.map((e) => e.error)).toEqual(['invalid_request', 'invalid_client', 'network_error', 'invalid_target', 'discovery_failed']);
    expect(errors[2]?.error_description).toMatch(/ECONNREFUSED/);
    for (const error of errors) expectNoSecret(serialised(error));
    expect(logLines.length).toBeGreaterThan(10);
    expectNoSecret(logLines.join('\n'));
  });
});

describe('exchange middleware in an express app', () => {
  let app: Server;
  let origin: string;
  let unreachable: ExchangeClient;
  let client: ExchangeClient;

  beforeAll(async () => {
    client = secretClient();
    unreachable = secretClient({ tokenEndpoint: `http://127.0.0.1:${await closedPort()}/token` });
    const api = express();
    const handler = (req: express.Request, res: express.Response) => {
      const token = exchangedToken(req);
      res.json({ aud: token ? audOf(token.access_token) : null, same: res.locals.exchangedToken === token, scope: token?.scope });
    };
    api.get('/orders', exchangeMiddleware({ client, audience: A, scope: 'read', realm: 'orders' }), handler);
    api.get('/admin', exchangeMiddleware({ client, audience: A, scope: 'admin' }), handler);
    api.get('/elsewhere', exchangeMiddleware({ client, audience: 'https://not-allowed.example.com' }), handler);
    api.get('/down', exchangeMiddleware({ client: unreachable, audience: A }), handler);
    await new Promise<void>((resolve) => {
      app = api.listen(0, '127.0.0.1', () => resolve());
    });
    origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => app?.close(resolve));
  });

  const call = async (path: string, authorization?: string) => {
    const response = await fetch(`${origin}${path}`, { headers: authorization ? { authorization } : {} });
    const text = await response.text();
    expectNoSecret(text);
    return { status: response.status, challenge: response.headers.get('www-authenticate'), retryAfter: response.headers.get('retry-after'), body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  it('exchanges the bearer token for the configured audience and hands it to the handler, once per lifetime', async () => {
    const subject = await userToken();
    const requests = await counted(async () => {
      for (let i = 0; i < 3; i++) expect(await call('/orders', `Bearer ${subject}`)).toMatchObject({ status: 200, body: { aud: A, same: true, scope: 'read' } });
    });
    expect(requests).toBe(1);
  });

  it('answers 401 with a Bearer challenge without a bearer token', async () => {
    expect(await call('/orders')).toMatchObject({ status: 401, challenge: 'Bearer realm="orders"' });
    expect(await call('/orders', `Basic ${Buffer.from('a:b').toString('base64')}`)).toMatchObject({ status: 401, challenge: 'Bearer realm="orders"' });
    expect(await call('/orders', 'Bearer ')).toMatchObject({ status: 401 });
  });

  it('answers 401 invalid_token when the exchange refuses the token', async () => {
    const result = await call('/orders', `Bearer ${await userToken({ aud: 'someone-else' })}`);
    expect(result).toMatchObject({ status: 401, challenge: 'Bearer realm="orders", error="invalid_token"', body: { error: 'invalid_token' } });
    expect(await call('/orders', 'Bearer not-a-jwt')).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('answers 403 insufficient_scope when the exchange refuses the scope or the audience', async () => {
    const subject = await userToken();
    expect(await call('/admin', `Bearer ${subject}`)).toMatchObject({ status: 403, challenge: 'Bearer error="insufficient_scope"', body: { error: 'insufficient_scope' } });
    expect(await call('/elsewhere', `Bearer ${subject}`)).toMatchObject({ status: 403, body: { error: 'insufficient_scope' } });
  });

  it('answers 503 with Retry-After when the authorization server cannot be reached', async () => {
    expect(await call('/down', `Bearer ${await userToken()}`)).toMatchObject({ status: 503, retryAfter: '1', body: { error: 'temporarily_unavailable' } });
  });
});
