import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  PresentedTokenValidator,
  SUPPORTED_PRESENTED_TOKEN_TYPES,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_JWT,
  TOKEN_TYPE_REFRESH_TOKEN,
} from '../../server/tokens/presented-token-validator.ts';
import type { PresentedTokenValidation, PresentedTokenValidatorOptions } from '../../server/tokens/presented-token-validator.ts';
import type { TrustedIssuerRecord } from '../../server/store/types.ts';
import {
  NOW_MS,
  NOW_S,
  SAFE_REASON,
  b64url,
  countingFetch,
  ecKey,
  highSTwin,
  hmacWithPublicPem,
  mint,
  rsaKey,
  signRaw,
  startLoopbackServer,
  trustedIssuer,
} from './helpers.ts';
import type { CountingFetch, LoopbackServer, TestKey } from './helpers.ts';

const ISSUER = 'https://as.test';
const PARTNER = 'https://partner.test';
const REMOTE = 'https://idp.test';
const CALLER = 'client-a';

let own: TestKey;
let retiredOwn: TestKey;
let impostor: TestKey; // a foreign key that claims the server's kid
let partner: TestKey;
let remote: TestKey;
let server: LoopbackServer;
let trusted: TrustedIssuerRecord[];

beforeAll(async () => {
  own = ecKey('own-1');
  retiredOwn = ecKey('own-0');
  impostor = ecKey('own-1');
  partner = rsaKey('p-1');
  remote = ecKey('idp-1');
  server = await startLoopbackServer();
  server.serveJson('/jwks', { keys: [remote.publicJwk] });
  server.serveJson('/evil-jwks', { keys: [impostor.publicJwk] });
  trusted = [
    trustedIssuer({ id: 'partner', issuer: PARTNER, jwks: { keys: [partner.publicJwk] }, allowed_algs: ['RS256'] }),
    trustedIssuer({ id: 'remote-idp', issuer: REMOTE, jwks_uri: `${server.baseUrl}/jwks`, audiences: ['https://api.test'] }),
  ];
});

afterAll(async () => {
  await server.close();
});

function makeValidator(overrides: Partial<PresentedTokenValidatorOptions> = {}): { validator: PresentedTokenValidator; outbound: CountingFetch } {
  const outbound = countingFetch();
  const validator = new PresentedTokenValidator({
    issuer: ISSUER,
    ownPublicKeys: () => [own.publicJwk, retiredOwn.publicJwk],
    trustedIssuers: () => trusted,
    fetch: outbound.fetch,
    now: () => NOW_MS,
    ...overrides,
  });
  return { validator, outbound };
}

const accessClaims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: ISSUER,
  sub: 'alice',
  aud: CALLER,
  client_id: 'frontend',
  scope: 'read',
  iat: NOW_S,
  exp: NOW_S + 300,
  jti: 'j1',
  ...extra,
});

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Sets an unused low bit in the last character: decodes to the same bytes, but is not canonical. */
function nonCanonical(segment: string): string {
  if (segment.length % 4 !== 2) throw new Error('needs a segment with unused bits');
  const last = BASE64URL.indexOf(segment.slice(-1));
  return `${segment.slice(0, -1)}${BASE64URL[last | 1] ?? ''}`;
}

async function check(
  validator: PresentedTokenValidator,
  token: string,
  tokenType = TOKEN_TYPE_ACCESS_TOKEN,
  role: 'subject' | 'actor' = 'subject',
): Promise<PresentedTokenValidation> {
  return validator.validate({ token, tokenType, callerClientId: CALLER, role });
}

