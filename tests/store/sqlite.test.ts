import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import { StoreUnavailableError } from '../../server/store/errors.ts';
import { openStore } from '../../server/store/index.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate } from '../../server/store/migrations.ts';
import { DATABASE_FILE_NAME, SqliteStore } from '../../server/store/sqlite.ts';
import type { Store } from '../../server/store/types.ts';
import { clientRecord, procedureVersion, sha256Hex, storeContractTests } from './contract.ts';

const tempDirs = new Map<Store, string>();

function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tokenproc-store-'));
}

storeContractTests('SqliteStore in memory', async () => SqliteStore.openInMemory());

storeContractTests(
  'SqliteStore on disk',
  async () => {
    const dir = makeTempDir();
    const store = SqliteStore.open(dir);
    tempDirs.set(store, dir);
    return store;
  },
  async (store) => {
    const dir = tempDirs.get(store);
    tempDirs.delete(store);
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
);

describe('SqliteStore on disk', () => {
  const dirs: string[] = [];
  const open: Array<{ close(): unknown }> = [];
  const freshDir = (): string => {
    const dir = makeTempDir();
    dirs.push(dir);
    return dir;
  };
  const rawDb = (dir: string): DatabaseSync => {
    const db = new DatabaseSync(join(dir, DATABASE_FILE_NAME));
    open.push({ close: () => (db.isOpen ? db.close() : undefined) });
    return db;
  };

  afterEach(async () => {
    for (const handle of open.splice(0)) await handle.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps data across close and reopen', async () => {
    const dir = freshDir();
    const first = SqliteStore.open(dir);
    await first.putClient(clientRecord(), 'cli');
    const v1 = await first.putProcedureVersion(procedureVersion('orders-exchange', 'function result() {}'), 'cli');
    await first.setAdminKeyHash('hash', 'cli');
    const revision = await first.revision();
    await first.close();

    const second = SqliteStore.open(dir);
    open.push(second);
    expect(await second.getClient('orders-api-client')).toEqual(clientRecord());
    expect(await second.getActiveProcedure('orders-exchange')).toEqual(v1);
    expect(await second.getAdminKeyHash()).toBe('hash');
    expect(await second.revision()).toBe(revision);
  });

  it('creates the directory 0700 and the database file 0600, in WAL mode', async () => {
    const dir = join(freshDir(), 'nested', 'data');
    const store = SqliteStore.open(dir);
    open.push(store);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, DATABASE_FILE_NAME)).mode & 0o777).toBe(0o600);
    const mode = rawDb(dir).prepare('PRAGMA journal_mode').get();
    expect(mode?.['journal_mode']).toBe('wal');
  });

  it('records migrations in schema_version, and re-running them is a no-op', async () => {
    const dir = freshDir();
    const store = SqliteStore.open(dir);
    await store.migrate();
    await store.close();
    const reopened = SqliteStore.open(dir);
    open.push(reopened);
    await reopened.migrate();

    const rows = rawDb(dir).prepare('SELECT version, applied_at FROM schema_version ORDER BY version').all();
    expect(rows.map((r) => r['version'])).toEqual(MIGRATIONS.map((m) => m.version));
    expect(rows.every((r) => typeof r['applied_at'] === 'number')).toBe(true);
  });

  it('refuses a database written by a newer schema', async () => {
    const dir = freshDir();
    await SqliteStore.open(dir).close();
    const db = rawDb(dir);
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, 0)').run(LATEST_SCHEMA_VERSION + 1);
    db.close();
    expect(() => SqliteStore.open(dir)).toThrow(/newer than this build supports/);
  });

  it('refuses updates to a stored procedure version at the database level', async () => {
    const dir = freshDir();
    const store = SqliteStore.open(dir);
    open.push(store);
    await store.putProcedureVersion(procedureVersion('p', 'function result() {}'), 'cli');
    expect(() => rawDb(dir).exec("UPDATE procedure_versions SET source = 'x'")).toThrow(/immutable/);
  });

  it('keeps failed authentication counts bounded: ended windows are purged', async () => {
    const dir = freshDir();
    const store = SqliteStore.open(dir);
    open.push(store);
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 50; i++) await store.recordAuthFailure('client_secret', `guessed-id-${i}`, t0 + i, 60_000, 20);
    const rows = () => rawDb(dir).prepare('SELECT scope, key, failures FROM auth_failures ORDER BY key').all();
    expect(rows()).toHaveLength(50);
    await store.recordAuthFailure('admin_key', '*', t0 + 60_050, 60_000, 100);
    expect(rows().map((row) => ({ ...row }))).toEqual([{ scope: 'admin_key', key: '*', failures: 1 }]);
  });

  it('upgrades a database of schema version 1 in place, keeping its data', async () => {
    const dir = freshDir();
    const v1 = rawDb(dir);
    migrate(v1, 1, MIGRATIONS.filter((m) => m.version === 1));
    v1.prepare("INSERT INTO admin_key (id, hash, updated_at) VALUES (1, 'kept-hash', 1)").run();
    v1.close();
    const store = SqliteStore.open(dir);
    open.push(store);
    expect(await store.getAdminKeyHash()).toBe('kept-hash');
    expect(await store.recordAuthFailure('admin_key', '*', 1_700_000_000_000, 60_000, 100)).toMatchObject({ failures: 1, counted: true });
    const versions = rawDb(dir).prepare('SELECT version FROM schema_version ORDER BY version').all();
    expect(versions.map((row) => row['version'])).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('upgrades a database of schema version 5 to 6: earlier procedure versions read back with no note, and keep their versions', async () => {
    const dir = freshDir();
    const v5 = rawDb(dir);
    migrate(v5, 1, MIGRATIONS.filter((m) => m.version <= 5));
    const source = 'function result() { return 1; }';
    v5.exec('PRAGMA foreign_keys = ON');
    v5.exec('BEGIN');
    v5.prepare("INSERT INTO procedure_versions (id, version, flow, source, sha256, created_at, created_by) VALUES ('old', 1, 'oauth-token-client-credentials', ?, ?, 5, 'cli')").run(source, sha256Hex(source));
    v5.prepare("INSERT INTO procedures (id, flow, active_version, latest_version, updated_at) VALUES ('old', 'oauth-token-client-credentials', 1, 1, 5)").run();
    v5.exec('COMMIT');
    v5.close();
    const store = SqliteStore.open(dir);
    open.push(store);
    await store.migrate();
    expect(await store.getActiveProcedure('old')).toEqual({
      id: 'old',
      version: 1,
      flow: 'oauth-token-client-credentials',
      source,
      sha256: sha256Hex(source),
      created_at: 5,
      created_by: 'cli',
      note: null,
    });
    const v2 = await store.putProcedureVersion({ id: 'old', flow: 'oauth-token-client-credentials', source: `${source}\n`, sha256: sha256Hex(`${source}\n`), note: 'after the upgrade' }, 'cli');
    expect(v2).toMatchObject({ version: 2, note: 'after the upgrade' });
    const versions = rawDb(dir).prepare('SELECT version FROM schema_version ORDER BY version').all();
    expect(versions.map((row) => row['version'])).toEqual(MIGRATIONS.map((m) => m.version));
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(6);
  });

  it('a full database is StoreUnavailableError (answered 503), and the store serves again once there is room', async () => {
    const dir = freshDir();
    const store = SqliteStore.open(dir);
    open.push(store);
    // SQLite's page cap stands in for a full disk: growing past it fails with SQLITE_FULL.
    const driver = (store as unknown as { driver: { query(sql: string): Promise<Array<Record<string, unknown>>> } }).driver;
    const [pages] = await driver.query('PRAGMA page_count');
    await driver.query(`PRAGMA max_page_count = ${Number(pages?.['page_count'])}`);
    const big = clientRecord({ client_id: 'big', properties: { blob: 'x'.repeat(200_000) } });
    await expect(store.putClient(big, 'cli')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.putClient(big, 'cli')).rejects.toThrow(/full/);
    // Nothing half-written, and reads still work.
    expect(await store.getClient('big')).toBeNull();
    await driver.query('PRAGMA max_page_count = 1073741823');
    await store.putClient(big, 'cli');
    expect((await store.getClient('big'))?.client_id).toBe('big');
  });

  it('a database locked by another process past the busy timeout is StoreUnavailableError, not a 500', async () => {
    const dir = freshDir();
    const store = SqliteStore.open(dir, { busyTimeoutMs: 100 });
    open.push(store);
    const other = rawDb(dir);
    other.exec('BEGIN EXCLUSIVE');
    try {
      await expect(store.putClient(clientRecord(), 'cli')).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      other.exec('ROLLBACK');
    }
    await store.putClient(clientRecord(), 'cli');
  });

  it('openStore uses SQLite in dataDir', async () => {
    const dir = freshDir();
    const store = openStore({ dataDir: dir });
    open.push(store);
    expect(await store.revision()).toBe(0);
    expect(statSync(join(dir, DATABASE_FILE_NAME)).isFile()).toBe(true);
  });

  it('survives kill -9 in the middle of uploads: the active version is whole and consistent', async () => {
    const dir = freshDir();
    const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--no-node-snapshot', writer, dir, '500'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastCommitted = 0;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Kill at a pseudo-random commit count so the kill lands at varying points of a transaction.
    const killAfter = 8 + Math.floor(Math.random() * 8);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`writer made too little progress (${lastCommitted} commits): ${stderr}`));
      }, 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        for (const match of chunk.toString().matchAll(/committed (\d+)/g)) lastCommitted = Number(match[1]);
        if (lastCommitted >= killAfter && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        if (!child.killed) reject(new Error(`writer exited on its own: ${stderr}`));
      });
    });
    expect(await exited).toBe('SIGKILL');

    const store = SqliteStore.open(dir);
    open.push(store);
    const versions = await store.listProcedureVersions('crash');
    // Everything acknowledged before the kill is there, numbered without gaps.
    expect(versions.length).toBeGreaterThanOrEqual(lastCommitted);
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    for (const v of versions) {
      expect(sha256Hex(v.source)).toBe(v.sha256);
      expect(v.source).toContain(`version: ${v.version},`);
    }
    const active = await store.getActiveProcedure('crash');
    expect(active?.version).toBe(versions.length);
    expect(sha256Hex(active?.source ?? '')).toBe(active?.sha256);
    const [summary] = await store.listProcedures();
    expect(summary).toMatchObject({ active_version: versions.length, latest_version: versions.length });
    // Each upload committed its audit line with it.
    const uploads = (await store.listAudit({ limit: 1000 })).filter((e) => e.action === 'procedure.upload');
    expect(uploads).toHaveLength(versions.length);
    expect(await store.revision()).toBe(versions.length);

    const check = rawDb(dir).prepare('PRAGMA integrity_check').get();
    expect(check?.['integrity_check']).toBe('ok');
  });
});

describe('migrate()', () => {
  it('applies each migration once and refuses to run behind a newer database', () => {
    const db = new DatabaseSync(':memory:');
    try {
      expect(migrate(db, 1)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(migrate(db, 2)).toEqual([]);
      const extra = [...MIGRATIONS, { version: LATEST_SCHEMA_VERSION + 1, description: 'test', sql: 'CREATE TABLE extra (x)' }];
      expect(migrate(db, 3, extra)).toEqual([LATEST_SCHEMA_VERSION + 1]);
      expect(() => migrate(db, 4)).toThrow(/newer/);
      expect(db.isTransaction).toBe(false);
    } finally {
      db.close();
    }
  });

  it('rolls back a failing migration entirely', () => {
    const db = new DatabaseSync(':memory:');
    try {
      migrate(db, 1);
      const broken = [...MIGRATIONS, { version: LATEST_SCHEMA_VERSION + 1, description: 'broken', sql: 'CREATE TABLE half (x); SELECT nope FROM nowhere;' }];
      expect(() => migrate(db, 2, broken)).toThrow();
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
      expect(db.prepare('SELECT MAX(version) AS v FROM schema_version').get()?.['v']).toBe(LATEST_SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });
});
