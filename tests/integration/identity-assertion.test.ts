/**
 * Identity assertion grants through HTTP, both roles (spec: "Identity assertion grants"):
 * - issuing: a token exchange of an ID token for an ID-JAG addressed to another authorization server;
 * - receiving: the jwt-bearer grant redeeming an ID-JAG (or refusing it: invalid_grant);
 * - the chain: server A (the identity provider) issues an ID-JAG that server B (the resource
 *   authorization server, trusting A through A's JWKS endpoint) redeems for an access token.
 * The replay across instances sharing PostgreSQL is in identity-assertion-postgres.test.ts.
 */
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';
import { createAssertionIssuer, ID_JAG_TYPE, idJagClaims, JWT_BEARER, type AssertionIssuer } from '../helpers/assertions.ts';
import { clientBody, ID_TOKEN_TYPE, AT_TYPE, startTestServer, TOKEN_EXCHANGE, type HttpResult, type TestServer } from '../helpers/server.ts';

const SECRET = 'identity-assertion-secret-0123456789';
const AGENT = { id: 'agent', secret: SECRET };
const AGENT_AT_B = { id: 'agent-at-b', secret: SECRET };
const OTHER_AT_B = { id: 'other-at-b', secret: SECRET };

function decode(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  return { header: jose.decodeProtectedHeader(jwt) as Record<string, unknown>, claims: jose.decodeJwt(jwt) as Record<string, unknown> };
}

function expectGrantRefused(result: HttpResult, description: RegExp): void {
  expect(result.status).toBe(400);
  expect(result.body.error).toBe('invalid_grant');
  expect(String(result.body.error_description)).toMatch(description);
}

let idpServer: TestServer; // A: plays the identity provider, issues ID-JAGs
let rasServer: TestServer; // B: the resource authorization server, redeems them
let userIdp: TestIdp; // where users sign in: A trusts its ID tokens
let foreign: AssertionIssuer; // another IdP that B trusts, whose assertions the tests shape freely

beforeAll(async () => {
  [idpServer, rasServer] = await Promise.all([startTestServer(), startTestServer()]);
  userIdp = await createTestIdp('https://login.example.com');
  foreign = await createAssertionIssuer('https://foreign-idp.example.com');
  const setups = [
    idpServer.admin('PUT', '/trusted-issuers/login', { issuer: userIdp.issuer, jwks: userIdp.jwks }),
    idpServer.admin('PUT', '/clients/agent', clientBody({
      client_secret: SECRET,
      grant_types: [TOKEN_EXCHANGE],
      scope: 'chat.read chat.history chat.write',
      audiences: [rasServer.issuer],
      properties: { id_jag_client_id: AGENT_AT_B.id },
    })),
    rasServer.admin('PUT', '/trusted-issuers/idp-a', { issuer: idpServer.issuer, jwks_uri: `${idpServer.origin}/oauth/v2/oauth-anonymous/jwks` }),
    rasServer.admin('PUT', '/trusted-issuers/foreign', { issuer: foreign.issuer, jwks: foreign.jwks }),
    rasServer.admin('PUT', `/clients/${AGENT_AT_B.id}`, clientBody({
      client_secret: SECRET,
      grant_types: [JWT_BEARER],
      scope: 'chat.read chat.history',
      audiences: ['https://api.chat.example'],
    })),
    rasServer.admin('PUT', `/clients/${OTHER_AT_B.id}`, clientBody({ client_secret: SECRET, grant_types: ['client_credentials'], scope: 'chat.read' })),
  ];
  for (const result of await Promise.all(setups)) expect([200, 201]).toContain(result.status);
}, 60_000);

afterAll(async () => {
  await Promise.all([idpServer?.stop(), rasServer?.stop()]);
});

/** A user's ID token from the login IdP, meant for the agent. */
function idToken(claims: Record<string, unknown> = {}): Promise<string> {
  return userIdp.mint({ sub: 'alice', aud: AGENT.id, auth_time: Math.floor(Date.now() / 1000) - 30, ...claims }, { typ: 'JWT' });
}