describe('accepted tokens', () => {
  it('accepts an access token this server issued, meant for the caller by aud', async () => {
    const { validator, outbound } = makeValidator();
    const result = await check(validator, await mint(own, accessClaims()));
    expect(result).toEqual({
      status: 'valid',
      claims: accessClaims(),
      header: { alg: 'ES256', kid: 'own-1', typ: 'at+jwt' },
      source: { kind: 'self' },
    });
    expect(outbound.urls).toEqual([]);
  });

  it('accepts a token of ours issued to the caller (the requesting client the host recorded), signed by a retired own key', async () => {
    const { validator } = makeValidator();
    const token = await mint(retiredOwn, accessClaims({ aud: 'https://orders.test', tkp_client: CALLER }));
    expect((await check(validator, token)).status).toBe('valid');
  });

  it('never takes a token of ours as issued to the caller from its client_id (a procedure may set it)', async () => {
    const { validator } = makeValidator();
    const token = await mint(retiredOwn, accessClaims({ aud: 'https://orders.test', client_id: CALLER, tkp_client: 'someone-else' }));
    expect(await check(validator, token)).toEqual({ status: 'invalid', reason: 'subject_token is not meant for this client' });
  });

  it('accepts a token whose aud is one of the caller\'s accepted_audiences', async () => {
    const { validator } = makeValidator();
    const token = await mint(retiredOwn, accessClaims({ aud: ['https://orders.test', 'other'] }));
    expect((await check(validator, token)).status).toBe('invalid');
    const accepted = await validator.validate({ token, tokenType: TOKEN_TYPE_ACCESS_TOKEN, callerClientId: CALLER, acceptedAudiences: ['https://orders.test'], role: 'subject' });
    expect(accepted.status).toBe('valid');
  });

  it('accepts typ in any case and with the application/ prefix', async () => {
    const { validator } = makeValidator();
    const token = await mint(own, accessClaims(), { typ: 'application/AT+JWT' });
    expect((await check(validator, token)).status).toBe('valid');
  });

  it('accepts a jwt from a trusted issuer with inline keys, without any request', async () => {
    const { validator, outbound } = makeValidator();
    const token = await mint(partner, accessClaims({ iss: PARTNER }), { typ: 'JWT' });
    const result = await check(validator, token, TOKEN_TYPE_JWT);
    expect(result).toMatchObject({ status: 'valid', source: { kind: 'trusted', id: 'partner', issuer: PARTNER } });
    expect(outbound.urls).toEqual([]);
  });

  it('accepts a jwt from a jwks_uri issuer, fetching its keys once', async () => {
    const { validator, outbound } = makeValidator();
    const token = await mint(remote, accessClaims({ iss: REMOTE, aud: [CALLER, 'https://api.test'] }), { typ: 'JWT' });
    expect(await check(validator, token, TOKEN_TYPE_JWT)).toMatchObject({
      status: 'valid',
      source: { kind: 'trusted', id: 'remote-idp', issuer: REMOTE },
    });
    expect((await check(validator, token, TOKEN_TYPE_JWT)).status).toBe('valid');
    expect(outbound.urls).toEqual([`${server.baseUrl}/jwks`]);
  });

  it('accepts an id_token whose aud is the caller', async () => {
    const { validator } = makeValidator();
    const token = await mint(own, { iss: ISSUER, sub: 'alice', aud: CALLER, azp: CALLER, iat: NOW_S, exp: NOW_S + 300 }, { typ: 'JWT' });
    expect((await check(validator, token, TOKEN_TYPE_ID_TOKEN)).status).toBe('valid');
    const untyped = await mint(own, { iss: ISSUER, sub: 'alice', aud: [CALLER], iat: NOW_S, exp: NOW_S + 300 }, { typ: undefined });
    expect((await check(validator, untyped, TOKEN_TYPE_ID_TOKEN)).status).toBe('valid');
  });

  it('accepts at+jwt and untyped tokens as the generic jwt type', async () => {
    const { validator } = makeValidator();
    expect((await check(validator, await mint(own, accessClaims()), TOKEN_TYPE_JWT)).status).toBe('valid');
    expect((await check(validator, await mint(own, accessClaims(), { typ: undefined }), TOKEN_TYPE_JWT)).status).toBe('valid');
  });

  it('accepts exp, nbf and iat within the clock skew', async () => {
    const { validator } = makeValidator();
    const token = await mint(own, accessClaims({ exp: NOW_S - 30, nbf: NOW_S + 30, iat: NOW_S + 30 }));
    expect((await check(validator, token)).status).toBe('valid');
  });

  it('lists the supported presented token types', () => {
    expect([...SUPPORTED_PRESENTED_TOKEN_TYPES].sort()).toEqual([TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT].sort());
  });
});

