/**
 * refresh_token (RFC 6749 §6) with one-time, rotated refresh tokens:
 * - the token must be one of ours, unexpired, issued to the caller, and its family (and what the
 *   family derives from) not revoked; otherwise `invalid_grant`;
 * - a token presented again after it was used is `invalid_grant` and revokes its whole family, so
 *   every refresh and access token of it (RFC 9700 §4.14.2 reuse detection);
 * - `scope` may narrow the family's scope, never widen it (`invalid_scope`);
 * - the client's `oauth-token-refresh` procedure (or the default) issues the access token and the
 *   next refresh token of the same family, whose life ends with the family's;
 * - the presented token is spent in the same transaction that stores the new ones, only once the
 *   procedure has answered: a failing procedure leaves it usable, and of two redemptions racing on
 *   one token exactly one wins (the other revokes the family).
 */
import type { GrantHandler, GrantOutcome, GrantRequest } from './grant.ts';
import { GRANT_REFRESH_TOKEN } from '../../store/types.ts';
import { isStoreUnavailableError } from '../../store/errors.ts';
import { fail, ok, oauthError, type OAuthError } from '../errors.ts';
import { firstValue } from '../../http/form.ts';
import { requestedScopes } from '../targets.ts';
import { IssuanceHost, referenceTokenHash, scopeSet } from '../issuance.ts';
import { ProcedureRunner } from '../procedure-runner.ts';
import type { TokenServices } from '../token-services.ts';
import { clientView } from '../procedure-input.ts';
import { recordsCarriedBy, storeUnavailable, TokenLifecycle } from '../token-lifecycle.ts';
import { LINEAGE_CLAIM } from '../../tokens/lineage.ts';
import type { DelegationView } from '../../../sandbox/types.ts';

const FLOW = 'oauth-token-refresh' as const;

/** Claims of the family that are not carried to the next access token: the host sets these afresh. */
const NOT_CARRIED = new Set(['iss', 'iat', 'exp', 'nbf', 'jti', 'aud', 'scope', LINEAGE_CLAIM]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((value): value is string => typeof value === 'string') : [];
}

export class RefreshTokenGrant implements GrantHandler {
  readonly grantType = GRANT_REFRESH_TOKEN;
  readonly repeatableParameters: ReadonlySet<string> = new Set();
  private readonly services: TokenServices;

  constructor(services: TokenServices) {
    this.services = services;
  }

  async handle(request: GrantRequest): Promise<GrantOutcome> {
    try {
      return await this.refresh(request);
    } catch (error) {
      if (isStoreUnavailableError(error)) return { response: fail(storeUnavailable()), issued: [], diagnostic: null };
      throw error;
    }
  }

  private async refresh(request: GrantRequest): Promise<GrantOutcome> {
    const refused = (error: OAuthError): GrantOutcome => ({ response: fail(error), issued: [], diagnostic: null });
    const invalidGrant = (description: string): GrantOutcome => refused(oauthError('invalid_grant', description));
    const { client, params } = request;
    const { lifecycle, logger } = this.services;
    const presented = firstValue(params, 'refresh_token');
    if (presented === undefined) return refused(oauthError('invalid_request', 'refresh_token is required'));

    const record = await lifecycle.findRefreshToken(presented);
    // Another client's token is answered exactly as an unknown one (RFC 6749 §10.4).
    if (record === null || record.client_id !== client.client_id) return invalidGrant('The refresh token is invalid');
    const now = lifecycle.nowSeconds();
    if (record.expires_at <= now) return invalidGrant('The refresh token has expired');
    const lineage = TokenLifecycle.refreshLineage(record);
    if (record.used_at !== null) {
      await lifecycle.revokeFamily(record);
      logger.warn('refresh token reuse: family revoked', { event: 'refresh_token_reuse', request_id: request.requestId, client_id: client.client_id, family_id: record.family_id });
      return invalidGrant('The refresh token was already used; every token of its family is revoked');
    }
    if (lifecycle.revocations.anyRevoked(lineage)) return invalidGrant('The refresh token has been revoked');

    const claims = isRecord(record.data['claims']) ? record.data['claims'] : null;
    if (claims === null || typeof claims.sub !== 'string') return invalidGrant('The refresh token is invalid');
    const familyScope = typeof claims.scope === 'string' ? claims.scope : '';
    const requested = requestedScopes(params);
    const available = scopeSet(familyScope);
    for (const scope of requested) {
      if (!available.has(scope)) return refused(oauthError('invalid_scope', `Scope ${scope} is not within the refresh token's scope`));
    }
    const scopes = requested.length > 0 ? requested : [...available];

    const procedure = ProcedureRunner.procedureFor(client, FLOW, this.services.lookupProcedure);
    if (!procedure.ok) return refused(procedure.error);

    const storedLineage = lineage.slice(1);
    const issuance = new IssuanceHost(this.services.issuancePolicy(), client, claims, {
      lineage,
      refresh: ok({ familyId: record.family_id, expiresAt: record.expires_at, lineage: storedLineage, scope: familyScope }),
    });
    // Scopes and audiences are checked against the client's registration as it is now.
    const initialized = issuance.initialize({ audiences: audiencesOf(claims.aud), scopes, subjectAttributes: {}, contextAttributes: {} });
    if (!initialized.ok) return refused(initialized.error);
    const context = initialized.value;
    const carried: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(claims)) if (!NOT_CARRIED.has(name)) carried[name] = value;
    context.defaultAccessTokenData = { ...carried, ...context.defaultAccessTokenData };
    if (context.defaultRefreshTokenData) context.defaultRefreshTokenData = { ...carried, ...context.defaultRefreshTokenData };

    const storedDelegation = record.data['delegation'];
    const delegation: DelegationView = {
      id: isRecord(storedDelegation) && typeof storedDelegation['id'] === 'string' ? storedDelegation['id'] : record.family_id,
      clientId: client.client_id,
      scope: familyScope,
      claims,
    };
    const result = await this.services.runner.run({
      procedure: procedure.value,
      issuance,
      requestId: request.requestId,
      includeIssuedTokenType: false,
      nowSeconds: this.services.nowSeconds,
      observer: this.services.procedureObserver,
      input: {
        flow: FLOW,
        client: clientView(client),
        request: request.view,
        subjectToken: null,
        actorToken: null,
        requestedScopes: requested,
        requestedAudiences: [],
        requestedTokenType: null,
        initialized: context,
        refresh: { data: claims, delegation },
      },
    });
    if (!result.response.ok) return result;

    const carriedRecords = recordsCarriedBy(result.response.value, result.issued);
    const redemption = await lifecycle.store.redeemRefreshToken(referenceTokenHash(presented), now, lineage, carriedRecords.refresh, carriedRecords.opaque);
    if (redemption === 'already_used') {
      // Another redemption of the same token won the race: a copy is in other hands.
      await lifecycle.revokeFamily(record);
      logger.warn('refresh token reuse: family revoked', { event: 'refresh_token_reuse', request_id: request.requestId, client_id: client.client_id, family_id: record.family_id });
      return { ...result, response: fail(oauthError('invalid_grant', 'The refresh token was already used; every token of its family is revoked')) };
    }
    if (redemption === 'revoked') return { ...result, response: fail(oauthError('invalid_grant', 'The refresh token has been revoked')) };
    logger.info('token refresh', { event: 'token_refresh', request_id: request.requestId, client_id: client.client_id, family_id: record.family_id, scope: scopes.join(' ') });
    return result;
  }
}
