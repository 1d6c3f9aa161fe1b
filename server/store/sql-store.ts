/**
 * The store, once, over a small driver per database (sqlite.ts, postgres.ts): the SQL and the
 * logic of every method live here, the drivers only connect, run statements, hold transactions and
 * migrate. Statements use `$1`-style parameters; where the two databases differ (ordering by code
 * point, the insertion-order column, booleans, a numeric cast, JSON functions) the driver's
 * dialect says how.
 *
 * Every configuration write runs in `driver.write` (the store-wide write lock taken up front),
 * bumps the revision and appends its audit entry in the same transaction, so a crash leaves either
 * the old or the new state and never a change without its audit line.
 */
import { createHash } from 'node:crypto';
import { StoreConflictError } from './errors.ts';
import { checkPrecondition, type Precondition } from './etag.ts';
import type {
  AdminKeyRecord,
  AdminRole,
  AuditEntry,
  AuditFilter,
  AuthFailureCount,
  ClientRecord,
  FlowId,
  KeyPage,
  NewProcedureVersion,
  OpaqueTokenRecord,
  ProcedureSummary,
  ProcedureVersion,
  RefreshRedemption,
  RefreshTokenRecord,
  RevocationBatch,
  RevocationEntry,
  SigningKeyRecord,
  Store,
  TrustedIssuerRecord,
} from './types.ts';
import {
  auditLimit,
  toAuditEntry,
  int,
  intOrNull,
  jsonOrNull,
  parsed,
  text,
  toClient,
  toProcedureVersion,
  toRefreshToken,
  toTrustedIssuer,
  type Row,
} from './rows.ts';
import { auditEntries, type AuditInput } from './audit-entries.ts';

export type SqlParam = string | number | boolean | null;
/** A row as the drivers return it (rows.ts maps it to records). */
export type SqlRow = Row;

/** Runs one statement and answers its rows (none for a statement without RETURNING). */
export interface SqlExecutor {
  query(sql: string, params?: readonly SqlParam[]): Promise<SqlRow[]>;
}

/** What differs between the databases, as SQL fragments. */
export interface SqlDialect {
  /** An ORDER BY term ordering `column` by code point (SQLite's default; PostgreSQL needs COLLATE "C"). */
  byCodePoint(column: string): string;
  /** The signing_keys column that records insertion order (the tie-breaker of keys created in one second). */
  readonly signingKeyInsertOrder: string;
  /** A boolean as a parameter of the database's column type. */
  bool(value: boolean): SqlParam;
  /** A parameter compared as a number whatever its value (a non-integer audit cursor). */
  numeric(parameter: string): string;
  /** The ids of the clients whose `procedures` object names the procedure `$1`, by code point. */
  readonly clientsNamingProcedure: string;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: SqlDialect;
  /** One transaction: COMMIT when fn resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** A configuration write: a transaction that holds the store-wide write lock from its start. */
  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  migrate(nowSeconds: number): Promise<void>;
  close(): Promise<void>;
}

/** Longest key stored as given in auth_failures; a longer one is stored as its hash. */
const MAX_PLAIN_AUTH_FAILURE_KEY_LENGTH = 200;

/**
 * A key as auth_failures stores it. Keys come from requests (a presented client id may be 64 KiB):
 * a long one, or one PostgreSQL text cannot hold (NUL), is stored as its SHA-256, so a guess is
 * counted rather than failing on an index row size limit.
 */
