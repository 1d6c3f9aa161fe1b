/**
 * Mirrors the audit trail into the log: each entry this process's store wrote becomes one `audit`
 * line once its transaction has committed. Only its own: another instance or worker logs the
 * entries it wrote, so none is logged twice. Entries carry no secret and no script body (the
 * store's contract), and the logger masks credential-named fields besides.
 */
import type { Logger } from '../logging.ts';
import type { AuditEntry, Store } from '../store/types.ts';

export function auditLogFields(entry: AuditEntry): Record<string, unknown> {
  return {
    audit_id: entry.id,
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    target_type: entry.target_type,
    target_id: entry.target_id,
    old_version: entry.old_version,
    new_version: entry.new_version,
    details: entry.details,
  };
}

export function logAuditEntries(store: Store, logger: Logger): void {
  store.onAuditEntry((entry) => logger.info('audit', auditLogFields(entry)));
}
