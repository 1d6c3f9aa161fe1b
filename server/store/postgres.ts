/**
 * The PostgreSQL store for several instances (TOKENPROC_DATABASE_URL): a pool of connections, the
 * PostgreSQL dialect and its migrations under the one SQL store (sql-store.ts).
 */
import { DatabaseError, Pool } from 'pg';
import type { PoolClient } from 'pg';
import { StoreConflictError, StoreUnavailableError } from './errors.ts';
import { PreconditionFailedError } from './etag.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { systemClock } from './rows.ts';
import { SqlStore } from './sql-store.ts';
import type { SqlDialect, SqlDriver, SqlExecutor, SqlParam, SqlRow } from './sql-store.ts';

export interface PostgresStoreOptions {
  /** Epoch seconds; injectable for tests. */
  clock?: () => number;
  /** Connections this instance keeps at most (default 10). */
  maxConnections?: number;
  /** How long to wait for a connection before the call rejects, in ms (default 3000). */
  connectTimeoutMs?: number;
  /** How long one query may wait for its answer, in ms (default 5000). */
  queryTimeoutMs?: number;
}




/** Parsed TOKENPROC_DATABASE_URL: what messages may show of it, and the secret they must not. */
interface DatabaseTarget {
  /** `postgres://user@host:port/database`: never the password. */
  display: string;
  /** The password as written in the URL and decoded; scrubbed from every error message. */
  secrets: string[];
}

function parseDatabaseUrl(databaseUrl: string): DatabaseTarget {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    // Not the URL itself in the message: it may hold a password.
    throw new Error('TOKENPROC_DATABASE_URL is not a valid URL; expected postgres://user:password@host:port/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`TOKENPROC_DATABASE_URL must start with postgres:// or postgresql:// (got ${url.protocol}//)`);
  }
  const secrets: string[] = [];
  if (url.password) {
    secrets.push(url.password);
    try {
      secrets.push(decodeURIComponent(url.password));
    } catch {
      // A malformed escape: the raw form is already listed.
    }
  }
  const user = url.username ? `${url.username}@` : '';
  return { display: `${url.protocol}//${user}${url.host}${url.pathname}`, secrets: secrets.filter((s) => s.length > 0) };
}

/**
 * The shared store for several instances. Every configuration write is one transaction that first
 * locks the single revision row (SELECT ... FOR UPDATE): writers from all instances queue on it as
 * SQLite writers queue on BEGIN IMMEDIATE, so every check-then-write (version numbers, in-use
 * checks, key retirement) sees the latest committed state. Writes are admin-rate, so one queue is
 * cheap. Reads take no lock. The pool connects on first use, so opening is synchronous.
 */
const POSTGRES_DIALECT: SqlDialect = {
  // The server's default collation follows the locale; "C" orders as SQLite does, by code point.
  byCodePoint: (column) => `${column} COLLATE "C"`,
  signingKeyInsertOrder: 'seq',
  bool: (value) => value,
  // numeric, so a non-integer cursor compares as SQLite compares it instead of failing the cast.
  numeric: (parameter) => `${parameter}::numeric`,
  clientsNamingProcedure: `SELECT c.client_id FROM clients c
     WHERE EXISTS (SELECT 1 FROM jsonb_each_text(c.procedures::jsonb) p WHERE p.value = $1)
     ORDER BY c.client_id COLLATE "C"`,
};

/**
 * SQLSTATE classes that say the server cannot serve now rather than refuse the statement:
 * 08 connection exception, 53 insufficient resources (a full disk among them), 57 operator
 * intervention (a connection ended by an administrator or a shutdown).
 */
function isUnavailabilityCode(code: string | undefined): boolean {
  return code !== undefined && (code.startsWith('08') || code.startsWith('53') || code.startsWith('57'));
}

function executorOf(client: PoolClient): SqlExecutor {
  return { query: async (sql, params = []) => (await client.query<SqlRow>(sql, [...params])).rows };
}

