/**
 * Mirrors the audit trail into the log. The store writes each audit entry inside the transaction
 * of its change; after every admin write this reads the entries newer than the last one logged and
 * writes one `audit` line each. Entries carry no secret and no script body (the store's contract),
 * and the logger masks credential-named fields besides.
 */
import type { Logger } from '../../server/logging.ts';
import type { AuditEntry, Store } from '../../server/store/types.ts';

/** Most entries read per flush; a burst larger than this is logged from its newest entries. */
const MAX_ENTRIES_PER_FLUSH = 1000;

export class AuditLogWriter {
  private readonly store: Store;
  private readonly logger: Logger;
  /** Id of the newest entry already logged (or present before this writer started). */
  private cursor: Promise<number>;
  /** Flushes run one after another, so no entry is logged twice. */
  private chain: Promise<void> = Promise.resolve();

  constructor(store: Store, logger: Logger) {
    this.store = store;
    this.logger = logger;
    this.cursor = store.listAudit({ limit: 1 }).then(
      (entries) => entries[0]?.id ?? 0,
      () => 0,
    );
  }

  /** Logs every audit entry written since the previous flush. Never throws. */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.logNewEntries()).catch((err: unknown) => {
      this.logger.error('writing audit entries to the log failed', { detail: err instanceof Error ? err.message : String(err) });
    });
    return this.chain;
  }

  private async logNewEntries(): Promise<void> {
    const after = await this.cursor;
    const entries = (await this.store.listAudit({ limit: MAX_ENTRIES_PER_FLUSH })).filter((e) => e.id > after);
    if (entries.length === 0) return;
    // listAudit is newest first; the log reads oldest first.
    for (const entry of entries.reverse()) this.logger.info('audit', auditLogFields(entry));
    this.cursor = Promise.resolve(entries[entries.length - 1]?.id ?? after);
  }
}

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