function requestIdJag(form: Record<string, string | string[]>): Promise<HttpResult> {
  return idpServer.token({ grant_type: TOKEN_EXCHANGE, requested_token_type: ID_JAG_TYPE, subject_token_type: ID_TOKEN_TYPE, audience: rasServer.issuer, ...form }, AGENT);
}

function redeem(server: TestServer, assertion: string, auth = AGENT_AT_B, form: Record<string, string> = {}): Promise<HttpResult> {
  return server.token({ grant_type: JWT_BEARER, assertion, ...form }, auth);
}

describe('issuing: token exchange of an ID token for an ID-JAG', () => {
  it('issues an ID-JAG for the resource authorization server: typed, addressed, bound to the client id there, short-lived', async () => {
    const result = await requestIdJag({ subject_token: await idToken(), scope: 'chat.read', resource: 'https://api.chat.example/' });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ issued_token_type: ID_JAG_TYPE, token_type: 'N_A', scope: 'chat.read' });
    expect(result.body.refresh_token).toBeUndefined();
    expect(result.body.expires_in).toBeLessThanOrEqual(300);
    const { header, claims } = decode(String(result.body.access_token));
    expect(header.typ).toBe('oauth-id-jag+jwt');
    expect(claims).toMatchObject({ iss: idpServer.issuer, sub: 'alice', aud: rasServer.issuer, client_id: AGENT_AT_B.id, scope: 'chat.read', resource: 'https://api.chat.example/' });
    expect(typeof claims.jti).toBe('string');
    expect(typeof claims.auth_time).toBe('number');
    expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(300);
  });

  it('refuses an audience the client may not target (invalid_target)', async () => {
    const result = await requestIdJag({ subject_token: await idToken(), audience: 'https://elsewhere.example.com' });
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('invalid_target');
  });

  it('refuses an access-token subject: only ID tokens become ID-JAGs', async () => {
    const accessToken = await userIdp.mint({ sub: 'alice', aud: AGENT.id, client_id: AGENT.id });
    const asAccessToken = await requestIdJag({ subject_token: accessToken, subject_token_type: AT_TYPE });
    expect(asAccessToken.status).toBe(400);
    expect(asAccessToken.body.error).toBe('invalid_request');
    expect(String(asAccessToken.body.error_description)).toMatch(/ID token/);
    // Declared as an ID token, an access token (typ at+jwt) is refused all the same.
    const disguised = await requestIdJag({ subject_token: accessToken });
    expect(disguised.status).toBe(400);
    expect(disguised.body.error).toBe('invalid_request');
  });

  it('refuses an ID token meant for another client', async () => {
    const result = await requestIdJag({ subject_token: await idToken({ aud: 'someone-else' }) });
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('invalid_request');
  });

  it('refuses a scope outside the client\'s (invalid_scope)', async () => {
    const result = await requestIdJag({ subject_token: await idToken(), scope: 'chat.admin' });
    expect(result.body.error).toBe('invalid_scope');
  });
});

