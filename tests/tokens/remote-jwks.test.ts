import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import { PresentedTokenValidator, TOKEN_TYPE_JWT } from '../../server/tokens/presented-token-validator.ts';
import type { JwksFetchProblem, PresentedTokenValidatorOptions } from '../../server/tokens/presented-token-validator.ts';
import type { TrustedIssuerRecord } from '../../server/store/types.ts';
import { NOW_MS, NOW_S, countingFetch, ecKey, mint, startLoopbackServer, trustedIssuer } from './helpers.ts';
import type { CountingFetch, LoopbackServer, TestKey } from './helpers.ts';

const CALLER = 'client-a';
const ISSUER = 'https://idp.test';

let server: LoopbackServer;
let keyA: TestKey;
let keyB: TestKey;
let keyC: TestKey;
let servedKeys: unknown[];
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  keyA = ecKey('a');
  keyB = ecKey('b');
  keyC = ecKey('c');
  server = await startLoopbackServer();
  server.route('/jwks', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: servedKeys }));
  });
  // Never answers: the fetch timeout must end the wait.
  server.route('/hang', (_request, response) => {
    hanging.push(response);
  });
  server.route('/error', (_request, response) => {
    response.writeHead(500).end('{"keys":[]}');
  });
  server.route('/not-json', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
  });
  server.route('/redirect', (_request, response) => {
    response.writeHead(302, { location: '/jwks' }).end();
  });
  server.route('/huge', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [], padding: 'x'.repeat(4096) }));
  });
  server.route('/huge-chunked', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"keys":[],"padding":"');
    response.write('x'.repeat(4096));
    response.end('"}');
  });
  server.route('/not-a-set', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":"a"}');
  });
  server.route('/secret-keys', (_request, response) => {
    const withPrivate = { ...keyA.privateKey.export({ format: 'jwk' }), kid: 'a', alg: 'ES256' };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [withPrivate, { kty: 'oct', kid: 'a', k: 'c2VjcmV0' }] }));
  });
});

afterAll(async () => {
  for (const response of hanging) response.destroy();
  await server.close();
});

interface Harness {
  validator: PresentedTokenValidator;
  outbound: CountingFetch;
  clock: { now: number };
  errors: Array<[string, JwksFetchProblem]>;
}

function harness(path: string, overrides: Partial<PresentedTokenValidatorOptions> = {}): Harness {
  const clock = { now: NOW_MS };
  const outbound = countingFetch();
  const errors: Array<[string, JwksFetchProblem]> = [];
  const issuers: TrustedIssuerRecord[] = [trustedIssuer({ id: 'idp', issuer: ISSUER, jwks_uri: `${server.baseUrl}${path}` })];
  const validator = new PresentedTokenValidator({
    issuer: 'https://as.test',
    ownPublicKeys: () => [],
    trustedIssuers: () => issuers,
    fetch: outbound.fetch,
    now: () => clock.now,
    onJwksFetchError: (issuerId, problem) => errors.push([issuerId, problem]),
    ...overrides,
  });
  return { validator, outbound, clock, errors };
}

const tokenFor = (key: TestKey): Promise<string> =>
  mint(key, { iss: ISSUER, sub: 'alice', aud: CALLER, iat: NOW_S, exp: NOW_S + 3600 }, { typ: 'JWT' });

async function statusOf(validator: PresentedTokenValidator, token: string): Promise<string> {
  const result = await validator.validate({ token, tokenType: TOKEN_TYPE_JWT, callerClientId: CALLER, role: 'subject' });
  return result.status === 'valid' ? 'valid' : `${result.status}: ${result.reason}`;
}

