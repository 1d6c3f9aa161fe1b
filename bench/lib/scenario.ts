/**
 * What every target is asked to do, identically: an RFC 8693 exchange of an ES256 `at+jwt` subject
 * token from a trusted identity provider (aud includes the caller, scope `invoicing
 * trigger_invoicing`), requesting `scope=invoicing`, authenticated with client_secret_basic.
 * Requests rotate through a pool of distinct subject tokens, so no target can answer from a cache
 * keyed by the token.
 */
import crypto from 'node:crypto';
import { generateEs256KeyPair, signEs256 } from './es256.ts';
import type { Es256KeyPair } from './es256.ts';
import type { ClientRecord } from '../../server/store/types.ts';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const IDP_ISSUER = 'https://idp.bench.example';
export const RESOURCE_AUDIENCE = 'https://invoicing.example.com';
export const SUBJECT_SCOPE = 'invoicing trigger_invoicing';
export const REQUESTED_SCOPE = 'invoicing';
export const TOKEN_PATH = '/oauth/v2/oauth-token';
/** Subject tokens live long enough for any bounded run. */
const SUBJECT_LIFETIME_SECONDS = 4 * 3600;

export interface BenchClient {
  readonly id: string;
  readonly secret: string;
}

export function newClient(id: string): BenchClient {
  return { id, secret: crypto.randomBytes(24).toString('base64url') };
}

export function basicAuthorization(client: BenchClient): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(client.id)}:${encode(client.secret)}`).toString('base64')}`;
}

export interface IdentityProvider {
  readonly issuer: string;
  readonly key: Es256KeyPair;
  /** A subject token meant for `clientId`. */
  mint(clientId: string, subject: string): string;
}

export function createIdentityProvider(): IdentityProvider {
  const key = generateEs256KeyPair();
  return {
    issuer: IDP_ISSUER,
    key,
    mint(clientId, subject) {
      const now = Math.floor(Date.now() / 1000);
      return signEs256(key, { typ: 'at+jwt' }, {
        iss: IDP_ISSUER,
        sub: subject,
        aud: [clientId, RESOURCE_AUDIENCE],
        client_id: 'web-app',
        scope: SUBJECT_SCOPE,
        iat: now,
        exp: now + SUBJECT_LIFETIME_SECONDS,
        jti: crypto.randomBytes(16).toString('base64url'),
      });
    },
  };
}

export function exchangeBody(subjectToken: string): string {
  return new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    scope: REQUESTED_SCOPE,
  }).toString();
}

export const CLIENT_CREDENTIALS_BODY = new URLSearchParams({ grant_type: 'client_credentials', scope: REQUESTED_SCOPE }).toString();

/** A fixed set of request bodies, handed out round-robin. */
export interface BodyPool {
  readonly size: number;
  next(): string;
  sample(): string;
}

export function bodyPool(bodies: readonly string[]): BodyPool {
  if (bodies.length === 0) throw new RangeError('a body pool needs at least one body');
  let index = 0;
  return {
    size: bodies.length,
    next() {
      const body = bodies[index % bodies.length] as string;
      index = (index + 1) % bodies.length;
      return body;
    },
    sample: () => bodies[0] as string,
  };
}

/** `count` exchange bodies, each with its own subject token (distinct `sub` and `jti`). */
export function exchangeBodies(idp: IdentityProvider, clientId: string, count: number): BodyPool {
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) bodies.push(exchangeBody(idp.mint(clientId, `user-${i}`)));
  return bodyPool(bodies);
}

/** A bench client as the store holds it: both grants, the subject's scopes, the resource audience. */
export function benchClientRecord(clientId: string, options: { secretHash?: string | null; procedures?: ClientRecord['procedures'] } = {}): ClientRecord {
  const now = Math.floor(Date.now() / 1000);
  return {
    client_id: clientId,
    client_secret_hash: options.secretHash ?? null,
    token_endpoint_auth_method: 'client_secret_basic',
    jwks: null,
    grant_types: [TOKEN_EXCHANGE, 'client_credentials'],
    scope: SUBJECT_SCOPE,
    audiences: [RESOURCE_AUDIENCE],
    properties: {},
    procedures: options.procedures ?? {},
    access_token_ttl: 300,
    accept_unvalidated_tokens: false,
    created_at: now,
    updated_at: now,
  };
}
