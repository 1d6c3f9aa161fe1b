/**
 * `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1): a JWT from a trusted issuer as an
 * authorization grant; chiefly an ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant) that
 * another server's token exchange issued for the caller (server/oauth/id-jag.ts is that side).
 *
 * The assertion is checked before any procedure runs; every failure is `invalid_grant` with a
 * description that names what is wrong and no value of the assertion:
 * 1. one compact JWS, strict parse, asymmetric `alg` (the one verifier's parseJwt);
 * 2. `typ`: `oauth-id-jag+jwt` is an ID-JAG. A plain JWT (no `typ`, or `JWT`) is accepted only
 *    from clients whose property `jwt_bearer_plain_assertions` is "true"; otherwise an ID-JAG is
 *    required, so an ID token (a plain JWT) is never taken for one. Any other `typ` is refused;
 * 3. `iss` a trusted issuer (never this server), its `allowed_algs` and `audiences`, `exp`
 *    required, `exp`/`nbf`/`iat` within the clock skew, the signature (the one verifier's
 *    verifyTrustedAssertion);
 * 4. `aud` exactly one value: this server's issuer or its token endpoint URL;
 * 5. `sub` and `jti` required; an ID-JAG also needs `iat`; `exp` at most an hour away;
 * 6. `client_id`: an ID-JAG must name the authenticated client; a plain JWT that has one too;
 * 7. `jti` used once per issuer, recorded in the store (every instance sharing it agrees), with
 *    the store method client assertions use: a replay is refused everywhere.
 *
 * The access token: `sub` from the assertion, `client_id` the caller, scope = requested ∩
 * assertion's ∩ client's (fixed by the host before the procedure runs: a requested scope outside
 * the client's is `invalid_scope`, as is one outside the assertion's), audience from `resource`
 * within the client's audiences. The client's `oauth-token-jwt-assertion` procedure (or the
 * default) issues it from an initialized context; `context.getPresentedAssertion()` gives the
 * validated claims. Never a refresh token.
 */
import type { GrantHandler, GrantOutcome, GrantRequest } from './grant.ts';
import { GRANT_JWT_BEARER, type ClientRecord } from '../../store/types.ts';
import { isStoreUnavailableError } from '../../store/errors.ts';
import { fail, ok, oauthError, type OAuthError, type Result } from '../errors.ts';
import { firstValue } from '../../http/form.ts';
import { requestedScopes, requestedTargets } from '../targets.ts';
import { allowedScopes, IssuanceHost, scopeSet } from '../issuance.ts';
import { ProcedureRunner } from '../procedure-runner.ts';
import type { TokenServices } from '../token-services.ts';
import { clientView } from '../procedure-input.ts';
import { storeUnavailable } from '../token-lifecycle.ts';
import { endpointUrls } from '../metadata.ts';
import { ASSERTION_ALGORITHMS } from '../../clients/authenticator.ts';
import { normalizedTyp } from '../../tokens/jws-guards.ts';
import { MAX_CLOCK_SKEW_SECONDS } from '../../tokens/presented-token-validator.ts';
import { ID_JAG_TYP } from '../id-jag.ts';

const FLOW = 'oauth-token-jwt-assertion' as const;
const ASSERTION_ALGORITHM_SET: ReadonlySet<string> = new Set(ASSERTION_ALGORITHMS);
/** The client property that lets a client present plain JWTs (not ID-JAGs) as grants. */
export const PLAIN_ASSERTIONS_PROPERTY = 'jwt_bearer_plain_assertions';
/** An assertion may expire at most this far ahead (its jti is remembered until then). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 3600;
const MAX_JTI_LENGTH = 256;
/**
 * Assertion jtis share the store's table with client-assertion jtis, keyed by this prefix and the
 * issuer: client ids cannot contain a space, so the two never meet.
 */
const JTI_NAMESPACE = 'jwt-bearer ';

/** The validated assertion, as the rest of the grant needs it. */
interface ValidatedAssertion {
  claims: Record<string, unknown>;
  idJag: boolean;
  issuer: string;
}

function invalidGrant(description: string): OAuthError {
  return oauthError('invalid_grant', description);
}

export class JwtBearerGrant implements GrantHandler {
  readonly grantType = GRANT_JWT_BEARER;
  /** RFC 8707 lets `resource` repeat. */
  readonly repeatableParameters: ReadonlySet<string> = new Set(['resource']);
  private readonly services: TokenServices;

  constructor(services: TokenServices) {
    this.services = services;
  }

  async handle(request: GrantRequest): Promise<GrantOutcome> {
    let assertion: ValidatedAssertion | null = null;
    let outcome: GrantOutcome;
    try {
      const validated = await this.validate(request);
      if (validated.ok) {
        assertion = validated.value;
        outcome = await this.issue(request, assertion);
      } else {
        outcome = { response: validated, issued: [], diagnostic: null };
      }
    } catch (error) {
      if (!isStoreUnavailableError(error)) throw error;
      outcome = { response: fail(storeUnavailable()), issued: [], diagnostic: null };
    }
    // One line per redemption: who, for whom, from which issuer; never the assertion.
    this.services.logger.info('jwt bearer grant', {
      event: 'jwt_bearer_grant',
      request_id: request.requestId,
      client_id: request.client.client_id,
      assertion_issuer: assertion?.issuer ?? null,
      assertion_kind: assertion === null ? null : assertion.idJag ? 'id-jag' : 'jwt',
      subject: assertion?.claims.sub ?? null,
      outcome: outcome.response.ok ? 'issued' : outcome.response.error.error,
    });
    return outcome;
  }

