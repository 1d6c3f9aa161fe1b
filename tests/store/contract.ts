import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { StoreConflictError } from '../../server/store/errors.ts';
import { entityTag, PreconditionFailedError } from '../../server/store/etag.ts';
import { GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from '../../server/store/types.ts';
import type {
  AdminRole,
  ClientRecord,
  FlowId,
  NewProcedureVersion,
  OpaqueTokenRecord,
  RefreshTokenRecord,
  SigningKeyRecord,
  Store,
  TrustedIssuerRecord,
} from '../../server/store/types.ts';

/**
 * The behaviour every Store implementation must have. Run it against each implementation with a
 * factory that returns a fresh, migrated, empty store; `cleanup` runs after the store is closed.
 */

const EXCHANGE: FlowId = 'oauth-token-oauth-token-exchange';
const CLIENT_CREDENTIALS: FlowId = 'oauth-token-client-credentials';

// Markers that must never appear in the audit trail.
const SECRET_HASH_MARKER = 'scrypt$N=16384$SECRET-HASH-MARKER';
const PRIVATE_KEY_MARKER = 'PRIVATE-KEY-MARKER';
const SCRIPT_BODY_MARKER = 'SCRIPT-BODY-MARKER';
const ADMIN_HASH_MARKER = 'ADMIN-HASH-MARKER';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function procedureVersion(id: string, source: string, flow: FlowId = EXCHANGE): NewProcedureVersion {
  return { id, flow, source, sha256: sha256Hex(source) };
}

export function clientRecord(overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    client_id: 'orders-api-client',
    name: 'Orders API',
    client_secret_hash: SECRET_HASH_MARKER,
    token_endpoint_auth_method: 'client_secret_basic',
    jwks: null,
    grant_types: [GRANT_TOKEN_EXCHANGE, GRANT_CLIENT_CREDENTIALS],
    scope: 'invoicing trigger_invoicing',
    audiences: ['https://invoicing.example.com'],
    properties: { custom_token_exchange: 'true' },
    procedures: {},
    access_token_ttl: 300,
    accept_unvalidated_tokens: false,
    created_at: 1_700_000_000,
    updated_at: 1_700_000_000,
    ...overrides,
  };
}

function signingKey(kid: string, createdAt: number): Omit<SigningKeyRecord, 'retired_at'> {
  return {
    kid,
    alg: 'ES256',
    private_jwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: PRIVATE_KEY_MARKER, kid }),
    public_jwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid }),
    created_at: createdAt,
  };
}

