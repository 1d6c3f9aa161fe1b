/**
 * Before a target is measured, one request is checked: a 200 whose access_token is an ES256 JWT
 * that verifies against the target's published key, for the expected subject and scope. A target
 * that answers anything else is not measured (fast errors are not throughput).
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { verifyEs256 } from './es256.ts';
import type { PublicEcJwk } from './es256.ts';

export interface CheckRequest {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Keys the issued token must verify against. */
  keys: readonly PublicEcJwk[] | readonly crypto.JsonWebKey[];
  expectScope: string;
  /** Expected `sub`, or null to only require one. */
  expectSub: string | null;
}

export async function checkTokenResponse(request: CheckRequest): Promise<Record<string, unknown>> {
  const response = await fetch(`${request.origin}${request.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...request.headers },
    body: request.body,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${request.origin} answered ${response.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as Record<string, unknown>;
  const token = body.access_token;
  if (typeof token !== 'string') throw new Error(`${request.origin} answered without an access_token: ${text.slice(0, 300)}`);
  const publicKeys: KeyObject[] = request.keys.map((jwk) => crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' }));
  const verified = publicKeys.map((key) => verifyEs256(token, key)).find((v) => v !== null);
  if (!verified) throw new Error(`${request.origin} issued a token that does not verify against its keys`);
  if (verified.claims.scope !== request.expectScope) throw new Error(`${request.origin} issued scope ${String(verified.claims.scope)}, expected ${request.expectScope}`);
  if (typeof verified.claims.sub !== 'string' || (request.expectSub !== null && verified.claims.sub !== request.expectSub)) {
    throw new Error(`${request.origin} issued sub ${String(verified.claims.sub)}`);
  }
  return verified.claims;
}