describe('tokens that are not meant for the caller', () => {
  it('refuses an own token whose aud and client_id name someone else', async () => {
    const { validator } = makeValidator();
    const token = await mint(own, accessClaims({ aud: 'client-b', client_id: 'client-b' }));
    expect(await check(validator, token)).toEqual({ status: 'invalid', reason: 'subject_token is not meant for this client' });
  });

  it('refuses an id_token matched only by client_id, or with another azp', async () => {
    const { validator } = makeValidator();
    const byClientId = await mint(own, { iss: ISSUER, sub: 'a', aud: 'client-b', client_id: CALLER, iat: NOW_S, exp: NOW_S + 60 }, { typ: 'JWT' });
    expect((await check(validator, byClientId, TOKEN_TYPE_ID_TOKEN)).status).toBe('invalid');
    const otherAzp = await mint(own, { iss: ISSUER, sub: 'a', aud: [CALLER, 'client-b'], azp: 'client-b', iat: NOW_S, exp: NOW_S + 60 }, { typ: 'JWT' });
    expect((await check(validator, otherAzp, TOKEN_TYPE_ID_TOKEN)).status).toBe('invalid');
  });

  it('refuses an id_token without sub or iat', async () => {
    const { validator } = makeValidator();
    const noSub = await mint(own, { iss: ISSUER, aud: CALLER, iat: NOW_S, exp: NOW_S + 60 }, { typ: 'JWT' });
    expect(await check(validator, noSub, TOKEN_TYPE_ID_TOKEN)).toEqual({ status: 'invalid', reason: 'subject_token has no sub claim' });
    const noIat = await mint(own, { iss: ISSUER, sub: 'a', aud: CALLER, exp: NOW_S + 60 }, { typ: 'JWT' });
    expect(await check(validator, noIat, TOKEN_TYPE_ID_TOKEN)).toEqual({ status: 'invalid', reason: 'subject_token has no iat claim' });
  });

  it('requires both the issuer audiences and the caller for a trusted issuer with audiences', async () => {
    const { validator } = makeValidator();
    const callerOnly = await mint(remote, accessClaims({ iss: REMOTE, aud: CALLER }), { typ: 'JWT' });
    expect(await check(validator, callerOnly, TOKEN_TYPE_JWT)).toEqual({
      status: 'invalid',
      reason: 'subject_token has an audience its issuer is not trusted for',
    });
    const apiOnly = await mint(remote, accessClaims({ iss: REMOTE, aud: 'https://api.test', client_id: 'other' }), { typ: 'JWT' });
    expect((await check(validator, apiOnly, TOKEN_TYPE_JWT)).status).toBe('invalid');
    const apiAndClientId = await mint(remote, accessClaims({ iss: REMOTE, aud: 'https://api.test', client_id: CALLER }), { typ: 'JWT' });
    expect((await check(validator, apiAndClientId, TOKEN_TYPE_JWT)).status).toBe('valid');
  });
});