  /** Steps 1 to 7 above. Throws only StoreUnavailableError (the jti could not be recorded). */
  private async validate(request: GrantRequest): Promise<Result<ValidatedAssertion>> {
    const { client, params } = request;
    const value = firstValue(params, 'assertion');
    if (value === undefined || value === '') return fail(oauthError('invalid_request', 'assertion is required'));
    if (value.split('.').length !== 3) return fail(invalidGrant('The assertion must be one signed JWT (JWS compact serialization)'));
    const jws = this.services.validator.parseJwt(value, ASSERTION_ALGORITHM_SET);
    if (jws === null) return fail(invalidGrant('The assertion is not a well-formed signed JWT, or its signing algorithm is not allowed'));

    const typ = normalizedTyp(jws.header);
    const idJag = typ === ID_JAG_TYP;
    if (!idJag) {
      if (typ !== undefined && typ !== 'jwt') return fail(invalidGrant('The assertion has a typ that is not accepted as an authorization grant'));
      if (client.properties[PLAIN_ASSERTIONS_PROPERTY] !== 'true') {
        return fail(invalidGrant(`The assertion must be an ID-JAG (typ ${ID_JAG_TYP}); this client does not accept other JWTs as grants`));
      }
    }
    const what = idJag ? 'The ID-JAG' : 'The assertion';

    const verified = await this.services.validator.verifyTrustedAssertion(jws);
    if (!verified.ok) return fail(invalidGrant(`${what} ${verified.problem}`));
    const claims = jws.claims;

    // RFC 7523 §3 as updated (draft-ietf-oauth-rfc7523bis): the audience is this server alone.
    const issuer = this.services.issuancePolicy().signer.issuer;
    const aud = Array.isArray(claims.aud) && claims.aud.length === 1 ? claims.aud[0] : claims.aud;
    if (aud !== issuer && aud !== endpointUrls(issuer).token) {
      return fail(invalidGrant(`${what} is not addressed to this authorization server (aud must be exactly its issuer or its token endpoint)`));
    }
    if (typeof claims.sub !== 'string' || claims.sub === '') return fail(invalidGrant(`${what} has no sub claim`));
    const jti = claims.jti;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
      return fail(invalidGrant(`${what} needs a jti claim (of at most ${MAX_JTI_LENGTH} characters) so that it is used only once`));
    }
    if (idJag && typeof claims.iat !== 'number') return fail(invalidGrant('The ID-JAG has no iat claim'));
    const exp = claims.exp as number;
    if (exp - this.services.nowSeconds() > MAX_ASSERTION_LIFETIME_SECONDS) {
      return fail(invalidGrant(`${what} expires too far ahead (at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds)`));
    }
    if (idJag ? claims.client_id !== client.client_id : claims.client_id !== undefined && claims.client_id !== client.client_id) {
      return fail(invalidGrant(`${what} was issued to another client (its client_id is not the authenticated client)`));
    }
    // Last, once everything else holds: a refused assertion does not spend its jti.
    const fresh = await this.services.lifecycle.store.recordAssertionJti(`${JTI_NAMESPACE}${verified.source.issuer}`, jti, Math.ceil(exp) + MAX_CLOCK_SKEW_SECONDS);
    if (!fresh) return fail(invalidGrant(`${what} was already used`));
    return ok({ claims, idJag, issuer: verified.source.issuer });
  }

  /** The scopes of the access token: requested ∩ assertion's ∩ client's (see the file comment). */
  private scopes(client: ClientRecord, requested: readonly string[], claims: Record<string, unknown>): Result<string[]> {
    const allowed = allowedScopes(client, requested);
    if (!allowed.ok) return allowed;
    // An assertion without a scope claim does not narrow (as an ID token subject in the exchange).
    const granted = typeof claims.scope === 'string' ? scopeSet(claims.scope) : null;
    if (requested.length > 0) {
      for (const scope of allowed.value) {
        if (granted !== null && !granted.has(scope)) return fail(oauthError('invalid_scope', `Scope ${scope} is not within the assertion's scope`));
      }
      return allowed;
    }
    const clientScopes = [...scopeSet(client.scope)];
    if (granted === null) return ok(clientScopes);
    const both = [...granted].filter((scope) => clientScopes.includes(scope));
    if (granted.size > 0 && both.length === 0) return fail(oauthError('invalid_scope', "None of the assertion's scopes is allowed for this client"));
    return ok(both);
  }

  private async issue(request: GrantRequest, assertion: ValidatedAssertion): Promise<GrantOutcome> {
    const refused = (error: OAuthError): GrantOutcome => ({ response: fail(error), issued: [], diagnostic: null });
    const { client, params } = request;
    const requested = requestedScopes(params);
    const scopes = this.scopes(client, requested, assertion.claims);
    if (!scopes.ok) return refused(scopes.error);
    const targets = requestedTargets(params, this.services.config.maxTargets);
    if (!targets.ok) return refused(targets.error);

    const procedure = ProcedureRunner.procedureFor(client, FLOW, this.services.lookupProcedure);
    if (!procedure.ok) return refused(procedure.error);
    // No lineage and no refresh family: the assertion is spent, nothing of it can be revoked here.
    const issuance = new IssuanceHost(this.services.issuancePolicy(), client, assertion.claims);
    const initialized = issuance.initialize({ audiences: targets.value, scopes: scopes.value, subjectAttributes: {}, contextAttributes: {} });
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
        assertion: { claims: assertion.claims },
      },
    });
    if (result.response.ok) {
      const stored = await this.services.lifecycle.storeCarried(result.response.value, result.issued);
      if (!stored.ok) return { ...result, response: stored };
    }
    return result;
  }
}
