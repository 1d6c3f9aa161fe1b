import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import { Client } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ClientAuthenticator } from '../../server/clients/authenticator.ts';
import { hashSecret } from '../../server/clients/secrets.ts';
import { openStore } from '../../server/store/index.ts';
import { StoreConflictError } from '../../server/store/errors.ts';
import { PostgresStore } from '../../server/store/postgres.ts';
import { PG_LATEST_SCHEMA_VERSION, PG_MIGRATIONS } from '../../server/store/postgres-migrations.ts';
import type { SigningKeyRecord, Store } from '../../server/store/types.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { basic, clientBody, formBody, startTestServer, type TestServer } from '../helpers/server.ts';
import { clientRecord, procedureVersion, storeContractTests } from './contract.ts';

const EXCHANGE = 'oauth-token-oauth-token-exchange';

// One PostgreSQL server for this file; every test gets its own database.
let postgres: TestPostgres;

beforeAll(async () => {
  postgres = await startTestPostgres();
}, 120_000);

afterAll(async () => {
  await postgres?.stop();
}, 60_000);

const databaseOf = new Map<Store, string>();

storeContractTests(
  'PostgresStore',
  async () => {
    const { name, url } = await postgres.createDatabase();
    const store = PostgresStore.open(url);
    databaseOf.set(store, name);
    await store.migrate();
    return store;
  },
  async (store) => {
    const name = databaseOf.get(store);
    databaseOf.delete(store);
    if (name) await postgres.dropDatabase(name);
  },
);

function signingKey(kid: string, createdAt: number): Omit<SigningKeyRecord, 'retired_at'> {
  return { kid, alg: 'ES256', private_jwk: JSON.stringify({ kid, d: 'd' }), public_jwk: JSON.stringify({ kid }), created_at: createdAt };
}