describe('hostile tokens: refused before any outbound request', () => {
  // Each hostile token names the jwks_uri issuer where it can, so a fetch would be visible.
  const cases: Array<[string, () => Promise<string> | string, string, string?]> = [
    ['alg none', () => `${b64url('{"alg":"none","typ":"at+jwt"}')}.${b64url(JSON.stringify(accessClaims({ iss: REMOTE })))}.`, 'subject_token uses a signing algorithm that is not allowed'],
    ['alg none with a signature', () => `${b64url('{"alg":"none"}')}.${b64url(JSON.stringify(accessClaims()))}.c2ln`, 'subject_token uses a signing algorithm that is not allowed', TOKEN_TYPE_JWT],
    ['HS256 keyed with the public key PEM', () => hmacWithPublicPem({ kid: 'own-1', typ: 'at+jwt' }, accessClaims(), own), 'subject_token uses a signing algorithm that is not allowed'],
    ['HS256 naming the remote issuer', () => hmacWithPublicPem({ kid: 'idp-1', typ: 'at+jwt' }, accessClaims({ iss: REMOTE }), remote), 'subject_token uses a signing algorithm that is not allowed'],
    ['an unknown kid', () => mint(ecKey('nobody'), accessClaims()), 'subject_token is signed with an unknown key'],
    ['a foreign key with the right kid', () => mint(impostor, accessClaims()), 'subject_token signature is invalid'],
    ['an embedded jwk header and no kid', () => mint(impostor, accessClaims(), { kid: undefined, jwk: { ...impostor.publicJwk } }), 'subject_token signature is invalid'],
    ['a foreign key with the right kid at an inline issuer', () => mint({ ...rsaKey('p-1') }, accessClaims({ iss: PARTNER }), { typ: 'JWT' }), 'subject_token signature is invalid', TOKEN_TYPE_JWT],
    ['an algorithm outside the issuer allowed_algs', () => mint({ ...partner, alg: 'PS256' }, accessClaims({ iss: PARTNER }), { typ: 'JWT' }), 'subject_token uses a signing algorithm that is not allowed', TOKEN_TYPE_JWT],
    ['expired beyond the skew', () => mint(remote, accessClaims({ iss: REMOTE, exp: NOW_S - 61 })), 'subject_token has expired'],
    ['no exp', () => mint(remote, accessClaims({ iss: REMOTE, exp: undefined })), 'subject_token has no exp claim'],
    ['a string exp', () => mint(remote, accessClaims({ iss: REMOTE, exp: String(NOW_S + 60) })), 'subject_token has a malformed exp claim'],
    ['nbf in the future beyond the skew', () => mint(remote, accessClaims({ iss: REMOTE, nbf: NOW_S + 61 })), 'subject_token is not valid yet'],
    ['iat in the future beyond the skew', () => mint(remote, accessClaims({ iss: REMOTE, iat: NOW_S + 61 })), 'subject_token was issued in the future'],
    ['an id token presented as an access token', () => mint(remote, accessClaims({ iss: REMOTE }), { typ: 'JWT' }), 'subject_token has the wrong typ for its token type'],
    ['an untyped token presented as an access token', () => mint(own, accessClaims(), { typ: undefined }), 'subject_token has the wrong typ for its token type'],
    ['an access token presented as an id token', () => mint(remote, accessClaims({ iss: REMOTE })), 'subject_token has the wrong typ for its token type', TOKEN_TYPE_ID_TOKEN],
    ['a DPoP proof presented as a jwt', () => mint(remote, accessClaims({ iss: REMOTE }), { typ: 'dpop+jwt' }), 'subject_token has the wrong typ for its token type', TOKEN_TYPE_JWT],
    ['a non-string typ', () => signRaw('{"alg":"ES256","kid":"idp-1","typ":7}', JSON.stringify(accessClaims({ iss: REMOTE })), remote), 'subject_token has the wrong typ for its token type', TOKEN_TYPE_JWT],
    ['an oversized token', () => mint(remote, accessClaims({ iss: REMOTE, padding: 'x'.repeat(17_000) })), 'subject_token is too large'],
    ['an oversized non-token', () => 'a'.repeat(16_385), 'subject_token is too large'],
    ['padding in base64url', async () => (await mint(remote, accessClaims({ iss: REMOTE }))).replace('.', '==.'), 'subject_token is not a well-formed JWT'],
    ['base64 (not base64url) characters', async () => { const [h, p, s] = (await mint(remote, accessClaims({ iss: REMOTE }))).split('.'); return `${h}.${p}+/.${s}`; }, 'subject_token is not a well-formed JWT'],
    ['non-canonical base64url', () => `${nonCanonical(b64url('{"alg":"ES256","typ":"at+jwt" }'))}.${b64url(JSON.stringify(accessClaims({ iss: REMOTE })))}.c2ln`, 'subject_token is not a well-formed JWT'],
    ['a payload that is not JSON', () => `${b64url('{"alg":"ES256","kid":"idp-1","typ":"at+jwt"}')}.${b64url('{"iss":')}.c2ln`, 'subject_token is not a well-formed JWT'],
    ['a payload that is a JSON array', () => `${b64url('{"alg":"ES256","kid":"idp-1","typ":"at+jwt"}')}.${b64url('[1]')}.c2ln`, 'subject_token is not a well-formed JWT'],
    ['an empty signature', () => `${b64url('{"alg":"ES256","kid":"idp-1","typ":"at+jwt"}')}.${b64url(JSON.stringify(accessClaims({ iss: REMOTE })))}.`, 'subject_token is not a well-formed JWT'],
    ['a JWE', () => 'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn', 'subject_token is encrypted, which is not supported'],
    ['a crit header', () => signRaw('{"alg":"ES256","kid":"idp-1","typ":"at+jwt","crit":["exp"],"exp":1}', JSON.stringify(accessClaims({ iss: REMOTE })), remote), 'subject_token has a critical header that is not supported'],
    ['a malformed aud', () => mint(remote, accessClaims({ iss: REMOTE, aud: [CALLER, 5] })), 'subject_token has a malformed aud claim'],
    ['a non-string iss', () => mint(remote, accessClaims({ iss: 42 })), 'subject_token has a malformed iss claim'],
    ['a nested JSON bomb', () => `${b64url('{"alg":"ES256","kid":"idp-1","typ":"at+jwt"}')}.${b64url(`{"iss":"${REMOTE}","x":${'['.repeat(5000)}${']'.repeat(5000)}}`)}.c2ln`, 'subject_token is not a well-formed JWT'],
  ];

  for (const [name, makeToken, reason, tokenType] of cases) {
    it(`refuses ${name}`, async () => {
      const { validator, outbound } = makeValidator();
      const pathsBefore = server.requestedPaths.length;
      const result = await check(validator, await makeToken(), tokenType ?? TOKEN_TYPE_ACCESS_TOKEN);
      expect(result).toEqual({ status: 'invalid', reason });
      expect(outbound.urls).toEqual([]);
      expect(server.requestedPaths.length).toBe(pathsBefore);
    });
  }

  it('refuses duplicate member names in the header and in the claims, even when properly signed', async () => {
    const { validator, outbound } = makeValidator();
    const claimsText = JSON.stringify(accessClaims());
    const control = signRaw('{"alg":"ES256","kid":"own-1","typ":"at+jwt"}', claimsText, own);
    expect((await check(validator, control)).status).toBe('valid');

    const duplicateHeader = signRaw('{"alg":"ES256","kid":"own-1","typ":"at+jwt","typ":"JWT"}', claimsText, own);
    expect(await check(validator, duplicateHeader)).toEqual({ status: 'invalid', reason: 'subject_token has duplicate member names' });
    const duplicateClaim = signRaw('{"alg":"ES256","kid":"own-1","typ":"at+jwt"}', `${claimsText.slice(0, -1)},"aud":"client-b"}`, own);
    expect(await check(validator, duplicateClaim)).toEqual({ status: 'invalid', reason: 'subject_token has duplicate member names' });
    const escapedDuplicate = signRaw('{"alg":"ES256","kid":"own-1","typ":"at+jwt"}', `${claimsText.slice(0, -1)},"\\u0073ub":"mallory"}`, own);
    expect(await check(validator, escapedDuplicate)).toEqual({ status: 'invalid', reason: 'subject_token has duplicate member names' });
    const nestedDuplicate = signRaw('{"alg":"ES256","kid":"own-1","typ":"at+jwt"}', `${claimsText.slice(0, -1)},"act":{"sub":"a","sub":"b"}}`, own);
    expect(await check(validator, nestedDuplicate)).toEqual({ status: 'invalid', reason: 'subject_token has duplicate member names' });
    expect(outbound.urls).toEqual([]);
  });

  it('never requests jku or x5u, and never trusts a key they point to', async () => {
    const { validator, outbound } = makeValidator();
    const pointers = { jku: `${server.baseUrl}/evil-jwks`, x5u: `${server.baseUrl}/evil-x5u` };
    const forged = await mint(impostor, accessClaims({ iss: REMOTE, aud: [CALLER, 'https://api.test'] }), { ...pointers, kid: 'attacker', typ: 'JWT' });
    expect(await check(validator, forged, TOKEN_TYPE_JWT)).toEqual({ status: 'invalid', reason: 'subject_token is signed with an unknown key' });
    const genuine = await mint(remote, accessClaims({ iss: REMOTE, aud: [CALLER, 'https://api.test'] }), { ...pointers, typ: 'JWT' });
    expect((await check(validator, genuine, TOKEN_TYPE_JWT)).status).toBe('valid');
    expect(outbound.urls.every((url) => url === `${server.baseUrl}/jwks`)).toBe(true);
    expect(server.requestedPaths).not.toContain('/evil-jwks');
    expect(server.requestedPaths).not.toContain('/evil-x5u');
  });

  it('uses the role name in reasons and keeps them safe for error_description', async () => {
    const { validator } = makeValidator();
    const result = await check(validator, await mint(own, accessClaims({ exp: NOW_S - 600 })), TOKEN_TYPE_ACCESS_TOKEN, 'actor');
    expect(result).toEqual({ status: 'invalid', reason: 'actor_token has expired' });
    const hostile = `${b64url('{"alg":"none","x":"\\"\'\\\\€"}')}.${b64url('{}')}.`;
    for (const token of [hostile, 'opaque-€"\\', `${hostile}.x.y`]) {
      const outcome = await check(validator, token);
      expect(outcome.status).not.toBe('valid');
      if (outcome.status !== 'valid') expect(outcome.reason).toMatch(SAFE_REASON);
    }
  });
});

