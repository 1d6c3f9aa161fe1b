/**
 * The lifecycle of issued tokens: which tokens a response stores (refresh tokens and opaque access
 * tokens; a JWT access token is never written anywhere), whether a request may issue a refresh
 * token, the lookups of stored tokens, and revocation along lineages (server/tokens/lineage.ts).
 *
 * Store writes happen on revocation, on refresh, and when a response carries an opaque access
 * token or a refresh token; never for a JWT access token.
 */
import type { ClientRecord, OpaqueTokenRecord, RefreshTokenRecord, Store } from '../store/types.ts';
import { GRANT_REFRESH_TOKEN } from '../store/types.ts';
import { isStoreUnavailableError } from '../store/errors.ts';
import type { RevocationList } from '../tokens/revocations.ts';
import type { OwnTokenLifecycle } from '../tokens/presented-token-validator.ts';
import { referenceTokenHash, type IssuedToken, type RefreshPermission } from './issuance.ts';
import { fail, ok, oauthError, type OAuthError, type Result } from './errors.ts';
import { DEFAULT_REFRESH_TOKEN_TTL_SECONDS } from '../defaults.ts';
import { newTokenId } from '../tokens/token-ids.ts';

export interface TokenLifecycleOptions {
  store: Store;
  revocations: RevocationList;
  /** The server's maximum token lifetime, seconds: refresh families are capped by it too. */
  maxLifetimeSeconds: number;
  /** Epoch milliseconds. */
  now: () => number;
}

/** A store that did not answer: 503, so the client retries rather than believing it was refused. */
export function storeUnavailable(): OAuthError {
  return oauthError('temporarily_unavailable', 'The server cannot reach its store; try again shortly', { headers: { 'Retry-After': '1' } });
}

/** The stored tokens a response carries: its `access_token` and `refresh_token` members, when they are references. */
export function recordsCarriedBy(body: Record<string, unknown>, issued: readonly IssuedToken[]): { refresh: RefreshTokenRecord[]; opaque: OpaqueTokenRecord[] } {
  const refresh: RefreshTokenRecord[] = [];
  const opaque: OpaqueTokenRecord[] = [];
  for (const member of ['access_token', 'refresh_token'] as const) {
    const value = body[member];
    if (typeof value !== 'string') continue;
    const record = issued.find((token) => token.token === value)?.record;
    if (record === undefined) continue;
    if ('refresh' in record) refresh.push(record.refresh);
    else opaque.push(record.opaque);
  }
  return { refresh, opaque };
}

export class TokenLifecycle implements OwnTokenLifecycle {
  readonly store: Store;
  readonly revocations: RevocationList;
  private readonly maxLifetimeSeconds: number;
  private readonly now: () => number;

  constructor(options: TokenLifecycleOptions) {
    this.store = options.store;
    this.revocations = options.revocations;
    this.maxLifetimeSeconds = options.maxLifetimeSeconds;
    this.now = options.now;
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /**
   * Whether a request may issue a refresh token into a new family: only to a client allowed the
   * refresh_token grant, never when an actor is present (delegated tokens are not refreshable).
   */
  newFamilyPermission(client: ClientRecord, actorPresent: boolean, lineage: readonly string[]): RefreshPermission {
    if (!client.grant_types.includes(GRANT_REFRESH_TOKEN)) {
      return fail(oauthError('unauthorized_client', 'The client is not allowed the refresh_token grant'));
    }
    if (actorPresent) {
      return fail(oauthError('invalid_request', 'No refresh token is issued for a delegated token (an actor is present)'));
    }
    const ttl = Math.min(client.refresh_token_ttl ?? DEFAULT_REFRESH_TOKEN_TTL_SECONDS, this.maxLifetimeSeconds);
    return ok({ familyId: `rf.${newTokenId()}`, expiresAt: this.nowSeconds() + ttl, lineage: [...lineage] });
  }

  /** Stores the refresh and opaque tokens a response carries, in one transaction (nothing when it carries none). */
  async storeCarried(body: Record<string, unknown>, issued: readonly IssuedToken[]): Promise<Result<void>> {
    const { refresh, opaque } = recordsCarriedBy(body, issued);
    if (refresh.length === 0 && opaque.length === 0) return ok(undefined);
    try {
      await this.store.storeIssuedTokens(refresh, opaque);
      return ok(undefined);
    } catch (error) {
      if (isStoreUnavailableError(error)) return fail(storeUnavailable());
      throw error;
    }
  }

  /** OwnTokenLifecycle: the stored claims of one of our opaque access tokens, expired or not (the caller checks times). */
  async resolveOpaque(token: string): Promise<Record<string, unknown> | null> {
    const record = await this.store.getOpaqueToken(referenceTokenHash(token));
    return record === null ? null : record.claims;
  }

  /** OwnTokenLifecycle. */
  isRevoked(claims: Record<string, unknown>): boolean {
    return this.revocations.isRevoked(claims);
  }

  async findRefreshToken(token: string): Promise<RefreshTokenRecord | null> {
    return this.store.getRefreshToken(referenceTokenHash(token));
  }

  /** The ids a refresh token's use depends on: its family and the family's lineage. */
  static refreshLineage(record: RefreshTokenRecord): string[] {
    const lineage = record.data['lineage'];
    const ids = Array.isArray(lineage) ? lineage.filter((id): id is string => typeof id === 'string') : [];
    return [record.family_id, ...ids];
  }

  /** Revokes a refresh family (every refresh token of it, and what was issued from it). */
  async revokeFamily(record: RefreshTokenRecord): Promise<void> {
    await this.revocations.revoke([{ id: record.family_id, purge_after: this.revocations.purgeAfter(record.expires_at) }]);
  }
}
