/**
 * Hostile subject and actor tokens over HTTP: each is refused with 400 invalid_request (never
 * invalid_grant) before any procedure runs, a forged token never reaches a procedure even for a
 * client that accepts unvalidated tokens, and key-locating headers (jku, x5u, jwk) never cause a
 * request or select a key.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import { AT_TYPE, clientBody, ID_TOKEN_TYPE, startTestServer, TOKEN_EXCHANGE, type HttpResult, type TestServer } from '../helpers/server.ts';

const SECRET = 'hostile-secret-0123456789abcdef';
const CLIENT = 'resource-api';
const OPEN_CLIENT = 'open-api';
const TRUSTED_ISSUER = 'https://trusted-idp.example.com';
const REMOTE_ISSUER = 'https://remote-idp.example.com';
const PICKY_ISSUER = 'https://picky-idp.example.com';
const RSA_ONLY_ISSUER = 'https://rsa-only-idp.example.com';

/** An ES256 key pair with the raw pieces a forger needs. */
interface SigningKey {
  kid: string;
  privateKey: jose.CryptoKey;
  publicJwk: jose.JWK;
  publicPem: string;
}

let server: TestServer;
let trusted: SigningKey;
let remote: SigningKey;
let attacker: SigningKey;
let picky: SigningKey;
let jwksHost: http.Server;
let attackerHost: http.Server;
const hits = { jwks: 0, attacker: 0 };

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    privateKey,
    publicJwk: { ...(await jose.exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
    publicPem: await jose.exportSPKI(publicKey),
  };
}

const b64url = (text: string) => Buffer.from(text).toString('base64url');