describe('one string per token (low-S ECDSA)', () => {
  it('refuses the high-S twin of a token this server issued, in exchange and introspection alike', async () => {
    const { validator } = makeValidator();
    const token = await mint(own, accessClaims());
    expect((await check(validator, token)).status).toBe('valid');
    expect((await validator.verifyOwnToken(token)).ok).toBe(true);
    const twin = highSTwin(token);
    expect(twin).not.toBe(token);
    const refused = await check(validator, twin);
    expect(refused.status).toBe('invalid');
    expect(refused.status === 'invalid' && refused.reason).toMatch(/signature is invalid/);
    expect((await validator.verifyOwnToken(twin)).ok).toBe(false);
  });

  it('accepts either form from a trusted issuer, whose signer it does not control', async () => {
    const { validator } = makeValidator();
    const token = await mint(remote, accessClaims({ iss: REMOTE, aud: [CALLER, 'https://api.test'] }));
    expect((await check(validator, token)).status).toBe('valid');
    expect((await check(validator, highSTwin(token))).status).toBe('valid');
  });

  it('keeps accepting both forms of own tokens issued before the server normalised S, until they expire', async () => {
    const before = Date.UTC(2026, 11, 5, 12) / 1000;
    const { validator } = makeValidator({ now: () => before * 1000 });
    const token = await mint(own, accessClaims({ iat: before, exp: before + 300 }));
    expect((await check(validator, highSTwin(token))).status).toBe('valid');
  });
});

