/**
 * Secret authentication against made-up client ids: refused without hashing anything (a stream of
 * them used to cost one scrypt each and starved real logins of the hashing threads), after about
 * as long as a real check takes.
 */
import { describe, expect, it } from '@jest/globals';
import { ClientAuthenticator } from '../../server/clients/authenticator.ts';
import { hashSecret, verifySecret } from '../../server/clients/secrets.ts';
import { SqliteStore } from '../../server/store/sqlite.ts';
import type { ClientRecord } from '../../server/store/types.ts';

const SECRET = 'the-real-secret-0123456789';

async function setUp() {
  const record: ClientRecord = {
    client_id: 'real-client',
    client_secret_hash: await hashSecret(SECRET),
    token_endpoint_auth_method: 'client_secret_basic',
    jwks: null,
    grant_types: ['client_credentials'],
    scope: 'read',
    audiences: [],
    properties: {},
    procedures: {},
    access_token_ttl: 300,
    accept_unvalidated_tokens: false,
    created_at: 0,
    updated_at: 0,
  };
  let hashes = 0;
  const authenticator = new ClientAuthenticator({
    // Wrong secrets are counted in the store.
    store: SqliteStore.openInMemory(),
    lookupClient: (id) => (id === record.client_id ? record : undefined),
    assertionAudiences: () => [],
    clockSkewSeconds: 60,
    verifySecret: async (secret, stored) => {
      hashes += 1;
      return verifySecret(secret, stored);
    },
    verifier: { parseJwt: () => null, verifyWithKeys: async () => 'bad_signature' },
  });
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const attempt = (id: string, secret: string) => authenticator.authenticate(basic(id, secret), new Map());
  return { attempt, hashes: () => hashes };
}

describe('client secret authentication', () => {
  it('refuses made-up client ids without computing a single hash', async () => {
    const { attempt, hashes } = await setUp();
    for (let i = 0; i < 5; i++) {
      const result = await attempt(`made-up-${i}`, 'whatever');
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatchObject({ error: 'invalid_client', status: 401, description: 'Client authentication failed' });
    }
    expect(hashes()).toBe(0);
  });

  it('hashes for a real client: a wrong secret is refused the same way, a right one verified once and then remembered', async () => {
    const { attempt, hashes } = await setUp();
    const wrong = await attempt('real-client', 'wrong-secret');
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.error).toMatchObject({ error: 'invalid_client', status: 401, description: 'Client authentication failed' });
    expect(hashes()).toBe(1);
    expect((await attempt('real-client', SECRET)).ok).toBe(true);
    expect((await attempt('real-client', SECRET)).ok).toBe(true);
    expect(hashes()).toBe(2);
  });

  it('slows a guesser without locking out a holder of the secret it verified lately', async () => {
    const { attempt, hashes } = await setUp();
    expect((await attempt('real-client', SECRET)).ok).toBe(true);
    for (let i = 0; i < 20; i++) await attempt('real-client', `guess-${i}`);
    const throttled = await attempt('real-client', 'guess-21');
    expect(throttled.ok).toBe(false);
    if (!throttled.ok) expect(throttled.error).toMatchObject({ error: 'invalid_client', status: 429 });
    const hashed = hashes();
    // The owner's secret, verified before the guessing began, still passes, and costs no hash.
    expect((await attempt('real-client', SECRET)).ok).toBe(true);
    expect((await attempt('real-client', SECRET)).ok).toBe(true);
    expect(hashes()).toBe(hashed);
  });
});
