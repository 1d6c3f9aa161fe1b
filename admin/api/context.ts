/** What every admin route module is given: the runtime, and the step that follows a committed write. */
import type { Runtime } from '../../server/runtime/runtime.ts';
import { createLocalRunner, type LocalRunner } from '../../server/runtime/local-runner.ts';

export interface AdminContext {
  readonly runtime: Runtime;
  /** Dry runs, on the server's own engine (so upload's compile step and dry runs run where the token endpoint does). */
  readonly localRunner: LocalRunner;
  /** Call after a write has committed: this instance sees it at once (the store logs its audit entries itself). */
  committed(): Promise<void>;
}

export function createAdminContext(runtime: Runtime): AdminContext {
  return {
    runtime,
    localRunner: createLocalRunner({ engine: runtime.engine }),
    async committed() {
      await runtime.configChanged();
    },
  };
}
