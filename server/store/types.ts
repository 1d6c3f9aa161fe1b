/**
 * The storage contract, implemented once by the SQL store (sql-store.ts) over SQLite (the embedded
 * store) and PostgreSQL (several instances); both pass the same contract tests
 * (tests/store/contract.ts). Every mutating call is one transaction and appends its audit entry
 * inside that transaction, so a crash leaves either the old or the new state and never a change
 * without its audit line.
 */

import type { FlowId } from '../../sandbox/protocol.ts';
import type { Precondition } from './etag.ts';

export { FLOW_IDS } from '../../sandbox/protocol.ts';
export type { FlowId } from '../../sandbox/protocol.ts';

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_CLIENT_CREDENTIALS = 'client_credentials';
export const GRANT_REFRESH_TOKEN = 'refresh_token';
/** RFC 7523 §2.1: a JWT (an ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant) as an authorization grant. */
export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export type GrantType = typeof GRANT_TOKEN_EXCHANGE | typeof GRANT_CLIENT_CREDENTIALS | typeof GRANT_REFRESH_TOKEN | typeof GRANT_JWT_BEARER;

/** How a client's access tokens are issued: signed JWTs (RFC 9068), or opaque references resolved by introspection. */
export type AccessTokenFormat = 'jwt' | 'opaque';

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface JsonWebKeySet {
  keys: Array<Record<string, unknown>>;
}

/** A registered client as stored: the public JSON shape of the spec plus the secret's hash. */
export interface ClientRecord {
  client_id: string;
  name?: string;
  /** scrypt hash string (see server/clients/secrets.ts); null for private_key_jwt clients. */
  client_secret_hash: string | null;
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  jwks: JsonWebKeySet | null;
  grant_types: GrantType[];
  /** Space-separated scopes the client may obtain. */
  scope: string;
  audiences: string[];
  properties: Record<string, string>;
  procedures: Partial<Record<FlowId, string>>;
  access_token_ttl: number;
  accept_unvalidated_tokens: boolean;
  /** Absent: `jwt`. Optional so that records written before schema 3 read back unchanged. */
  access_token_format?: AccessTokenFormat;
  /** Seconds a refresh family lives (rotation never extends it); absent: DEFAULT_REFRESH_TOKEN_TTL_SECONDS. */
  refresh_token_ttl?: number;
  /**
   * `aud` values that mark a presented token as meant for this client besides its own id (an API
   * client's resource URI). Absent or empty: only the client id. Optional: records from before schema 4.
   */
  accepted_audiences?: string[];
  created_at: number;
  updated_at: number;
}

export interface ProcedureVersion {
  id: string;
  version: number;
  flow: FlowId;
  source: string;
  sha256: string;
  created_at: number;
  created_by: string;
  /** The change note given with the upload (trimmed, one line, at most 500 characters); null without one or before schema 6. */
  note: string | null;
}

export interface ProcedureSummary {
  id: string;
  flow: FlowId;
  active_version: number;
  latest_version: number;
  sha256: string;
  updated_at: number;
}

export interface TrustedIssuerRecord {
  id: string;
  issuer: string;
  jwks_uri?: string | null;
  jwks?: JsonWebKeySet | null;
  allowed_algs?: string[] | null;
  audiences?: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  /** Private JWK as JSON text. Never leaves the host. */
  private_jwk: string;
  /** Public JWK as JSON text (no private members). */
  public_jwk: string;
  created_at: number;
  /** When the key stopped signing; null while it is the active key. */
  retired_at: number | null;
}

/** What a named admin key may do: `viewer` reads, `author` also writes procedures and dry-runs them, `admin` does everything. */
export type AdminRole = 'viewer' | 'author' | 'admin';
export const ADMIN_ROLES: readonly AdminRole[] = ['viewer', 'author', 'admin'];

/** A named admin key as stored: never the key, only its SHA-256 (server/configuration/admin-key.ts). */
export interface AdminKeyRecord {
  name: string;
  role: AdminRole;
  key_hash: string;
  created_at: number;
}

/** What the audit trail can be narrowed to: a target, an actor, an action (each an exact match). */
export interface AuditFilter {
  target_type?: string;
  target_id?: string;
  actor?: string;
  action?: string;
}

export interface AuditEntry {
  id: number;
  at: number;
  /** Who: an admin key id, "cli", "config" or "system". */
  actor: string;
  action: string;
  target_type: 'client' | 'procedure' | 'trusted_issuer' | 'signing_key' | 'admin_key';
  target_id: string;
  old_version: string | null;
  new_version: string | null;
  /** Free-form details; never a secret or a script body. */
  details: Record<string, unknown> | null;
}

