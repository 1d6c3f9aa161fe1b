import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import { StoreConflictError } from './errors.ts';
import { migrate } from './migrations.ts';
import type {
  AuditEntry,
  ClientRecord,
  FlowId,
  NewProcedureVersion,
  ProcedureSummary,
  ProcedureVersion,
  SigningKeyRecord,
  Store,
  TrustedIssuerRecord,
} from './types.ts';
import { auditLimit, systemClock, toAuditEntry, int, intOrNull, jsonOrNull, text, toClient, toProcedureVersion, toTrustedIssuer } from './rows.ts';
import { auditEntries, type AuditInput } from './audit-entries.ts';

export const DATABASE_FILE_NAME = 'tokenproc.db';

export interface SqliteStoreOptions {
  /** Epoch seconds; injectable for tests. */
  clock?: () => number;
  /** How long a writer waits for another process's lock, in ms. */
  busyTimeoutMs?: number;
}




/**
 * The embedded store. node:sqlite is synchronous, so each method runs to completion before any
 * other JavaScript of this process runs; across processes, writes take the database lock up front
 * (BEGIN IMMEDIATE) and wait for it up to the busy timeout.
 */
export class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  private readonly clock: () => number;
  private readonly statements = new Map<string, StatementSync>();

  private constructor(location: string, options: SqliteStoreOptions) {
    this.clock = options.clock ?? systemClock;
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
      migrate(this.db, this.clock());
    } catch (err) {
      this.db.close();
      throw err;
    }
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

  async migrate(): Promise<void> {
    migrate(this.db, this.clock());
  }

  async close(): Promise<void> {
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }

  async revision(): Promise<number> {
    return int(this.stmt('SELECT revision FROM store_revision WHERE id = 1').get(), 'revision');
  }

  // ---- clients ----

  async getClient(clientId: string): Promise<ClientRecord | null> {
    const row = this.stmt('SELECT * FROM clients WHERE client_id = ?').get(clientId);
    return row ? toClient(row) : null;
  }

  async listClients(): Promise<ClientRecord[]> {
    return this.stmt('SELECT * FROM clients ORDER BY client_id').all().map(toClient);
  }

  async putClient(client: ClientRecord, actor: string): Promise<{ created: boolean }> {
    return this.write(() => {
      // Checked inside the transaction, so a concurrent procedure delete cannot leave the client naming nothing.
      for (const [flow, procedureId] of Object.entries(client.procedures)) {
        const row = this.stmt('SELECT flow FROM procedures WHERE id = ?').get(procedureId) as { flow: string } | undefined;
        if (!row || row.flow !== flow) {
          throw new StoreConflictError('procedure_missing', `procedure ${procedureId} does not exist for flow ${flow}`);
        }
      }
      const existingRow = this.stmt('SELECT * FROM clients WHERE client_id = ?').get(client.client_id);
      const existing = existingRow ? toClient(existingRow) : null;
      this.stmt(
        `INSERT INTO clients (client_id, name, client_secret_hash, token_endpoint_auth_method, jwks, grant_types, scope,
           audiences, properties, procedures, access_token_ttl, accept_unvalidated_tokens, created_at, updated_at)
         VALUES (:client_id, :name, :client_secret_hash, :token_endpoint_auth_method, :jwks, :grant_types, :scope,
           :audiences, :properties, :procedures, :access_token_ttl, :accept_unvalidated_tokens, :created_at, :updated_at)
         ON CONFLICT (client_id) DO UPDATE SET
           name = excluded.name, client_secret_hash = excluded.client_secret_hash,
           token_endpoint_auth_method = excluded.token_endpoint_auth_method, jwks = excluded.jwks,
           grant_types = excluded.grant_types, scope = excluded.scope, audiences = excluded.audiences,
           properties = excluded.properties, procedures = excluded.procedures,
           access_token_ttl = excluded.access_token_ttl, accept_unvalidated_tokens = excluded.accept_unvalidated_tokens,
           updated_at = excluded.updated_at`,
      ).run({
        client_id: client.client_id,
        name: client.name ?? null,
        client_secret_hash: client.client_secret_hash,
        token_endpoint_auth_method: client.token_endpoint_auth_method,
        jwks: jsonOrNull(client.jwks),
        grant_types: JSON.stringify(client.grant_types),
        scope: client.scope,
        audiences: JSON.stringify(client.audiences),
        properties: JSON.stringify(client.properties),
        procedures: JSON.stringify(client.procedures),
        access_token_ttl: client.access_token_ttl,
        accept_unvalidated_tokens: client.accept_unvalidated_tokens ? 1 : 0,
        // A replace keeps the original creation time.
        created_at: client.created_at,
        updated_at: client.updated_at,
      });
      this.recordChange(auditEntries.clientPut(actor, existing, client));
      return { created: existing === null };
    });
  }

  async deleteClient(clientId: string, actor: string): Promise<boolean> {
    return this.write(() => {
      const { changes } = this.stmt('DELETE FROM clients WHERE client_id = ?').run(clientId);
      if (changes === 0) return false;
      this.recordChange(auditEntries.clientDelete(actor, clientId));
      return true;
    });
  }

  async clientsUsingProcedure(procedureId: string): Promise<string[]> {
    return this.clientIdsUsing(procedureId);
  }

  // ---- procedures ----

  async putProcedureVersion(version: NewProcedureVersion, actor: string): Promise<ProcedureVersion> {
    const actual = createHash('sha256').update(version.source, 'utf8').digest('hex');
    if (actual !== version.sha256) throw new TypeError(`sha256 does not match the source of procedure ${version.id}`);
    return this.write(() => {
      const current = this.stmt('SELECT flow, active_version, latest_version FROM procedures WHERE id = ?').get(version.id);
      if (current && text(current, 'flow') !== version.flow) {
        throw new StoreConflictError(
          'procedure_flow_mismatch',
          `procedure ${version.id} belongs to flow ${text(current, 'flow')}; delete it to reuse the id for ${version.flow}`,
        );
      }
      const now = this.clock();
      const number = (current ? int(current, 'latest_version') : 0) + 1;
      this.stmt(
        'INSERT INTO procedure_versions (id, version, flow, source, sha256, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(version.id, number, version.flow, version.source, version.sha256, now, actor);
      this.stmt(
        `INSERT INTO procedures (id, flow, active_version, latest_version, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET active_version = excluded.active_version,
           latest_version = excluded.latest_version, updated_at = excluded.updated_at`,
      ).run(version.id, version.flow, number, number, now);
      this.recordChange(auditEntries.procedureUpload(actor, version, number, current ? int(current, 'active_version') : null));
      return {
        id: version.id,
        version: number,
        flow: version.flow,
        source: version.source,
        sha256: version.sha256,
        created_at: now,
        created_by: actor,
      };
    });
  }

  async activateProcedureVersion(id: string, version: number, actor: string): Promise<ProcedureVersion | null> {
    return this.write(() => {
      const current = this.stmt('SELECT active_version FROM procedures WHERE id = ?').get(id);
      const target = this.stmt('SELECT * FROM procedure_versions WHERE id = ? AND version = ?').get(id, version);
      if (!current || !target) return null;
      this.stmt('UPDATE procedures SET active_version = ?, updated_at = ? WHERE id = ?').run(version, this.clock(), id);
      const activated = toProcedureVersion(target);
      this.recordChange(auditEntries.procedureActivate(actor, activated, int(current, 'active_version')));
      return activated;
    });
  }

  async getActiveProcedure(id: string): Promise<ProcedureVersion | null> {
    const row = this.stmt(
      `SELECT v.* FROM procedures p JOIN procedure_versions v ON v.id = p.id AND v.version = p.active_version
       WHERE p.id = ?`,
    ).get(id);
    return row ? toProcedureVersion(row) : null;
  }

  async getProcedureVersion(id: string, version: number): Promise<ProcedureVersion | null> {
    const row = this.stmt('SELECT * FROM procedure_versions WHERE id = ? AND version = ?').get(id, version);
    return row ? toProcedureVersion(row) : null;
  }

  async listProcedures(): Promise<ProcedureSummary[]> {
    return this.stmt(
      `SELECT p.id, p.flow, p.active_version, p.latest_version, v.sha256, p.updated_at
       FROM procedures p JOIN procedure_versions v ON v.id = p.id AND v.version = p.active_version
       ORDER BY p.id`,
    )
      .all()
      .map((row) => ({
        id: text(row, 'id'),
        flow: text(row, 'flow') as FlowId,
        active_version: int(row, 'active_version'),
        latest_version: int(row, 'latest_version'),
        sha256: text(row, 'sha256'),
        updated_at: int(row, 'updated_at'),
      }));
  }

  async listProcedureVersions(id: string): Promise<ProcedureVersion[]> {
    return this.stmt('SELECT * FROM procedure_versions WHERE id = ? ORDER BY version').all(id).map(toProcedureVersion);
  }

  /** Throws StoreConflictError('procedure_in_use') while a client names the procedure. */
  async deleteProcedure(id: string, actor: string): Promise<boolean> {
    return this.write(() => {
      const current = this.stmt('SELECT active_version, latest_version FROM procedures WHERE id = ?').get(id);
      if (!current) return false;
      const users = this.clientIdsUsing(id);
      if (users.length > 0) {
        throw new StoreConflictError('procedure_in_use', `procedure ${id} is used by ${users.join(', ')}`, users);
      }
      this.stmt('DELETE FROM procedure_versions WHERE id = ?').run(id);
      this.stmt('DELETE FROM procedures WHERE id = ?').run(id);
      this.recordChange(auditEntries.procedureDelete(actor, id, int(current, 'active_version'), int(current, 'latest_version')));
      return true;
    });
  }

  // ---- trusted issuers ----

  async getTrustedIssuer(id: string): Promise<TrustedIssuerRecord | null> {
    const row = this.stmt('SELECT * FROM trusted_issuers WHERE id = ?').get(id);
    return row ? toTrustedIssuer(row) : null;
  }

  async listTrustedIssuers(): Promise<TrustedIssuerRecord[]> {
    return this.stmt('SELECT * FROM trusted_issuers ORDER BY id').all().map(toTrustedIssuer);
  }

  async putTrustedIssuer(issuer: TrustedIssuerRecord, actor: string): Promise<{ created: boolean }> {
    return this.write(() => {
      const existing = this.stmt('SELECT 1 AS found FROM trusted_issuers WHERE id = ?').get(issuer.id);
      this.stmt(
        `INSERT INTO trusted_issuers (id, issuer, jwks_uri, jwks, allowed_algs, audiences, created_at, updated_at)
         VALUES (:id, :issuer, :jwks_uri, :jwks, :allowed_algs, :audiences, :created_at, :updated_at)
         ON CONFLICT (id) DO UPDATE SET issuer = excluded.issuer, jwks_uri = excluded.jwks_uri, jwks = excluded.jwks,
           allowed_algs = excluded.allowed_algs, audiences = excluded.audiences, updated_at = excluded.updated_at`,
      ).run({
        id: issuer.id,
        issuer: issuer.issuer,
        jwks_uri: issuer.jwks_uri ?? null,
        jwks: jsonOrNull(issuer.jwks),
        allowed_algs: jsonOrNull(issuer.allowed_algs),
        audiences: jsonOrNull(issuer.audiences),
        created_at: issuer.created_at,
        updated_at: issuer.updated_at,
      });
      this.recordChange(auditEntries.trustedIssuerPut(actor, issuer, existing === undefined));
      return { created: existing === undefined };
    });
  }

  async deleteTrustedIssuer(id: string, actor: string): Promise<boolean> {
    return this.write(() => {
      const { changes } = this.stmt('DELETE FROM trusted_issuers WHERE id = ?').run(id);
      if (changes === 0) return false;
      this.recordChange(auditEntries.trustedIssuerDelete(actor, id));
      return true;
    });
  }

  // ---- signing keys ----

  /** Newest first: the active key, then retired keys. */
  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.stmt('SELECT * FROM signing_keys ORDER BY created_at DESC, rowid DESC')
      .all()
      .map((row) => ({
        kid: text(row, 'kid'),
        alg: text(row, 'alg'),
        private_jwk: text(row, 'private_jwk'),
        public_jwk: text(row, 'public_jwk'),
        created_at: int(row, 'created_at'),
        retired_at: intOrNull(row, 'retired_at'),
      }));
  }

  async addSigningKey(key: Omit<SigningKeyRecord, 'retired_at'>, actor: string): Promise<void> {
    this.write(() => {
      const retired = this.stmt('SELECT kid FROM signing_keys WHERE retired_at IS NULL')
        .all()
        .map((row) => text(row, 'kid'));
      this.stmt('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL').run(this.clock());
      this.stmt(
        'INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, ?, NULL)',
      ).run(key.kid, key.alg, key.private_jwk, key.public_jwk, key.created_at);
      this.recordChange(auditEntries.signingKeyAdd(actor, key.kid, key.alg, retired));
    });
  }

  async pruneSigningKeys(retiredBefore: number, actor: string): Promise<string[]> {
    return this.write(() => {
      const kids = this.stmt('SELECT kid FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ? ORDER BY kid')
        .all(retiredBefore)
        .map((row) => text(row, 'kid'));
      for (const kid of kids) {
        this.stmt('DELETE FROM signing_keys WHERE kid = ?').run(kid);
        this.recordChange(auditEntries.signingKeyPrune(actor, kid));
      }
      return kids;
    });
  }

  // ---- admin key ----

  async getAdminKeyHash(): Promise<string | null> {
    const row = this.stmt('SELECT hash FROM admin_key WHERE id = 1').get();
    return row ? text(row, 'hash') : null;
  }

  async setAdminKeyHash(hash: string, actor: string): Promise<void> {
    this.write(() => {
      this.stmt(
        `INSERT INTO admin_key (id, hash, updated_at) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
      ).run(hash, this.clock());
      this.recordChange(auditEntries.adminKeySet(actor));
    });
  }

  async initAdminKeyHash(hash: string, actor: string): Promise<string> {
    return this.write(() => {
      const existing = this.stmt('SELECT hash FROM admin_key WHERE id = 1').get();
      if (existing) return text(existing, 'hash');
      this.stmt('INSERT INTO admin_key (id, hash, updated_at) VALUES (1, ?, ?)').run(hash, this.clock());
      this.recordChange(auditEntries.adminKeySet(actor));
      return hash;
    });
  }

  // ---- audit ----

  /** An entry for something that is not a store write (e.g. an import summary); does not bump the revision. */
  async appendAudit(entry: AuditInput): Promise<void> {
    this.insertAudit(entry);
  }

  /** Newest first. `before` is an audit id: pass the last id of a page to get the next page. */
  async listAudit(options: { limit?: number; before?: number } = {}): Promise<AuditEntry[]> {
    const limit = auditLimit(options.limit);
    const rows =
      options.before === undefined
        ? this.stmt('SELECT * FROM audit ORDER BY id DESC LIMIT ?').all(limit)
        : this.stmt('SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?').all(options.before, limit);
    return rows.map(toAuditEntry);
  }

  // ---- client assertion replay ----

  /**
   * `expiresAt` (epoch seconds) should be the assertion's exp plus the clock skew the validator
   * allows, so the jti is remembered for as long as the assertion could be accepted. Not a
   * configuration change: no audit entry, no revision bump.
   */
  async recordAssertionJti(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    return this.write(() => {
      this.stmt('DELETE FROM assertion_jtis WHERE expires_at < ?').run(this.clock());
      const { changes } = this.stmt(
        'INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ).run(clientId, jti, expiresAt);
      return changes === 1;
    });
  }

  // ---- internals ----

  private stmt(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** One IMMEDIATE transaction: the write lock is taken up front, so no other writer interleaves. */
  private write<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Every configuration write bumps the revision and leaves its audit line, in its transaction. */
  private recordChange(entry: AuditInput): void {
    this.stmt('UPDATE store_revision SET revision = revision + 1 WHERE id = 1').run();
    this.insertAudit(entry);
  }

  private insertAudit(entry: AuditInput): void {
    this.stmt(
      `INSERT INTO audit (at, actor, action, target_type, target_id, old_version, new_version, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      this.clock(),
      entry.actor,
      entry.action,
      entry.target_type,
      entry.target_id,
      entry.old_version,
      entry.new_version,
      jsonOrNull(entry.details),
    );
  }

  private clientIdsUsing(procedureId: string): string[] {
    return this.stmt(
      `SELECT DISTINCT c.client_id FROM clients c, json_each(c.procedures) p WHERE p.value = ? ORDER BY c.client_id`,
    )
      .all(procedureId)
      .map((row) => text(row, 'client_id'));
  }
}
