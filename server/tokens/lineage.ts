/**
 * Token lineage: every token this server issues names the tokens it derives from, so revoking one
 * revokes its descendants without a store write at issuance (the exchange's hot path).
 *
 * The lineage is the host-set claim `tkp_chain` (no procedure can set or remove it; for opaque
 * access tokens and refresh tokens it is kept with the stored claims): the ids of the ancestors,
 * nearest first. A token is inactive when its own id or any id of its lineage is revoked.
 *
 * - A token exchange's tokens derive from the subject token and, when there is one, the actor
 *   token: `[subject id, ...subject's lineage, actor id, ...actor's lineage]`. Revoking the actor
 *   token therefore revokes what was issued on its authority too.
 * - A refresh grant's tokens derive from the refresh family: `[family id, ...family's lineage]`.
 * - Tokens issued beside a refresh token (an exchange or client_credentials of a client allowed
 *   refresh tokens) also name that token's family, so revoking the refresh token revokes the access
 *   tokens of the same grant (RFC 7009 §2.1).
 *
 * Ids: our JWTs and opaque access tokens are known by their `jti`, refresh families by their family
 * id. A token from a trusted issuer is known by a hash of (iss, jti), or of its value when it has no
 * `jti`; such ids cannot be revoked here (the revocation endpoint only knows this server's tokens),
 * but they keep lineages uniform.
 */
import { createHash } from 'node:crypto';
import { MAX_LINEAGE_LENGTH } from '../defaults.ts';

export const LINEAGE_CLAIM = 'tkp_chain';

/**
 * The requesting client of a token of ours: host-set on every token this server issues (JWTs and the
 * stored claims of opaque and refresh tokens), from the authenticated client, so no procedure can
 * set or remove it. "Issued to the caller" is decided from it, never from the procedure-set
 * `client_id`/`azp` (Curity's pass-through claims), which a procedure may set to anything.
 */
export const REQUESTER_CLAIM = 'tkp_client';

/** The client this server recorded as having requested a token of its own, or null. */
export function requesterOf(claims: Record<string, unknown>): string | null {
  const requester = claims[REQUESTER_CLAIM];
  return typeof requester === 'string' && requester.length > 0 ? requester : null;
}

function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** What a presented token is known by in a lineage. */
export type PresentedOrigin =
  /** A token of this server (JWT or opaque access token): its validated claims. */
  | { kind: 'own'; claims: Record<string, unknown> }
  /** A validated token of a trusted issuer. */
  | { kind: 'foreign'; claims: Record<string, unknown>; value: string }
  /** A token nobody validated (accepted by a client with accept_unvalidated_tokens). */
  | { kind: 'unvalidated'; value: string };

export interface LineageLink {
  id: string;
  /** The ancestors the token itself names (only this server's tokens' claims are believed). */
  lineage: readonly string[];
}

/** The lineage a token of ours names: its `tkp_chain` claim when well-formed, else none. */
export function lineageOf(claims: Record<string, unknown>): string[] {
  const chain = claims[LINEAGE_CLAIM];
  if (!Array.isArray(chain)) return [];
  return chain.filter((id): id is string => typeof id === 'string' && id.length > 0);
}

export function linkOf(origin: PresentedOrigin): LineageLink {
  switch (origin.kind) {
    case 'own': {
      const jti = origin.claims.jti;
      // Our tokens always carry a jti; one without (issued before lineage existed) is known by its claims' hash.
      const id = typeof jti === 'string' && jti.length > 0 ? jti : `h:${digest(JSON.stringify(origin.claims))}`;
      return { id, lineage: lineageOf(origin.claims) };
    }
    case 'foreign': {
      const { iss, jti } = origin.claims;
      const id = typeof iss === 'string' && typeof jti === 'string' ? `x:${digest(`${iss}\0${jti}`)}` : `x:${digest(origin.value)}`;
      return { id, lineage: [] };
    }
    case 'unvalidated':
      return { id: `x:${digest(origin.value)}`, lineage: [] };
  }
}

/**
 * The lineage of what derives from `parents` (in order), without repeats. Null when it would hold
 * more than MAX_LINEAGE_LENGTH ids: the caller refuses the request.
 */
export function derivedLineage(parents: readonly LineageLink[], extra: readonly string[] = []): string[] | null {
  const ids: string[] = [];
  const add = (id: string): void => {
    if (!ids.includes(id)) ids.push(id);
  };
  for (const id of extra) add(id);
  for (const parent of parents) {
    add(parent.id);
    for (const id of parent.lineage) add(id);
  }
  return ids.length > MAX_LINEAGE_LENGTH ? null : ids;
}

/** The ids whose revocation makes a token of ours inactive: its own id and its lineage. */
export function revocableIdsOf(claims: Record<string, unknown>): string[] {
  const ids = lineageOf(claims);
  if (typeof claims.jti === 'string') ids.unshift(claims.jti);
  return ids;
}