describe('receiving: the jwt-bearer grant', () => {
  it('the metadata advertises the grant and the ID-JAG token type', async () => {
    const metadata = (await (await fetch(`${rasServer.origin}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.grant_types_supported).toContain(JWT_BEARER);
    expect(metadata.identity_chaining_requested_token_types_supported).toEqual([ID_JAG_TYPE]);
  });

  it('redeems a trusted issuer\'s ID-JAG once: sub from it, scope = requested ∩ its ∩ the client\'s, no refresh token', async () => {
    const assertion = await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id));
    const result = await redeem(rasServer, assertion, AGENT_AT_B, { scope: 'chat.history' });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ token_type: 'Bearer', scope: 'chat.history' });
    expect(result.body.refresh_token).toBeUndefined();
    expect(decode(String(result.body.access_token)).claims).toMatchObject({ iss: rasServer.issuer, sub: 'alice', client_id: AGENT_AT_B.id, scope: 'chat.history', aud: 'https://api.chat.example' });

    expectGrantRefused(await redeem(rasServer, assertion), /already used/);
    expect(rasServer.output()).not.toContain(assertion);
    expect(rasServer.output()).not.toContain(assertion.split('.')[2]);
  });

  it('accepts the token endpoint URL as aud, and a one-element array', async () => {
    const endpoint = `${rasServer.issuer}/oauth/v2/oauth-token`;
    expect((await redeem(rasServer, await foreign.sign(idJagClaims(foreign.issuer, endpoint, AGENT_AT_B.id)))).status).toBe(200);
    expect((await redeem(rasServer, await foreign.sign(idJagClaims(foreign.issuer, [rasServer.issuer] as unknown as string, AGENT_AT_B.id)))).status).toBe(200);
  });

  it('refuses an aud naming another server, or more than this one', async () => {
    expectGrantRefused(await redeem(rasServer, await foreign.sign(idJagClaims(foreign.issuer, 'https://other-as.example.com', AGENT_AT_B.id))), /not addressed to this authorization server/);
    const both = idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id, { aud: [rasServer.issuer, 'https://other-as.example.com'] });
    expectGrantRefused(await redeem(rasServer, await foreign.sign(both)), /not addressed/);
  });

  it('refuses an expired assertion and one issued in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    expectGrantRefused(await redeem(rasServer, await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id, { iat: now - 900, exp: now - 300 }))), /expired/);
    expectGrantRefused(await redeem(rasServer, await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id, { iat: now + 600, exp: now + 900 }))), /future/);
    expectGrantRefused(await redeem(rasServer, await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id, { exp: now + 86400 }))), /too far ahead/);
  });

  it('refuses an ID-JAG whose client_id is another client', async () => {
    const assertion = await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, 'other-at-b'));
    expectGrantRefused(await redeem(rasServer, assertion), /another client/);
  });

  it('refuses a plain ID token presented as an ID-JAG (typ)', async () => {
    const idTokenForB = await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id, { azp: AGENT_AT_B.id }), { typ: 'JWT' });
    expectGrantRefused(await redeem(rasServer, idTokenForB), /must be an ID-JAG \(typ oauth-id-jag\+jwt\)/);
    const untyped = await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id), { typ: undefined });
    expectGrantRefused(await redeem(rasServer, untyped), /typ/);
    const accessToken = await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id), { typ: 'at+jwt' });
    expectGrantRefused(await redeem(rasServer, accessToken), /typ/);
  });

  it('refuses an untrusted issuer, a bad signature, a missing jti, and this server\'s own tokens', async () => {
    const stranger = await createAssertionIssuer('https://stranger.example.com');
    expectGrantRefused(await redeem(rasServer, await stranger.sign(idJagClaims(stranger.issuer, rasServer.issuer, AGENT_AT_B.id))), /not from a trusted issuer/);
    const impostor = await createAssertionIssuer(foreign.issuer);
    expectGrantRefused(await redeem(rasServer, await impostor.sign(idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id))), /unknown key|signature/);
    const noJti = idJagClaims(foreign.issuer, rasServer.issuer, AGENT_AT_B.id);
    delete noJti.jti;
    expectGrantRefused(await redeem(rasServer, await foreign.sign(noJti)), /jti/);
    expectGrantRefused(await redeem(rasServer, 'not-a-jwt'), /one signed JWT/);
    const missing = await rasServer.token({ grant_type: JWT_BEARER }, AGENT_AT_B);
    expect(missing.body.error).toBe('invalid_request');
  });

  it('refuses a client that is not allowed the grant (unauthorized_client)', async () => {
    const assertion = await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, OTHER_AT_B.id));
    const result = await redeem(rasServer, assertion, OTHER_AT_B);
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('unauthorized_client');
  });

  it('runs the client\'s oauth-token-jwt-assertion procedure with the validated assertion', async () => {
    const source = `function result(context) {
      var assertion = context.getPresentedAssertion();
      if (assertion.sub === 'mallory') throw exceptionFactory.forbiddenException('access_denied', 'not this user');
      var data = context.getDefaultAccessTokenData();
      data.idp = assertion.iss;
      data.seen_form = context.request.getFormParameter('assertion');
      var token = context.accessTokenIssuer.issue(data, null);
      return { access_token: token, token_type: 'Bearer', expires_in: secondsUntil(data.exp), scope: data.scope };
    }`;
    expect((await rasServer.admin('PUT', '/procedures/assertion-policy', { flow: 'oauth-token-jwt-assertion', source })).status).toBeLessThan(300);
    const registered = await rasServer.admin('PUT', '/clients/scripted-at-b', clientBody({
      client_secret: SECRET,
      grant_types: [JWT_BEARER],
      scope: 'chat.read',
      procedures: { 'oauth-token-jwt-assertion': 'assertion-policy' },
    }));
    expect([200, 201]).toContain(registered.status);
    const auth = { id: 'scripted-at-b', secret: SECRET };
    const issued = await redeem(rasServer, await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, auth.id, { scope: 'chat.read' })), auth);
    expect(issued.status).toBe(200);
    const claims = decode(String(issued.body.access_token)).claims;
    expect(claims).toMatchObject({ sub: 'alice', idp: foreign.issuer, scope: 'chat.read' });
    // The assertion's value never reaches the procedure.
    expect(claims.seen_form ?? null).toBeNull();
    const refused = await redeem(rasServer, await foreign.sign(idJagClaims(foreign.issuer, rasServer.issuer, auth.id, { sub: 'mallory' })), auth);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('access_denied');
  });
});

describe('the chain: ID token → ID-JAG at A → access token at B', () => {
  it('B redeems the ID-JAG A issued (B trusts A through its JWKS endpoint), exactly once', async () => {
    const jag = await requestIdJag({ subject_token: await idToken(), scope: 'chat.read chat.history' });
    expect(jag.status).toBe(200);
    const assertion = String(jag.body.access_token);
    const access = await redeem(rasServer, assertion, AGENT_AT_B, { scope: 'chat.read' });
    expect(access.status).toBe(200);
    expect(access.body).toMatchObject({ token_type: 'Bearer', scope: 'chat.read' });
    expect(decode(String(access.body.access_token)).claims).toMatchObject({ iss: rasServer.issuer, sub: 'alice', client_id: AGENT_AT_B.id, scope: 'chat.read' });
    expectGrantRefused(await redeem(rasServer, assertion), /already used/);
  });

  it('A never redeems its own ID-JAG (the draft: no access token for an ID-JAG it issued itself)', async () => {
    const selfAddressed = await startTestServer();
    try {
      const setup = [
        selfAddressed.admin('PUT', '/trusted-issuers/login', { issuer: userIdp.issuer, jwks: userIdp.jwks }),
        selfAddressed.admin('PUT', '/clients/agent', clientBody({ client_secret: SECRET, grant_types: [TOKEN_EXCHANGE, JWT_BEARER], scope: 'chat.read', audiences: [selfAddressed.issuer] })),
      ];
      for (const result of await Promise.all(setup)) expect([200, 201]).toContain(result.status);
      const jag = await selfAddressed.token({ grant_type: TOKEN_EXCHANGE, requested_token_type: ID_JAG_TYPE, subject_token_type: ID_TOKEN_TYPE, subject_token: await idToken(), audience: selfAddressed.issuer }, AGENT);
      expect(jag.status).toBe(200);
      expectGrantRefused(await redeem(selfAddressed, String(jag.body.access_token), AGENT), /not from a trusted issuer/);
    } finally {
      await selfAddressed.stop();
    }
  }, 30_000);
});
