import { createHash } from 'node:crypto';
import { DatabaseError, Pool } from 'pg';
import type { PoolClient } from 'pg';
import { StoreConflictError } from './errors.ts';
import { migratePostgres } from './postgres-migrations.ts';
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
import { auditLimit, systemClock, toAuditEntry, int, intOrNull, jsonOrNull, text, toClient, toProcedureVersion, toTrustedIssuer, type Row } from './rows.ts';
import { auditEntries, type AuditInput } from './audit-entries.ts';

export interface PostgresStoreOptions {
  /** Epoch seconds; injectable for tests. */
  clock?: () => number;
  /** Connections this instance keeps at most (default 10). */
  maxConnections?: number;
  /** How long to wait for a connection before the call rejects, in ms (default 10 000). */
  connectTimeoutMs?: number;
}

type Params = ReadonlyArray<string | number | boolean | null>;



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
export class PostgresStore implements Store {
  private readonly pool: Pool;
  private readonly clock: () => number;
  private readonly target: DatabaseTarget;
  private closing: Promise<void> | null = null;

  private constructor(databaseUrl: string, options: PostgresStoreOptions) {
    this.target = parseDatabaseUrl(databaseUrl);
    this.clock = options.clock ?? systemClock;
    this.pool = new Pool({
      connectionString: databaseUrl,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      application_name: 'tokenproc',
    });
    // An idle connection dropped by the server (restart, failover) must not crash the process;
    // the pool discards it and the next call reconnects or rejects.
    this.pool.on('error', () => undefined);
  }

  /** Does not connect yet: the first call does, and rejects with a clear message if it cannot. */
  static open(databaseUrl: string, options: PostgresStoreOptions = {}): PostgresStore {
    return new PostgresStore(databaseUrl, options);
  }

  /** Where this store points, without the password (for logs). */
  get location(): string {
    return this.target.display;
  }

  async migrate(): Promise<void> {
    await this.withClient((client) => migratePostgres(client, this.clock()));
  }

  async close(): Promise<void> {
    this.closing ??= this.pool.end();
    await this.closing;
  }

  async revision(): Promise<number> {
    return int((await this.query('SELECT revision FROM store_revision WHERE id = 1'))[0], 'revision');
  }

  // ---- clients ----

  async getClient(clientId: string): Promise<ClientRecord | null> {
    const [row] = await this.query('SELECT * FROM clients WHERE client_id = $1', [clientId]);
    return row ? toClient(row) : null;
  }

  async listClients(): Promise<ClientRecord[]> {
    return (await this.query('SELECT * FROM clients ORDER BY client_id COLLATE "C"')).map(toClient);
  }

