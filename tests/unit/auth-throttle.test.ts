/**
 * The failed-authentication throttle's rules (server/clients/throttle.ts) on a real SQLite store,
 * with a clock the tests move: the holder of the credential is never refused, a guesser is answered
 * 429 with Retry-After (per address first, then for all addresses), counts end with their window,
 * a success costs the store nothing, and a store that cannot count is an error, not an answer.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { adminAuthentication } from '../../admin/api/auth.ts';
import { route } from '../../admin/api/http.ts';
import { ClientAuthenticator } from '../../server/clients/authenticator.ts';
import { hashSecret } from '../../server/clients/secrets.ts';
import { parseTrustProxy } from '../../server/config.ts';
import { hashAdminKey } from '../../server/configuration/admin-key.ts';
import { StoreUnavailableError } from '../../server/store/errors.ts';
import { PostgresStore } from '../../server/store/postgres.ts';
import { SqliteStore } from '../../server/store/sqlite.ts';
import type { ClientRecord, Store } from '../../server/store/types.ts';

const SECRET = 'the-owners-secret-0123456789';
const T0 = 1_700_000_000_000;

/** The real store, with a count of the calls made on it (a success must make none). */
function countingStore(store: Store): { store: Store; calls: () => number } {
  let calls = 0;
  const counted = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, calls: () => calls };
}

