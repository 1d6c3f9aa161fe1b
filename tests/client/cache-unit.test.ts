/**
 * The exchange client's cache against a scripted token endpoint (no server): the key covers every
 * parameter and never holds a token, the subject's `exp` bounds an entry, the LRU bound, negative
 * caching of refusals but not of transient failures, and single-flight of a failure.
 */
import { describe, expect, it } from '@jest/globals';
import { cacheKey } from '../../client/src/cache.ts';
import { createExchangeClient, ExchangeError, type ExchangeClientOptions, type FetchLike } from '../../client/src/index.ts';

const ENDPOINT = 'https://as.example.com/token';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';

/** An unsigned JWT-shaped value with the given claims (the client reads `exp` without verifying). */
function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part({ jti: crypto.randomUUID(), ...claims })}.${'s'.repeat(86)}`;
}

interface Scripted {
  fetch: FetchLike;
  calls: URLSearchParams[];
}

/** A token endpoint answering `answer(n)` to its n-th request (from 0), after a tick. */
function scripted(answer: (n: number, form: URLSearchParams) => { status: number; body: unknown; headers?: Record<string, string> }): Scripted {
  const calls: URLSearchParams[] = [];
  return {
    calls,
    async fetch(_url, init) {
      const form = new URLSearchParams(String(init.body));
      const n = calls.length;
      calls.push(form);
      await new Promise((r) => setTimeout(r, 5));
      const { status, body, headers } = answer(n, form);
      return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
    },
  };
}

const issued = (n: number, expiresIn = 300) => ({ status: 200, body: { access_token: `issued-${n}-${'x'.repeat(30)}`, issued_token_type: AT, token_type: 'Bearer', expires_in: expiresIn } });

function client(endpoint: Scripted, clock: { t: number }, extra: Partial<ExchangeClientOptions> = {}) {
  return createExchangeClient({ tokenEndpoint: ENDPOINT, clientId: 'api', clientSecret: 'secret-value-123', fetch: endpoint.fetch, now: () => clock.t, ...extra });
}

describe('cache key', () => {
  const base: Array<[string, string]> = [
    ['grant_type', EXCHANGE],
    ['subject_token', 'subject-token-value'],
    ['subject_token_type', AT],
    ['audience', 'https://a.example.com'],
    ['scope', 'read'],
  ];

  it('is a SHA-256 in hex that holds no token value', () => {
    const key = cacheKey(ENDPOINT, 'api', base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toContain('subject-token-value');
  });

  it('changes with every parameter, the client id and the endpoint', () => {
    const key = cacheKey(ENDPOINT, 'api', base);
    const variants = [
      cacheKey('https://other.example.com/token', 'api', base),
      cacheKey(ENDPOINT, 'other-api', base),
      ...base.map((_, i) => cacheKey(ENDPOINT, 'api', base.map(([k, v], j) => [k, j === i ? `${v}x` : v] as const))),
      cacheKey(ENDPOINT, 'api', [...base, ['audience', 'https://b.example.com']]),
      cacheKey(ENDPOINT, 'api', [...base, ['resource', 'https://a.example.com']]),
      cacheKey(ENDPOINT, 'api', [...base, ['requested_token_type', 'urn:ietf:params:oauth:token-type:jwt']]),
      cacheKey(ENDPOINT, 'api', [...base, ['actor_token', 'actor'], ['actor_token_type', AT]]),
      cacheKey(ENDPOINT, 'api', [...base, ['actor_token', 'actor2'], ['actor_token_type', AT]]),
    ];
    expect(new Set([key, ...variants]).size).toBe(variants.length + 1);
  });
});

describe('exchange cache', () => {
  it('reuses a token, counts down expires_in, and sends again once the margin is reached', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted((n) => issued(n, 300));
    const c = client(endpoint, clock);
    const first = await c.exchange({ subjectToken: 'opaque-subject-token', audience: 'https://a.example.com' });
    clock.t += 100_000;
    const second = await c.exchange({ subjectToken: 'opaque-subject-token', audience: ['https://a.example.com'] });
    expect(second.access_token).toBe(first.access_token);
    expect(second.expires_in).toBe(200);
    expect(endpoint.calls).toHaveLength(1);
    clock.t += 169_000; // 269 s: still before 300 - 30
    await c.exchange({ subjectToken: 'opaque-subject-token', audience: 'https://a.example.com' });
    expect(endpoint.calls).toHaveLength(1);
    clock.t += 2_000; // 271 s: inside the 30 s margin
    const third = await c.exchange({ subjectToken: 'opaque-subject-token', audience: 'https://a.example.com' });
    expect(third.access_token).not.toBe(first.access_token);
    expect(endpoint.calls).toHaveLength(2);
    expect(c.stats()).toMatchObject({ requests: 2, hits: 2 });
  });

  it('never keeps an entry past the subject JWT\'s own exp', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted((n) => issued(n, 3600));
    const c = client(endpoint, clock);
    const subject = fakeJwt({ sub: 'alice', exp: clock.t / 1000 + 100 });
    await c.exchange({ subjectToken: subject, audience: 'x' });
    clock.t += 99_000;
    await c.exchange({ subjectToken: subject, audience: 'x' });
    expect(endpoint.calls).toHaveLength(1);
    clock.t += 1_000;
    await c.exchange({ subjectToken: subject, audience: 'x' });
    expect(endpoint.calls).toHaveLength(2);
  });

  it('never keeps an entry past the actor JWT\'s exp either', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted((n) => issued(n, 3600));
    const c = client(endpoint, clock);
    const actor = fakeJwt({ sub: 'svc', exp: clock.t / 1000 + 50 });
    await c.exchange({ subjectToken: 'opaque-subject', actorToken: actor, audience: 'x' });
    clock.t += 50_000;
    await c.exchange({ subjectToken: 'opaque-subject', actorToken: actor, audience: 'x' });
    expect(endpoint.calls).toHaveLength(2);
  });

  it('is bounded: the least recently used entry goes first', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted((n) => issued(n));
    const c = client(endpoint, clock, { cache: { maxEntries: 3 } });
    for (const s of ['s1', 's2', 's3']) await c.exchange({ subjectToken: `subject-${s}`, audience: 'x' });
    await c.exchange({ subjectToken: 'subject-s1', audience: 'x' }); // s1 used: s2 is now the oldest
    await c.exchange({ subjectToken: 'subject-s4', audience: 'x' });
    expect(c.stats()).toMatchObject({ entries: 3, requests: 4 });
    await c.exchange({ subjectToken: 'subject-s1', audience: 'x' });
    await c.exchange({ subjectToken: 'subject-s3', audience: 'x' });
    expect(endpoint.calls).toHaveLength(4);
    await c.exchange({ subjectToken: 'subject-s2', audience: 'x' });
    expect(endpoint.calls).toHaveLength(5);
  });

  it('answers a refusal from the cache for refusalTtlSeconds, then asks again', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted(() => ({ status: 400, body: { error: 'invalid_grant', error_description: 'subject token expired' } }));
    const c = client(endpoint, clock, { cache: { refusalTtlSeconds: 5 } });
    const errors: ExchangeError[] = [];
    for (let i = 0; i < 50; i++) {
      errors.push(await c.exchange({ subjectToken: 'bad-subject', audience: 'x' }).then(() => { throw new Error('resolved'); }, (e: unknown) => e as ExchangeError));
    }
    expect(endpoint.calls).toHaveLength(1);
    expect(errors.every((e) => e instanceof ExchangeError && e.error === 'invalid_grant' && e.status === 400)).toBe(true);
    expect(errors[0]?.cached).toBe(false);
    expect(errors[1]?.cached).toBe(true);
    clock.t += 5_000;
    await expect(c.exchange({ subjectToken: 'bad-subject', audience: 'x' })).rejects.toMatchObject({ error: 'invalid_grant', cached: false });
    expect(endpoint.calls).toHaveLength(2);
  });

  it('does not cache transient failures by default (5xx, 429), and recovers on the next call', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted((n) =>
      n === 0 ? { status: 503, body: { error: 'temporarily_unavailable' }, headers: { 'retry-after': '1' } }
      : n === 1 ? { status: 429, body: { error: 'slow_down' } }
      : issued(n));
    const c = client(endpoint, clock);
    await expect(c.exchange({ subjectToken: 'subject', audience: 'x' })).rejects.toMatchObject({ error: 'temporarily_unavailable', status: 503, transient: true, retryAfter: 1 });
    await expect(c.exchange({ subjectToken: 'subject', audience: 'x' })).rejects.toMatchObject({ status: 429, transient: true });
    await expect(c.exchange({ subjectToken: 'subject', audience: 'x' })).resolves.toMatchObject({ token_type: 'Bearer' });
    expect(endpoint.calls).toHaveLength(3);
  });

  it('caches a transient failure briefly when transientErrorTtlSeconds is set', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted((n) => (n === 0 ? { status: 500, body: { error: 'server_error' } } : issued(n)));
    const c = client(endpoint, clock, { cache: { transientErrorTtlSeconds: 1 } });
    await expect(c.exchange({ subjectToken: 'subject', audience: 'x' })).rejects.toMatchObject({ error: 'server_error' });
    await expect(c.exchange({ subjectToken: 'subject', audience: 'x' })).rejects.toMatchObject({ error: 'server_error', cached: true });
    clock.t += 1_000;
    await expect(c.exchange({ subjectToken: 'subject', audience: 'x' })).resolves.toMatchObject({ token_type: 'Bearer' });
    expect(endpoint.calls).toHaveLength(2);
  });

  it('makes one request for concurrent misses that fail, and rejects them all', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted(() => ({ status: 400, body: { error: 'invalid_target' } }));
    const c = client(endpoint, clock, { cache: { refusalTtlSeconds: 0 } });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => c.exchange({ subjectToken: 'subject', audience: 'x' })));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(endpoint.calls).toHaveLength(1);
    // Nothing negative-cached with a zero TTL: the next call asks again.
    await expect(c.exchange({ subjectToken: 'subject', audience: 'x' })).rejects.toBeInstanceOf(ExchangeError);
    expect(endpoint.calls).toHaveLength(2);
  });

  it('sends every parameter, and cache: false bypasses the cache', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted((n) => issued(n));
    const c = client(endpoint, clock, { authMethod: 'client_secret_post' });
    const request = {
      subjectToken: 'subject',
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      actorToken: 'actor',
      audience: ['a1', 'a2'],
      resource: 'https://r.example.com',
      scope: ['read', 'write'],
      requestedTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      extraParameters: { request_context: '{"ip":"1"}' },
    };
    await c.exchange(request);
    await c.exchange({ ...request, cache: false });
    expect(endpoint.calls).toHaveLength(2);
    const form = endpoint.calls[0];
    expect(Object.fromEntries([...(form?.keys() ?? [])].map((k) => [k, form?.getAll(k)]))).toEqual({
      grant_type: [EXCHANGE],
      subject_token: ['subject'],
      subject_token_type: ['urn:ietf:params:oauth:token-type:jwt'],
      actor_token: ['actor'],
      actor_token_type: [AT],
      resource: ['https://r.example.com'],
      audience: ['a1', 'a2'],
      scope: ['read write'],
      requested_token_type: ['urn:ietf:params:oauth:token-type:jwt'],
      request_context: ['{"ip":"1"}'],
      client_id: ['api'],
      client_secret: ['secret-value-123'],
    });
    await expect(c.exchange({ subjectToken: 's', extraParameters: { subject_token: 'x' } })).rejects.toThrow(/cannot name subject_token/);
  });

  it('refuses a 2xx answer that is not a token response, and does not cache a token without a lifetime', async () => {
    const clock = { t: 1_000_000_000_000 };
    const endpoint = scripted((n) =>
      n === 0 ? { status: 200, body: { token_type: 'Bearer' } } : { status: 200, body: { access_token: 'opaque-no-lifetime', issued_token_type: AT, token_type: 'Bearer' } });
    const c = client(endpoint, clock);
    await expect(c.exchange({ subjectToken: 'subject' })).rejects.toMatchObject({ error: 'invalid_response', transient: true });
    await c.exchange({ subjectToken: 'subject' });
    await c.exchange({ subjectToken: 'subject' });
    expect(endpoint.calls).toHaveLength(3);
  });
});
