import { describe, expect, it } from '@jest/globals';
import { newTokenId } from '../../server/tokens/token-ids.ts';

describe('issued token ids (jti)', () => {
  it('are 144-bit base64url values, all distinct across several pool refills', () => {
    const ids = Array.from({ length: 2000 }, () => newTokenId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('use every bit position: no byte of the id is constant across ids', () => {
    const bytes = Array.from({ length: 512 }, () => Buffer.from(newTokenId(), 'base64url'));
    for (let position = 0; position < 18; position++) {
      expect(new Set(bytes.map((b) => b[position])).size).toBeGreaterThan(1);
    }
  });
});