describe('client secret throttle', () => {
  let sqlite: SqliteStore;
  let clock: number;
  let client: ClientRecord;

  beforeEach(async () => {
    sqlite = SqliteStore.openInMemory();
    clock = T0;
    client = {
      client_id: 'svc',
      client_secret_hash: await hashSecret(SECRET),
      token_endpoint_auth_method: 'client_secret_post',
      jwks: null,
      grant_types: ['client_credentials'],
      scope: 'read',
      audiences: [],
      properties: {},
      procedures: {},
      access_token_ttl: 300,
      accept_unvalidated_tokens: false,
      created_at: 0,
      updated_at: 0,
    };
  });

  afterEach(async () => {
    await sqlite.close();
  });

  /** A fresh authenticator (its own verified-secret cache and memory), as another process would be. */
  function instance(store: Store = sqlite) {
    const authenticator = new ClientAuthenticator({
      store,
      lookupClient: (id) => (id === client.client_id ? client : undefined),
      assertionAudiences: () => [],
      clockSkewSeconds: 60,
      now: () => clock,
      // A cheap stand-in for scrypt (the rules are under test, not the hash); a secret still has to match.
      verifySecret: async (presented) => presented === SECRET,
      verifier: { parseJwt: () => null, verifyWithKeys: async () => 'bad_signature' },
    });
    return async (presented: string, address?: string, clientId = client.client_id) => {
      const result = await authenticator.authenticate(undefined, new Map([['client_id', [clientId]], ['client_secret', [presented]]]), address);
      if (result.ok) return { status: 200, retryAfter: null };
      return { status: result.error.status, retryAfter: result.error.headers?.['Retry-After'] ?? null, error: result.error.error };
    };
  }

  it('answers a guesser from one address 429 with Retry-After after 10 wrong secrets, until the minute has passed', async () => {
    const attempt = instance();
    for (let i = 0; i < 10; i++) expect(await attempt(`guess-${i}`, '198.51.100.1')).toMatchObject({ status: 401, retryAfter: null });
    expect(await attempt('guess-10', '198.51.100.1')).toEqual({ status: 429, retryAfter: '60', error: 'invalid_client' });
    clock += 15_000;
    expect(await attempt('guess-11', '198.51.100.1')).toMatchObject({ status: 429, retryAfter: '45' });
    // Another address is not slowed by this one's guesses.
    expect(await attempt('guess-12', '198.51.100.2')).toMatchObject({ status: 401 });
    // The counts end with their window: wrong secrets are 401 again, and counted anew.
    clock = T0 + 60_000;
    for (let i = 0; i < 10; i++) expect(await attempt(`later-${i}`, '198.51.100.1')).toMatchObject({ status: 401 });
    expect(await attempt('later-10', '198.51.100.1')).toMatchObject({ status: 429, retryAfter: '60' });
  });

  it('slows many addresses together after 20 wrong secrets for the client id; an address at its limit adds no more', async () => {
    const attempt = instance();
    // One address past its limit: its further guesses are refused without being counted for the
    // client, also where the store decides (a fresh instance each time, with no memory of the limit).
    for (let i = 0; i < 10; i++) await attempt(`x-${i}`, '198.51.100.1');
    for (let i = 10; i < 40; i++) expect(await instance()(`x-${i}`, '198.51.100.1')).toMatchObject({ status: 429 });
    for (let i = 0; i < 10; i++) expect(await attempt(`y-${i}`, '198.51.100.2')).toMatchObject({ status: 401 });
    // 20 for the client id now: every address is answered 429.
    expect(await attempt('z-0', '198.51.100.3')).toMatchObject({ status: 429, retryAfter: '60' });
    expect(await attempt('z-1', '2001:db8::7')).toMatchObject({ status: 429 });
  });

  it('never refuses the holder of the secret, whatever the guessing, from any address', async () => {
    const attempt = instance();
    for (let i = 0; i < 30; i++) await attempt(`guess-${i}`, '198.51.100.1');
    for (let i = 0; i < 30; i++) await attempt(`guess-${i}`, `198.51.100.${10 + (i % 5)}`);
    expect(await attempt('one-more', '198.51.100.99')).toMatchObject({ status: 429 });
    // Never verified before by this instance, from an address that did not guess: it passes.
    expect(await attempt(SECRET, '198.51.100.99')).toEqual({ status: 200, retryAfter: null });
    // So it does at another instance that knows of the guessing only through the store, even from
    // the guessing address (that instance has not learned the address is at its limit).
    expect(await instance()(SECRET, '198.51.100.1')).toEqual({ status: 200, retryAfter: null });
    expect(await instance()(SECRET)).toEqual({ status: 200, retryAfter: null });
  });

  it('refuses an address at its limit without hashing its guesses; a secret verified lately still passes from it', async () => {
    let hashes = 0;
    const authenticator = new ClientAuthenticator({
      store: sqlite,
      lookupClient: (id) => (id === client.client_id ? client : undefined),
      assertionAudiences: () => [],
      clockSkewSeconds: 60,
      now: () => clock,
      verifySecret: async (presented) => {
        hashes += 1;
        return presented === SECRET;
      },
      verifier: { parseJwt: () => null, verifyWithKeys: async () => 'bad_signature' },
    });
    const attempt = async (presented: string, address: string) => {
      const result = await authenticator.authenticate(undefined, new Map([['client_id', [client.client_id]], ['client_secret', [presented]]]), address);
      return result.ok ? 200 : result.error.status;
    };
    expect(await attempt(SECRET, '198.51.100.5')).toBe(200);
    for (let i = 0; i < 10; i++) expect(await attempt(`guess-${i}`, '198.51.100.1')).toBe(401);
    // The 11th is checked once more: that is how this instance learns the address is at its limit.
    expect(await attempt('guess-10', '198.51.100.1')).toBe(429);
    const hashesAtLimit = hashes;
    for (let i = 11; i < 200; i++) expect(await attempt(`guess-${i}`, '198.51.100.1')).toBe(429);
    expect(hashes).toBe(hashesAtLimit);
    // The owner's secret, verified lately, passes from that address too, without a hash.
    expect(await attempt(SECRET, '198.51.100.1')).toBe(200);
    expect(hashes).toBe(hashesAtLimit);
    // Another address is still checked.
    expect(await attempt('other', '198.51.100.2')).toBe(401);
    expect(hashes).toBe(hashesAtLimit + 1);
  });

  it('counts per client id only when no source address is given', async () => {
    const attempt = instance();
    for (let i = 0; i < 20; i++) expect(await attempt(`guess-${i}`)).toMatchObject({ status: 401 });
    expect(await attempt('guess-20')).toMatchObject({ status: 429, retryAfter: '60' });
    expect(await attempt(SECRET)).toMatchObject({ status: 200 });
  });

  it('throttles a made-up client id as it does a real one (the answer does not tell which ids exist)', async () => {
    const attempt = instance();
    for (let i = 0; i < 10; i++) expect(await attempt(`guess-${i}`, '198.51.100.1', 'made-up')).toMatchObject({ status: 401 });
    expect(await attempt('guess-10', '198.51.100.1', 'made-up')).toEqual({ status: 429, retryAfter: '60', error: 'invalid_client' });
  });

  it('a right secret neither reads nor writes the store; a key known to be at its limit is refused from memory', async () => {
    const { store, calls } = countingStore(sqlite);
    const attempt = instance(store);
    expect(await attempt(SECRET, '198.51.100.1')).toMatchObject({ status: 200 });
    expect(await attempt(SECRET, '198.51.100.1')).toMatchObject({ status: 200 });
    expect(calls()).toBe(0);

    for (let i = 0; i < 10; i++) await attempt(`guess-${i}`, '198.51.100.1');
    expect(calls()).toBeGreaterThan(0);
    const afterCounting = calls();
    // This instance saw the address reach its limit: more guesses from it cost the store nothing.
    expect(await attempt('guess-10', '198.51.100.1')).toMatchObject({ status: 429 });
    expect(await attempt('guess-11', '198.51.100.1')).toMatchObject({ status: 429 });
    expect(calls()).toBe(afterCounting);
    // And the owner still passes without touching the store.
    expect(await attempt(SECRET, '198.51.100.1')).toMatchObject({ status: 200 });
    expect(calls()).toBe(afterCounting);
  });

  it('lets StoreUnavailableError through when the failure cannot be counted (the endpoint answers 503)', async () => {
    // A real PostgreSQL store pointing at a port nothing listens on.
    const unusedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(port));
      });
    });
    const unreachable = PostgresStore.open(`postgres://tokenproc:pw@127.0.0.1:${unusedPort}/tokenproc`, { connectTimeoutMs: 2000 });
    try {
      const attempt = instance(unreachable);
      await expect(attempt('wrong', '198.51.100.1')).rejects.toBeInstanceOf(StoreUnavailableError);
      // A right secret needs no store, so it still passes.
      expect(await attempt(SECRET, '198.51.100.1')).toMatchObject({ status: 200 });
    } finally {
      await unreachable.close();
    }
  });
});

