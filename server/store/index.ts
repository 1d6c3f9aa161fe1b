import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';

export interface OpenStoreOptions {
  /** TOKENPROC_DATA_DIR: where the embedded SQLite database lives. */
  dataDir: string;
  /** TOKENPROC_DATABASE_URL: a shared PostgreSQL store; when set, dataDir is not touched. */
  databaseUrl?: string;
}

/**
 * The store the server and CLI use. SQLite migrates on open; PostgreSQL connects on first use, so
 * callers always `await store.migrate()` before anything else (a connection failure rejects there).
 */
export function openStore(options: OpenStoreOptions): Store {
  if (options.databaseUrl) return PostgresStore.open(options.databaseUrl);
  return SqliteStore.open(options.dataDir);
}

export { SqliteStore } from './sqlite.ts';
export type { SqliteStoreOptions } from './sqlite.ts';
export { PostgresStore } from './postgres.ts';
export type { PostgresStoreOptions } from './postgres.ts';
export { StoreConflictError, isStoreConflictError } from './errors.ts';
export type { StoreConflictCode } from './errors.ts';