function issuerRecord(overrides: Partial<TrustedIssuerRecord> = {}): TrustedIssuerRecord {
  return {
    id: 'corporate-idp',
    issuer: 'https://idp.example.com',
    jwks_uri: 'https://idp.example.com/jwks',
    created_at: 1_700_000_000,
    updated_at: 1_700_000_000,
    ...overrides,
  };
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function storeContractTests(
  name: string,
  makeStore: () => Promise<Store>,
  cleanup?: (store: Store) => Promise<void>,
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      await store.close();
      await cleanup?.(store);
    });

    describe('schema', () => {
      it('migrate is idempotent and keeps data', async () => {
        await store.putClient(clientRecord(), 'cli');
        await store.migrate();
        await store.migrate();
        expect(await store.getClient('orders-api-client')).toEqual(clientRecord());
      });
    });

    describe('clients', () => {
      it('creates, reads back and lists', async () => {
        expect(await store.getClient('orders-api-client')).toBeNull();
        expect(await store.putClient(clientRecord(), 'admin-1')).toEqual({ created: true });
        const other = clientRecord({ client_id: 'api1', name: undefined, jwks: { keys: [{ kty: 'EC' }] } });
        delete other.name;
        await store.putClient(other, 'admin-1');

        expect(await store.getClient('orders-api-client')).toEqual(clientRecord());
        const read = await store.getClient('api1');
        expect(read).toEqual(other);
        expect(read && 'name' in read).toBe(false);
        expect((await store.listClients()).map((c) => c.client_id)).toEqual(['api1', 'orders-api-client']);
      });

      it('replaces, keeping the original created_at', async () => {
        await store.putClient(clientRecord(), 'admin-1');
        const replacement = clientRecord({
          scope: 'invoicing',
          accept_unvalidated_tokens: true,
          client_secret_hash: null,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ kty: 'RSA', n: 'n', e: 'AQAB' }] },
          created_at: 1_800_000_000,
          updated_at: 1_800_000_100,
        });
        expect(await store.putClient(replacement, 'admin-2')).toEqual({ created: false });
        expect(await store.getClient('orders-api-client')).toEqual({ ...replacement, created_at: 1_700_000_000 });
      });

      it('deletes', async () => {
        await store.putClient(clientRecord(), 'admin-1');
        expect(await store.deleteClient('orders-api-client', 'admin-1')).toBe(true);
        expect(await store.getClient('orders-api-client')).toBeNull();
        expect(await store.deleteClient('orders-api-client', 'admin-1')).toBe(false);
        expect(await store.listClients()).toEqual([]);
      });

      it('finds the clients naming a procedure', async () => {
        await store.putProcedureVersion(procedureVersion('shared', 'function result() {}'), 'cli');
        await store.putProcedureVersion(procedureVersion('other', 'function result() {}'), 'cli');
        await store.putClient(clientRecord({ client_id: 'b', procedures: { [EXCHANGE]: 'shared' } }), 'cli');
        await store.putClient(clientRecord({ client_id: 'a', procedures: { [EXCHANGE]: 'shared' } }), 'cli');
        await store.putClient(clientRecord({ client_id: 'c', procedures: { [EXCHANGE]: 'other' } }), 'cli');
        await store.putClient(clientRecord({ client_id: 'd', procedures: {} }), 'cli');
        expect(await store.clientsUsingProcedure('shared')).toEqual(['a', 'b']);
        expect(await store.clientsUsingProcedure('other')).toEqual(['c']);
        expect(await store.clientsUsingProcedure('unused')).toEqual([]);
      });
    });

    describe('procedures', () => {
      it('stores immutable versions with increasing numbers, the newest active', async () => {
        const v1 = await store.putProcedureVersion(procedureVersion('orders-exchange', 'function result(c) { return 1; }'), 'admin-1');
        const v2 = await store.putProcedureVersion(procedureVersion('orders-exchange', 'function result(c) { return 2; }'), 'admin-2');
        expect(v1).toMatchObject({ id: 'orders-exchange', version: 1, flow: EXCHANGE, created_by: 'admin-1' });
        expect(v2).toMatchObject({ version: 2, created_by: 'admin-2', sha256: sha256Hex('function result(c) { return 2; }') });
        expect(typeof v2.created_at).toBe('number');

        expect(await store.getActiveProcedure('orders-exchange')).toEqual(v2);
        const other = await store.putProcedureVersion(procedureVersion('another', 'function result(c) { return 3; }'), 'admin-1');
        await store.activateProcedureVersion('orders-exchange', 1, 'admin-1');
        // Every active version in one answer, ordered by id.
        expect(await store.listActiveProcedures()).toEqual([other, v1]);
        await store.activateProcedureVersion('orders-exchange', 2, 'admin-1');
        await store.deleteProcedure('another', 'admin-1');
        expect(await store.getProcedureVersion('orders-exchange', 1)).toEqual(v1);
        expect(await store.getProcedureVersion('orders-exchange', 3)).toBeNull();
        expect(await store.listProcedureVersions('orders-exchange')).toEqual([v1, v2]);
        expect(await store.listProcedures()).toEqual([
          { id: 'orders-exchange', flow: EXCHANGE, active_version: 2, latest_version: 2, sha256: v2.sha256, updated_at: expect.any(Number) },
        ]);
      });

      it('activates back and forth, and numbering continues after a rollback', async () => {
        const v1 = await store.putProcedureVersion(procedureVersion('p', 'function result() { return "one"; }'), 'cli');
        const v2 = await store.putProcedureVersion(procedureVersion('p', 'function result() { return "two"; }'), 'cli');
        expect(await store.activateProcedureVersion('p', 1, 'cli')).toEqual(v1);
        expect(await store.getActiveProcedure('p')).toEqual(v1);
        expect((await store.listProcedures())[0]).toMatchObject({ active_version: 1, latest_version: 2, sha256: v1.sha256 });

        expect(await store.activateProcedureVersion('p', 2, 'cli')).toEqual(v2);
        expect(await store.getActiveProcedure('p')).toEqual(v2);

        await store.activateProcedureVersion('p', 1, 'cli');
        const v3 = await store.putProcedureVersion(procedureVersion('p', 'function result() { return "three"; }'), 'cli');
        expect(v3.version).toBe(3);
        expect(await store.getActiveProcedure('p')).toEqual(v3);
        expect(await store.getProcedureVersion('p', 2)).toEqual(v2);
      });

      it('keeps a change note with its version (null without one), and carries upload and activation notes in the audit details', async () => {
        const v1 = await store.putProcedureVersion({ ...procedureVersion('p', 'function result() { return 1; }'), note: 'first cut — ünïcode ok' }, 'admin-a');
        const v2 = await store.putProcedureVersion(procedureVersion('p', 'function result() { return 2; }'), 'admin-a');
        expect(v1.note).toBe('first cut — ünïcode ok');
        expect(v2.note).toBeNull();
        expect(await store.getProcedureVersion('p', 1)).toEqual(v1);
        expect(await store.getActiveProcedure('p')).toEqual(v2);
        expect(await store.listProcedureVersions('p')).toEqual([v1, v2]);
        expect(await store.activateProcedureVersion('p', 1, 'admin-b', undefined, 'roll back: v2 broke invoicing')).toEqual(v1);
        await store.activateProcedureVersion('p', 2, 'admin-b');
        expect(await store.listActiveProcedures()).toEqual([v2]);
        const entries = (await store.listAudit({ filter: { target_id: 'p' } })).reverse();
        expect(entries.map((e) => [e.action, e.details])).toEqual([
          ['procedure.upload', { flow: EXCHANGE, sha256: v1.sha256, note: 'first cut — ünïcode ok' }],
          ['procedure.upload', { flow: EXCHANGE, sha256: v2.sha256 }],
          ['procedure.activate', { sha256: v1.sha256, note: 'roll back: v2 broke invoicing' }],
          ['procedure.activate', { sha256: v2.sha256 }],
        ]);
      });

      it('answers null when activating a missing procedure or version, changing nothing', async () => {
        await store.putProcedureVersion(procedureVersion('p', 'function result() {}'), 'cli');
        const revision = await store.revision();
        const auditCount = (await store.listAudit({ limit: 1000 })).length;
        expect(await store.activateProcedureVersion('p', 7, 'cli')).toBeNull();
        expect(await store.activateProcedureVersion('missing', 1, 'cli')).toBeNull();
        expect(await store.revision()).toBe(revision);
        expect((await store.listAudit({ limit: 1000 })).length).toBe(auditCount);
        expect((await store.getActiveProcedure('p'))?.version).toBe(1);
        expect(await store.getActiveProcedure('missing')).toBeNull();
      });

      it('gives concurrent uploads distinct consecutive versions', async () => {
        const uploads = Array.from({ length: 5 }, (_, i) =>
          store.putProcedureVersion(procedureVersion('p', `function result() { return ${i}; }`), 'cli'),
        );
        const versions = (await Promise.all(uploads)).map((v) => v.version).sort((a, b) => a - b);
        expect(versions).toEqual([1, 2, 3, 4, 5]);
        expect((await store.getActiveProcedure('p'))?.version).toBe(5);
      });

      it('refuses a sha256 that does not match the source', async () => {
        const bad = { ...procedureVersion('p', 'function result() {}'), sha256: sha256Hex('something else') };
        await expect(store.putProcedureVersion(bad, 'cli')).rejects.toThrow(/sha256/);
        expect(await store.getActiveProcedure('p')).toBeNull();
      });

      it('refuses a version for another flow than the procedure has', async () => {
        await store.putProcedureVersion(procedureVersion('p', 'function result() {}', EXCHANGE), 'cli');
        const err = await store
          .putProcedureVersion(procedureVersion('p', 'function result() { }', CLIENT_CREDENTIALS), 'cli')
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreConflictError);
        expect((err as StoreConflictError).code).toBe('procedure_flow_mismatch');
        expect(await store.listProcedureVersions('p')).toHaveLength(1);
      });

      it('deletes a procedure with all its versions', async () => {
        await store.putProcedureVersion(procedureVersion('p', 'function result() { return 1; }'), 'cli');
        await store.putProcedureVersion(procedureVersion('p', 'function result() { return 2; }'), 'cli');
        expect(await store.deleteProcedure('p', 'cli')).toBe(true);
        expect(await store.getActiveProcedure('p')).toBeNull();
        expect(await store.getProcedureVersion('p', 1)).toBeNull();
        expect(await store.listProcedureVersions('p')).toEqual([]);
        expect(await store.listProcedures()).toEqual([]);
        expect(await store.deleteProcedure('p', 'cli')).toBe(false);
      });

      it('refuses to delete a procedure a client still names', async () => {
        await store.putProcedureVersion(procedureVersion('orders-exchange', 'function result() {}'), 'cli');
        await store.putClient(clientRecord({ procedures: { [EXCHANGE]: 'orders-exchange' } }), 'cli');
        const err = await store.deleteProcedure('orders-exchange', 'cli').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreConflictError);
        expect((err as StoreConflictError).code).toBe('procedure_in_use');
        expect((err as StoreConflictError).clientIds).toEqual(['orders-api-client']);
        expect((await store.getActiveProcedure('orders-exchange'))?.version).toBe(1);
      });
    });

    describe('client references', () => {
      it('refuses a client that names a missing procedure or one of another flow, writing nothing', async () => {
        const naming = clientRecord({ procedures: { [EXCHANGE]: 'orders-exchange' } });
        const missing = await store.putClient(naming, 'cli').catch((e: unknown) => e);
        expect(missing).toBeInstanceOf(StoreConflictError);
        expect((missing as StoreConflictError).code).toBe('procedure_missing');
        expect(await store.getClient('orders-api-client')).toBeNull();
        await store.putProcedureVersion({ ...procedureVersion('orders-exchange', 'function result() {}'), flow: 'oauth-token-client-credentials' }, 'cli');
        const wrongFlow = await store.putClient(naming, 'cli').catch((e: unknown) => e);
        expect((wrongFlow as StoreConflictError).code).toBe('procedure_missing');
      });
    });

    describe('trusted issuers', () => {
      it('creates, replaces, lists and deletes', async () => {
        const withUri = issuerRecord();
        const withJwks = issuerRecord({
          id: 'partner',
          issuer: 'https://partner.example.org',
          jwks_uri: undefined,
          jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] },
          allowed_algs: ['ES256'],
          audiences: ['orders-api-client'],
        });
        delete withJwks.jwks_uri;
        expect(await store.putTrustedIssuer(withUri, 'cli')).toEqual({ created: true });
        await store.putTrustedIssuer(withJwks, 'cli');
        expect(await store.getTrustedIssuer('corporate-idp')).toEqual(withUri);
        expect(await store.getTrustedIssuer('partner')).toEqual(withJwks);
        expect((await store.listTrustedIssuers()).map((i) => i.id)).toEqual(['corporate-idp', 'partner']);

        const replaced = { ...withUri, issuer: 'https://idp2.example.com', created_at: 1_900_000_000, updated_at: 1_900_000_000 };
        expect(await store.putTrustedIssuer(replaced, 'cli')).toEqual({ created: false });
        expect(await store.getTrustedIssuer('corporate-idp')).toEqual({ ...replaced, created_at: withUri.created_at });

        expect(await store.deleteTrustedIssuer('corporate-idp', 'cli')).toBe(true);
        expect(await store.deleteTrustedIssuer('corporate-idp', 'cli')).toBe(false);
        expect(await store.getTrustedIssuer('corporate-idp')).toBeNull();
      });
    });

    describe('signing keys', () => {
      it('adding a key retires the previous active one', async () => {
        const before = nowSeconds();
        await store.addSigningKey(signingKey('k1', 100), 'system');
        expect(await store.listSigningKeys()).toEqual([{ ...signingKey('k1', 100), retired_at: null }]);

        await store.addSigningKey(signingKey('k2', 200), 'cli');
        const keys = await store.listSigningKeys();
        expect(keys.map((k) => k.kid)).toEqual(['k2', 'k1']);
        expect(keys[0]?.retired_at).toBeNull();
        const retiredAt = keys[1]?.retired_at;
        expect(typeof retiredAt).toBe('number');
        expect(retiredAt).toBeGreaterThanOrEqual(before);
        expect(retiredAt).toBeLessThanOrEqual(nowSeconds());
      });

      it('a key that signs at once retires every key still signing then, also one due to retire later', async () => {
        await store.addSigningKey(signingKey('k1', 100), 'system');
        // Pre-published: k1 signs on until 1000.
        await store.addSigningKey(signingKey('k2', 200), 'cli', { retireCurrentAt: 1000 });
        expect((await store.listSigningKeys()).map((k) => [k.kid, k.retired_at])).toEqual([['k2', null], ['k1', 1000]]);
        // A later pre-published key leaves the earlier retirement alone.
        await store.addSigningKey(signingKey('k3', 300), 'cli', { retireCurrentAt: 2000 });
        expect((await store.listSigningKeys()).map((k) => [k.kid, k.retired_at])).toEqual([['k3', null], ['k2', 2000], ['k1', 1000]]);
        // One that must sign at 400 retires both at 400.
        await store.addSigningKey(signingKey('k4', 400), 'cli', { retireCurrentAt: 400 });
        expect((await store.listSigningKeys()).map((k) => [k.kid, k.retired_at])).toEqual([['k4', null], ['k3', 400], ['k2', 400], ['k1', 400]]);
        const [entry] = await store.listAudit({ limit: 1 });
        expect(entry).toMatchObject({ action: 'signing_key.add', target_id: 'k4', details: { retired: ['k1', 'k2', 'k3'] } });
      });

      it('a duplicate kid fails and leaves the active key active', async () => {
        await store.addSigningKey(signingKey('k1', 100), 'system');
        await expect(store.addSigningKey(signingKey('k1', 200), 'system')).rejects.toThrow();
        expect(await store.listSigningKeys()).toEqual([{ ...signingKey('k1', 100), retired_at: null }]);
      });

      it('prunes retired keys retired before the given time, never the active key', async () => {
        await store.addSigningKey(signingKey('k1', 100), 'system');
        await store.addSigningKey(signingKey('k2', 200), 'system');
        const retiredAt = (await store.listSigningKeys()).find((k) => k.kid === 'k1')?.retired_at ?? -1;
        expect(await store.pruneSigningKeys(retiredAt, 'system')).toEqual([]);
        expect(await store.pruneSigningKeys(retiredAt + 1, 'system')).toEqual(['k1']);
        expect(await store.pruneSigningKeys(Number.MAX_SAFE_INTEGER, 'system')).toEqual([]);
        expect((await store.listSigningKeys()).map((k) => k.kid)).toEqual(['k2']);
      });
    });

    describe('admin key', () => {
      it('stores and replaces the hash', async () => {
        expect(await store.getAdminKeyHash()).toBeNull();
        await store.setAdminKeyHash('hash-1', 'system');
        expect(await store.getAdminKeyHash()).toBe('hash-1');
        await store.setAdminKeyHash('hash-2', 'cli');
        expect(await store.getAdminKeyHash()).toBe('hash-2');
      });

      it('initialises the hash only when none is stored, and says which one stands', async () => {
        expect(await store.initAdminKeyHash('first', 'system')).toBe('first');
        const revision = await store.revision();
        expect(await store.initAdminKeyHash('second', 'system')).toBe('first');
        expect(await store.getAdminKeyHash()).toBe('first');
        expect(await store.revision()).toBe(revision);
        const sets = (await store.listAudit()).filter((e) => e.action === 'admin_key.set');
        expect(sets).toHaveLength(1);
      });
    });

    describe('named admin keys', () => {
      const key = (name: string, role: AdminRole = 'viewer') => ({ name, role, key_hash: sha256Hex(`key-of-${name}`), created_at: 1_700_000_000 });

      it('creates, reads back, lists by name and deletes, with audit entries and revision bumps', async () => {
        const before = await store.revision();
        expect(await store.createAdminKey(key('zed', 'admin'), 'admin:1234')).toBe(true);
        expect(await store.createAdminKey(key('alice', 'author'), 'admin:1234')).toBe(true);
        expect(await store.revision()).toBeGreaterThan(before);
        expect(await store.getAdminKey('alice')).toEqual(key('alice', 'author'));
        expect(await store.getAdminKey('nobody')).toBeNull();
        expect((await store.listAdminKeys()).map((k) => k.name)).toEqual(['alice', 'zed']);
        expect(await store.deleteAdminKey('alice', 'admin:1234')).toBe(true);
        expect(await store.deleteAdminKey('alice', 'admin:1234')).toBe(false);
        expect((await store.listAdminKeys()).map((k) => k.name)).toEqual(['zed']);
        const entries = (await store.listAudit()).filter((e) => e.target_type === 'admin_key').map((e) => [e.action, e.target_id, e.details]);
        expect(entries).toEqual([
          ['admin_key.delete', 'alice', null],
          ['admin_key.create', 'alice', { role: 'author' }],
          ['admin_key.create', 'zed', { role: 'admin' }],
        ]);
      });

      it('refuses a taken name without writing anything', async () => {
        expect(await store.createAdminKey(key('ops'), 'cli')).toBe(true);
        const revision = await store.revision();
        expect(await store.createAdminKey({ ...key('ops', 'admin'), key_hash: sha256Hex('other') }, 'cli')).toBe(false);
        expect(await store.getAdminKey('ops')).toEqual(key('ops'));
        expect(await store.revision()).toBe(revision);
      });
    });

    describe('preconditions (If-Match)', () => {
      it('writes a client when the tag matches, refuses a stale tag or a missing resource and writes nothing', async () => {
        await expect(store.putClient(clientRecord(), 'cli', { ifMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
        expect(await store.getClient('orders-api-client')).toBeNull();
        await store.putClient(clientRecord(), 'cli');
        const first = await store.getClient('orders-api-client');
        const tag = entityTag(first);
        expect(await store.putClient(clientRecord({ scope: 'a' }), 'cli', { ifMatch: ['"other"', tag] })).toEqual({ created: false });
        const revision = await store.revision();
        await expect(store.putClient(clientRecord({ scope: 'b' }), 'cli', { ifMatch: [tag] })).rejects.toBeInstanceOf(PreconditionFailedError);
        await expect(store.deleteClient('orders-api-client', 'cli', { ifMatch: [tag] })).rejects.toBeInstanceOf(PreconditionFailedError);
        expect((await store.getClient('orders-api-client'))?.scope).toBe('a');
        expect(await store.revision()).toBe(revision);
        expect(await store.putClient(clientRecord({ scope: 'c' }), 'cli', { ifMatch: '*' })).toEqual({ created: false });
        expect(await store.deleteClient('orders-api-client', 'cli', { ifMatch: [entityTag(await store.getClient('orders-api-client'))] })).toBe(true);
      });

      it('lets exactly one of two writers holding the same tag win', async () => {
        await store.putClient(clientRecord(), 'cli');
        const tag = entityTag(await store.getClient('orders-api-client'));
        const outcomes = await Promise.allSettled([
          store.putClient(clientRecord({ scope: 'first', updated_at: 1_800_000_001 }), 'admin-1', { ifMatch: [tag] }),
          store.putClient(clientRecord({ scope: 'second', updated_at: 1_800_000_002 }), 'admin-2', { ifMatch: [tag] }),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const rejected = outcomes.find((o) => o.status === 'rejected');
        expect(rejected?.status === 'rejected' ? rejected.reason : null).toBeInstanceOf(PreconditionFailedError);
        const winner = outcomes[0]?.status === 'fulfilled' ? 'first' : 'second';
        expect((await store.getClient('orders-api-client'))?.scope).toBe(winner);
      });

      it('checks procedures against their active version, trusted issuers and admin keys against their record', async () => {
        await store.putProcedureVersion(procedureVersion('p', 'function result(c) { return 1; }'), 'cli');
        const v1Tag = entityTag(await store.getActiveProcedure('p'));
        await store.putProcedureVersion(procedureVersion('p', 'function result(c) { return 2; }'), 'cli', { ifMatch: [v1Tag] });
        await expect(store.activateProcedureVersion('p', 1, 'cli', { ifMatch: [v1Tag] })).rejects.toBeInstanceOf(PreconditionFailedError);
        await expect(store.putProcedureVersion(procedureVersion('p', 'function result(c) { return 3; }'), 'cli', { ifMatch: [v1Tag] })).rejects.toBeInstanceOf(
          PreconditionFailedError,
        );
        await expect(store.deleteProcedure('p', 'cli', { ifMatch: [v1Tag] })).rejects.toBeInstanceOf(PreconditionFailedError);
        expect((await store.getActiveProcedure('p'))?.version).toBe(2);
        expect((await store.listProcedureVersions('p')).map((v) => v.version)).toEqual([1, 2]);
        expect(await store.activateProcedureVersion('p', 1, 'cli', { ifMatch: [entityTag(await store.getActiveProcedure('p'))] })).toMatchObject({ version: 1 });

        const issuer: TrustedIssuerRecord = { id: 'idp', issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks', created_at: 1, updated_at: 1 };
        await store.putTrustedIssuer(issuer, 'cli');
        const issuerTag = entityTag(await store.getTrustedIssuer('idp'));
        await store.putTrustedIssuer({ ...issuer, issuer: 'https://idp2.example.com', updated_at: 2 }, 'cli', { ifMatch: [issuerTag] });
        await expect(store.deleteTrustedIssuer('idp', 'cli', { ifMatch: [issuerTag] })).rejects.toBeInstanceOf(PreconditionFailedError);
        await expect(store.putTrustedIssuer(issuer, 'cli', { ifMatch: [issuerTag] })).rejects.toBeInstanceOf(PreconditionFailedError);
        expect((await store.getTrustedIssuer('idp'))?.issuer).toBe('https://idp2.example.com');

        await store.createAdminKey({ name: 'k', role: 'viewer', key_hash: sha256Hex('k'), created_at: 1 }, 'cli');
        await expect(store.deleteAdminKey('k', 'cli', { ifMatch: ['"stale"'] })).rejects.toBeInstanceOf(PreconditionFailedError);
        expect(await store.deleteAdminKey('k', 'cli', { ifMatch: [entityTag(await store.getAdminKey('k'))] })).toBe(true);
      });
    });

    describe('pages of lists', () => {
      it('pages clients, procedures, trusted issuers and admin keys by id in code point order, unshifted by inserts', async () => {
        for (const id of ['b', 'a', 'Z', 'c']) await store.putClient(clientRecord({ client_id: id }), 'cli');
        expect((await store.listClients({ limit: 2 })).map((c) => c.client_id)).toEqual(['Z', 'a']);
        await store.putClient(clientRecord({ client_id: 'A' }), 'cli');
        expect((await store.listClients({ after: 'a', limit: 2 })).map((c) => c.client_id)).toEqual(['b', 'c']);
        expect((await store.listClients({ after: 'c', limit: 2 })).map((c) => c.client_id)).toEqual([]);

        for (const id of ['p2', 'p1', 'p3']) await store.putProcedureVersion(procedureVersion(id, 'function result() {}'), 'cli');
        expect((await store.listProcedures({ after: 'p1', limit: 1 })).map((p) => p.id)).toEqual(['p2']);

        for (const id of ['i2', 'i1']) await store.putTrustedIssuer({ id, issuer: `https://${id}.example.com`, jwks_uri: `https://${id}.example.com/jwks`, created_at: 1, updated_at: 1 }, 'cli');
        expect((await store.listTrustedIssuers({ after: 'i1', limit: 5 })).map((i) => i.id)).toEqual(['i2']);

        for (const name of ['k2', 'k1']) await store.createAdminKey({ name, role: 'viewer', key_hash: sha256Hex(name), created_at: 1 }, 'cli');
        expect((await store.listAdminKeys({ limit: 1 })).map((k) => k.name)).toEqual(['k1']);
        expect((await store.listAdminKeys({ after: 'k1', limit: 1 })).map((k) => k.name)).toEqual(['k2']);
      });
    });

    describe('revision', () => {
      it('increases on every configuration write', async () => {
        const writes: Array<() => Promise<unknown>> = [
          () => store.putClient(clientRecord(), 'cli'),
          () => store.putClient(clientRecord({ scope: 'x' }), 'cli'),
          () => store.putProcedureVersion(procedureVersion('p', 'function result() { return 1; }'), 'cli'),
          () => store.putProcedureVersion(procedureVersion('p', 'function result() { return 2; }'), 'cli'),
          () => store.activateProcedureVersion('p', 1, 'cli'),
          () => store.deleteProcedure('p', 'cli'),
          () => store.putTrustedIssuer(issuerRecord(), 'cli'),
          () => store.deleteTrustedIssuer('corporate-idp', 'cli'),
          () => store.addSigningKey(signingKey('k1', 1), 'cli'),
          () => store.addSigningKey(signingKey('k2', 2), 'cli'),
          () => store.pruneSigningKeys(Number.MAX_SAFE_INTEGER, 'cli'),
          () => store.setAdminKeyHash('h', 'cli'),
          () => store.deleteClient('orders-api-client', 'cli'),
        ];
        let previous = await store.revision();
        for (const write of writes) {
          await write();
          const current = await store.revision();
          expect(current).toBeGreaterThan(previous);
          previous = current;
        }
      });

      it('does not change on no-op writes, audit appends or jti records', async () => {
        const revision = await store.revision();
        await store.deleteClient('missing', 'cli');
        await store.deleteProcedure('missing', 'cli');
        await store.deleteTrustedIssuer('missing', 'cli');
        await store.pruneSigningKeys(Number.MAX_SAFE_INTEGER, 'cli');
        await store.appendAudit({
          actor: 'cli', action: 'config.import', target_type: 'client', target_id: '*',
          old_version: null, new_version: null, details: null,
        });
        await store.recordAssertionJti('c', 'jti-1', nowSeconds() + 60);
        expect(await store.revision()).toBe(revision);
      });
    });

    describe('audit', () => {
      it('every write leaves an entry with its actor, target and versions', async () => {
        await store.putProcedureVersion(procedureVersion('orders-exchange', `function result() { /* ${SCRIPT_BODY_MARKER} */ }`), 'admin-a');
        await store.putProcedureVersion(procedureVersion('orders-exchange', `function result() { /* ${SCRIPT_BODY_MARKER} 2 */ }`), 'admin-a');
        await store.activateProcedureVersion('orders-exchange', 1, 'admin-b');
        await store.putClient(clientRecord(), 'admin-a');
        await store.putClient(clientRecord({ client_secret_hash: `${SECRET_HASH_MARKER}-rotated`, scope: 'invoicing', access_token_format: 'opaque', refresh_token_ttl: 600 }), 'admin-b');
        await store.deleteClient('orders-api-client', 'admin-b');
        await store.deleteProcedure('orders-exchange', 'cli');
        await store.putTrustedIssuer(issuerRecord(), 'config');
        await store.deleteTrustedIssuer('corporate-idp', 'config');
        await store.addSigningKey(signingKey('k1', 1), 'system');
        await store.addSigningKey(signingKey('k2', 2), 'system');
        await store.pruneSigningKeys(Number.MAX_SAFE_INTEGER, 'system');
        await store.setAdminKeyHash(ADMIN_HASH_MARKER, 'system');

        const entries = (await store.listAudit({ limit: 1000 })).reverse();
        expect(entries.map((e) => [e.action, e.actor, e.target_type, e.target_id, e.old_version, e.new_version])).toEqual([
          ['procedure.upload', 'admin-a', 'procedure', 'orders-exchange', null, '1'],
          ['procedure.upload', 'admin-a', 'procedure', 'orders-exchange', '1', '2'],
          ['procedure.activate', 'admin-b', 'procedure', 'orders-exchange', '2', '1'],
          ['client.create', 'admin-a', 'client', 'orders-api-client', null, null],
          ['client.replace', 'admin-b', 'client', 'orders-api-client', null, null],
          ['client.delete', 'admin-b', 'client', 'orders-api-client', null, null],
          ['procedure.delete', 'cli', 'procedure', 'orders-exchange', '1', null],
          ['trusted_issuer.put', 'config', 'trusted_issuer', 'corporate-idp', null, null],
          ['trusted_issuer.delete', 'config', 'trusted_issuer', 'corporate-idp', null, null],
          ['signing_key.add', 'system', 'signing_key', 'k1', null, null],
          ['signing_key.add', 'system', 'signing_key', 'k2', null, null],
          ['signing_key.prune', 'system', 'signing_key', 'k1', null, null],
          ['admin_key.set', 'system', 'admin_key', 'admin', null, null],
        ]);
        const replace = entries.find((e) => e.action === 'client.replace');
        // Every member the admin set is named, the newer ones too; the secret by name only.
        expect(replace?.details).toEqual({ changed: ['access_token_format', 'client_secret', 'refresh_token_ttl', 'scope'] });

        // Filters: exact matches, combined, newest first, with `before` and `limit` still applied.
        const about = async (filter: Parameters<Store['listAudit']>[0]) => (await store.listAudit(filter)).map((e) => [e.action, e.actor]);
        expect(await about({ filter: { target_type: 'client', target_id: 'orders-api-client' } })).toEqual([
          ['client.delete', 'admin-b'],
          ['client.replace', 'admin-b'],
          ['client.create', 'admin-a'],
        ]);
        expect(await about({ filter: { actor: 'admin-b', target_type: 'procedure' } })).toEqual([['procedure.activate', 'admin-b']]);
        expect(await about({ filter: { action: 'procedure.upload' }, limit: 1 })).toEqual([['procedure.upload', 'admin-a']]);
        const uploads = await store.listAudit({ filter: { action: 'procedure.upload' } });
        expect(await about({ filter: { action: 'procedure.upload' }, before: uploads[0]?.id ?? 0 })).toEqual([['procedure.upload', 'admin-a']]);
        expect(await about({ filter: { actor: "nobody' OR '1'='1" } })).toEqual([]);
        for (const entry of entries) {
          expect(entry.at).toBeGreaterThan(1_600_000_000);
          expect(entry.at).toBeLessThanOrEqual(nowSeconds());
        }

        const everything = JSON.stringify(entries);
        for (const marker of [SECRET_HASH_MARKER, PRIVATE_KEY_MARKER, SCRIPT_BODY_MARKER, ADMIN_HASH_MARKER]) {
          expect(everything).not.toContain(marker);
        }
      });

      it('appendAudit stores an entry as given', async () => {
        await store.appendAudit({
          actor: 'cli', action: 'config.import', target_type: 'client', target_id: '*',
          old_version: null, new_version: null, details: { clients: 3 },
        });
        const [entry] = await store.listAudit();
        expect(entry).toEqual({
          id: expect.any(Number), at: expect.any(Number), actor: 'cli', action: 'config.import',
          target_type: 'client', target_id: '*', old_version: null, new_version: null, details: { clients: 3 },
        });
      });

      it('pages newest first with limit and before', async () => {
        for (let i = 0; i < 5; i++) {
          await store.appendAudit({
            actor: 'cli', action: `test.${i}`, target_type: 'client', target_id: String(i),
            old_version: null, new_version: null, details: null,
          });
        }
        const all = await store.listAudit();
        expect(all.map((e) => e.action)).toEqual(['test.4', 'test.3', 'test.2', 'test.1', 'test.0']);

        const pages: string[][] = [];
        let before: number | undefined;
        for (let guard = 0; guard < 10; guard++) {
          const page = await store.listAudit(before === undefined ? { limit: 2 } : { limit: 2, before });
          if (page.length === 0) break;
          pages.push(page.map((e) => e.action));
          before = page[page.length - 1]?.id;
        }
        expect(pages).toEqual([['test.4', 'test.3'], ['test.2', 'test.1'], ['test.0']]);
      });
    });

    describe('client assertion jti', () => {
      it('accepts a jti once per client and refuses a replay', async () => {
        const exp = nowSeconds() + 300;
        expect(await store.recordAssertionJti('client-a', 'jti-1', exp)).toBe(true);
        expect(await store.recordAssertionJti('client-a', 'jti-1', exp)).toBe(false);
        expect(await store.recordAssertionJti('client-b', 'jti-1', exp)).toBe(true);
        expect(await store.recordAssertionJti('client-a', 'jti-2', exp)).toBe(true);
      });

      it('purges expired entries', async () => {
        expect(await store.recordAssertionJti('client-a', 'old', nowSeconds() - 10)).toBe(true);
        // The next record purges the expired entry, so the jti is new again.
        expect(await store.recordAssertionJti('client-a', 'old', nowSeconds() + 300)).toBe(true);
        expect(await store.recordAssertionJti('client-a', 'old', nowSeconds() + 300)).toBe(false);
      });
    });

    describe('failed authentication counts', () => {
      const WINDOW_MS = 60_000;
      const T0 = 1_700_000_000_123;

      it('counts per scope and key up to the cap, then answers the count without adding to it', async () => {
        const counts = [];
        for (let i = 0; i < 4; i++) counts.push(await store.recordAuthFailure('client_secret', 'svc-a', T0 + i * 1000, WINDOW_MS, 3));
        expect(counts).toEqual([
          { failures: 1, counted: true, windowEndsAt: T0 + WINDOW_MS },
          { failures: 2, counted: true, windowEndsAt: T0 + WINDOW_MS },
          { failures: 3, counted: true, windowEndsAt: T0 + WINDOW_MS },
          { failures: 3, counted: false, windowEndsAt: T0 + WINDOW_MS },
        ]);
        // Other keys and other scopes count on their own, in windows of their own.
        expect(await store.recordAuthFailure('client_secret', 'svc-b', T0 + 5000, WINDOW_MS, 3)).toEqual({ failures: 1, counted: true, windowEndsAt: T0 + 5000 + WINDOW_MS });
        expect(await store.recordAuthFailure('client_secret_address', 'svc-a', T0 + 5000, WINDOW_MS, 3)).toMatchObject({ failures: 1, counted: true });
        expect(await store.recordAuthFailure('client_secret', 'svc-a', T0 + 6000, WINDOW_MS, 3)).toMatchObject({ failures: 3, counted: false });
      });

      it('opens a new window at the first failure after the last one ended', async () => {
        await store.recordAuthFailure('admin_key_address', '192.0.2.7', T0, WINDOW_MS, 2);
        await store.recordAuthFailure('admin_key_address', '192.0.2.7', T0 + 1, WINDOW_MS, 2);
        expect(await store.recordAuthFailure('admin_key_address', '192.0.2.7', T0 + WINDOW_MS - 1, WINDOW_MS, 2)).toMatchObject({ failures: 2, counted: false });
        const later = T0 + WINDOW_MS + 30_000;
        expect(await store.recordAuthFailure('admin_key_address', '192.0.2.7', later, WINDOW_MS, 2)).toEqual({ failures: 1, counted: true, windowEndsAt: later + WINDOW_MS });
      });

      it('never loses a count nor passes the cap when failures race', async () => {
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store.recordAuthFailure('client_secret', 'raced', T0 + i, WINDOW_MS, 7)));
        expect(results.filter((r) => r.counted)).toHaveLength(7);
        expect(results.map((r) => r.failures).sort((a, b) => a - b).at(-1)).toBe(7);
        expect(new Set(results.map((r) => r.windowEndsAt)).size).toBe(1);
        expect(await store.recordAuthFailure('client_secret', 'raced', T0 + 100, WINDOW_MS, 7)).toMatchObject({ failures: 7, counted: false });
      });

      it('counts keys of any length or content, each apart', async () => {
        const long = 'x'.repeat(70_000);
        const longToo = `${'x'.repeat(69_999)}y`;
        const withNul = 'svc\u0000nul';
        for (const key of [long, longToo, withNul, 'svc']) {
          expect(await store.recordAuthFailure('client_secret', key, T0, WINDOW_MS, 5)).toMatchObject({ failures: 1, counted: true });
        }
        expect(await store.recordAuthFailure('client_secret', long, T0 + 1, WINDOW_MS, 5)).toMatchObject({ failures: 2 });
        expect(await store.recordAuthFailure('client_secret', withNul, T0 + 1, WINDOW_MS, 5)).toMatchObject({ failures: 2 });
        expect(await store.recordAuthFailure('client_secret', 'svc', T0 + 1, WINDOW_MS, 5)).toMatchObject({ failures: 2 });
      });

      it('is not a configuration change: no revision bump, no audit entry', async () => {
        const revision = await store.revision();
        await store.recordAuthFailure('client_secret', 'svc-a', T0, WINDOW_MS, 3);
        expect(await store.revision()).toBe(revision);
        expect(await store.listAudit()).toEqual([]);
      });

      it('refuses a window or a cap that is not a positive whole number', async () => {
        await expect(store.recordAuthFailure('client_secret', 'svc-a', T0, 0, 3)).rejects.toThrow(RangeError);
        await expect(store.recordAuthFailure('client_secret', 'svc-a', T0, WINDOW_MS, 0)).rejects.toThrow(RangeError);
        await expect(store.recordAuthFailure('client_secret', 'svc-a', T0, 1.5, 3)).rejects.toThrow(RangeError);
      });
    });

    describe('token lifecycle', () => {
      const T = 1_800_000_000;
      const refreshToken = (hash: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
        token_hash: hash,
        family_id: 'rf.family-1',
        client_id: 'web',
        data: { claims: { sub: 'alice', scope: 'read' }, lineage: ['parent-jti'] },
        issued_at: T,
        expires_at: T + 3600,
        used_at: null,
        ...overrides,
      });
      const opaqueToken = (hash: string, expiresAt = T + 300): OpaqueTokenRecord => ({
        token_hash: hash,
        client_id: 'svc',
        claims: { sub: 'svc', jti: `jti-${hash}`, exp: expiresAt, tkp_chain: ['a', 'b'] },
        expires_at: expiresAt,
      });

      it('keeps client access_token_format and refresh_token_ttl, absent when unset', async () => {
        await store.putClient(clientRecord({ client_id: 'plain' }), 'cli');
        await store.putClient(clientRecord({ client_id: 'opaque', access_token_format: 'opaque', refresh_token_ttl: 600 }), 'cli');
        const plain = await store.getClient('plain');
        expect(plain).not.toHaveProperty('access_token_format');
        expect(plain).not.toHaveProperty('refresh_token_ttl');
        expect(await store.getClient('opaque')).toMatchObject({ access_token_format: 'opaque', refresh_token_ttl: 600 });
      });

      it('stores refresh and opaque tokens by hash and reads them back', async () => {
        await store.storeIssuedTokens([refreshToken('r1')], [opaqueToken('o1')]);
        expect(await store.getRefreshToken('r1')).toEqual(refreshToken('r1'));
        expect(await store.getOpaqueToken('o1')).toEqual(opaqueToken('o1'));
        expect(await store.getRefreshToken('o1')).toBeNull();
        expect(await store.getOpaqueToken('missing')).toBeNull();
      });

      it('redeems a refresh token once, storing its replacement in the same step', async () => {
        await store.storeIssuedTokens([refreshToken('r1')], []);
        expect(await store.redeemRefreshToken('r1', T + 10, ['rf.family-1', 'parent-jti'], [refreshToken('r2')], [opaqueToken('o2')])).toBe('redeemed');
        expect(await store.getRefreshToken('r1')).toMatchObject({ used_at: T + 10 });
        expect(await store.getRefreshToken('r2')).toMatchObject({ used_at: null, family_id: 'rf.family-1' });
        expect(await store.getOpaqueToken('o2')).not.toBeNull();
        expect(await store.redeemRefreshToken('r1', T + 11, [], [refreshToken('r3')], [])).toBe('already_used');
        expect(await store.getRefreshToken('r3')).toBeNull();
      });

      it('of redemptions racing on one refresh token exactly one wins', async () => {
        await store.storeIssuedTokens([refreshToken('race')], []);
        const outcomes = await Promise.all(
          Array.from({ length: 6 }, (_, i) => store.redeemRefreshToken('race', T + 1, [], [refreshToken(`next-${i}`)], [])),
        );
        expect(outcomes.filter((o) => o === 'redeemed')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'already_used')).toHaveLength(5);
        const stored = await Promise.all(Array.from({ length: 6 }, (_, i) => store.getRefreshToken(`next-${i}`)));
        expect(stored.filter((r) => r !== null)).toHaveLength(1);
      });

      it('refuses to redeem when an id of the lineage is revoked, writing nothing', async () => {
        await store.storeIssuedTokens([refreshToken('r1')], []);
        await store.revoke([{ id: 'parent-jti', purge_after: T + 10_000 }], T);
        expect(await store.redeemRefreshToken('r1', T + 5, ['rf.family-1', 'parent-jti'], [refreshToken('r2')], [])).toBe('revoked');
        expect(await store.getRefreshToken('r1')).toMatchObject({ used_at: null });
        expect(await store.getRefreshToken('r2')).toBeNull();
      });

      it('hands out revocations after a watermark that only moves forward, and purges expired ones', async () => {
        const initial = await store.revocationsSince(0, T);
        expect(initial.entries).toEqual([]);
        await store.revoke([{ id: 'a', purge_after: T + 100 }], T);
        await store.revoke([{ id: 'b', purge_after: T + 100 }, { id: 'c', purge_after: T + 5 }], T);
        const all = await store.revocationsSince(initial.watermark, T);
        expect(all.entries.map((e) => e.id).sort()).toEqual(['a', 'b', 'c']);
        expect(all.watermark).toBeGreaterThan(initial.watermark);
        expect(await store.revocationsSince(all.watermark, T)).toEqual({ watermark: all.watermark, entries: [] });
        // Revoking again moves the id past the watermark and keeps the later purge time.
        await store.revoke([{ id: 'a', purge_after: T + 50 }], T + 1);
        expect((await store.revocationsSince(all.watermark, T + 1)).entries).toEqual([{ id: 'a', purge_after: T + 100 }]);
        // Past its purge time an entry is neither handed out nor kept.
        expect((await store.revocationsSince(0, T + 10)).entries.map((e) => e.id).sort()).toEqual(['a', 'b']);
        await store.storeIssuedTokens([refreshToken('old', { expires_at: T + 1 })], [opaqueToken('old', T + 1)]);
        await store.purgeExpiredTokens(T + 10);
        expect(await store.getRefreshToken('old')).toBeNull();
        expect(await store.getOpaqueToken('old')).toBeNull();
        expect((await store.revocationsSince(0, T)).entries.map((e) => e.id).sort()).toEqual(['a', 'b']);
      });

      it('is not a configuration change: no revision bump, no audit entry', async () => {
        const revision = await store.revision();
        await store.revoke([{ id: 'x', purge_after: T + 100 }], T);
        await store.storeIssuedTokens([refreshToken('r1')], [opaqueToken('o1')]);
        await store.redeemRefreshToken('r1', T + 1, [], [], []);
        expect(await store.revision()).toBe(revision);
        expect(await store.listAudit()).toEqual([]);
      });
    });
  });
}
