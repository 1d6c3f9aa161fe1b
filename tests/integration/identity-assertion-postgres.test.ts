/**
 * The jwt-bearer grant's single use across instances: two `tokenproc serve` processes on one
 * PostgreSQL database; an ID-JAG redeemed at one is refused at the other (and at the first), and
 * of two redemptions racing on one assertion at the two instances exactly one wins.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { clientBody, startTestServer, type TestServer } from '../helpers/server.ts';
import { createAssertionIssuer, idJagClaims, JWT_BEARER } from '../helpers/assertions.ts';

let postgres: TestPostgres;

beforeAll(async () => {
  postgres = await startTestPostgres();
}, 120_000);

afterAll(async () => {
  await postgres?.stop();
}, 60_000);

describe('ID-JAG replay across two tokenproc instances on one PostgreSQL database', () => {
  it('an assertion redeemed at one instance is invalid_grant at the other; racing redemptions: exactly one wins', async () => {
    const { name, url } = await postgres.createDatabase();
    const servers: TestServer[] = [];
    try {
      const issuer = 'https://tokenproc-ras.example.test';
      const shared = { adminKey: 'shared-admin-key-for-both-instances-0123456789', env: { TOKENPROC_DATABASE_URL: url }, args: ['--issuer', issuer] };
      const first = await startTestServer(shared);
      servers.push(first);
      const second = await startTestServer(shared);
      servers.push(second);
      const idp = await createAssertionIssuer('https://idp.example.test');
      expect((await first.admin('PUT', '/trusted-issuers/idp', { issuer: idp.issuer, jwks: idp.jwks })).status).toBeLessThan(300);
      const secret = 'shared-store-secret-0123456789';
      expect((await first.admin('PUT', '/clients/agent', clientBody({ client_secret: secret, grant_types: [JWT_BEARER], scope: 'chat.read' }))).status).toBeLessThan(300);
      const auth = { id: 'agent', secret };
      const redeem = (server: TestServer, assertion: string) => server.token({ grant_type: JWT_BEARER, assertion }, auth);

      // The second instance learns of the client and the issuer by polling the revision (1 s).
      const deadline = Date.now() + 5000;
      let probe = await redeem(second, await idp.sign(idJagClaims(idp.issuer, issuer, auth.id)));
      while (probe.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        probe = await redeem(second, await idp.sign(idJagClaims(idp.issuer, issuer, auth.id)));
      }
      expect(probe.status).toBe(200);

      const assertion = await idp.sign(idJagClaims(idp.issuer, issuer, auth.id));
      expect((await redeem(first, assertion)).status).toBe(200);
      const replayed = await redeem(second, assertion);
      expect(replayed.status).toBe(400);
      expect(replayed.body).toMatchObject({ error: 'invalid_grant', error_description: 'The ID-JAG was already used' });
      expect((await redeem(first, assertion)).body.error).toBe('invalid_grant');

      for (let round = 0; round < 5; round++) {
        const raced = await idp.sign(idJagClaims(idp.issuer, issuer, auth.id));
        const results = await Promise.all([redeem(first, raced), redeem(second, raced)]);
        expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
      }
      for (const server of servers) expect(server.output()).not.toContain(assertion);
    } finally {
      for (const server of servers) await server.stop();
      await postgres.dropDatabase(name);
    }
  }, 90_000);
});
