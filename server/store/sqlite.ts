/**
 * The embedded store (TOKENPROC_DATA_DIR): one node:sqlite connection, the SQLite dialect and its
 * migrations under the one SQL store (sql-store.ts).
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import { StoreUnavailableError } from './errors.ts';
import { migrate } from './migrations.ts';
import { systemClock } from './rows.ts';
import { SqlStore } from './sql-store.ts';
import type { SqlDialect, SqlDriver, SqlExecutor, SqlParam, SqlRow } from './sql-store.ts';

export const DATABASE_FILE_NAME = 'tokenproc.db';

export interface SqliteStoreOptions {
  /** Epoch seconds; injectable for tests. */
  clock?: () => number;
  /** How long a writer waits for another process's lock, in ms. */
  busyTimeoutMs?: number;
}

const SQLITE_DIALECT: SqlDialect = {
  // SQLite's default collation (BINARY) already orders by code point.
  byCodePoint: (column) => column,
  signingKeyInsertOrder: 'rowid',
  bool: (value) => (value ? 1 : 0),
  numeric: (parameter) => parameter,
  clientsNamingProcedure: `SELECT DISTINCT c.client_id FROM clients c, json_each(c.procedures) p WHERE p.value = $1 ORDER BY c.client_id`,
};

/** `$1` parameters as SQLite's numbered `?1` ones: the statements are written once for both databases. */
function sqliteSql(sql: string): string {
  return sql.replace(/\$(\d+)/g, '?$1');
}

function toSqlite(params: readonly SqlParam[]): SQLInputValue[] {
  return params.map((value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value));
}

/**
 * SQLite result codes (the primary code, errcode & 0xff) that say the database cannot serve now rather
 * than refuse the statement: busy past the busy timeout, locked, out of memory, read-only (a
 * remounted or full volume), I/O error, disk full, cannot open. They are answered 503, as a
 * PostgreSQL outage is, not 500.
 */
const UNAVAILABLE_SQLITE_CODES: ReadonlySet<number> = new Set([5, 6, 7, 8, 10, 13, 14]);

function unavailableOr(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || typeof err !== 'object' || err === null) return err;
  const errcode = (err as { errcode?: unknown }).errcode;
  if (typeof errcode !== 'number' || !UNAVAILABLE_SQLITE_CODES.has(errcode & 0xff)) return err;
  const errstr = (err as { errstr?: unknown }).errstr;
  return new StoreUnavailableError(`the SQLite store cannot serve: ${typeof errstr === 'string' ? errstr : 'error ' + errcode}`);
}

/**
 * node:sqlite is synchronous, but the store's methods await between statements: one operation at a
 * time holds the connection (a transaction from BEGIN to COMMIT), so no other call of this process
 * runs inside another's transaction or sees its uncommitted rows. Across processes, writes take the
 * database lock up front (BEGIN IMMEDIATE) and wait for it up to the busy timeout.
 */
class SqliteDriver implements SqlDriver {
  readonly dialect = SQLITE_DIALECT;
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private turn: Promise<unknown> = Promise.resolve();
  private readonly direct: SqlExecutor = { query: async (sql, params = []) => this.run(sql, params) };

  constructor(location: string, options: SqliteStoreOptions, nowSeconds: number) {
    this.db = new DatabaseSync(location, {
      enableForeignKeyConstraints: true,
      timeout: options.busyTimeoutMs ?? 5000,
      defensive: true,
    });
    try {
      this.db.exec('PRAGMA journal_mode = WAL');
      // FULL: an acknowledged admin change survives power loss, not only a process crash. Writes
      // are admin-rate (plus one small jti row per private_key_jwt request), so the fsync is cheap.
      this.db.exec('PRAGMA synchronous = FULL');
      this.db.exec('PRAGMA trusted_schema = OFF');
      migrate(this.db, nowSeconds);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  query(sql: string, params: readonly SqlParam[] = []): Promise<SqlRow[]> {
    return this.exclusively(async () => this.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.write(fn);
  }

  /** One IMMEDIATE transaction: the write lock is taken up front, so no other writer interleaves. */
  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusively(async () => {
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (err) {
        throw unavailableOr(err);
      }
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw unavailableOr(err);
      }
    });
  }

  async migrate(nowSeconds: number): Promise<void> {
    await this.exclusively(async () => migrate(this.db, nowSeconds));
  }

  async close(): Promise<void> {
    await this.exclusively(async () => {
      this.statements.clear();
      if (this.db.isOpen) this.db.close();
    });
  }

  private run(sql: string, params: readonly SqlParam[]): SqlRow[] {
    try {
      return this.statement(sql).all(...toSqlite(params)) as SqlRow[];
    } catch (err) {
      throw unavailableOr(err);
    }
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sqliteSql(sql));
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs fn when every operation queued before it has finished. */
  private exclusively<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.turn.then(fn, fn);
    this.turn = result.catch(() => undefined);
    return result;
  }
}

export class SqliteStore extends SqlStore {
  private constructor(location: string, options: SqliteStoreOptions) {
    const clock = options.clock ?? systemClock;
    super(new SqliteDriver(location, options, clock()), clock);
  }

  /** Opens (creating if needed) `<dataDir>/tokenproc.db`; the directory is created with mode 0700. */
  static open(dataDir: string, options: SqliteStoreOptions = {}): SqliteStore {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, DATABASE_FILE_NAME);
    // The file holds private signing keys: create it 0600 before SQLite does (its -wal and -shm
    // files then inherit this mode), and tighten a file created elsewhere.
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
    return new SqliteStore(file, options);
  }

  /** A private in-memory database, gone on close (tests, `tokenproc run`). */
  static openInMemory(options: SqliteStoreOptions = {}): SqliteStore {
    return new SqliteStore(':memory:', options);
  }
}
