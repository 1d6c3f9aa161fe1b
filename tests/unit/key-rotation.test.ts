/**
 * Signing-key rotation that breaks no token and no relying party: a new key is published before it
 * signs, every instance switches at the same moment without a reload, a retired key stays published
 * for its grace. (Instances starting together create one key: tests/store/signing-keys-postgres.test.ts.)
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { SqliteStore } from '../../server/store/sqlite.ts';
import { KeyManager } from '../../server/tokens/keys.ts';

const ISSUER = 'https://as.example';
const GRACE = 3600;
const PREPUBLISH = 360;
const T0 = 1_800_000_000_000;

const kidOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid;
const publishedKids = (keys: KeyManager): string[] => keys.publicKeys().map((k) => k.kid);

describe('signing key rotation', () => {
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  function manager(store: SqliteStore, clock: { ms: number }): KeyManager {
    return new KeyManager(store, ISSUER, GRACE, 'ES256', { prepublishSeconds: PREPUBLISH, now: () => clock.ms });
  }

  it('the first key signs at once', async () => {
    const store = SqliteStore.openInMemory();
    stores.push(store);
    const clock = { ms: T0 };
    const keys = manager(store, clock);
    await keys.init();
    const [only] = publishedKids(keys);
    expect(kidOf(keys.sign({ typ: 'at+jwt' }, { sub: 'a' }).token)).toBe(only);
  });

  it('publishes a rotated-in key at once, signs with it only after the pre-publication, on every instance without a reload', async () => {
    const store = SqliteStore.openInMemory();
    stores.push(store);
    const clock = { ms: T0 };
    const rotating = manager(store, clock);
    await rotating.init();
    const other = manager(store, clock); // another instance, loaded before the rotation's pre-publication ends
    const oldKid = publishedKids(rotating)[0];

    clock.ms += 10_000;
    const { kid: newKid, signsFrom } = await rotating.rotate('cli');
    await other.reload(); // as the config cache does within a second
    expect(signsFrom).toBe(Math.floor(clock.ms / 1000) + PREPUBLISH);
    for (const keys of [rotating, other]) {
      expect(publishedKids(keys).sort()).toEqual([oldKid, newKid].sort());
      expect(kidOf(keys.sign({}, { sub: 'a' }).token)).toBe(oldKid);
    }

    clock.ms += (PREPUBLISH - 1) * 1000;
    expect(kidOf(other.sign({}, { sub: 'a' }).token)).toBe(oldKid);
    clock.ms += 1000;
    // The switch needs no reload: both instances sign with the new key from the same second.
    for (const keys of [rotating, other]) {
      expect(kidOf(keys.sign({}, { sub: 'a' }).token)).toBe(newKid);
      expect(publishedKids(keys).sort()).toEqual([oldKid, newKid].sort());
    }
    const described = other.describe();
    expect(described.find((k) => k.kid === newKid)).toMatchObject({ signing: true, published: true });
    expect(described.find((k) => k.kid === oldKid)).toMatchObject({ signing: false, published: true });

    // The old key leaves the JWKS once every token it signed has expired.
    clock.ms += GRACE * 1000;
    expect(publishedKids(other)).toEqual([newKid]);
  });

  it('rotates immediately when asked (a key that must stop signing now)', async () => {
    const store = SqliteStore.openInMemory();
    stores.push(store);
    const clock = { ms: T0 };
    const keys = manager(store, clock);
    await keys.init();
    const oldKid = publishedKids(keys)[0];
    const { kid: newKid } = await keys.rotate('cli', { immediately: true });
    expect(kidOf(keys.sign({}, { sub: 'a' }).token)).toBe(newKid);
    expect(publishedKids(keys)).toContain(oldKid);
  });

  it('a second rotation during a pre-publication keeps one signing key at every moment', async () => {
    const store = SqliteStore.openInMemory();
    stores.push(store);
    const clock = { ms: T0 };
    const keys = manager(store, clock);
    await keys.init();
    const first = publishedKids(keys)[0];
    const { kid: second } = await keys.rotate('cli');
    clock.ms += 100_000;
    const { kid: third } = await keys.rotate('cli');
    expect(kidOf(keys.sign({}, {}).token)).toBe(first);
    clock.ms += (PREPUBLISH - 100) * 1000;
    expect(kidOf(keys.sign({}, {}).token)).toBe(second);
    clock.ms += 100_000;
    expect(kidOf(keys.sign({}, {}).token)).toBe(third);
  });
});
