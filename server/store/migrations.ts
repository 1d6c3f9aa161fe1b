import type { DatabaseSync } from 'node:sqlite';

/**
 * The SQLite schema, as an ordered list of migrations. A migration, once released, never changes:
 * a new schema change is a new entry at the end. `schema_version` records which ones ran.
 * Times are epoch seconds (columns ending in _ms: epoch milliseconds); JSON values are TEXT.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'initial schema',
    sql: `
      CREATE TABLE store_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
      );
      INSERT INTO store_revision (id, revision) VALUES (1, 0);

      CREATE TABLE clients (
        client_id TEXT PRIMARY KEY,
        name TEXT,
        client_secret_hash TEXT,
        token_endpoint_auth_method TEXT NOT NULL,
        jwks TEXT,
        grant_types TEXT NOT NULL,
        scope TEXT NOT NULL,
        audiences TEXT NOT NULL,
        properties TEXT NOT NULL,
        procedures TEXT NOT NULL,
        access_token_ttl INTEGER NOT NULL,
        accept_unvalidated_tokens INTEGER NOT NULL CHECK (accept_unvalidated_tokens IN (0, 1)),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE procedures (
        id TEXT PRIMARY KEY,
        flow TEXT NOT NULL,
        active_version INTEGER NOT NULL,
        latest_version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        FOREIGN KEY (id, active_version) REFERENCES procedure_versions (id, version) DEFERRABLE INITIALLY DEFERRED
      );

      CREATE TABLE procedure_versions (
        id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        flow TEXT NOT NULL,
        source TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (id, version),
        FOREIGN KEY (id) REFERENCES procedures (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
      );
      -- A published version is immutable: rollback means activating an older one.
      CREATE TRIGGER procedure_versions_immutable BEFORE UPDATE ON procedure_versions
      BEGIN
        SELECT RAISE(ABORT, 'procedure versions are immutable');
      END;

      CREATE TABLE trusted_issuers (
        id TEXT PRIMARY KEY,
        issuer TEXT NOT NULL,
        jwks_uri TEXT,
        jwks TEXT,
        allowed_algs TEXT,
        audiences TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        private_jwk TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
      );
      -- At most one active (unretired) key.
      CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

      CREATE TABLE admin_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        hash TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target_type TEXT NOT NULL,
        target_id TEXT NOT NULL,
        old_version TEXT,
        new_version TEXT,
        details TEXT
      );

      CREATE TABLE assertion_jtis (
        client_id TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (client_id, jti)
      );
      CREATE INDEX assertion_jtis_expiry ON assertion_jtis (expires_at);
    `,
  },
  {
    version: 2,
    description: 'failed authentications counted in the store, shared by every instance',
    sql: `
      -- One row per (scope, key): failures in the window that opened at the key's first failure and
      -- ends at window_end_ms (epoch ms). Rows of ended windows are purged as failures are recorded.
      CREATE TABLE auth_failures (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        window_end_ms INTEGER NOT NULL,
        failures INTEGER NOT NULL CHECK (failures >= 1),
        PRIMARY KEY (scope, key)
      );
      CREATE INDEX auth_failures_window_end ON auth_failures (window_end_ms);
    `,
  },
  {
    version: 3,
    description: 'token lifecycle: refresh tokens, opaque access tokens, revocations; client token format and refresh lifetime',
    sql: `
      ALTER TABLE clients ADD COLUMN access_token_format TEXT CHECK (access_token_format IN ('jwt', 'opaque'));
      ALTER TABLE clients ADD COLUMN refresh_token_ttl INTEGER;

      -- Bumped by every revocation, inside its transaction: the row lock orders revocations by
      -- commit, so instances polling "seq > watermark" never skip one.
      CREATE TABLE revocation_counter (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        value INTEGER NOT NULL
      );
      INSERT INTO revocation_counter (id, value) VALUES (1, 0);

      -- Revoked ids (jti, opaque token id, refresh family); a token naming one in its lineage is inactive.
      CREATE TABLE revocations (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL,
        purge_after INTEGER NOT NULL
      );
      CREATE INDEX revocations_seq ON revocations (seq);
      CREATE INDEX revocations_purge_after ON revocations (purge_after);

      -- Refresh tokens by the SHA-256 of their value; data is JSON (claims, delegation, lineage).
      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        data TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

      -- Opaque access tokens by the SHA-256 of their value; claims are JSON.
      CREATE TABLE opaque_tokens (
        token_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        claims TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX opaque_tokens_expiry ON opaque_tokens (expires_at);
    `,
  },
  {
    version: 4,
    description: 'client accepted_audiences: aud values that mark a presented token as meant for the client',
    sql: `
      -- JSON array of strings; NULL: none (records from before schema 4 read back unchanged).
      ALTER TABLE clients ADD COLUMN accepted_audiences TEXT;
    `,
  },  {
    version: 5,
    description: 'named admin keys with roles',
    sql: `
      -- Only the SHA-256 of each key is stored; the key is shown once, when it is created.
      CREATE TABLE admin_keys (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'author', 'admin')),
        key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 6,
    description: 'change notes on procedure versions',
    sql: `
      -- One line of text, at most 500 characters (the admin API checks it); NULL: no note.
      ALTER TABLE procedure_versions ADD COLUMN note TEXT;
    `,
  },
];

/** The newest schema version this build knows. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** The highest applied version, or 0 on an empty database. Creates the version table if needed. */
export function currentSchemaVersion(db: DatabaseSync): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get();
  const v = row?.['v'];
  return typeof v === 'number' ? v : 0;
}

/**
 * Applies the missing migrations in one IMMEDIATE transaction, so two processes opening the same
 * fresh database cannot both apply them. Idempotent. Refuses a database written by a newer build.
 * Returns the versions it applied.
 */
export function migrate(db: DatabaseSync, nowSeconds: number, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  db.exec('BEGIN IMMEDIATE');
  try {
    const current = currentSchemaVersion(db);
    if (current > latest) {
      throw new Error(`database schema version ${current} is newer than this build supports (${latest}); upgrade tokenproc`);
    }
    const applied: number[] = [];
    const record = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, nowSeconds);
      applied.push(migration.version);
    }
    db.exec('COMMIT');
    return applied;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