export interface NewProcedureVersion {
  id: string;
  flow: FlowId;
  source: string;
  sha256: string;
  /** A change note, stored with the version and carried in the audit entry's details. */
  note?: string;
}

/**
 * Failed authentications counted against a key (server/clients/throttle.ts). A key's window opens
 * at its first failure and lasts `windowMs`; within it the count only grows, and the first failure
 * after it opens the next window. Every instance sharing the store counts in the same window.
 */
export interface AuthFailureCount {
  /** Failures counted for the key in the current window, this one included when `counted`. */
  failures: number;
  /** False when the key had already reached the cap: this failure was not added. */
  counted: boolean;
  /** When the key's current window ends (the next failure then starts a new count), epoch ms. */
  windowEndsAt: number;
}

/**
 * A refresh token as stored: never its value, only the value's SHA-256 (refresh tokens are 256-bit
 * random values, so a fast hash is enough). One row per token; the tokens one grant chain rotated
 * share a family.
 */
export interface RefreshTokenRecord {
  token_hash: string;
  family_id: string;
  client_id: string;
  /** What the next access token is made from (claims, delegation, lineage): see server/oauth/token-records.ts. */
  data: Record<string, unknown>;
  issued_at: number;
  /** The family's end: rotation hands the same expiry on. */
  expires_at: number;
  /** When it was redeemed; a redeemed token presented again revokes its family. */
  used_at: number | null;
}

/** An opaque access token as stored: the SHA-256 of its value, and the claims introspection answers. */
export interface OpaqueTokenRecord {
  token_hash: string;
  client_id: string;
  claims: Record<string, unknown>;
  expires_at: number;
}

/**
 * A revoked token id (a `jti`, an opaque token's id, a refresh family). Kept until `purge_after`:
 * by then every token that could name it in its lineage has expired.
 */
export interface RevocationEntry {
  id: string;
  purge_after: number;
}

/** Revocations written after a watermark, and the new watermark (see Store.revocationsSince). */
export interface RevocationBatch {
  watermark: number;
  entries: RevocationEntry[];
}

/** What a refresh grant's redemption did (Store.redeemRefreshToken). */
export type RefreshRedemption = 'redeemed' | 'already_used' | 'revoked';

/**
 * One page of a list ordered by id (code point order): at most `limit` records whose id comes
 * after `after` (from the start without it). Keyset paging, so records inserted meanwhile never
 * shift a page.
 */
export interface KeyPage {
  after?: string;
  limit: number;
}

/**
 * Every write of a single resource takes an optional precondition (the admin API's If-Match): it
 * is checked against the stored record (entityTag, server/store/etag.ts) inside the write's
 * transaction, and when it fails PreconditionFailedError is thrown and nothing is written. The
 * record a procedure's tag is taken from is its active version.
 */
export interface Store {
  /** Creates or upgrades the schema (a version table records what ran). Idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Bumped by every write; instances poll it to refresh their caches. */
  revision(): Promise<number>;

  getClient(clientId: string): Promise<ClientRecord | null>;
  listClients(page?: KeyPage): Promise<ClientRecord[]>;
  /** Create or replace. Returns whether it was created. */
  putClient(client: ClientRecord, actor: string, precondition?: Precondition): Promise<{ created: boolean }>;
  deleteClient(clientId: string, actor: string, precondition?: Precondition): Promise<boolean>;
  /** Client ids whose `procedures` name this procedure id. */
  clientsUsingProcedure(procedureId: string): Promise<string[]>;

  /** Stores a new immutable version and makes it active, in one transaction. */
  putProcedureVersion(version: NewProcedureVersion, actor: string, precondition?: Precondition): Promise<ProcedureVersion>;
  /**
   * Makes an existing version active. Null if the procedure or version does not exist. `note`, a
   * change note, goes into the audit entry's details (the version keeps the note of its upload).
   */
  activateProcedureVersion(id: string, version: number, actor: string, precondition?: Precondition, note?: string): Promise<ProcedureVersion | null>;
  getActiveProcedure(id: string): Promise<ProcedureVersion | null>;
  /** Every procedure's active version, by id: one query, for a cache that reloads them all. */
  listActiveProcedures(): Promise<ProcedureVersion[]>;
  getProcedureVersion(id: string, version: number): Promise<ProcedureVersion | null>;
  listProcedures(page?: KeyPage): Promise<ProcedureSummary[]>;
  listProcedureVersions(id: string): Promise<ProcedureVersion[]>;
  deleteProcedure(id: string, actor: string, precondition?: Precondition): Promise<boolean>;

