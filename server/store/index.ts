import { SqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';

export interface OpenStoreOptions {
  /** TOKENPROC_DATA_DIR: where the embedded SQLite database lives. */
  dataDir: string;
  /** TOKENPROC_DATABASE_URL: a shared PostgreSQL store (not in this build yet). */
  databaseUrl?: string;
}

/** The store the server and CLI use; its schema is already migrated. */
export function openStore(options: OpenStoreOptions): Store {
  if (options.databaseUrl) {
    throw new Error(
      'TOKENPROC_DATABASE_URL is set, but PostgreSQL is not available in this build yet; ' +
        'unset it to use the embedded SQLite store in TOKENPROC_DATA_DIR',
    );
  }
  return SqliteStore.open(options.dataDir);
}

export { SqliteStore } from './sqlite.ts';
export type { SqliteStoreOptions } from './sqlite.ts';
export { StoreConflictError, isStoreConflictError } from './errors.ts';
export type { StoreConflictCode } from './errors.ts';