  async putClient(client: ClientRecord, actor: string): Promise<{ created: boolean }> {
    return this.write(async (tx) => {
      // Checked under the write lock, so a concurrent procedure delete cannot leave the client naming nothing.
      for (const [flow, procedureId] of Object.entries(client.procedures)) {
        const [row] = await run(tx, 'SELECT flow FROM procedures WHERE id = $1', [procedureId]);
        if (!row || row['flow'] !== flow) {
          throw new StoreConflictError('procedure_missing', `procedure ${procedureId} does not exist for flow ${flow}`);
        }
      }
      const [existingRow] = await run(tx, 'SELECT * FROM clients WHERE client_id = $1', [client.client_id]);
      const existing = existingRow ? toClient(existingRow) : null;
      await run(
        tx,
        `INSERT INTO clients (client_id, name, client_secret_hash, token_endpoint_auth_method, jwks, grant_types, scope,
           audiences, properties, procedures, access_token_ttl, accept_unvalidated_tokens, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (client_id) DO UPDATE SET
           name = excluded.name, client_secret_hash = excluded.client_secret_hash,
           token_endpoint_auth_method = excluded.token_endpoint_auth_method, jwks = excluded.jwks,
           grant_types = excluded.grant_types, scope = excluded.scope, audiences = excluded.audiences,
           properties = excluded.properties, procedures = excluded.procedures,
           access_token_ttl = excluded.access_token_ttl, accept_unvalidated_tokens = excluded.accept_unvalidated_tokens,
           updated_at = excluded.updated_at`,
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
          client.accept_unvalidated_tokens,
          // A replace keeps the original creation time.
          client.created_at,
          client.updated_at,
        ],
      );
      await this.recordChange(tx, auditEntries.clientPut(actor, existing, client));
      return { created: existing === null };
    });
  }

  async deleteClient(clientId: string, actor: string): Promise<boolean> {
    return this.write(async (tx) => {
      const deleted = await run(tx, 'DELETE FROM clients WHERE client_id = $1 RETURNING client_id', [clientId]);
      if (deleted.length === 0) return false;
      await this.recordChange(tx, auditEntries.clientDelete(actor, clientId));
      return true;
    });
  }

  async clientsUsingProcedure(procedureId: string): Promise<string[]> {
    return this.withClient((client) => clientIdsUsing(client, procedureId));
  }

  // ---- procedures ----

  async putProcedureVersion(version: NewProcedureVersion, actor: string): Promise<ProcedureVersion> {
    const actual = createHash('sha256').update(version.source, 'utf8').digest('hex');
    if (actual !== version.sha256) throw new TypeError(`sha256 does not match the source of procedure ${version.id}`);
    return this.write(async (tx) => {
      const [current] = await run(tx, 'SELECT flow, active_version, latest_version FROM procedures WHERE id = $1', [version.id]);
      if (current && text(current, 'flow') !== version.flow) {
        throw new StoreConflictError(
          'procedure_flow_mismatch',
          `procedure ${version.id} belongs to flow ${text(current, 'flow')}; delete it to reuse the id for ${version.flow}`,
        );
      }
      const now = this.clock();
      const number = (current ? int(current, 'latest_version') : 0) + 1;
      await run(
        tx,
        'INSERT INTO procedure_versions (id, version, flow, source, sha256, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [version.id, number, version.flow, version.source, version.sha256, now, actor],
      );
      await run(
        tx,
        `INSERT INTO procedures (id, flow, active_version, latest_version, updated_at) VALUES ($1, $2, $3, $3, $4)
         ON CONFLICT (id) DO UPDATE SET active_version = excluded.active_version,
           latest_version = excluded.latest_version, updated_at = excluded.updated_at`,
        [version.id, version.flow, number, now],
      );
      await this.recordChange(tx, auditEntries.procedureUpload(actor, version, number, current ? int(current, 'active_version') : null));
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
    return this.write(async (tx) => {
      const [current] = await run(tx, 'SELECT active_version FROM procedures WHERE id = $1', [id]);
      const [target] = await run(tx, 'SELECT * FROM procedure_versions WHERE id = $1 AND version = $2', [id, version]);
      if (!current || !target) return null;
      await run(tx, 'UPDATE procedures SET active_version = $1, updated_at = $2 WHERE id = $3', [version, this.clock(), id]);
      const activated = toProcedureVersion(target);
      await this.recordChange(tx, auditEntries.procedureActivate(actor, activated, int(current, 'active_version')));
      return activated;
    });
  }

  async getActiveProcedure(id: string): Promise<ProcedureVersion | null> {
    const [row] = await this.query(
      `SELECT v.* FROM procedures p JOIN procedure_versions v ON v.id = p.id AND v.version = p.active_version
       WHERE p.id = $1`,
      [id],
    );
    return row ? toProcedureVersion(row) : null;
  }

  async getProcedureVersion(id: string, version: number): Promise<ProcedureVersion | null> {
    const [row] = await this.query('SELECT * FROM procedure_versions WHERE id = $1 AND version = $2', [id, version]);
    return row ? toProcedureVersion(row) : null;
  }

  async listProcedures(): Promise<ProcedureSummary[]> {
    const rows = await this.query(
      `SELECT p.id, p.flow, p.active_version, p.latest_version, v.sha256, p.updated_at
       FROM procedures p JOIN procedure_versions v ON v.id = p.id AND v.version = p.active_version
       ORDER BY p.id COLLATE "C"`,
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
    return (await this.query('SELECT * FROM procedure_versions WHERE id = $1 ORDER BY version', [id])).map(toProcedureVersion);
  }

  /** Throws StoreConflictError('procedure_in_use') while a client names the procedure. */
  async deleteProcedure(id: string, actor: string): Promise<boolean> {
    return this.write(async (tx) => {
      const [current] = await run(tx, 'SELECT active_version, latest_version FROM procedures WHERE id = $1', [id]);
      if (!current) return false;
      const users = await clientIdsUsing(tx, id);
      if (users.length > 0) {
        throw new StoreConflictError('procedure_in_use', `procedure ${id} is used by ${users.join(', ')}`, users);
      }
      await run(tx, 'DELETE FROM procedure_versions WHERE id = $1', [id]);
      await run(tx, 'DELETE FROM procedures WHERE id = $1', [id]);
      await this.recordChange(tx, auditEntries.procedureDelete(actor, id, int(current, 'active_version'), int(current, 'latest_version')));
      return true;
    });
  }

  // ---- trusted issuers ----

  async getTrustedIssuer(id: string): Promise<TrustedIssuerRecord | null> {
    const [row] = await this.query('SELECT * FROM trusted_issuers WHERE id = $1', [id]);
    return row ? toTrustedIssuer(row) : null;
  }

  async listTrustedIssuers(): Promise<TrustedIssuerRecord[]> {
    return (await this.query('SELECT * FROM trusted_issuers ORDER BY id COLLATE "C"')).map(toTrustedIssuer);
  }

  async putTrustedIssuer(issuer: TrustedIssuerRecord, actor: string): Promise<{ created: boolean }> {
    return this.write(async (tx) => {
      const [existing] = await run(tx, 'SELECT 1 AS found FROM trusted_issuers WHERE id = $1', [issuer.id]);
      await run(
        tx,
        `INSERT INTO trusted_issuers (id, issuer, jwks_uri, jwks, allowed_algs, audiences, created_at, updated_at)
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
      await this.recordChange(tx, auditEntries.trustedIssuerPut(actor, issuer, existing === undefined));
      return { created: existing === undefined };
    });
  }

  async deleteTrustedIssuer(id: string, actor: string): Promise<boolean> {
    return this.write(async (tx) => {
      const deleted = await run(tx, 'DELETE FROM trusted_issuers WHERE id = $1 RETURNING id', [id]);
      if (deleted.length === 0) return false;
      await this.recordChange(tx, auditEntries.trustedIssuerDelete(actor, id));
      return true;
    });
  }

  // ---- signing keys ----

  /** Newest first: the active key, then retired keys. */
  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.query('SELECT * FROM signing_keys ORDER BY created_at DESC, seq DESC');
    return rows.map((row) => ({
      kid: text(row, 'kid'),
      alg: text(row, 'alg'),
      private_jwk: text(row, 'private_jwk'),
      public_jwk: text(row, 'public_jwk'),
      created_at: int(row, 'created_at'),
      retired_at: intOrNull(row, 'retired_at'),
    }));
  }

  async addSigningKey(key: Omit<SigningKeyRecord, 'retired_at'>, actor: string): Promise<void> {
    await this.write(async (tx) => {
      const retired = (await run(tx, 'UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL RETURNING kid', [this.clock()]))
        .map((row) => text(row, 'kid'))
        .sort();
      await run(
        tx,
        'INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, NULL)',
        [key.kid, key.alg, key.private_jwk, key.public_jwk, key.created_at],
      );
      await this.recordChange(tx, auditEntries.signingKeyAdd(actor, key.kid, key.alg, retired));
    });
  }

  async pruneSigningKeys(retiredBefore: number, actor: string): Promise<string[]> {
    return this.write(async (tx) => {
      const kids = (
        await run(tx, 'SELECT kid FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1 ORDER BY kid COLLATE "C"', [
          retiredBefore,
        ])
      ).map((row) => text(row, 'kid'));
      for (const kid of kids) {
        await run(tx, 'DELETE FROM signing_keys WHERE kid = $1', [kid]);
        await this.recordChange(tx, auditEntries.signingKeyPrune(actor, kid));
      }
      return kids;
    });
  }

  // ---- admin key ----

  async getAdminKeyHash(): Promise<string | null> {
    const [row] = await this.query('SELECT hash FROM admin_key WHERE id = 1');
    return row ? text(row, 'hash') : null;
  }

  async setAdminKeyHash(hash: string, actor: string): Promise<void> {
    await this.write(async (tx) => {
      await run(
        tx,
        `INSERT INTO admin_key (id, hash, updated_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
        [hash, this.clock()],
      );
      await this.recordChange(tx, auditEntries.adminKeySet(actor));
    });
  }

  async initAdminKeyHash(hash: string, actor: string): Promise<string> {
    return this.write(async (tx) => {
      // write() holds the revision-row lock, so concurrent instances take turns here.
      const [existing] = await run(tx, 'SELECT hash FROM admin_key WHERE id = 1');
      if (existing) return text(existing, 'hash');
      await run(tx, 'INSERT INTO admin_key (id, hash, updated_at) VALUES (1, $1, $2)', [hash, this.clock()]);
      await this.recordChange(tx, auditEntries.adminKeySet(actor));
      return hash;
    });
  }

  // ---- audit ----

  /** An entry for something that is not a store write (e.g. an import summary); does not bump the revision. */
  async appendAudit(entry: AuditInput): Promise<void> {
    await this.withClient((client) => this.insertAudit(client, entry));
  }

  /** Newest first. `before` is an audit id: pass the last id of a page to get the next page. */
  async listAudit(options: { limit?: number; before?: number } = {}): Promise<AuditEntry[]> {
    const limit = auditLimit(options.limit);
    const rows =
      options.before === undefined
        ? await this.query('SELECT * FROM audit ORDER BY id DESC LIMIT $1', [limit])
        : // numeric, so a non-integer `before` compares as SQLite compares it instead of failing the cast.
          await this.query('SELECT * FROM audit WHERE id < $1::numeric ORDER BY id DESC LIMIT $2', [options.before, limit]);
    return rows.map(toAuditEntry);
  }

  // ---- client assertion replay ----

  /**
   * `expiresAt` (epoch seconds) should be the assertion's exp plus the clock skew the validator
   * allows. Not a configuration change: no audit entry, no revision bump, and no write lock (this
   * runs per request); the primary key makes two instances racing on one jti accept it once.
   */
  async recordAssertionJti(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    return this.transaction(async (tx) => {
      await run(tx, 'DELETE FROM assertion_jtis WHERE expires_at < $1', [this.clock()]);
      const inserted = await run(
        tx,
        'INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING jti',
        [clientId, jti, expiresAt],
      );
      return inserted.length === 1;
    });
  }

  // ---- internals ----

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
      // A server-side refusal leaves the connection usable; anything else (a dropped socket) does not.
      broken = !(err instanceof DatabaseError) && !(err instanceof StoreConflictError);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  private async query(sql: string, params: Params = []): Promise<Row[]> {
    return this.withClient((client) => run(client, sql, params));
  }

  /** One transaction on one connection: COMMIT if fn resolves, ROLLBACK if it throws. */
  private async transaction<T>(fn: (tx: PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (tx) => {
      await tx.query('BEGIN');
      try {
        const result = await fn(tx);
        await tx.query('COMMIT');
        return result;
      } catch (err) {
        await tx.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * A configuration write: a transaction that first takes the store-wide write lock (the revision
   * row), so writers of every instance run one after another and each sees the others' commits.
   */
  private async write<T>(fn: (tx: PoolClient) => Promise<T>): Promise<T> {
    return this.transaction(async (tx) => {
      await tx.query('SELECT revision FROM store_revision WHERE id = 1 FOR UPDATE');
      return fn(tx);
    });
  }

  /** Every configuration write bumps the revision and leaves its audit line, in its transaction. */
  private async recordChange(tx: PoolClient, entry: AuditInput): Promise<void> {
    await tx.query('UPDATE store_revision SET revision = revision + 1 WHERE id = 1');
    await this.insertAudit(tx, entry);
  }

  private async insertAudit(client: PoolClient, entry: AuditInput): Promise<void> {
    await client.query(
      `INSERT INTO audit (at, actor, action, target_type, target_id, old_version, new_version, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        this.clock(),
        entry.actor,
        entry.action,
        entry.target_type,
        entry.target_id,
        entry.old_version,
        entry.new_version,
        jsonOrNull(entry.details),
      ],
    );
  }

  /** The driver's reason, with the URL's password scrubbed out and the target named without it. */
  private connectionError(err: unknown): Error {
    // Duck-typed: socket errors may come from another realm (e.g. under a test runner's VM).
    const fields = typeof err === 'object' && err !== null ? (err as { message?: unknown; code?: unknown }) : {};
    let reason = typeof fields.message === 'string' ? fields.message : String(err);
    for (const secret of this.target.secrets) reason = reason.split(secret).join('***');
    const error = new Error(`cannot connect to the PostgreSQL store at ${this.target.display}: ${reason || 'connection failed'}`);
    if (typeof fields.code === 'string') Object.assign(error, { code: fields.code });
    return error;
  }
}

async function run(client: PoolClient, sql: string, params: Params = []): Promise<Row[]> {
  return (await client.query<Row>(sql, [...params])).rows;
}

async function clientIdsUsing(client: PoolClient, procedureId: string): Promise<string[]> {
  const rows = await run(
    client,
    `SELECT c.client_id FROM clients c
     WHERE EXISTS (SELECT 1 FROM jsonb_each_text(c.procedures::jsonb) p WHERE p.value = $1)
     ORDER BY c.client_id COLLATE "C"`,
    [procedureId],
  );
  return rows.map((row) => text(row, 'client_id'));
}
