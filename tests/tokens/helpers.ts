/** Shared fixtures for tests/tokens: keys, token minting (jose and byte-level), a loopback JWKS server. */
import { constants, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import type { JWTHeaderParameters } from 'jose';
import type { TrustedIssuerRecord } from '../../server/store/types.ts';
import { toLowS } from '../../server/tokens/ecdsa-signature.ts';
import type { JsonWebKeyLike } from '../../server/tokens/presented-token-validator.ts';

export const NOW_MS = 1_800_000_000_000;
export const NOW_S = NOW_MS / 1000;

export interface TestKey {
  readonly kid: string;
  readonly alg: 'ES256' | 'RS256' | 'PS256';
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicJwk: JsonWebKeyLike;
}

export function ecKey(kid: string): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg: 'ES256', privateKey, publicKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } };
}

export function rsaKey(kid: string, alg: 'RS256' | 'PS256' = 'RS256', withAlg = true): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk: Record<string, unknown> = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' };
  if (withAlg) jwk.alg = alg;
  return { kid, alg, privateKey, publicKey, publicJwk: jwk };
}

/** A normal token, signed by jose (so verification is checked against an independent signer). */
export async function mint(
  key: TestKey,
  claims: Record<string, unknown>,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header } as JWTHeaderParameters)
    .sign(key.privateKey);
  return key.alg === 'ES256' ? withSignature(token, toLowS(signatureOf(token), 32)) : token;
}

export const signatureOf = (token: string): Buffer => Buffer.from(token.split('.')[2] ?? '', 'base64url');
export const withSignature = (token: string, signature: Buffer): string => `${token.split('.').slice(0, 2).join('.')}.${signature.toString('base64url')}`;

/** The other valid ES256 signature of the same token: s replaced by n - s. */
export function highSTwin(token: string): string {
  const low = signatureOf(token);
  const order = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const s = order - BigInt(`0x${low.subarray(32).toString('hex')}`);
  const twin = Buffer.from(low);
  twin.write(s.toString(16).padStart(64, '0'), 32, 'hex');
  return withSignature(token, twin);
}

export const b64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** Signs exact header and payload texts (for duplicate members and other byte-level cases). */
export function signRaw(headerText: string, payloadText: string, key: TestKey): string {
  const input = `${b64url(headerText)}.${b64url(payloadText)}`;
  const data = Buffer.from(input, 'ascii');
  let signature: Buffer;
  // Low S, as this server's own signer makes them (ecdsa-signature.ts): tests sign "own" tokens here too.
  if (key.alg === 'ES256') signature = toLowS(sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }), 32);
  else if (key.alg === 'PS256') signature = sign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  else signature = sign('sha256', data, key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** The classic key-confusion forgery: HS256 with the issuer's public key PEM as the HMAC secret. */
export function hmacWithPublicPem(header: Record<string, unknown>, claims: Record<string, unknown>, key: TestKey): string {
  const input = `${b64url(JSON.stringify({ ...header, alg: 'HS256' }))}.${b64url(JSON.stringify(claims))}`;
  const pem = key.publicKey.export({ format: 'pem', type: 'spki' });
  return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
}

export function trustedIssuer(fields: Partial<TrustedIssuerRecord> & Pick<TrustedIssuerRecord, 'id' | 'issuer'>): TrustedIssuerRecord {
  return { created_at: 0, updated_at: 0, ...fields };
}

/** A fetch that counts and records every outbound request, then performs it for real. */
export interface CountingFetch {
  readonly fetch: typeof globalThis.fetch;
  readonly urls: string[];
}

export function countingFetch(): CountingFetch {
  const urls: string[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    urls.push(input instanceof Request ? input.url : String(input));
    return globalThis.fetch(input, init);
  };
  return { fetch, urls };
}

type Route = (request: IncomingMessage, response: ServerResponse) => void;

/** A loopback HTTP server with settable routes that logs every path it was asked for. */
export interface LoopbackServer {
  readonly baseUrl: string;
  readonly requestedPaths: string[];
  route(path: string, handler: Route): void;
  serveJson(path: string, body: unknown): void;
  close(): Promise<void>;
}

export async function startLoopbackServer(): Promise<LoopbackServer> {
  const routes = new Map<string, Route>();
  const requestedPaths: string[] = [];
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    requestedPaths.push(path);
    const handler = routes.get(path);
    if (handler) handler(request, response);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requestedPaths,
    route(path, handler) {
      routes.set(path, handler);
    },
    serveJson(path, body) {
      routes.set(path, (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** RFC 6749 §5.2 error_description characters, minus quotes and backslashes (the brief's rule). */
export const SAFE_REASON = /^[\x20\x21\x23-\x26\x28-\x5b\x5d-\x7e]+$/;
