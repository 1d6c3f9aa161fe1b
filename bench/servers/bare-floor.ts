/**
 * The floor: the least a token exchange can cost on this machine. Plain node:http, the urlencoded
 * body parsed by hand, the ES256 subject JWT verified and a new ES256 token signed with
 * node:crypto, nothing else (no framework, no client authentication, no logging, no sandbox).
 * Configuration arrives as JSON in BENCH_SERVER_CONFIG; prints `{"message":"listening","port":N}`.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { keyPairFromJwk, signEs256, verifyEs256 } from '../lib/es256.ts';
import type { PrivateEcJwk, PublicEcJwk } from '../lib/es256.ts';
import { listenForBench } from './listen.ts';

export interface BareFloorConfig {
  idpIssuer: string;
  idpPublicJwk: PublicEcJwk;
  signingJwk: PrivateEcJwk;
  issuer: string;
}

const config = JSON.parse(process.env.BENCH_SERVER_CONFIG ?? '{}') as BareFloorConfig;
const idpKey = crypto.createPublicKey({ key: config.idpPublicJwk, format: 'jwk' });
const signingKey = keyPairFromJwk(config.signingJwk);

function decode(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

/** application/x-www-form-urlencoded, by hand. */
function parseForm(body: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const pair of body.split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0) params.set(decode(pair.slice(0, eq)), decode(pair.slice(eq + 1)));
  }
  return params;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function exchange(body: string): { status: number; body: unknown } {
  const params = parseForm(body);
  const subjectToken = params.get('subject_token');
  if (!subjectToken) return { status: 400, body: { error: 'invalid_request' } };
  const verified = verifyEs256(subjectToken, idpKey);
  const now = Math.floor(Date.now() / 1000);
  const claims = verified?.claims;
  if (!claims || claims.iss !== config.idpIssuer || typeof claims.exp !== 'number' || claims.exp <= now || typeof claims.sub !== 'string') {
    return { status: 400, body: { error: 'invalid_request' } };
  }
  const scope = params.get('scope') ?? '';
  const exp = Math.min(claims.exp, now + 300);
  const accessToken = signEs256(signingKey, { typ: 'at+jwt' }, {
    iss: config.issuer,
    sub: claims.sub,
    aud: claims.aud,
    client_id: claims.client_id,
    scope,
    iat: now,
    exp,
    jti: crypto.randomBytes(18).toString('base64url'),
  });
  return {
    status: 200,
    body: { access_token: accessToken, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: exp - now, scope },
  };
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      const result = exchange(Buffer.concat(chunks).toString('utf8'));
      send(res, result.status, result.body);
    } catch {
      send(res, 400, { error: 'invalid_request' });
    }
  });
});
listenForBench(server);