describe('remote JWKS: caching and refresh on unknown kid', () => {
  it('refreshes for an unknown kid at most once a minute', async () => {
    servedKeys = [keyA.publicJwk];
    const { validator, outbound, clock } = harness('/jwks');
    const tokenA = await tokenFor(keyA);
    const tokenB = await tokenFor(keyB);

    // First use fetches; the kid is unknown, but the set was fetched just now: no second request.
    expect(await statusOf(validator, tokenB)).toBe('invalid: subject_token is signed with an unknown key');
    expect(outbound.urls).toHaveLength(1);

    servedKeys = [keyA.publicJwk, keyB.publicJwk];
    clock.now += 30_000;
    expect(await statusOf(validator, tokenB)).toBe('invalid: subject_token is signed with an unknown key');
    expect(outbound.urls).toHaveLength(1);

    clock.now += 31_000;
    expect(await statusOf(validator, tokenB)).toBe('valid');
    expect(outbound.urls).toHaveLength(2);

    clock.now += 1_000;
    expect(await statusOf(validator, await tokenFor(keyC))).toBe('invalid: subject_token is signed with an unknown key');
    expect(await statusOf(validator, tokenA)).toBe('valid');
    expect(outbound.urls).toHaveLength(2);
  });

  it('refetches after the cache max age and after invalidate()', async () => {
    servedKeys = [keyA.publicJwk];
    const { validator, outbound, clock } = harness('/jwks', { jwksCacheMaxAgeMs: 600_000 });
    const tokenA = await tokenFor(keyA);
    expect(await statusOf(validator, tokenA)).toBe('valid');
    clock.now += 599_000;
    expect(await statusOf(validator, tokenA)).toBe('valid');
    expect(outbound.urls).toHaveLength(1);
    clock.now += 1_000;
    expect(await statusOf(validator, tokenA)).toBe('valid');
    expect(outbound.urls).toHaveLength(2);
    validator.invalidate('idp');
    expect(await statusOf(validator, tokenA)).toBe('valid');
    expect(outbound.urls).toHaveLength(3);
  });

  it('shares one fetch between concurrent validations', async () => {
    servedKeys = [keyA.publicJwk];
    const { validator, outbound } = harness('/jwks');
    const tokenA = await tokenFor(keyA);
    const tokenC = await tokenFor(keyC);
    const results = await Promise.all([statusOf(validator, tokenA), statusOf(validator, tokenC), statusOf(validator, tokenA)]);
    expect(results).toEqual(['valid', 'invalid: subject_token is signed with an unknown key', 'valid']);
    expect(outbound.urls).toHaveLength(1);
  });

  it('drops private and symmetric keys from a fetched set', async () => {
    const { validator } = harness('/secret-keys');
    expect(await statusOf(validator, await tokenFor(keyA))).toBe('invalid: subject_token is signed with an unknown key');
  });
});

describe('remote JWKS: failures', () => {
  it('gives up after the fetch timeout and backs off before trying again', async () => {
    const { validator, outbound, clock, errors } = harness('/hang', { jwksFetchTimeoutMs: 150, jwksFailureBackoffMs: 5_000 });
    const token = await tokenFor(keyA);
    expect(await statusOf(validator, token)).toBe('invalid: could not obtain the keys of the subject_token issuer');
    expect(errors).toEqual([['idp', 'timeout']]);
    expect(await statusOf(validator, token)).toBe('invalid: could not obtain the keys of the subject_token issuer');
    expect(outbound.urls).toHaveLength(1);
    clock.now += 5_000;
    expect(await statusOf(validator, token)).toBe('invalid: could not obtain the keys of the subject_token issuer');
    expect(outbound.urls).toHaveLength(2);
  });

  const failures: Array<[string, JwksFetchProblem]> = [
    ['/error', 'http_status'],
    ['/not-json', 'invalid_json'],
    ['/not-a-set', 'invalid_jwks'],
    ['/redirect', 'network'],
    ['/huge', 'too_large'],
    ['/huge-chunked', 'too_large'],
  ];
  for (const [path, problem] of failures) {
    it(`refuses the token when the key set at ${path} is unusable (${problem})`, async () => {
      servedKeys = [keyA.publicJwk];
      const { validator, outbound, errors } = harness(path, { jwksMaxResponseBytes: 1_024 });
      const pathsBefore = server.requestedPaths.length;
      expect(await statusOf(validator, await tokenFor(keyA))).toBe('invalid: could not obtain the keys of the subject_token issuer');
      expect(errors).toEqual([['idp', problem]]);
      // The registered URL is the only place keys come from: a redirect is not followed.
      expect(outbound.urls).toEqual([`${server.baseUrl}${path}`]);
      expect(server.requestedPaths.slice(pathsBefore)).toEqual([path]);
    });
  }
});
