/**
 * Signing keys across instances on one PostgreSQL: instances starting together create one key, and
 * a rotation at one instance is published everywhere before any instance signs with it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostgresStore } from '../../server/store/postgres.ts';
import { KeyManager } from '../../server/tokens/keys.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';

let postgres: TestPostgres;
const stores: PostgresStore[] = [];

beforeAll(async () => {
  postgres = await startTestPostgres();
}, 120_000);

afterAll(async () => {
  for (const store of stores) await store.close();
  await postgres?.stop();
}, 60_000);

async function instances(count: number): Promise<PostgresStore[]> {
  const { url } = await postgres.createDatabase();
  const first = PostgresStore.open(url);
  await first.migrate();
  const opened = [first, ...Array.from({ length: count - 1 }, () => PostgresStore.open(url))];
  stores.push(...opened);
  return opened;
}

const kidOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid;

describe('signing keys on a shared PostgreSQL', () => {
  it('seven instances starting together create exactly one key, and all sign with it', async () => {
    const shared = await instances(7);
    const managers = shared.map((store) => new KeyManager(store, 'https://as.example', 3600));
    await Promise.all(managers.map((keys) => keys.init()));
    expect((await shared[0]!.listSigningKeys()).length).toBe(1);
    const kids = new Set(managers.map((keys) => kidOf(keys.sign({}, { sub: 'a' }).token)));
    expect(kids.size).toBe(1);
  });

  it('a rotation at one instance is in every JWKS before any instance signs with it', async () => {
    const shared = await instances(3);
    const clock = { ms: 1_800_000_000_000 };
    const managers = shared.map((store) => new KeyManager(store, 'https://as.example', 3600, 'ES256', { prepublishSeconds: 360, now: () => clock.ms }));
    await managers[0]!.init();
    await Promise.all(managers.slice(1).map((keys) => keys.init()));
    const { kid: newKid } = await managers[0]!.rotate('cli');
    await Promise.all(managers.map((keys) => keys.reload()));
    for (const keys of managers) {
      expect(keys.publicKeys().map((k) => k.kid)).toContain(newKid);
      expect(kidOf(keys.sign({}, {}).token)).not.toBe(newKid);
    }
    clock.ms += 360_000;
    for (const keys of managers) expect(kidOf(keys.sign({}, {}).token)).toBe(newKid);
  });
});