/** Signs exactly the given header and payload text (so duplicate members and odd encodings survive). */
async function signRaw(headerSegment: string, payloadSegment: string, key: jose.CryptoKey): Promise<string> {
  const input = `${headerSegment}.${payloadSegment}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: TRUSTED_ISSUER, sub: 'alice', aud: CLIENT, client_id: 'web-app', scope: 'read', iat: now, exp: now + 300, jti: crypto.randomUUID(), ...overrides };
}

async function sign(key: SigningKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return signRaw(b64url(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header })), b64url(JSON.stringify(payload)), key.privateKey);
}

function expectNoStore(headers: Headers): void {
  expect(headers.get('cache-control')).toBe('no-store');
  expect(headers.get('pragma')).toBe('no-cache');
}

/** 400 invalid_request; `reason` pins down which check refused it (the description names it). */
function expectRefused(result: HttpResult, label: string, reason?: RegExp): void {
  expect({ label, status: result.status, error: result.body.error }).toEqual({ label, status: 400, error: 'invalid_request' });
  expectNoStore(result.headers);
  if (reason) expect({ label, description: String(result.body.error_description) }).toEqual({ label, description: expect.stringMatching(reason) });
}

async function exchange(form: Record<string, string>, caller = CLIENT): Promise<HttpResult> {
  return server.token({ grant_type: TOKEN_EXCHANGE, subject_token_type: AT_TYPE, ...form }, { id: caller, secret: SECRET });
}

/** A local HTTP server that counts every request it gets. */
async function countingServer(onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<http.Server> {
  const host = http.createServer(onRequest);
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  return host;
}

const portOf = (host: http.Server) => (host.address() as AddressInfo).port;

async function closeHost(host: http.Server | undefined): Promise<void> {
  if (!host) return;
  host.closeAllConnections();
  await new Promise<void>((resolve) => host.close(() => resolve()));
}

/** Payload text whose standard base64 uses `+`, `/` or `=`: not base64url, however it is signed. */
function nonCanonicalPayloadSegment(): string {
  for (let pad = 0; pad < 200; pad++) {
    const encoded = Buffer.from(JSON.stringify(claims({ pad: '~?>'.repeat(4) + 'x'.repeat(pad) }))).toString('base64');
    if (/[+/]/.test(encoded) && encoded.endsWith('=')) return encoded;
  }
  throw new Error('no non-canonical payload found');
}

interface HostileToken {
  label: string;
  token: string;
  /** The token type it is declared as. */
  type: string;
  /** What the refusal's description names. */
  reason: RegExp;
}

let hostileList: Promise<HostileToken[]> | null = null;

/** The hostile tokens, built once: the same values are sent as subject and actor, then looked for in the logs. */
function hostileTokens(): Promise<HostileToken[]> {
  hostileList ??= buildHostileTokens();
  return hostileList;
}

async function buildHostileTokens(): Promise<HostileToken[]> {
  const now = Math.floor(Date.now() / 1000);
  const header = (extra: Record<string, unknown>) => b64url(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: trusted.kid, ...extra }));
  const goodPayload = b64url(JSON.stringify(claims()));
  const list: HostileToken[] = [
    { label: 'alg none', token: `${b64url(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: trusted.kid }))}.${goodPayload}.`, type: AT_TYPE, reason: /algorithm/ },
    {
      label: 'HMAC with the issuer public key as secret',
      token: await new jose.SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: trusted.kid }).sign(new TextEncoder().encode(trusted.publicPem)),
      type: AT_TYPE, reason: /algorithm/,
    },
    {
      label: 'HMAC with the issuer public JWK as secret',
      token: await new jose.SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: trusted.kid }).sign(new TextEncoder().encode(JSON.stringify(trusted.publicJwk))),
      type: AT_TYPE, reason: /algorithm/,
    },
    { label: 'unknown kid', token: await sign(trusted, claims(), { kid: 'no-such-kid' }), type: AT_TYPE, reason: /unknown key/ },
    { label: 'foreign key with the right kid', token: await sign(attacker, claims(), { kid: trusted.kid }), type: AT_TYPE, reason: /signature/ },
    { label: 'foreign key embedded as jwk', token: await sign(attacker, claims(), { kid: undefined, jwk: attacker.publicJwk }), type: AT_TYPE, reason: /signature/ },
    { label: 'expired', token: await sign(trusted, claims({ iat: now - 900, exp: now - 120 })), type: AT_TYPE, reason: /expired/ },
    { label: 'nbf beyond the skew', token: await sign(trusted, claims({ nbf: now + 300 })), type: AT_TYPE, reason: /not valid yet/ },
    { label: 'iat beyond the skew', token: await sign(trusted, claims({ iat: now + 300, exp: now + 900 })), type: AT_TYPE, reason: /future/ },
    { label: 'no exp', token: await sign(trusted, claims({ exp: undefined })), type: AT_TYPE, reason: /no exp claim/ },
    { label: 'unknown iss', token: await sign(trusted, claims({ iss: 'https://evil.example.com' })), type: AT_TYPE, reason: /trusted issuer/ },
    { label: 'this server as iss, signed by another key', token: await sign(trusted, claims({ iss: server.issuer })), type: AT_TYPE, reason: /unknown key|signature/ },
    { label: 'ID token declared as access_token', token: await sign(trusted, claims(), { typ: 'JWT' }), type: AT_TYPE, reason: /typ/ },
    { label: 'access token declared as id_token', token: await sign(trusted, claims()), type: ID_TOKEN_TYPE, reason: /typ/ },
    { label: 'oversized (> 16 KiB)', token: await sign(trusted, claims({ pad: 'x'.repeat(17 * 1024) })), type: AT_TYPE, reason: /too large/ },
    { label: 'malformed base64url payload', token: await signRaw(header({}), nonCanonicalPayloadSegment(), trusted.privateKey), type: AT_TYPE, reason: /well-formed/ },
    { label: 'padded base64url header', token: await signRaw(`${header({})}=`, goodPayload, trusted.privateKey), type: AT_TYPE, reason: /well-formed/ },
    {
      label: 'duplicate claim names',
      token: await signRaw(header({}), b64url(`${JSON.stringify(claims()).slice(0, -1)},"sub":"admin"}`), trusted.privateKey),
      type: AT_TYPE, reason: /duplicate/,
    },
    {
      label: 'duplicate header names',
      token: await signRaw(b64url(`{"alg":"none","typ":"at+jwt","kid":"${trusted.kid}","alg":"ES256"}`), goodPayload, trusted.privateKey),
      type: AT_TYPE, reason: /duplicate/,
    },
    { label: 'unknown crit header', token: await sign(trusted, claims(), { crit: ['x-unknown'], 'x-unknown': 1 }), type: AT_TYPE, reason: /critical/ },
    { label: 'JWE-shaped', token: `${header({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`, type: AT_TYPE, reason: /encrypted/ },
    { label: 'not meant for the caller', token: await sign(trusted, claims({ aud: 'another-api', client_id: 'web-app' })), type: AT_TYPE, reason: /not meant for this client/ },
    { label: 'malformed aud', token: await sign(trusted, claims({ aud: { id: CLIENT } })), type: AT_TYPE, reason: /aud/ },
  ];
  return list;
}

beforeAll(async () => {
  [trusted, remote, attacker, picky] = await Promise.all([signingKey('trusted-1'), signingKey('remote-1'), signingKey('attacker-1'), signingKey('picky-1')]);
  jwksHost = await countingServer((_req, res) => {
    hits.jwks++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [remote.publicJwk] }));
  });
  attackerHost = await countingServer((_req, res) => {
    hits.attacker++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.publicJwk] }));
  });
  server = await startTestServer();
  const registrations = [
    server.admin('PUT', '/trusted-issuers/trusted', { issuer: TRUSTED_ISSUER, jwks: { keys: [trusted.publicJwk] } }),
    server.admin('PUT', '/trusted-issuers/remote', { issuer: REMOTE_ISSUER, jwks_uri: `http://127.0.0.1:${portOf(jwksHost)}/jwks` }),
    server.admin('PUT', '/trusted-issuers/picky', {
      issuer: PICKY_ISSUER,
      jwks: { keys: [picky.publicJwk] },
      allowed_algs: ['ES256'],
      audiences: ['https://gateway.example.com'],
    }),
    server.admin('PUT', '/trusted-issuers/rsa-only', { issuer: RSA_ONLY_ISSUER, jwks: { keys: [picky.publicJwk] }, allowed_algs: ['RS256'] }),
    server.admin('PUT', `/clients/${CLIENT}`, clientBody({ client_secret: SECRET, scope: 'read' })),
    server.admin('PUT', '/procedures/opaque-aware', {
      flow: 'oauth-token-oauth-token-exchange',
      source: OPAQUE_AWARE_PROCEDURE,
    }),
  ];
  for (const result of await Promise.all(registrations)) expect([200, 201]).toContain(result.status);
  const open = await server.admin(
    'PUT',
    `/clients/${OPEN_CLIENT}`,
    clientBody({ client_secret: SECRET, scope: 'read', accept_unvalidated_tokens: true, procedures: { 'oauth-token-oauth-token-exchange': 'opaque-aware' } }),
  );
  expect([200, 201]).toContain(open.status);
});

