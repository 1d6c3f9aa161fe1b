/**
 * In-memory view of the configuration the hot path reads (clients, active procedures, trusted
 * issuers). It reloads whenever the store's revision changes: at once after a local write
 * (`refresh()`), and by polling so that several instances sharing one store converge within a
 * second. A request keeps the objects it read at its start, so it finishes on the procedure
 * version it started with.
 */
import type { ClientRecord, ProcedureVersion, Store, TrustedIssuerRecord } from '../store/types.ts';

export interface ConfigSnapshot {
  readonly revision: number;
  readonly clients: ReadonlyMap<string, ClientRecord>;
  readonly procedures: ReadonlyMap<string, ProcedureVersion>;
  readonly trustedIssuers: readonly TrustedIssuerRecord[];
}

const EMPTY: ConfigSnapshot = { revision: -1, clients: new Map(), procedures: new Map(), trustedIssuers: [] };

export class ConfigCache {
  private readonly store: Store;
  private current: ConfigSnapshot = EMPTY;
  private timer: NodeJS.Timeout | null = null;
  private loading: Promise<void> | null = null;
  private readonly listeners: Array<(snapshot: ConfigSnapshot) => void> = [];

  constructor(store: Store) {
    this.store = store;
  }

  get snapshot(): ConfigSnapshot {
    return this.current;
  }

  onChange(listener: (snapshot: ConfigSnapshot) => void): void {
    this.listeners.push(listener);
  }

  /** Reloads if the store's revision moved. Concurrent calls share one load. */
  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  startPolling(intervalMs = 1000): void {
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async load(): Promise<void> {
    const revision = await this.store.revision();
    if (revision === this.current.revision) return;
    // Three queries whatever the size of the configuration (it was one more per procedure).
    const [clients, active, trustedIssuers] = await Promise.all([
      this.store.listClients(),
      this.store.listActiveProcedures(),
      this.store.listTrustedIssuers(),
    ]);
    const procedures = new Map<string, ProcedureVersion>(active.map((version) => [version.id, version]));
    this.current = {
      revision,
      clients: new Map(clients.map((c) => [c.client_id, c])),
      procedures,
      trustedIssuers,
    };
    for (const listener of this.listeners) listener(this.current);
  }
}