describe('PostgresStore', () => {
  const open: Store[] = [];
  const databases: string[] = [];
  const raw: Client[] = [];

  /** A fresh database and `count` independent stores (each with its own pool) on it, not migrated. */
  async function instances(count: number): Promise<{ url: string; stores: PostgresStore[] }> {
    const { name, url } = await postgres.createDatabase();
    databases.push(name);
    const stores = Array.from({ length: count }, () => PostgresStore.open(url, { maxConnections: 4 }));
    open.push(...stores);
    return { url, stores };
  }

  async function rawClient(url: string): Promise<Client> {
    const client = new Client({ connectionString: url });
    raw.push(client);
    await client.connect();
    return client;
  }

  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    for (const client of raw.splice(0)) await client.end();
    for (const name of databases.splice(0)) await postgres.dropDatabase(name);
  });

  it('openStore uses PostgreSQL when a database URL is set, and leaves dataDir alone', async () => {
    const { name, url } = await postgres.createDatabase();
    databases.push(name);
    const dataDir = path.join(os.tmpdir(), `tokenproc-unused-${process.pid}-${Date.now()}`);
    const store = openStore({ dataDir, databaseUrl: url });
    open.push(store);
    expect(store).toBeInstanceOf(PostgresStore);
    await store.migrate();
    expect(await store.revision()).toBe(0);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('two instances see each other\'s writes, and the revision moves for both', async () => {
    const { stores } = await instances(2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await Promise.all([a.migrate(), b.migrate()]);
    const start = await b.revision();

    await a.putProcedureVersion(procedureVersion('orders-exchange', 'function result() { return 1; }'), 'admin-a');
    await a.putClient(clientRecord({ procedures: { [EXCHANGE]: 'orders-exchange' } }), 'admin-a');
    expect(await b.revision()).toBe(start + 2);
    expect(await b.getClient('orders-api-client')).toEqual(clientRecord({ procedures: { [EXCHANGE]: 'orders-exchange' } }));
    expect((await b.getActiveProcedure('orders-exchange'))?.version).toBe(1);

    // b's write builds on a's: the next version number, and a sees it.
    const v2 = await b.putProcedureVersion(procedureVersion('orders-exchange', 'function result() { return 2; }'), 'admin-b');
    expect(v2.version).toBe(2);
    expect(await a.revision()).toBe(start + 3);
    expect(await a.getActiveProcedure('orders-exchange')).toEqual(v2);
    expect((await a.listAudit()).map((e) => e.actor)).toEqual(['admin-b', 'admin-a', 'admin-a']);
  });

  it('concurrent uploads from two instances get distinct consecutive versions', async () => {
    const { stores } = await instances(2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.migrate();
    const uploads = Array.from({ length: 8 }, (_, i) =>
      (i % 2 === 0 ? a : b).putProcedureVersion(procedureVersion('p', `function result() { return ${i}; }`), i % 2 === 0 ? 'a' : 'b'),
    );
    const versions = (await Promise.all(uploads)).map((v) => v.version).sort((x, y) => x - y);
    expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await b.listProcedureVersions('p')).map((v) => v.version)).toEqual(versions);
    expect((await a.getActiveProcedure('p'))?.version).toBe(8);
    expect((await b.listAudit()).filter((e) => e.action === 'procedure.upload')).toHaveLength(8);
    expect(await a.revision()).toBe(8);
  });

  it('a procedure delete racing a client that names it from another instance never leaves a dangling reference', async () => {
    const { stores } = await instances(2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.migrate();
    for (let round = 0; round < 4; round++) {
      const id = `p${round}`;
      await a.putProcedureVersion(procedureVersion(id, 'function result() {}'), 'cli');
      const client = clientRecord({ client_id: `c${round}`, procedures: { [EXCHANGE]: id } });
      const [deleted, put] = await Promise.allSettled([a.deleteProcedure(id, 'cli'), b.putClient(client, 'cli')]);
      const refusal = deleted.status === 'rejected' ? deleted.reason : put.status === 'rejected' ? put.reason : null;
      // Exactly one wins; the loser is refused with the matching conflict.
      expect(refusal).toBeInstanceOf(StoreConflictError);
      if (deleted.status === 'fulfilled') {
        expect(deleted.value).toBe(true);
        expect((refusal as StoreConflictError).code).toBe('procedure_missing');
        expect(await b.getClient(client.client_id)).toBeNull();
      } else {
        expect((refusal as StoreConflictError).code).toBe('procedure_in_use');
        expect(await b.getActiveProcedure(id)).not.toBeNull();
        expect(await a.clientsUsingProcedure(id)).toEqual([client.client_id]);
      }
    }
  });

  it('concurrent key rotations from two instances leave exactly one active key', async () => {
    const { stores } = await instances(2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.migrate();
    await Promise.all([
      a.addSigningKey(signingKey('ka1', 1), 'system'),
      b.addSigningKey(signingKey('kb1', 1), 'system'),
      a.addSigningKey(signingKey('ka2', 2), 'system'),
      b.addSigningKey(signingKey('kb2', 2), 'system'),
    ]);
    const keys = await b.listSigningKeys();
    expect(keys.map((k) => k.kid).sort()).toEqual(['ka1', 'ka2', 'kb1', 'kb2']);
    expect(keys.filter((k) => k.retired_at === null)).toHaveLength(1);
  });

  it('instances initialising the admin key at once agree on one key', async () => {
    const { stores } = await instances(3);
    await (stores[0] as PostgresStore).migrate();
    const results = await Promise.all(stores.map((s, i) => s.initAdminKeyHash(`hash-${i}`, 'system')));
    expect(new Set(results).size).toBe(1);
    expect(await (stores[1] as PostgresStore).getAdminKeyHash()).toBe(results[0]);
  });

  it('migrate() run by several instances at once applies each migration once', async () => {
    const { url, stores } = await instances(3);
    await Promise.all(stores.map((store) => store.migrate()));
    await Promise.all(stores.map((store) => store.migrate()));
    const db = await rawClient(url);
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_version ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    expect(await stores[0]?.revision()).toBe(0);
  });

  it('shares failed authentication counts: failures recorded through one instance throttle the other', async () => {
    const { url, stores } = await instances(2);
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await a.migrate();
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) expect(await a.recordAuthFailure('client_secret', 'svc', t0 + i, 60_000, 3)).toMatchObject({ failures: i + 1, counted: true });
    expect(await b.recordAuthFailure('client_secret', 'svc', t0 + 3, 60_000, 3)).toEqual({ failures: 3, counted: false, windowEndsAt: t0 + 60_000 });

    // The same through the client authenticator each instance runs (wrong secrets: 10 per address, 20 per client id a minute).
    const secret = 'shared-throttle-secret-0123456789';
    const client = clientRecord({ client_id: 'svc-guessed', client_secret_hash: await hashSecret(secret) });
    const authenticatorOver = (store: Store) =>
      new ClientAuthenticator({
        store,
        lookupClient: (id) => (id === client.client_id ? client : undefined),
        assertionAudiences: () => [],
        clockSkewSeconds: 60,
        now: () => t0,
        verifier: { parseJwt: () => null, verifyWithKeys: async () => 'bad_signature' },
      });
    const [atA, atB] = [authenticatorOver(a), authenticatorOver(b)];
    const attempt = (at: ClientAuthenticator, presented: string, address: string) =>
      at.authenticate(undefined, new Map([['client_id', [client.client_id]], ['client_secret', [presented]]]), address);
    const statusOf = async (result: ReturnType<typeof attempt>) => {
      const settled = await result;
      return settled.ok ? 200 : settled.error.status;
    };

    for (let i = 0; i < 10; i++) expect(await statusOf(attempt(atA, `guess-a-${i}`, '198.51.100.1'))).toBe(401);
    const throttled = await attempt(atB, 'guess-b-0', '198.51.100.1');
    expect(throttled.ok ? null : { status: throttled.error.status, headers: throttled.error.headers }).toEqual({ status: 429, headers: { 'Retry-After': '60' } });
    // Another address still gets its own ten, and fills the client's count of 20 from b...
    for (let i = 0; i < 10; i++) expect(await statusOf(attempt(atB, `guess-b-${i + 1}`, '198.51.100.2'))).toBe(401);
    // ...which a, which saw only its own ten, learns from the store.
    expect(await statusOf(attempt(atA, 'guess-a-fresh', '198.51.100.3'))).toBe(429);
    // The holder of the secret is let through at both from an address that did not guess; the
    // guessing address, known at both to be at its limit, is refused without a check.
    expect(await statusOf(attempt(atB, secret, '198.51.100.1'))).toBe(429);
    expect(await statusOf(attempt(atA, secret, '198.51.100.9'))).toBe(200);
    expect(await statusOf(attempt(atB, secret, '198.51.100.9'))).toBe(200);
    // Verified lately, the secret then passes at B from the guessing address too, without a hash.
    expect(await statusOf(attempt(atB, secret, '198.51.100.1'))).toBe(200);

    // Ended windows are purged: one row per key that failed lately, not per failure.
    const db = await rawClient(url);
    const count = async () => Number((await db.query<{ n: string }>('SELECT COUNT(*) AS n FROM auth_failures')).rows[0]?.n);
    expect(await count()).toBe(5);
    await b.recordAuthFailure('admin_key', '*', t0 + 60_000, 60_000, 100);
    expect(await count()).toBe(1);
  });

  it('refuses a database written by a newer schema', async () => {
    const { url, stores } = await instances(1);
    const [store] = stores as [PostgresStore];
    await store.migrate();
    const db = await rawClient(url);
    await db.query('INSERT INTO schema_version (version, applied_at) VALUES ($1, 0)', [PG_LATEST_SCHEMA_VERSION + 1]);
    await expect(store.migrate()).rejects.toThrow(/newer than this build supports/);
  });

  it('refuses updates to a stored procedure version at the database level', async () => {
    const { url, stores } = await instances(1);
    const [store] = stores as [PostgresStore];
    await store.migrate();
    await store.putProcedureVersion(procedureVersion('p', 'function result() {}'), 'cli');
    const db = await rawClient(url);
    await expect(db.query("UPDATE procedure_versions SET source = 'x'")).rejects.toThrow(/immutable/);
    expect((await store.getActiveProcedure('p'))?.source).toBe('function result() {}');
  });

  it('never puts the password of the URL in an error message', async () => {
    const { name } = await postgres.createDatabase();
    databases.push(name);
    const wrongPassword = 'Wr0ng-Pa55word-Marker';
    const badAuth = PostgresStore.open(postgres.url(name, { user: 'postgres', password: wrongPassword }));
    open.push(badAuth);
    const authError = await badAuth.migrate().catch((e: unknown) => e);
    expect(authError).toBeInstanceOf(Error);
    expect((authError as Error).message).toMatch(/cannot connect to the PostgreSQL store at postgres:\/\/postgres@127\.0\.0\.1:\d+\/.*password authentication failed/);

    // Nothing listens on the port once this probe server closed.
    const unusedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const refused = PostgresStore.open(`postgres://postgres:${encodeURIComponent(postgres.password)}@127.0.0.1:${unusedPort}/${name}`, { connectTimeoutMs: 5000 });
    open.push(refused);
    const refusedError = await refused.revision().catch((e: unknown) => e);
    expect((refusedError as Error).message).toMatch(/cannot connect to the PostgreSQL store/);
    expect((refusedError as { code?: string }).code).toBe('ECONNREFUSED');

    let malformedError: unknown = null;
    try {
      PostgresStore.open(`postgres://postgres:${wrongPassword}@[not a host/${name}`);
    } catch (e) {
      malformedError = e;
    }
    expect((malformedError as Error).message).toMatch(/not a valid URL/);

    for (const error of [authError, refusedError, malformedError]) {
      const everything = `${(error as Error).message} ${(error as Error).stack ?? ''} ${JSON.stringify(error)}`;
      expect(everything).not.toContain(wrongPassword);
      expect(everything).not.toContain(postgres.password);
      expect(everything).not.toContain(encodeURIComponent(postgres.password));
    }
  });
});

// ---- end to end: two `tokenproc serve` processes on one database ----

const CLIENT_SECRET = 'shared-store-secret-0123456789';
const MARKER_PROCEDURE = `function result(context) {
  var data = context.getDefaultAccessTokenData();
  data.deployment = 'shared-postgres';
  var token = context.getDefaultAccessTokenJwtIssuer().issue(data, context.getDefaultDelegationData());
  return { access_token: token, token_type: 'Bearer', expires_in: secondsUntil(data.exp), scope: data.scope };
}
`;

function claimsOf(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('two tokenproc instances on one PostgreSQL database', () => {
  it('share configuration (within the cache poll) and signing keys', async () => {
    const { name, url } = await postgres.createDatabase();
    const servers: TestServer[] = [];
    try {
      const shared = { adminKey: 'shared-admin-key-for-both-instances-0123456789', env: { TOKENPROC_DATABASE_URL: url }, args: ['--issuer', 'https://tokenproc.example.test'] };
      // One after the other: the first creates the schema and the signing key, the second finds them.
      const first = await startTestServer(shared);
      servers.push(first);
      const second = await startTestServer(shared);
      servers.push(second);

      const uploaded = await first.admin('PUT', '/procedures/cc-marker', { flow: 'oauth-token-client-credentials', source: MARKER_PROCEDURE });
      expect(uploaded.status).toBeLessThan(300);
      const registered = await first.admin('PUT', '/clients/svc-shared', clientBody({
        client_secret: CLIENT_SECRET,
        scope: 'read write',
        procedures: { 'oauth-token-client-credentials': 'cc-marker' },
      }));
      expect(registered.status).toBeLessThan(300);

      // The second instance learns of the new client and procedure by polling the revision (1 s).
      const auth = { id: 'svc-shared', secret: CLIENT_SECRET };
      const deadline = Date.now() + 5000;
      let atSecond = await second.token({ grant_type: 'client_credentials', scope: 'read' }, auth);
      while (atSecond.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        atSecond = await second.token({ grant_type: 'client_credentials', scope: 'read' }, auth);
      }
      expect(atSecond.status).toBe(200);
      expect(claimsOf(String(atSecond.body.access_token))).toMatchObject({ deployment: 'shared-postgres', client_id: 'svc-shared', scope: 'read' });

      // A token signed by the first instance is active at the second: the keys are shared.
      const atFirst = await first.token({ grant_type: 'client_credentials', scope: 'write' }, auth);
      expect(atFirst.status).toBe(200);
      const introspection = await fetch(`${second.origin}/oauth/v2/oauth-introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(auth.id, auth.secret) },
        body: formBody({ token: String(atFirst.body.access_token) }),
      });
      expect(await introspection.json()).toMatchObject({ active: true, client_id: 'svc-shared', scope: 'write', deployment: 'shared-postgres' });

      for (const server of servers) expect(server.output()).not.toContain(postgres.password);
    } finally {
      for (const server of servers) await server.stop();
      await postgres.dropDatabase(name);
    }
  }, 90_000);
});

describe('token lifecycle across two tokenproc instances on one PostgreSQL database', () => {
  it('a revocation at one instance is honoured at the other within about a second; a refresh token is spent everywhere; racing redemptions: one wins, the family is revoked', async () => {
    const { name, url } = await postgres.createDatabase();
    const servers: TestServer[] = [];
    try {
      const shared = { adminKey: 'shared-admin-key-for-both-instances-0123456789', env: { TOKENPROC_DATABASE_URL: url }, args: ['--issuer', 'https://tokenproc.example.test'] };
      const first = await startTestServer(shared);
      servers.push(first);
      const second = await startTestServer(shared);
      servers.push(second);
      const registered = await first.admin('PUT', '/clients/svc-life', clientBody({
        client_secret: CLIENT_SECRET,
        grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials', 'refresh_token'],
        scope: 'read write',
      }));
      expect(registered.status).toBeLessThan(300);
      const auth = { id: 'svc-life', secret: CLIENT_SECRET };
      const post = async (server: TestServer, path: string, form: Record<string, string>): Promise<Record<string, unknown>> => {
        const response = await fetch(`${server.origin}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(auth.id, auth.secret) },
          body: formBody(form),
        });
        return { status: response.status, ...((await response.json()) as Record<string, unknown>) };
      };
      const deadline = Date.now() + 5000;
      while ((await second.token({ grant_type: 'client_credentials' }, auth)).status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const exchangeAt = async (server: TestServer): Promise<{ access: string; refresh: string }> => {
        const subject = await server.token({ grant_type: 'client_credentials' }, auth);
        const exchanged = await server.token({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: String(subject.body.access_token),
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        }, auth);
        expect(exchanged.status).toBe(200);
        return { access: String(exchanged.body.access_token), refresh: String(exchanged.body.refresh_token) };
      };
      const refreshAt = (server: TestServer, token: string) => server.token({ grant_type: 'refresh_token', refresh_token: token }, auth);

      // Revoked through the first instance: inactive at the second within about a second.
      const { access } = await exchangeAt(first);
      expect(await post(second, '/oauth/v2/oauth-introspect', { token: access })).toMatchObject({ status: 200, active: true });
      expect(await post(first, '/oauth/v2/oauth-revoke', { token: access })).toMatchObject({ status: 200 });
      const revokedAt = Date.now();
      let seen = await post(second, '/oauth/v2/oauth-introspect', { token: access });
      while (seen.active !== false && Date.now() - revokedAt < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = await post(second, '/oauth/v2/oauth-introspect', { token: access });
      }
      expect(seen).toEqual({ status: 200, active: false });
      expect(Date.now() - revokedAt).toBeLessThan(2500);
      const asSubject = await second.token({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: access,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      }, auth);
      expect(asSubject.body.error).toBe('invalid_request');

      // Used at the first instance, spent at the second: presenting it there revokes the family.
      const family = await exchangeAt(first);
      const rotated = await refreshAt(first, family.refresh);
      expect(rotated.status).toBe(200);
      expect((await refreshAt(second, family.refresh)).body.error).toBe('invalid_grant');
      expect((await refreshAt(first, String(rotated.body.refresh_token))).body.error).toBe('invalid_grant');

      // Two instances redeeming one refresh token at once: exactly one wins, and the family is revoked.
      const raced = await exchangeAt(second);
      const outcomes = await Promise.all([refreshAt(first, raced.refresh), refreshAt(second, raced.refresh)]);
      const winners = outcomes.filter((outcome) => outcome.status === 200);
      expect(winners).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome.body.error === 'invalid_grant')).toHaveLength(1);
      const winnerRefresh = String(winners[0]?.body.refresh_token);
      expect((await refreshAt(first, winnerRefresh)).body.error).toBe('invalid_grant');
      expect((await refreshAt(second, winnerRefresh)).body.error).toBe('invalid_grant');
    } finally {
      for (const server of servers) await server.stop();
      await postgres.dropDatabase(name);
    }
  }, 90_000);
});

