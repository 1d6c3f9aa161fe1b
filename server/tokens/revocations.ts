/**
 * The revoked ids, in memory, so that checking a token costs a few map lookups and no store read.
 *
 * A revocation is written to the store (the `revocations` table) and added here at once; every
 * other instance, and every other worker process of this server, polls the store's revocation
 * counter about once a second and reads only what is new (`seq > watermark`), so a revocation
 * reaches them all within about a second. The watermark comes from a counter row each revocation
 * updates inside its transaction, so it follows commit order and no row is skipped.
 *
 * How long a revocation is kept: a descendant is issued while its parent is still valid and lives
 * at most the server's maximum lifetime L (refresh families included), so whatever names a revoked
 * id expires by (the revoked token's expiry, or the revocation time if later) + MAX_LINEAGE_LENGTH
 * × L. Rows and entries are purged after that.
 */
import type { RevocationEntry, Store } from '../store/types.ts';
import { MAX_LINEAGE_LENGTH, REVOCATION_POLL_MS, TOKEN_PURGE_INTERVAL_MS } from '../defaults.ts';
import { revocableIdsOf } from './lineage.ts';

export interface RevocationListOptions {
  store: Store;
  /** The server's maximum token lifetime, seconds. */
  maxLifetimeSeconds: number;
  /** Epoch milliseconds. */
  now?: () => number;
  onError?: (operation: string, error: unknown) => void;
}

export class RevocationList {
  private readonly store: Store;
  private readonly maxLifetimeSeconds: number;
  private readonly now: () => number;
  private readonly onError: (operation: string, error: unknown) => void;
  /** Revoked id → when it may be forgotten (epoch seconds). */
  private readonly revoked = new Map<string, number>();
  private watermark = 0;
  private loading: Promise<void> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;

  constructor(options: RevocationListOptions) {
    this.store = options.store;
    this.maxLifetimeSeconds = options.maxLifetimeSeconds;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => undefined);
  }

  get size(): number {
    return this.revoked.size;
  }

  /** Whether a token of ours (its claims) is revoked: its `jti` or any id of its lineage. */
  isRevoked(claims: Record<string, unknown>): boolean {
    if (this.revoked.size === 0) return false;
    return this.anyRevoked(revocableIdsOf(claims));
  }

  anyRevoked(ids: readonly string[]): boolean {
    if (this.revoked.size === 0) return false;
    for (const id of ids) if (this.revoked.has(id)) return true;
    return false;
  }

  /** When a revocation of a token expiring at `expiresAt` (epoch seconds, if known) may be purged. */
  purgeAfter(expiresAt: number | null): number {
    const nowSeconds = Math.floor(this.now() / 1000);
    const base = expiresAt !== null && expiresAt > nowSeconds ? expiresAt : nowSeconds;
    return base + MAX_LINEAGE_LENGTH * this.maxLifetimeSeconds;
  }

  /** Writes the revocations to the store, then knows them here at once. */
  async revoke(entries: readonly RevocationEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.store.revoke(entries, Math.floor(this.now() / 1000));
    for (const entry of entries) this.revoked.set(entry.id, entry.purge_after);
  }

  /** Reads what was revoked since the last read (all of it the first time). Concurrent calls share one read. */
  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  startPolling(intervalMs = REVOCATION_POLL_MS, purgeIntervalMs = TOKEN_PURGE_INTERVAL_MS): void {
    this.stop();
    this.pollTimer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.onError('reading revocations', error));
    }, intervalMs);
    this.pollTimer.unref();
    this.purgeTimer = setInterval(() => {
      this.purge().catch((error: unknown) => this.onError('purging expired tokens', error));
    }, purgeIntervalMs);
    this.purgeTimer.unref();
  }

  stop(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.pollTimer = null;
    this.purgeTimer = null;
  }

  /** Drops expired refresh and opaque tokens and revocations from the store, and forgotten entries here. */
  async purge(): Promise<void> {
    const nowSeconds = Math.floor(this.now() / 1000);
    for (const [id, purgeAfter] of this.revoked) if (purgeAfter < nowSeconds) this.revoked.delete(id);
    await this.store.purgeExpiredTokens(nowSeconds);
  }

  private async load(): Promise<void> {
    const batch = await this.store.revocationsSince(this.watermark, Math.floor(this.now() / 1000));
    for (const entry of batch.entries) this.revoked.set(entry.id, entry.purge_after);
    this.watermark = batch.watermark;
  }
}
