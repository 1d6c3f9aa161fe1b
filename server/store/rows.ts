/**
 * Row mapping shared by the SQLite and PostgreSQL stores, so both return exactly the same records
 * (the contract tests compare them).
 */
import type { AuditEntry, ClientRecord, FlowId, ProcedureVersion, RefreshTokenRecord, TrustedIssuerRecord } from './types.ts';

export type Row = Record<string, unknown>;

/** Epoch seconds: every time a store sets itself. */
export const systemClock = (): number => Math.floor(Date.now() / 1000);

const AUDIT_DEFAULT_LIMIT = 100;
const AUDIT_MAX_LIMIT = 1000;

/** listAudit's page size: the default when unset or not a number, clamped to 1..1000. */
export function auditLimit(requested: number | undefined): number {
  const value = Math.trunc(requested ?? AUDIT_DEFAULT_LIMIT);
  return Math.min(Math.max(Number.isFinite(value) ? value : AUDIT_DEFAULT_LIMIT, 1), AUDIT_MAX_LIMIT);
}

export function text(row: Row | undefined, column: string): string {
  const value = row?.[column];
  if (typeof value !== 'string') throw new Error(`store: column ${column} is not text`);
  return value;
}

export function textOrNull(row: Row, column: string): string | null {
  return row[column] === null ? null : text(row, column);
}

/** SQLite gives a number (or a bigint); node-postgres gives BIGINT as a decimal string, to keep it exact. */
export function int(row: Row | undefined, column: string): number {
  const value = row?.[column];
  const number = typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
  if (typeof number === 'number' && Number.isSafeInteger(number)) return number;
  throw new Error(`store: column ${column} is not an integer`);
}

export function intOrNull(row: Row, column: string): number | null {
  return row[column] === null ? null : int(row, column);
}

export function parsed<T>(row: Row, column: string): T {
  return JSON.parse(text(row, column)) as T;
}

export function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** SQLite stores booleans as 0/1, PostgreSQL as boolean. */
function bool(row: Row, column: string): boolean {
  const value = row[column];
  return typeof value === 'boolean' ? value : int(row, column) === 1;
}

export function toClient(row: Row): ClientRecord {
  const client: ClientRecord = {
    client_id: text(row, 'client_id'),
    client_secret_hash: textOrNull(row, 'client_secret_hash'),
    token_endpoint_auth_method: text(row, 'token_endpoint_auth_method') as ClientRecord['token_endpoint_auth_method'],
    jwks: row['jwks'] === null ? null : parsed<ClientRecord['jwks']>(row, 'jwks'),
    grant_types: parsed<ClientRecord['grant_types']>(row, 'grant_types'),
    scope: text(row, 'scope'),
    audiences: parsed<string[]>(row, 'audiences'),
    properties: parsed<Record<string, string>>(row, 'properties'),
    procedures: parsed<ClientRecord['procedures']>(row, 'procedures'),
    access_token_ttl: int(row, 'access_token_ttl'),
    accept_unvalidated_tokens: bool(row, 'accept_unvalidated_tokens'),
    created_at: int(row, 'created_at'),
    updated_at: int(row, 'updated_at'),
  };
  const name = textOrNull(row, 'name');
  if (name !== null) client.name = name;
  // Absent columns (NULL: the default, or a record from before schema 3) stay absent from the record.
  const format = row['access_token_format'];
  if (format === 'jwt' || format === 'opaque') client.access_token_format = format;
  if (row['refresh_token_ttl'] !== null && row['refresh_token_ttl'] !== undefined) client.refresh_token_ttl = int(row, 'refresh_token_ttl');
  if (row['accepted_audiences'] !== null && row['accepted_audiences'] !== undefined) client.accepted_audiences = parsed<string[]>(row, 'accepted_audiences');
  return client;
}

export function toProcedureVersion(row: Row): ProcedureVersion {
  return {
    id: text(row, 'id'),
    version: int(row, 'version'),
    flow: text(row, 'flow') as FlowId,
    source: text(row, 'source'),
    sha256: text(row, 'sha256'),
    created_at: int(row, 'created_at'),
    created_by: text(row, 'created_by'),
    note: row['note'] === null || row['note'] === undefined ? null : text(row, 'note'),
  };
}

/** Optional members absent in the database are absent from the record (not null). */
export function toTrustedIssuer(row: Row): TrustedIssuerRecord {
  const issuer: TrustedIssuerRecord = {
    id: text(row, 'id'),
    issuer: text(row, 'issuer'),
    created_at: int(row, 'created_at'),
    updated_at: int(row, 'updated_at'),
  };
  const jwksUri = textOrNull(row, 'jwks_uri');
  if (jwksUri !== null) issuer.jwks_uri = jwksUri;
  if (row['jwks'] !== null) issuer.jwks = parsed<TrustedIssuerRecord['jwks']>(row, 'jwks');
  if (row['allowed_algs'] !== null) issuer.allowed_algs = parsed<string[]>(row, 'allowed_algs');
  if (row['audiences'] !== null) issuer.audiences = parsed<string[]>(row, 'audiences');
  return issuer;
}

export function toAuditEntry(row: Row): AuditEntry {
  const details = textOrNull(row, 'details');
  return {
    id: int(row, 'id'),
    at: int(row, 'at'),
    actor: text(row, 'actor'),
    action: text(row, 'action'),
    target_type: text(row, 'target_type') as AuditEntry['target_type'],
    target_id: text(row, 'target_id'),
    old_version: textOrNull(row, 'old_version'),
    new_version: textOrNull(row, 'new_version'),
    details: details === null ? null : (JSON.parse(details) as Record<string, unknown>),
  };
}

export function toRefreshToken(row: Row): RefreshTokenRecord {
  return {
    token_hash: text(row, 'token_hash'),
    family_id: text(row, 'family_id'),
    client_id: text(row, 'client_id'),
    data: parsed<Record<string, unknown>>(row, 'data'),
    issued_at: int(row, 'issued_at'),
    expires_at: int(row, 'expires_at'),
    used_at: intOrNull(row, 'used_at'),
  };
}
