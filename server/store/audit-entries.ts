/**
 * What each store write records in the audit trail, built here once so that the SQLite and
 * PostgreSQL stores write identical entries (the contract tests compare them). Never a secret or a
 * script body: only ids, versions and what changed.
 */
import type { AdminRole, AuditEntry, ClientRecord, ProcedureVersion, TrustedIssuerRecord } from './types.ts';

export type AuditInput = Omit<AuditEntry, 'id' | 'at'>;

/** Members the store sets itself: never reported as changed. */
const UNREPORTED_CLIENT_FIELDS: ReadonlySet<string> = new Set(['created_at', 'updated_at']);

/**
 * Names of the members a replace changed, every member of the record however many are added later;
 * the secret is reported by name only (never its hash).
 */
export function changedClientFields(before: ClientRecord, after: ClientRecord): string[] {
  const names = new Set<string>([...Object.keys(before), ...Object.keys(after)]);
  const value = (record: ClientRecord, name: string): string => JSON.stringify((record as unknown as Record<string, unknown>)[name] ?? null);
  return [...names]
    .filter((name) => !UNREPORTED_CLIENT_FIELDS.has(name) && value(before, name) !== value(after, name))
    .sort()
    .map((name) => (name === 'client_secret_hash' ? 'client_secret' : name));
}

/** A change note in an entry's details: `{note}` when one was given, nothing otherwise. */
function noteDetail(note: string | undefined): { note?: string } {
  return note === undefined ? {} : { note };
}

function entry(
  actor: string,
  action: string,
  target_type: AuditEntry['target_type'],
  target_id: string,
  details: AuditEntry['details'] = null,
  versions: { old?: number | null; new?: number | null } = {},
): AuditInput {
  const asText = (version: number | null | undefined) => (version === null || version === undefined ? null : String(version));
  return { actor, action, target_type, target_id, old_version: asText(versions.old), new_version: asText(versions.new), details };
}

export const auditEntries = {
  clientPut: (actor: string, existing: ClientRecord | null, client: ClientRecord): AuditInput =>
    existing
      ? entry(actor, 'client.replace', 'client', client.client_id, { changed: changedClientFields(existing, client) })
      : entry(actor, 'client.create', 'client', client.client_id),
  clientDelete: (actor: string, clientId: string): AuditInput => entry(actor, 'client.delete', 'client', clientId),
  procedureUpload: (actor: string, version: Pick<ProcedureVersion, 'id' | 'flow' | 'sha256'> & { note?: string | undefined }, number: number, previouslyActive: number | null): AuditInput =>
    entry(actor, 'procedure.upload', 'procedure', version.id, { flow: version.flow, sha256: version.sha256, ...noteDetail(version.note) }, { old: previouslyActive, new: number }),
  procedureActivate: (actor: string, activated: ProcedureVersion, previouslyActive: number, note?: string): AuditInput =>
    entry(actor, 'procedure.activate', 'procedure', activated.id, { sha256: activated.sha256, ...noteDetail(note) }, { old: previouslyActive, new: activated.version }),
  procedureDelete: (actor: string, id: string, active: number, latest: number): AuditInput =>
    entry(actor, 'procedure.delete', 'procedure', id, { latest_version: latest }, { old: active }),
  trustedIssuerPut: (actor: string, issuer: TrustedIssuerRecord, created: boolean): AuditInput =>
    entry(actor, 'trusted_issuer.put', 'trusted_issuer', issuer.id, { issuer: issuer.issuer, created }),
  trustedIssuerDelete: (actor: string, id: string): AuditInput => entry(actor, 'trusted_issuer.delete', 'trusted_issuer', id),
  signingKeyAdd: (actor: string, kid: string, alg: string, retired: readonly string[]): AuditInput =>
    entry(actor, 'signing_key.add', 'signing_key', kid, { alg, retired }),
  signingKeyPrune: (actor: string, kid: string): AuditInput => entry(actor, 'signing_key.prune', 'signing_key', kid),
  adminKeySet: (actor: string): AuditInput => entry(actor, 'admin_key.set', 'admin_key', 'admin'),
  adminKeyCreate: (actor: string, name: string, role: AdminRole): AuditInput => entry(actor, 'admin_key.create', 'admin_key', name, { role }),
  adminKeyDelete: (actor: string, name: string): AuditInput => entry(actor, 'admin_key.delete', 'admin_key', name),
};
