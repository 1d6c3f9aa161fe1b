/**
 * The admin API's bearer key. It is a random 256-bit value, so a fast hash (SHA-256) is enough to
 * store it; comparison is constant-time. Given in TOKENPROC_ADMIN_KEY, or generated at first start
 * and printed once.
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

export function adminKeyMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(hashAdminKey(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * Makes sure a key hash is stored. Returns the generated key when one had to be made (the caller
 * prints it once); null otherwise.
 */
export async function ensureAdminKey(store: Store, configuredKey: string | null): Promise<string | null> {
  const stored = await store.getAdminKeyHash();
  if (configuredKey) {
    const hash = hashAdminKey(configuredKey);
    if (stored !== hash) await store.setAdminKeyHash(hash, 'config');
    return null;
  }
  if (stored) return null;
  const generated = crypto.randomBytes(32).toString('base64url');
  const hash = hashAdminKey(generated);
  // Another instance on a shared store may have stored its own key first: then that one stands.
  return (await store.initAdminKeyHash(hash, 'system')) === hash ? generated : null;
}
