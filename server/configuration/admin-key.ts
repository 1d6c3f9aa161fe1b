/**
 * The admin API's bearer key. It is a random 256-bit value, so a fast hash (SHA-256) is enough to
 * store it; comparison is constant-time (admin/api/auth.ts, which also checks the named keys).
 * Given in TOKENPROC_ADMIN_KEY, or generated at first start and printed once.
 */
import crypto from 'node:crypto';
import type { Store } from '../store/types.ts';

export function hashAdminKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The id that stands for a key in the audit trail: a short prefix of its hash, never the key. */
export function adminKeyId(hash: string): string {
  return `admin:${hash.slice(0, 8)}`;
}

/** Shortest TOKENPROC_ADMIN_KEY accepted: a random key of about 192 bits or more. */
export const MIN_ADMIN_KEY_LENGTH = 32;

export interface AdminKeySetUp {
  /** The key generated at this start, to be shown once; null when none was made. */
  generated: string | null;
  /** TOKENPROC_ADMIN_KEY replaced a different stored key (worth a log line: the old key stops working). */
  replaced: boolean;
}

/** Makes sure a key hash is stored: the configured key's, or one generated at first start. */
export async function ensureAdminKey(store: Store, configuredKey: string | null): Promise<AdminKeySetUp> {
  const stored = await store.getAdminKeyHash();
  if (configuredKey) {
    const hash = hashAdminKey(configuredKey);
    if (stored === hash) return { generated: null, replaced: false };
    await store.setAdminKeyHash(hash, 'config');
    return { generated: null, replaced: stored !== null };
  }
  if (stored) return { generated: null, replaced: false };
  const generated = crypto.randomBytes(32).toString('base64url');
  const hash = hashAdminKey(generated);
  // Another instance on a shared store may have stored its own key first: then that one stands.
  return { generated: (await store.initAdminKeyHash(hash, 'system')) === hash ? generated : null, replaced: false };
}
