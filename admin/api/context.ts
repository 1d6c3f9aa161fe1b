/** What every admin route module is given: the runtime, and the step that follows a committed write. */
import type { Runtime } from '../../server/runtime/runtime.ts';
import { AuditLogWriter } from './audit-log.ts';

export interface AdminContext {
  readonly runtime: Runtime;
  /** Call after a write has committed: this instance sees it at once, and its audit entries reach the log. */
  committed(): Promise<void>;
}

export function createAdminContext(runtime: Runtime): AdminContext {
  const auditLog = new AuditLogWriter(runtime.store, runtime.logger);
  return {
    runtime,
    async committed() {
      await runtime.configChanged();
      await auditLog.flush();
    },
  };
}