afterAll(async () => {
  await server?.stop();
  await Promise.all([closeHost(jwksHost), closeHost(attackerHost)]);
});

/**
 * Issues a token describing what it was given: whether the server validated the subject, and the
 * subject's `sub` when it did. It never echoes the raw token value.
 */
const OPAQUE_AWARE_PROCEDURE = `
function result(context) {
  var subject = context.getPresentedSubjectToken();
  var fullContext = context.getInitializedContext(null, null, [], ['read']);
  var data = fullContext.getDefaultAccessTokenData();
  data.sub = subject ? subject.sub : 'unvalidated';
  data.subject_validated = subject !== null;
  data.subject_value_length = context.getSubjectTokenValue().length;
  return {
    access_token: fullContext.getDefaultAccessTokenJwtIssuer().issue(data, null),
    token_type: 'Bearer',
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    expires_in: 300,
  };
}
`;

describe('control: a well-formed token from each trusted issuer is accepted', () => {
  it('inline keys and jwks_uri keys both verify', async () => {
    const inline = await exchange({ subject_token: await sign(trusted, claims()) });
    expect(inline.status).toBe(200);
    expectNoStore(inline.headers);
    const viaUri = await exchange({ subject_token: await sign(remote, claims({ iss: REMOTE_ISSUER })) });
    expect(viaUri.status).toBe(200);
    expect(hits.jwks).toBeGreaterThanOrEqual(1);
    const delegated = await exchange({ subject_token: await sign(trusted, claims()), actor_token: await sign(remote, claims({ iss: REMOTE_ISSUER, sub: 'svc' })), actor_token_type: AT_TYPE });
    expect(delegated.status).toBe(200);
    expect(jose.decodeJwt(String(delegated.body.access_token)).act).toEqual({ sub: 'svc', client_id: 'web-app', iss: REMOTE_ISSUER });
  });
});

describe('hostile subject tokens', () => {
  it('each is refused with invalid_request, never invalid_grant', async () => {
    for (const { label, token, type, reason } of await hostileTokens()) {
      const result = await exchange({ subject_token: token, subject_token_type: type });
      expect(result.body.error).not.toBe('invalid_grant');
      expectRefused(result, label, new RegExp(`^subject_token.*${reason.source}`));
    }
  });
});

describe('hostile actor tokens', () => {
  it('each is refused with invalid_request alongside a valid subject', async () => {
    for (const { label, token, type, reason } of await hostileTokens()) {
      const result = await exchange({ subject_token: await sign(trusted, claims()), actor_token: token, actor_token_type: type });
      expect(result.body.error).not.toBe('invalid_grant');
      expectRefused(result, `actor: ${label}`, new RegExp(`^actor_token.*${reason.source}`));
    }
  });
});