class PostgresDriver implements SqlDriver {
  readonly dialect = POSTGRES_DIALECT;
  readonly target: DatabaseTarget;
  private readonly pool: Pool;
  private closing: Promise<void> | null = null;

  constructor(databaseUrl: string, options: PostgresStoreOptions) {
    this.target = parseDatabaseUrl(databaseUrl);
    this.pool = new Pool({
      connectionString: databaseUrl,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      // A frozen server must not hold a request: a query that has no answer in time fails.
      query_timeout: options.queryTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      application_name: 'tokenproc',
    });
    // An idle connection dropped by the server (restart, failover) must not crash the process;
    // the pool discards it and the next call reconnects or rejects.
    this.pool.on('error', () => undefined);
  }

  query(sql: string, params: readonly SqlParam[] = []): Promise<SqlRow[]> {
    return this.withClient((client) => executorOf(client).query(sql, params));
  }

  /** One transaction on one connection: COMMIT if fn resolves, ROLLBACK if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(executorOf(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * The store-wide write lock is the revision row: writers of every instance run one after another
   * and each sees the others' commits.
   */
  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(async (tx) => {
      await tx.query('SELECT revision FROM store_revision WHERE id = 1 FOR UPDATE');
      return fn(tx);
    });
  }

  async migrate(nowSeconds: number): Promise<void> {
    await this.withClient((client) => migratePostgres(client, nowSeconds));
  }

  async close(): Promise<void> {
    this.closing ??= this.pool.end();
    await this.closing;
  }

  /** A pooled connection for the duration of fn; a connection that failed is discarded. */
  private async withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.connectionError(err);
    }
    let broken = false;
    try {
      return await fn(client);
    } catch (err) {
      // A server-side refusal leaves the connection usable; anything else (a dropped socket, a
      // connection the server ended, a server out of resources) means the store is unavailable.
      const unavailableOnServer = err instanceof DatabaseError && isUnavailabilityCode(err.code);
      broken = unavailableOnServer || (!(err instanceof DatabaseError) && !(err instanceof StoreConflictError) && !(err instanceof PreconditionFailedError));
      if (broken) throw new StoreUnavailableError(`the PostgreSQL store at ${this.target.display} did not answer: ${this.scrubbed(err)}`);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** The driver's reason, with the URL's password scrubbed out and the target named without it. */
  /** An error's message with the URL's password removed. */
  private scrubbed(err: unknown): string {
    let reason = err instanceof Error ? err.message : String(err);
    for (const secret of this.target.secrets) reason = reason.split(secret).join('***');
    return reason;
  }

  private connectionError(err: unknown): Error {
    // Duck-typed: socket errors may come from another realm (e.g. under a test runner's VM).
    const fields = typeof err === 'object' && err !== null ? (err as { message?: unknown; code?: unknown }) : {};
    let reason = typeof fields.message === 'string' ? fields.message : String(err);
    for (const secret of this.target.secrets) reason = reason.split(secret).join('***');
    const error = new StoreUnavailableError(`cannot connect to the PostgreSQL store at ${this.target.display}: ${reason || 'connection failed'}`);
    if (typeof fields.code === 'string') Object.assign(error, { code: fields.code });
    return error;
  }
}

export class PostgresStore extends SqlStore {
  private readonly postgres: PostgresDriver;

  private constructor(driver: PostgresDriver, options: PostgresStoreOptions) {
    super(driver, options.clock ?? systemClock);
    this.postgres = driver;
  }

  /** Does not connect yet: the first call does, and rejects with a clear message if it cannot. */
  static open(databaseUrl: string, options: PostgresStoreOptions = {}): PostgresStore {
    return new PostgresStore(new PostgresDriver(databaseUrl, options), options);
  }

  /** `postgres://user@host:port/database`: never the password. */
  get location(): string {
    return this.postgres.target.display;
  }
}