describe('unvalidated and unsupported', () => {
  it('reports opaque tokens and tokens from unknown or missing issuers as unvalidated', async () => {
    const { validator, outbound } = makeValidator();
    expect(await check(validator, 'accVkjcJyb4BWCxGsndESCJQbdFMogUC5PbRDqceLTC')).toEqual({
      status: 'unvalidated',
      reason: 'subject_token is not a JWT',
    });
    const foreign = await mint(ecKey('k'), accessClaims({ iss: 'https://evil.test' }));
    expect(await check(validator, foreign)).toEqual({ status: 'unvalidated', reason: 'subject_token is not from a trusted issuer' });
    const noIssuer = await mint(ecKey('k'), accessClaims({ iss: undefined }));
    expect(await check(validator, noIssuer)).toEqual({ status: 'unvalidated', reason: 'subject_token has no issuer' });
    expect(outbound.urls).toEqual([]);
  });

  it('refuses refresh tokens and unknown token types outright', async () => {
    const { validator } = makeValidator();
    const token = await mint(own, accessClaims());
    expect(await check(validator, token, TOKEN_TYPE_REFRESH_TOKEN)).toEqual({ status: 'invalid', reason: 'unsupported subject_token_type' });
    expect(await check(validator, 'opaque', 'urn:ietf:params:oauth:token-type:saml2', 'actor')).toEqual({
      status: 'invalid',
      reason: 'unsupported actor_token_type',
    });
  });

  it('refuses an empty token', async () => {
    const { validator } = makeValidator();
    expect(await check(validator, '')).toEqual({ status: 'invalid', reason: 'subject_token is empty' });
  });
});

describe('configuration guards', () => {
  it('refuses to allow none or HMAC algorithms, or more than 60 s of skew', () => {
    expect(() => makeValidator({ allowedAlgorithms: ['ES256', 'HS256'] })).toThrow(RangeError);
    expect(() => makeValidator({ allowedAlgorithms: ['none'] })).toThrow(RangeError);
    expect(() => makeValidator({ clockSkewSeconds: 61 })).toThrow(RangeError);
  });

  it('honours a narrower algorithm allowlist', async () => {
    const { validator } = makeValidator({ allowedAlgorithms: ['RS256'] });
    expect(await check(validator, await mint(own, accessClaims()))).toEqual({
      status: 'invalid',
      reason: 'subject_token uses a signing algorithm that is not allowed',
    });
  });

  it('never uses an own key that carries private material', async () => {
    const privateJwk = { ...own.privateKey.export({ format: 'jwk' }), kid: 'own-1', alg: 'ES256' };
    const { validator } = makeValidator({ ownPublicKeys: () => [privateJwk] });
    expect(await check(validator, await mint(own, accessClaims()))).toEqual({
      status: 'invalid',
      reason: 'subject_token is signed with an unknown key',
    });
  });
});