describe('admin key throttle', () => {
  const ADMIN_KEY = 'the-admin-key-0123456789-abcdefghijklmnop';
  let sqlite: SqliteStore;
  let clock: number;
  let server: ReturnType<express.Express['listen']> | null = null;
  let origin = '';

  async function start(trustProxy: string | undefined): Promise<void> {
    const app = express();
    app.set('trust proxy', parseTrustProxy(trustProxy));
    app.use(route(adminAuthentication(sqlite, () => clock)));
    app.get('/whoami', (_req, res) => {
      res.json({ actor: res.locals.adminActor });
    });
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    origin = `http://127.0.0.1:${(server?.address() as AddressInfo).port}`;
  }

  beforeEach(async () => {
    sqlite = SqliteStore.openInMemory();
    await sqlite.setAdminKeyHash(hashAdminKey(ADMIN_KEY), 'cli');
    clock = T0;
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
    await sqlite.close();
  });

  async function call(key: string | null, forwardedFor?: string): Promise<{ status: number; retryAfter: string | null }> {
    const headers: Record<string, string> = {};
    if (key !== null) headers['authorization'] = `Bearer ${key}`;
    if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
    const response = await fetch(`${origin}/whoami`, { headers });
    await response.arrayBuffer();
    return { status: response.status, retryAfter: response.headers.get('retry-after') };
  }

  it('throttles wrong keys per source address (req.ip behind a trusted proxy), never the right key', async () => {
    await start('loopback');
    for (let i = 0; i < 10; i++) expect(await call(`wrong-${i}`, '203.0.113.1')).toEqual({ status: 401, retryAfter: null });
    expect(await call('wrong-10', '203.0.113.1')).toEqual({ status: 429, retryAfter: '60' });
    expect(await call(null, '203.0.113.1')).toMatchObject({ status: 429 });
    expect(await call(ADMIN_KEY, '203.0.113.1')).toEqual({ status: 200, retryAfter: null });
    // The proxy says another client: that one has its own count.
    expect(await call('wrong', '203.0.113.2')).toEqual({ status: 401, retryAfter: null });
    clock += 60_000;
    expect(await call('wrong-again', '203.0.113.1')).toEqual({ status: 401, retryAfter: null });
  });

  it('throttles wrong keys from all addresses together past 100 a minute, still never the right key', async () => {
    await start('loopback');
    for (let address = 1; address <= 10; address++) {
      for (let i = 0; i < 10; i++) expect((await call(`wrong-${i}`, `203.0.113.${address}`)).status).toBe(401);
    }
    expect(await call('wrong', '203.0.113.200')).toEqual({ status: 429, retryAfter: '60' });
    expect(await call(ADMIN_KEY, '203.0.113.200')).toEqual({ status: 200, retryAfter: null });
  });

  it('ignores X-Forwarded-For when no proxy is trusted (the default): the peer address is counted', async () => {
    await start(undefined);
    for (let i = 0; i < 10; i++) expect((await call(`wrong-${i}`, `203.0.113.${i + 1}`)).status).toBe(401);
    expect(await call('wrong-10', '203.0.113.99')).toMatchObject({ status: 429 });
  });
});