describe('a database outage', () => {
  it('is a 503 within a bounded time at the token endpoint and the admin API, logged, never a 401', async () => {
    const { name, url } = await postgres.createDatabase();
    const admin = new Client({ connectionString: postgres.url('postgres') });
    await admin.connect();
    let server: TestServer | null = null;
    try {
      server = await startTestServer({ env: { TOKENPROC_DATABASE_URL: url } });
      const keys = await jose.generateKeyPair('ES256');
      const jwk = { ...(await jose.exportJWK(keys.publicKey)), kid: 'outage-key', alg: 'ES256', use: 'sig' };
      const registered = await server.admin('PUT', '/clients/jwt-outage', clientBody({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, scope: 'read' }));
      expect(registered.status).toBe(201);
      const assertion = (jti: string) =>
        new jose.SignJWT({ jti })
          .setProtectedHeader({ alg: 'ES256', kid: 'outage-key' })
          .setIssuer('jwt-outage').setSubject('jwt-outage').setAudience(server!.issuer).setIssuedAt().setExpirationTime('1m')
          .sign(keys.privateKey);
      const form = async (jti: string) => ({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(jti),
      });
      expect((await server.token(await form('before-outage'))).status).toBe(200);

      // The database refuses every connection, and the ones open are cut: an outage for this store alone.
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);

      const started = Date.now();
      const during = await server.token(await form('during-outage'));
      expect(during.status).toBe(503);
      expect(during.body).toMatchObject({ error: 'temporarily_unavailable' });
      expect(during.headers.get('cache-control')).toBe('no-store');
      expect(during.headers.get('retry-after')).toBe('1');
      const adminDuring = await server.admin('GET', '/clients');
      expect(adminDuring.status).toBe(503);
      expect(adminDuring.body).toMatchObject({ error: 'temporarily_unavailable' });
      // Connect timeout 3 s, query timeout 5 s: well under the 18 s a frozen store used to hold requests.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(server.output()).toContain('store unavailable');

      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      const after = await server.token(await form('after-outage'));
      expect(after.status).toBe(200);
    } finally {
      await server?.stop();
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.end();
      await postgres.dropDatabase(name);
    }
  });
});
