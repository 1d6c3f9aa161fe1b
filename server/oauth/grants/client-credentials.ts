/**
 * client_credentials (RFC 6749 §4.4): the requested scope must be within the client's scope
 * (invalid_scope otherwise; all of the client's scope when none is requested), `resource` selects
 * the audience. The client's procedure for the flow (or the default) issues the token from an
 * already initialized context.
 */
import type { GrantHandler, GrantOutcome, GrantRequest } from './grant.ts';
import { GRANT_CLIENT_CREDENTIALS } from '../../store/types.ts';
import { fail, type OAuthError } from '../errors.ts';
import { requestedScopes, requestedTargets } from '../targets.ts';
import { allowedScopes, IssuanceHost, scopeSet } from '../issuance.ts';
import { ProcedureRunner } from '../procedure-runner.ts';
import type { TokenServices } from '../token-services.ts';
import { clientView } from '../procedure-input.ts';

const FLOW = 'oauth-token-client-credentials' as const;

export class ClientCredentialsGrant implements GrantHandler {
  readonly grantType = GRANT_CLIENT_CREDENTIALS;
  /** RFC 8707 lets `resource` repeat; `audience` is token exchange's (RFC 8693) and may appear once. */
  readonly repeatableParameters: ReadonlySet<string> = new Set(['resource']);
  private readonly services: TokenServices;

  constructor(services: TokenServices) {
    this.services = services;
  }

  async handle(request: GrantRequest): Promise<GrantOutcome> {
    const refused = (error: OAuthError): GrantOutcome => ({ response: fail(error), issued: [], diagnostic: null });
    const { client, params } = request;
    const requested = requestedScopes(params);
    const allowed = allowedScopes(client, requested);
    if (!allowed.ok) return refused(allowed.error);
    const scopes = requested.length > 0 ? allowed.value : [...scopeSet(client.scope)];
    const targets = requestedTargets(params, this.services.config.maxTargets);
    if (!targets.ok) return refused(targets.error);

    const procedure = ProcedureRunner.procedureFor(client, FLOW, this.services.lookupProcedure);
    if (!procedure.ok) return refused(procedure.error);

    // A token derives from nothing here, except the refresh family of its request when the client
    // may have refresh tokens (so revoking that refresh token revokes the access token too).
    const refresh = this.services.lifecycle.newFamilyPermission(client, false, []);
    const lineage = refresh.ok ? [refresh.value.familyId] : [];
    const issuance = new IssuanceHost(this.services.issuancePolicy(), client, null, { lineage, refresh });
    const initialized = issuance.initialize({ audiences: targets.value, scopes, subjectAttributes: {}, contextAttributes: {} });
    if (!initialized.ok) return refused(initialized.error);

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
        requestedAudiences: targets.value,
        requestedTokenType: null,
        initialized: initialized.value,
      },
    });
    if (result.response.ok) {
      const stored = await this.services.lifecycle.storeCarried(result.response.value, result.issued);
      if (!stored.ok) return { ...result, response: stored };
    }
    return result;
  }
}
