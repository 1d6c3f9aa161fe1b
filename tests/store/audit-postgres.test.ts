/**
 * Issue 18, point 6, on a shared PostgreSQL: each audit entry is told once, by the instance whose
 * store wrote it (instances used to log every entry, others' included); and another instance reads
 * every active procedure in one call (tests/unit/config-cache.test.ts holds the reload to it).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostgresStore } from '../../server/store/postgres.ts';
import type { AuditEntry } from '../../server/store/types.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { clientRecord, procedureVersion } from './contract.ts';

let postgres: TestPostgres;
const stores: PostgresStore[] = [];

beforeAll(async () => {
  postgres = await startTestPostgres();
}, 120_000);

afterAll(async () => {
  for (const store of stores) await store.close();
  await postgres?.stop();
}, 60_000);

describe('audit entries and reloads across instances', () => {
  it('tells each audit entry once, at the instance that wrote it', async () => {
    const { url } = await postgres.createDatabase();
    const [a, b] = [PostgresStore.open(url), PostgresStore.open(url)];
    stores.push(a, b);
    await a.migrate();
    const toldAtA: AuditEntry[] = [];
    const toldAtB: AuditEntry[] = [];
    a.onAuditEntry((entry) => toldAtA.push(entry));
    b.onAuditEntry((entry) => toldAtB.push(entry));

    await a.putClient(clientRecord({ client_id: 'written-at-a' }), 'cli');
    await b.putClient(clientRecord({ client_id: 'written-at-b' }), 'cli');
    // Both instances see both changes...
    expect((await a.listClients()).map((c) => c.client_id).sort()).toEqual(['written-at-a', 'written-at-b']);
    expect((await b.listAudit({ limit: 10 })).length).toBeGreaterThanOrEqual(2);
    // ...but each entry was told by its writer alone.
    expect(toldAtA.map((e) => e.target_id)).toEqual(['written-at-a']);
    expect(toldAtB.map((e) => e.target_id)).toEqual(['written-at-b']);
  });

  it('gives another instance every active procedure in one call, the read a configuration reload makes', async () => {
    const { url } = await postgres.createDatabase();
    const writer = PostgresStore.open(url);
    stores.push(writer);
    await writer.migrate();
    for (let i = 0; i < 50; i++) await writer.putProcedureVersion(procedureVersion(`proc-${i}`, `function result() { return ${i}; }`), 'cli');
    const reader = PostgresStore.open(url);
    stores.push(reader);
    const active = await reader.listActiveProcedures();
    expect(active.length).toBe(50);
    expect(new Set(active.map((p) => p.id)).size).toBe(50);
  });
});
