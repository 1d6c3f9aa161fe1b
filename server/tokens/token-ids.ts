/**
 * Identifiers for issued tokens (`jti`): 144 random bits, base64url. Drawn from a pool filled 256
 * ids at a time, as Node does for randomUUID: one `randomBytes` call per token cost a few µs on the
 * token endpoint's hot path, the pool a fraction of one. Each id is used once and never re-read.
 */
import crypto from 'node:crypto';

const ID_BYTES = 18;
const IDS_PER_FILL = 256;

let pool = Buffer.alloc(0);
let offset = 0;

export function newTokenId(): string {
  if (offset + ID_BYTES > pool.length) {
    pool = crypto.randomFillSync(Buffer.allocUnsafe(ID_BYTES * IDS_PER_FILL));
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  // Spent bytes are overwritten so the pool never holds an id that was handed out.
  pool.fill(0, offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}
