/**
 * The exchange cache: a bounded LRU of token responses and of recent refusals, keyed by a SHA-256
 * of the request (never a token value), with a per-entry expiry.
 */
import { createHash } from 'node:crypto';
import type { ExchangeErrorFields } from './errors.ts';
import type { TokenResponse } from './types.ts';

export type CacheEntry =
  | {
      readonly kind: 'token';
      readonly response: TokenResponse;
      /** Until when (ms since the epoch) the entry is used. */
      readonly useUntil: number;
      /** When the issued token itself expires (ms), if known: to recompute `expires_in`. */
      readonly tokenExpiresAt: number | undefined;
    }
  | { readonly kind: 'refusal'; readonly error: ExchangeErrorFields; readonly useUntil: number };

export class LruCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly maxEntries: number;

  constructor(maxEntries: number) {
    this.maxEntries = Math.max(1, Math.floor(maxEntries));
  }

  get size(): number {
    return this.entries.size;
  }

  /** The live entry for `key` (made most recently used), or undefined; an expired one is dropped. */
  get(key: string, now: number): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.useUntil <= now) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: CacheEntry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Form parameters whose values are credentials: hashed before they enter a key. */
const HASHED_PARAMETERS = new Set(['subject_token', 'actor_token']);

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * The cache key of one exchange: a SHA-256 over the token endpoint, the client id and every form
 * parameter sent (names and values in order, the subject and actor tokens replaced by their own
 * SHA-256). Two requests share an entry only when they would send the same request.
 */
export function cacheKey(tokenEndpoint: string, clientId: string, parameters: ReadonlyArray<readonly [string, string]>): string {
  const parts = parameters.map(([name, value]) => [name, HASHED_PARAMETERS.has(name) ? `sha256:${sha256(value)}` : value]);
  return sha256(JSON.stringify(['tokenproc-exchange-client/1', tokenEndpoint, clientId, parts]));
}