describe('trusted issuer restrictions', () => {
  it('allowed_algs and audiences of a trusted issuer are enforced', async () => {
    const both = [CLIENT, 'https://gateway.example.com'];
    expect((await exchange({ subject_token: await sign(picky, claims({ iss: PICKY_ISSUER, aud: both })) })).status).toBe(200);
    // Meant for the caller, but not for an audience the issuer is trusted for.
    expectRefused(await exchange({ subject_token: await sign(picky, claims({ iss: PICKY_ISSUER, aud: CLIENT })) }), 'issuer audiences', /audience its issuer/);
    // ES256 is not among the issuer's allowed_algs, even with its own registered key.
    expectRefused(await exchange({ subject_token: await sign(picky, claims({ iss: RSA_ONLY_ISSUER, aud: both })) }), 'alg not allowed', /algorithm/);
  });
});

describe('key-locating headers', () => {
  it('jku and x5u never cause a request and never select a key', async () => {
    const attackerBase = `http://127.0.0.1:${portOf(attackerHost)}`;
    const headers = { jku: `${attackerBase}/jwks`, x5u: `${attackerBase}/cert.pem` };
    const forged = [
      await sign(attacker, claims({ iss: REMOTE_ISSUER }), { ...headers, kid: attacker.kid }),
      await sign(attacker, claims({ iss: REMOTE_ISSUER }), { ...headers, kid: remote.kid }),
      await sign(attacker, claims({ iss: REMOTE_ISSUER }), { ...headers, kid: undefined }),
      await sign(attacker, claims(), { ...headers, kid: attacker.kid }),
    ];
    for (const [index, token] of forged.entries()) {
      expectRefused(await exchange({ subject_token: token }), `forged ${index}`, /^subject_token (is signed with an unknown key|signature is invalid)$/);
      expectRefused(await exchange({ subject_token: await sign(trusted, claims()), actor_token: token, actor_token_type: AT_TYPE }), `forged actor ${index}`, /^actor_token (is signed with an unknown key|signature is invalid)$/);
    }
    // A genuine token with the same headers still verifies, with the registered key only.
    const genuine = await exchange({ subject_token: await sign(remote, claims({ iss: REMOTE_ISSUER }), headers) });
    expect(genuine.status).toBe(200);
    expect(hits.attacker).toBe(0);
  });
});

describe('accept_unvalidated_tokens', () => {
  it('lets opaque and unknown-issuer tokens reach the procedure as null', async () => {
    const opaque = await exchange({ subject_token: 'opaque-reference-token-value' }, OPEN_CLIENT);
    expect(opaque.status).toBe(200);
    expect(jose.decodeJwt(String(opaque.body.access_token))).toMatchObject({ sub: 'unvalidated', subject_validated: false, subject_value_length: 28 });
    const unknownIssuer = await exchange({ subject_token: await sign(trusted, claims({ iss: 'https://unknown.example.com', aud: OPEN_CLIENT })) }, OPEN_CLIENT);
    expect(unknownIssuer.status).toBe(200);
    expect(jose.decodeJwt(String(unknownIssuer.body.access_token))).toMatchObject({ sub: 'unvalidated', subject_validated: false });
    const validated = await exchange({ subject_token: await sign(trusted, claims({ aud: OPEN_CLIENT })) }, OPEN_CLIENT);
    expect(jose.decodeJwt(String(validated.body.access_token))).toMatchObject({ sub: 'alice', subject_validated: true });
  });

  it('never lets a forged token from a known issuer through', async () => {
    const forged = [
      await sign(attacker, claims({ aud: OPEN_CLIENT }), { kid: trusted.kid }),
      await sign(attacker, claims({ aud: OPEN_CLIENT, iss: server.issuer })),
      await sign(trusted, claims({ aud: OPEN_CLIENT, exp: Math.floor(Date.now() / 1000) - 300 })),
      await sign(trusted, claims({ aud: 'another-api' })),
      `${b64url(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${b64url(JSON.stringify(claims({ aud: OPEN_CLIENT })))}.`,
    ];
    for (const [index, token] of forged.entries()) expectRefused(await exchange({ subject_token: token }, OPEN_CLIENT), `forged ${index}`);
  });
});

describe('logs', () => {
  it('never contain a hostile token value', async () => {
    const output = server.output();
    for (const { label, token } of await hostileTokens()) {
      const signature = token.split('.')[2] ?? '';
      if (signature.length > 20) expect({ label, leaked: output.includes(signature) }).toEqual({ label, leaked: false });
    }
    expect(output).not.toContain('opaque-reference-token-value');
  });
});