function authFailureKey(key: string): string {
  if (key.length <= MAX_PLAIN_AUTH_FAILURE_KEY_LENGTH && !key.includes('\0')) return key;
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

function toAdminKey(row: SqlRow): AdminKeyRecord {
  return { name: text(row, 'name'), role: text(row, 'role') as AdminRole, key_hash: text(row, 'key_hash'), created_at: int(row, 'created_at') };
}

/** A procedure's active version, read through `executor` (inside a write transaction, or not). */
async function activeVersionIn(executor: SqlExecutor, id: string): Promise<ProcedureVersion | null> {
  const [row] = await executor.query(
    `SELECT v.* FROM procedures p JOIN procedure_versions v ON v.id = p.id AND v.version = p.active_version
     WHERE p.id = $1`,
    [id],
  );
  return row ? toProcedureVersion(row) : null;
}

async function clientIdsUsing(executor: SqlExecutor, dialect: SqlDialect, procedureId: string): Promise<string[]> {
  const rows = await executor.query(dialect.clientsNamingProcedure, [procedureId]);
  return rows.map((row) => text(row, 'client_id'));
}

const AUDIT_FILTER_COLUMNS = ['target_type', 'target_id', 'actor', 'action'] as const satisfies ReadonlyArray<keyof AuditFilter>;

export class SqlStore implements Store {
  protected readonly driver: SqlDriver;
  private readonly dialect: SqlDialect;
  private readonly auditListeners: Array<(entry: AuditEntry) => void> = [];
  private readonly clock: () => number;

  protected constructor(driver: SqlDriver, clock: () => number) {
    this.driver = driver;
    this.dialect = driver.dialect;
    this.clock = clock;
  }

  async migrate(): Promise<void> {
    await this.driver.migrate(this.clock());
  }

  async close(): Promise<void> {
    await this.driver.close();
  }

  async revision(): Promise<number> {
    return int((await this.driver.query('SELECT revision FROM store_revision WHERE id = 1'))[0], 'revision');
  }

  // ---- clients ----

  async getClient(clientId: string): Promise<ClientRecord | null> {
    const [row] = await this.driver.query('SELECT * FROM clients WHERE client_id = $1', [clientId]);
    return row ? toClient(row) : null;
  }

  async listClients(page?: KeyPage): Promise<ClientRecord[]> {
    return (await this.pageQuery('SELECT * FROM clients', 'client_id', page)).map(toClient);
  }

  async putClient(client: ClientRecord, actor: string, precondition?: Precondition): Promise<{ created: boolean }> {
    return this.write(async (tx, written) => {
      // Checked under the write lock, so a concurrent procedure delete cannot leave the client naming nothing.
      for (const [flow, procedureId] of Object.entries(client.procedures)) {
        const [row] = await tx.query('SELECT flow FROM procedures WHERE id = $1', [procedureId]);
        if (!row || row['flow'] !== flow) {
          throw new StoreConflictError('procedure_missing', `procedure ${procedureId} does not exist for flow ${flow}`);
        }
      }
      const [existingRow] = await tx.query('SELECT * FROM clients WHERE client_id = $1', [client.client_id]);
      const existing = existingRow ? toClient(existingRow) : null;
      checkPrecondition(precondition, existing, `client ${client.client_id}`);
      await tx.query(`INSERT INTO clients (client_id, name, client_secret_hash, token_endpoint_auth_method, jwks, grant_types, scope,
           audiences, properties, procedures, access_token_ttl, accept_unvalidated_tokens, created_at, updated_at,
           access_token_format, refresh_token_ttl, accepted_audiences)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (client_id) DO UPDATE SET
           name = excluded.name, client_secret_hash = excluded.client_secret_hash,
           token_endpoint_auth_method = excluded.token_endpoint_auth_method, jwks = excluded.jwks,
           grant_types = excluded.grant_types, scope = excluded.scope, audiences = excluded.audiences,
           properties = excluded.properties, procedures = excluded.procedures,
           access_token_ttl = excluded.access_token_ttl, accept_unvalidated_tokens = excluded.accept_unvalidated_tokens,
           updated_at = excluded.updated_at, access_token_format = excluded.access_token_format,
           refresh_token_ttl = excluded.refresh_token_ttl, accepted_audiences = excluded.accepted_audiences`,
        [
          client.client_id,
          client.name ?? null,
          client.client_secret_hash,
          client.token_endpoint_auth_method,
          jsonOrNull(client.jwks),
          JSON.stringify(client.grant_types),
          client.scope,
          JSON.stringify(client.audiences),
          JSON.stringify(client.properties),
          JSON.stringify(client.procedures),
          client.access_token_ttl,
          this.dialect.bool(client.accept_unvalidated_tokens),
          // A replace keeps the original creation time.
          client.created_at,
          client.updated_at,
          client.access_token_format ?? null,
          client.refresh_token_ttl ?? null,
          client.accepted_audiences === undefined ? null : JSON.stringify(client.accepted_audiences),
        ],
      );
      await this.recordChange(tx, written, auditEntries.clientPut(actor, existing, client));
      return { created: existing === null };
    });
  }

  async deleteClient(clientId: string, actor: string, precondition?: Precondition): Promise<boolean> {
    return this.write(async (tx, written) => {
      if (precondition) {
        const [row] = await tx.query('SELECT * FROM clients WHERE client_id = $1', [clientId]);
        checkPrecondition(precondition, row ? toClient(row) : null, `client ${clientId}`);
      }
      const deleted = await tx.query('DELETE FROM clients WHERE client_id = $1 RETURNING client_id', [clientId]);
      if (deleted.length === 0) return false;
      await this.recordChange(tx, written, auditEntries.clientDelete(actor, clientId));
      return true;
    });
  }

  async clientsUsingProcedure(procedureId: string): Promise<string[]> {
    return clientIdsUsing(this.driver, this.dialect, procedureId);
  }

  // ---- procedures ----

  async putProcedureVersion(version: NewProcedureVersion, actor: string, precondition?: Precondition): Promise<ProcedureVersion> {
    const actual = createHash('sha256').update(version.source, 'utf8').digest('hex');
    if (actual !== version.sha256) throw new TypeError(`sha256 does not match the source of procedure ${version.id}`);
    return this.write(async (tx, written) => {
      if (precondition) checkPrecondition(precondition, await activeVersionIn(tx, version.id), `procedure ${version.id}`);
      const [current] = await tx.query('SELECT flow, active_version, latest_version FROM procedures WHERE id = $1', [version.id]);
      if (current && text(current, 'flow') !== version.flow) {
        throw new StoreConflictError(
          'procedure_flow_mismatch',
          `procedure ${version.id} belongs to flow ${text(current, 'flow')}; delete it to reuse the id for ${version.flow}`,
        );
      }
      const now = this.clock();
      const number = (current ? int(current, 'latest_version') : 0) + 1;
      const note = version.note ?? null;
      await tx.query('INSERT INTO procedure_versions (id, version, flow, source, sha256, created_at, created_by, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [version.id, number, version.flow, version.source, version.sha256, now, actor, note],
      );
      await tx.query(`INSERT INTO procedures (id, flow, active_version, latest_version, updated_at) VALUES ($1, $2, $3, $3, $4)
         ON CONFLICT (id) DO UPDATE SET active_version = excluded.active_version,
           latest_version = excluded.latest_version, updated_at = excluded.updated_at`,
        [version.id, version.flow, number, now],
      );
      await this.recordChange(tx, written, auditEntries.procedureUpload(actor, version, number, current ? int(current, 'active_version') : null));
      return {
        id: version.id,
        version: number,
        flow: version.flow,
        source: version.source,
        sha256: version.sha256,
        created_at: now,
        created_by: actor,
        note,
      };
    });
  }

  async activateProcedureVersion(id: string, version: number, actor: string, precondition?: Precondition, note?: string): Promise<ProcedureVersion | null> {
    return this.write(async (tx, written) => {
      if (precondition) checkPrecondition(precondition, await activeVersionIn(tx, id), `procedure ${id}`);
      const [current] = await tx.query('SELECT active_version FROM procedures WHERE id = $1', [id]);
      const [target] = await tx.query('SELECT * FROM procedure_versions WHERE id = $1 AND version = $2', [id, version]);
      if (!current || !target) return null;
      await tx.query('UPDATE procedures SET active_version = $1, updated_at = $2 WHERE id = $3', [version, this.clock(), id]);
      const activated = toProcedureVersion(target);
      await this.recordChange(tx, written, auditEntries.procedureActivate(actor, activated, int(current, 'active_version'), note));
      return activated;
    });
  }

  async getActiveProcedure(id: string): Promise<ProcedureVersion | null> {
    return activeVersionIn(this.driver, id);
  }

  async listActiveProcedures(): Promise<ProcedureVersion[]> {
    const rows = await this.driver.query(
      `SELECT v.* FROM procedures p JOIN procedure_versions v ON v.id = p.id AND v.version = p.active_version
       ORDER BY ${this.dialect.byCodePoint('p.id')}`,
    );
    return rows.map(toProcedureVersion);
  }

  async getProcedureVersion(id: string, version: number): Promise<ProcedureVersion | null> {
    const [row] = await this.driver.query('SELECT * FROM procedure_versions WHERE id = $1 AND version = $2', [id, version]);
    return row ? toProcedureVersion(row) : null;
  }

  async listProcedures(page?: KeyPage): Promise<ProcedureSummary[]> {
    const rows = await this.pageQuery(
      `SELECT p.id, p.flow, p.active_version, p.latest_version, v.sha256, p.updated_at
       FROM procedures p JOIN procedure_versions v ON v.id = p.id AND v.version = p.active_version`,
      'p.id',
      page,
    );
    return rows.map((row) => ({
      id: text(row, 'id'),
      flow: text(row, 'flow') as FlowId,
      active_version: int(row, 'active_version'),
      latest_version: int(row, 'latest_version'),
      sha256: text(row, 'sha256'),
      updated_at: int(row, 'updated_at'),
    }));
  }

  async listProcedureVersions(id: string): Promise<ProcedureVersion[]> {
    return (await this.driver.query('SELECT * FROM procedure_versions WHERE id = $1 ORDER BY version', [id])).map(toProcedureVersion);
  }

  /** Throws StoreConflictError('procedure_in_use') while a client names the procedure. */
  async deleteProcedure(id: string, actor: string, precondition?: Precondition): Promise<boolean> {
    return this.write(async (tx, written) => {
      if (precondition) checkPrecondition(precondition, await activeVersionIn(tx, id), `procedure ${id}`);
      const [current] = await tx.query('SELECT active_version, latest_version FROM procedures WHERE id = $1', [id]);
      if (!current) return false;
      const users = await clientIdsUsing(tx, this.dialect, id);
      if (users.length > 0) {
        throw new StoreConflictError('procedure_in_use', `procedure ${id} is used by ${users.join(', ')}`, users);
      }
      await tx.query('DELETE FROM procedure_versions WHERE id = $1', [id]);
      await tx.query('DELETE FROM procedures WHERE id = $1', [id]);
      await this.recordChange(tx, written, auditEntries.procedureDelete(actor, id, int(current, 'active_version'), int(current, 'latest_version')));
      return true;
    });
  }

  // ---- trusted issuers ----

  async getTrustedIssuer(id: string): Promise<TrustedIssuerRecord | null> {
    const [row] = await this.driver.query('SELECT * FROM trusted_issuers WHERE id = $1', [id]);
    return row ? toTrustedIssuer(row) : null;
  }

  async listTrustedIssuers(page?: KeyPage): Promise<TrustedIssuerRecord[]> {
    return (await this.pageQuery('SELECT * FROM trusted_issuers', 'id', page)).map(toTrustedIssuer);
  }

  async putTrustedIssuer(issuer: TrustedIssuerRecord, actor: string, precondition?: Precondition): Promise<{ created: boolean }> {
    return this.write(async (tx, written) => {
      const [existing] = await tx.query('SELECT * FROM trusted_issuers WHERE id = $1', [issuer.id]);
      checkPrecondition(precondition, existing ? toTrustedIssuer(existing) : null, `trusted issuer ${issuer.id}`);
      await tx.query(`INSERT INTO trusted_issuers (id, issuer, jwks_uri, jwks, allowed_algs, audiences, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET issuer = excluded.issuer, jwks_uri = excluded.jwks_uri, jwks = excluded.jwks,
           allowed_algs = excluded.allowed_algs, audiences = excluded.audiences, updated_at = excluded.updated_at`,
        [
          issuer.id,
          issuer.issuer,
          issuer.jwks_uri ?? null,
          jsonOrNull(issuer.jwks),
          jsonOrNull(issuer.allowed_algs),
          jsonOrNull(issuer.audiences),
          issuer.created_at,
          issuer.updated_at,
        ],
      );
      await this.recordChange(tx, written, auditEntries.trustedIssuerPut(actor, issuer, existing === undefined));
      return { created: existing === undefined };
    });
  }

  async deleteTrustedIssuer(id: string, actor: string, precondition?: Precondition): Promise<boolean> {
    return this.write(async (tx, written) => {
      if (precondition) {
        const [row] = await tx.query('SELECT * FROM trusted_issuers WHERE id = $1', [id]);
        checkPrecondition(precondition, row ? toTrustedIssuer(row) : null, `trusted issuer ${id}`);
      }
      const deleted = await tx.query('DELETE FROM trusted_issuers WHERE id = $1 RETURNING id', [id]);
      if (deleted.length === 0) return false;
      await this.recordChange(tx, written, auditEntries.trustedIssuerDelete(actor, id));
      return true;
    });
  }

  // ---- signing keys ----

  /** Newest first: the active key, then retired keys. */
  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.driver.query(`SELECT * FROM signing_keys ORDER BY created_at DESC, ${this.dialect.signingKeyInsertOrder} DESC`);
    return rows.map((row) => ({
      kid: text(row, 'kid'),
      alg: text(row, 'alg'),
      private_jwk: text(row, 'private_jwk'),
      public_jwk: text(row, 'public_jwk'),
      created_at: int(row, 'created_at'),
      retired_at: intOrNull(row, 'retired_at'),
    }));
  }

  async addSigningKey(
    key: Omit<SigningKeyRecord, 'retired_at'>,
    actor: string,
    options: { retireCurrentAt?: number; unlessActiveAlg?: string } = {},
  ): Promise<boolean> {
    return this.write(async (tx, written) => {
      // Writers are serialised (the write lock), so this check and the insert cannot interleave
      // with another instance's.
      if (options.unlessActiveAlg !== undefined) {
        const active = await tx.query('SELECT kid FROM signing_keys WHERE retired_at IS NULL AND alg = $1', [options.unlessActiveAlg]);
        if (active.length > 0) return false;
      }
      const retireAt = options.retireCurrentAt ?? this.clock();
      // Also a key already due to retire later (the previous key of a pending rotation): a key that
      // must sign now (`keys rotate --now` during a pre-publication) retires every key still signing then.
      const retired = (await tx.query('UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL OR retired_at > $1 RETURNING kid', [retireAt]))
        .map((row) => text(row, 'kid'))
        .sort();
      await tx.query('INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, NULL)',
        [key.kid, key.alg, key.private_jwk, key.public_jwk, key.created_at],
      );
      await this.recordChange(tx, written, auditEntries.signingKeyAdd(actor, key.kid, key.alg, retired));
      return true;
    });
  }

  async pruneSigningKeys(retiredBefore: number, actor: string): Promise<string[]> {
    return this.write(async (tx, written) => {
      const kids = (
        await tx.query(`SELECT kid FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1 ORDER BY ${this.dialect.byCodePoint('kid')}`, [
          retiredBefore,
        ])
      ).map((row) => text(row, 'kid'));
      for (const kid of kids) {
        await tx.query('DELETE FROM signing_keys WHERE kid = $1', [kid]);
        await this.recordChange(tx, written, auditEntries.signingKeyPrune(actor, kid));
      }
      return kids;
    });
  }

  // ---- admin key ----

  async getAdminKeyHash(): Promise<string | null> {
    const [row] = await this.driver.query('SELECT hash FROM admin_key WHERE id = 1');
    return row ? text(row, 'hash') : null;
  }

  async setAdminKeyHash(hash: string, actor: string): Promise<void> {
    await this.write(async (tx, written) => {
      await tx.query(`INSERT INTO admin_key (id, hash, updated_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
        [hash, this.clock()],
      );
      await this.recordChange(tx, written, auditEntries.adminKeySet(actor));
    });
  }

  async initAdminKeyHash(hash: string, actor: string): Promise<string> {
    return this.write(async (tx, written) => {
      // write() holds the store-wide write lock, so concurrent instances take turns here.
      const [existing] = await tx.query('SELECT hash FROM admin_key WHERE id = 1');
      if (existing) return text(existing, 'hash');
      await tx.query('INSERT INTO admin_key (id, hash, updated_at) VALUES (1, $1, $2)', [hash, this.clock()]);
      await this.recordChange(tx, written, auditEntries.adminKeySet(actor));
      return hash;
    });
  }

  // ---- named admin keys ----

  async listAdminKeys(page?: KeyPage): Promise<AdminKeyRecord[]> {
    return (await this.pageQuery('SELECT * FROM admin_keys', 'name', page)).map(toAdminKey);
  }

  async getAdminKey(name: string): Promise<AdminKeyRecord | null> {
    const [row] = await this.driver.query('SELECT * FROM admin_keys WHERE name = $1', [name]);
    return row ? toAdminKey(row) : null;
  }

  async createAdminKey(key: AdminKeyRecord, actor: string): Promise<boolean> {
    return this.write(async (tx, written) => {
      const inserted = await tx.query(
        'INSERT INTO admin_keys (name, role, key_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING name',
        [key.name, key.role, key.key_hash, key.created_at],
      );
      if (inserted.length === 0) return false;
      await this.recordChange(tx, written, auditEntries.adminKeyCreate(actor, key.name, key.role));
      return true;
    });
  }

  async deleteAdminKey(name: string, actor: string, precondition?: Precondition): Promise<boolean> {
    return this.write(async (tx, written) => {
      if (precondition) {
        const [row] = await tx.query('SELECT * FROM admin_keys WHERE name = $1', [name]);
        checkPrecondition(precondition, row ? toAdminKey(row) : null, `admin key ${name}`);
      }
      const deleted = await tx.query('DELETE FROM admin_keys WHERE name = $1 RETURNING name', [name]);
      if (deleted.length === 0) return false;
      await this.recordChange(tx, written, auditEntries.adminKeyDelete(actor, name));
      return true;
    });
  }

  // ---- audit ----

  /** An entry for something that is not a store write (e.g. an import summary); does not bump the revision. */
  async appendAudit(entry: AuditInput): Promise<void> {
    this.report([await this.insertAudit(this.driver, entry)]);
  }

  /**
   * Hears of each audit entry this store object wrote, once its transaction has committed: the
   * process logs its own entries, and no other instance's or worker's twice.
   */
  onAuditEntry(listener: (entry: AuditEntry) => void): void {
    this.auditListeners.push(listener);
  }

  /** Newest first. `before` is an audit id: pass the last id of a page to get the next page. */
  async listAudit(options: { limit?: number; before?: number; filter?: AuditFilter } = {}): Promise<AuditEntry[]> {
    const conditions: string[] = [];
    const params: SqlParam[] = [];
    if (options.before !== undefined) {
      params.push(options.before);
      conditions.push(`id < ${this.dialect.numeric(`$${params.length}`)}`);
    }
    // Column names come from this fixed list, never from the request.
    for (const column of AUDIT_FILTER_COLUMNS) {
      const value = options.filter?.[column];
      if (value === undefined) continue;
      params.push(value);
      conditions.push(`${column} = $${params.length}`);
    }
    params.push(auditLimit(options.limit));
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')} ` : '';
    const rows = await this.driver.query(`SELECT * FROM audit ${where}ORDER BY id DESC LIMIT $${params.length}`, params);
    return rows.map(toAuditEntry);
  }

  // ---- client assertion replay ----

  /**
   * `expiresAt` (epoch seconds) should be the assertion's exp plus the clock skew the validator
   * allows. Not a configuration change: no audit entry, no revision bump, and no configuration
   * write lock where the database can avoid it (this runs per request); the primary key makes two
   * instances racing on one jti accept it once.
   */
  async recordAssertionJti(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    return this.driver.transaction(async (tx) => {
      await tx.query('DELETE FROM assertion_jtis WHERE expires_at < $1', [this.clock()]);
      const inserted = await tx.query('INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING jti',
        [clientId, jti, expiresAt],
      );
      return inserted.length === 1;
    });
  }

  // ---- failed authentication counts ----

  /**
   * Runs per failed authentication, so like the jti record: no audit entry, no revision bump, no
   * configuration write lock. The upsert is one atomic statement on the key's one row, so instances
   * racing on one key never lose a count and never pass the cap.
   */
  async recordAuthFailure(scope: string, key: string, nowMs: number, windowMs: number, cap: number): Promise<AuthFailureCount> {
    if (!Number.isSafeInteger(windowMs) || windowMs < 1) throw new RangeError(`windowMs must be a positive integer (got ${windowMs})`);
    if (!Number.isSafeInteger(cap) || cap < 1) throw new RangeError(`cap must be a positive integer (got ${cap})`);
    const now = Math.floor(nowMs);
    const storedKey = authFailureKey(key);
    return this.driver.transaction(async (tx) => {
      await tx.query('DELETE FROM auth_failures WHERE window_end_ms <= $1', [now]);
      // A window that ended (on another instance's clock, after the purge) opens anew, as a new row would.
      const [counted] = await tx.query(
        `INSERT INTO auth_failures (scope, key, window_end_ms, failures) VALUES ($1, $2, $3, 1)
         ON CONFLICT (scope, key) DO UPDATE SET
           failures = CASE WHEN auth_failures.window_end_ms <= $4 THEN 1 ELSE auth_failures.failures + 1 END,
           window_end_ms = CASE WHEN auth_failures.window_end_ms <= $4 THEN excluded.window_end_ms ELSE auth_failures.window_end_ms END
           WHERE auth_failures.window_end_ms <= $4 OR auth_failures.failures < $5
         RETURNING failures, window_end_ms`,
        [scope, storedKey, now + windowMs, now, cap],
      );
      if (counted) return { failures: int(counted, 'failures'), counted: true, windowEndsAt: int(counted, 'window_end_ms') };
      // At the cap: the row is there, and the statement left it alone.
      const [current] = await tx.query('SELECT failures, window_end_ms FROM auth_failures WHERE scope = $1 AND key = $2', [scope, storedKey]);
      return { failures: int(current, 'failures'), counted: false, windowEndsAt: int(current, 'window_end_ms') };
    });
  }

  // ---- token lifecycle ----

  /**
   * Per revocation: no audit entry, no revision bump (revocations are not configuration; instances
   * poll the counter instead). The counter row is updated first, so its lock orders concurrent
   * revocations by commit and `seq` never goes backwards for a poller.
   */
  async revoke(entries: readonly RevocationEntry[], nowSeconds: number): Promise<void> {
    if (entries.length === 0) return;
    await this.driver.transaction(async (tx) => {
      const [counter] = await tx.query('UPDATE revocation_counter SET value = value + 1 WHERE id = 1 RETURNING value');
      const seq = int(counter, 'value');
      for (const entry of entries) {
        await tx.query(
          `INSERT INTO revocations (id, seq, revoked_at, purge_after) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET seq = excluded.seq,
             purge_after = CASE WHEN excluded.purge_after > revocations.purge_after THEN excluded.purge_after ELSE revocations.purge_after END`,
          [entry.id, seq, nowSeconds, entry.purge_after],
        );
      }
      await tx.query('DELETE FROM revocations WHERE purge_after < $1', [nowSeconds]);
    });
  }

  async revocationsSince(watermark: number, nowSeconds: number): Promise<RevocationBatch> {
    const rows = await this.driver.query(
      `SELECT c.value AS watermark, r.id, r.purge_after FROM revocation_counter c
       LEFT JOIN revocations r ON r.seq > $1 AND r.purge_after >= $2
       WHERE c.id = 1`,
      [watermark, nowSeconds],
    );
    const entries: RevocationEntry[] = [];
    for (const row of rows) if (row['id'] !== null && row['id'] !== undefined) entries.push({ id: text(row, 'id'), purge_after: int(row, 'purge_after') });
    return { watermark: rows.length > 0 ? int(rows[0], 'watermark') : watermark, entries };
  }

  async storeIssuedTokens(refresh: readonly RefreshTokenRecord[], opaque: readonly OpaqueTokenRecord[]): Promise<void> {
    if (refresh.length === 0 && opaque.length === 0) return;
    await this.driver.transaction(async (tx) => {
      await this.insertIssued(tx, refresh, opaque);
    });
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const [row] = await this.driver.query('SELECT * FROM refresh_tokens WHERE token_hash = $1', [tokenHash]);
    return row ? toRefreshToken(row) : null;
  }

  async getOpaqueToken(tokenHash: string): Promise<OpaqueTokenRecord | null> {
    const [row] = await this.driver.query('SELECT * FROM opaque_tokens WHERE token_hash = $1', [tokenHash]);
    if (!row) return null;
    return { token_hash: text(row, 'token_hash'), client_id: text(row, 'client_id'), claims: parsed<Record<string, unknown>>(row, 'claims'), expires_at: int(row, 'expires_at') };
  }

  /**
   * The conditional UPDATE is the race's referee: on PostgreSQL a second redemption waits for the
   * first's row lock and then finds `used_at` set; on SQLite writers are serialised. The revocation
   * check reads the table, not an instance's cache, so a revocation committed anywhere counts.
   */
  async redeemRefreshToken(
    tokenHash: string,
    usedAt: number,
    lineage: readonly string[],
    refresh: readonly RefreshTokenRecord[],
    opaque: readonly OpaqueTokenRecord[],
  ): Promise<RefreshRedemption> {
    return this.driver.transaction(async (tx) => {
      if (lineage.length > 0) {
        const placeholders = lineage.map((_, i) => `$${i + 1}`).join(', ');
        const revoked = await tx.query(`SELECT id FROM revocations WHERE id IN (${placeholders}) LIMIT 1`, [...lineage]);
        if (revoked.length > 0) return 'revoked';
      }
      const spent = await tx.query('UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL RETURNING token_hash', [usedAt, tokenHash]);
      if (spent.length === 0) return 'already_used';
      await this.insertIssued(tx, refresh, opaque);
      return 'redeemed';
    });
  }

  async purgeExpiredTokens(nowSeconds: number): Promise<void> {
    await this.driver.transaction(async (tx) => {
      await tx.query('DELETE FROM refresh_tokens WHERE expires_at < $1', [nowSeconds]);
      await tx.query('DELETE FROM opaque_tokens WHERE expires_at < $1', [nowSeconds]);
      await tx.query('DELETE FROM revocations WHERE purge_after < $1', [nowSeconds]);
    });
  }

  private async insertIssued(tx: SqlExecutor, refresh: readonly RefreshTokenRecord[], opaque: readonly OpaqueTokenRecord[]): Promise<void> {
    for (const token of refresh) {
      await tx.query(
        `INSERT INTO refresh_tokens (token_hash, family_id, client_id, data, issued_at, expires_at, used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [token.token_hash, token.family_id, token.client_id, JSON.stringify(token.data), token.issued_at, token.expires_at, token.used_at],
      );
    }
    for (const token of opaque) {
      await tx.query('INSERT INTO opaque_tokens (token_hash, client_id, claims, expires_at) VALUES ($1, $2, $3, $4)', [
        token.token_hash,
        token.client_id,
        JSON.stringify(token.claims),
        token.expires_at,
      ]);
    }
  }

  // ---- internals ----

  /** `select` (no WHERE, no ORDER BY) ordered by `key` in code point order, one page of it when `page` is given. */
  private async pageQuery(select: string, key: string, page: KeyPage | undefined): Promise<SqlRow[]> {
    const ordered = this.dialect.byCodePoint(key);
    if (page === undefined) return this.driver.query(`${select} ORDER BY ${ordered}`);
    if (!Number.isSafeInteger(page.limit) || page.limit < 1) throw new RangeError(`limit must be a positive integer (got ${page.limit})`);
    if (page.after === undefined) return this.driver.query(`${select} ORDER BY ${ordered} LIMIT $1`, [page.limit]);
    // The comparison collates as the ORDER BY does, so a page starts exactly after the last key of the one before.
    return this.driver.query(`${select} WHERE ${ordered} > $1 ORDER BY ${ordered} LIMIT $2`, [page.after, page.limit]);
  }

  /** A configuration write; the audit entries it wrote are reported once it has committed. */
  private async write<T>(fn: (tx: SqlExecutor, written: AuditEntry[]) => Promise<T>): Promise<T> {
    const written: AuditEntry[] = [];
    const result = await this.driver.write((tx) => fn(tx, written));
    this.report(written);
    return result;
  }

  private report(entries: readonly AuditEntry[]): void {
    for (const entry of entries) for (const listener of this.auditListeners) listener(entry);
  }

  /** Every configuration write bumps the revision and leaves its audit line, in its transaction. */
  private async recordChange(tx: SqlExecutor, written: AuditEntry[], entry: AuditInput): Promise<void> {
    await tx.query('UPDATE store_revision SET revision = revision + 1 WHERE id = 1');
    written.push(await this.insertAudit(tx, entry));
  }

  private async insertAudit(executor: SqlExecutor, entry: AuditInput): Promise<AuditEntry> {
    const [row] = await executor.query(
      `INSERT INTO audit (at, actor, action, target_type, target_id, old_version, new_version, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [this.clock(), entry.actor, entry.action, entry.target_type, entry.target_id, entry.old_version, entry.new_version, jsonOrNull(entry.details)],
    );
    if (row === undefined) throw new Error('the audit entry was not written');
    return toAuditEntry(row);
  }
}