  getTrustedIssuer(id: string): Promise<TrustedIssuerRecord | null>;
  listTrustedIssuers(page?: KeyPage): Promise<TrustedIssuerRecord[]>;
  putTrustedIssuer(issuer: TrustedIssuerRecord, actor: string, precondition?: Precondition): Promise<{ created: boolean }>;
  deleteTrustedIssuer(id: string, actor: string, precondition?: Precondition): Promise<boolean>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /**
   * Adds a key and retires the keys not yet retired (retired_at = `options.retireCurrentAt`,
   * default now; a later time lets the current key sign on while the new one is pre-published;
   * a key due to retire after that time is retired at it too), in
   * one transaction. With `options.unlessActiveAlg`, nothing happens when a key of that algorithm is
   * already unretired: instances starting together create one key, not one each. Answers whether
   * the key was added.
   */
  addSigningKey(key: Omit<SigningKeyRecord, 'retired_at'>, actor: string, options?: { retireCurrentAt?: number; unlessActiveAlg?: string }): Promise<boolean>;
  /** Drops retired keys whose retired_at is before the given time. Returns the kids removed. */
  pruneSigningKeys(retiredBefore: number, actor: string): Promise<string[]>;

  getAdminKeyHash(): Promise<string | null>;
  setAdminKeyHash(hash: string, actor: string): Promise<void>;
  /**
   * Stores the hash only if none is stored yet, atomically (instances starting together on one
   * shared store must agree on one generated key). Returns the hash stored afterwards.
   */
  initAdminKeyHash(hash: string, actor: string): Promise<string>;

  /** Named admin keys, by name (code point order). */
  listAdminKeys(page?: KeyPage): Promise<AdminKeyRecord[]>;
  getAdminKey(name: string): Promise<AdminKeyRecord | null>;
  /** Adds a named key; false (nothing written) when the name is taken. */
  createAdminKey(key: AdminKeyRecord, actor: string): Promise<boolean>;
  deleteAdminKey(name: string, actor: string, precondition?: Precondition): Promise<boolean>;

  appendAudit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void>;
  /** Hears of each audit entry this store object wrote, after its transaction committed. */
  onAuditEntry(listener: (entry: AuditEntry) => void): void;
  /** Newest first; `filter` keeps the entries whose members equal every value given. */
  listAudit(options?: { limit?: number; before?: number; filter?: AuditFilter }): Promise<AuditEntry[]>;

  /** Records a client-assertion jti; false when it was already seen (replay). Expired entries are purged. */
  recordAssertionJti(clientId: string, jti: string, expiresAt: number): Promise<boolean>;

  /**
   * Counts one failed authentication for `key` within `scope` (e.g. a client id, an address) in the
   * key's current window (or a new one of `windowMs` from `nowMs`), unless the key already has `cap`
   * failures there; in both cases answers the count. Ended windows are purged, so the store holds
   * one small record per key that failed lately. Not a configuration change: no audit entry, no
   * revision bump.
   */
  recordAuthFailure(scope: string, key: string, nowMs: number, windowMs: number, cap: number): Promise<AuthFailureCount>;

  // ---- token lifecycle (no audit entries, no revision bump: these are not configuration) ----

  /**
   * Records revoked ids. Each call takes the next value of the revocation counter inside its
   * transaction, so the watermark order is the commit order and a poller never skips a row.
   * Rows past their `purge_after` are purged here.
   */
  revoke(entries: readonly RevocationEntry[], nowSeconds: number): Promise<void>;
  /** Revocations recorded after `watermark` (0: all), still to be kept at `nowSeconds`. One small query. */
  revocationsSince(watermark: number, nowSeconds: number): Promise<RevocationBatch>;
  /** Stores tokens a request issued (one transaction): refresh tokens and opaque access tokens. */
  storeIssuedTokens(refresh: readonly RefreshTokenRecord[], opaque: readonly OpaqueTokenRecord[]): Promise<void>;
  getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>;
  getOpaqueToken(tokenHash: string): Promise<OpaqueTokenRecord | null>;
  /**
   * Spends a refresh token and stores what replaces it, atomically: `redeemed` when it was unused
   * and no id of `lineage` is revoked (then `refresh` and `opaque` are stored); otherwise nothing is
   * written and the answer says why. Of two redemptions racing on one token, exactly one is
   * `redeemed`.
   */
  redeemRefreshToken(
    tokenHash: string,
    usedAt: number,
    lineage: readonly string[],
    refresh: readonly RefreshTokenRecord[],
    opaque: readonly OpaqueTokenRecord[],
  ): Promise<RefreshRedemption>;
  /** Drops refresh and opaque tokens that expired before `nowSeconds`. */
  purgeExpiredTokens(nowSeconds: number): Promise<void>;
}
