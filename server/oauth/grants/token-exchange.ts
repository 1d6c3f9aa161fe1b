/**
 * RFC 8693 token exchange. The request is validated here (parameters, token types, the subject and
 * actor tokens); a token that fails validation is refused with invalid_request before any
 * procedure runs, unless the client accepts unvalidated tokens. Then the client's procedure (or the
 * built-in default) decides what is issued; issuance and the response are checked on the host.
 */
import type { GrantHandler, GrantOutcome, GrantRequest } from './grant.ts';
import { GRANT_TOKEN_EXCHANGE, type ClientRecord } from '../../store/types.ts';
import { fail, ok, oauthError, type OAuthError, type Result } from '../errors.ts';
import { firstValue } from '../../http/form.ts';
import { requestedScopes, requestedTargets } from '../targets.ts';
import { IssuanceHost } from '../issuance.ts';
import { ProcedureRunner } from '../procedure-runner.ts';
import type { TokenServices } from '../token-services.ts';
import { clientView, delegationOf } from '../procedure-input.ts';
import type { PresentedTokenInput } from '../../../sandbox/types.ts';
import { derivedLineage, linkOf, type LineageLink } from '../../tokens/lineage.ts';
import { MAX_LINEAGE_LENGTH } from '../../defaults.ts';
import {
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_JWT,
  TOKEN_TYPE_REFRESH_TOKEN,
} from '../../tokens/presented-token-validator.ts';
import {
  checkTxnRequestShape,
  NO_REFRESH_WITH_TXN_TOKEN,
  TOKEN_TYPE_SELF_SIGNED,
  TOKEN_TYPE_TXN_TOKEN,
  TXN_SUBJECT_TYPES,
  txnIssuanceFor,
  txnRequestObjects,
  txnResponseProblem,
  validateSelfSigned,
  type TxnIssuance,
} from '../txn-token.ts';
import { idJagRequestProblem, idJagResponseProblem, idJagTarget, TOKEN_TYPE_ID_JAG, type IdJagTarget } from '../id-jag.ts';

const FLOW = 'oauth-token-oauth-token-exchange' as const;

/** Token types accepted as subject_token_type / actor_token_type. */
const PRESENTED_TYPES = new Set([TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN]);
/** Token types this grant can issue. */
const ISSUABLE_TYPES = new Set([TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_REFRESH_TOKEN, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_TXN_TOKEN]);

const NO_REFRESH_WITH_ID_JAG: Result<never> = fail(oauthError('invalid_request', 'No refresh token is issued with an ID-JAG'));

/** A validated presented token and what it is known by in lineages. */
interface Presented {
  input: PresentedTokenInput;
  link: LineageLink;
}

interface ExchangeParameters {
  subjectToken: string;
  subjectTokenType: string;
  actorToken: string | null;
  actorTokenType: string | null;
  requestedTokenType: string | null;
  scopes: string[];
  targets: string[];
}

function invalidRequest(description: string): OAuthError {
  return oauthError('invalid_request', description);
}

export class TokenExchangeGrant implements GrantHandler {
  readonly grantType = GRANT_TOKEN_EXCHANGE;
  /** RFC 8693 §2.1: `resource` and `audience` may each appear more than once. */
  readonly repeatableParameters: ReadonlySet<string> = new Set(['resource', 'audience']);
  private readonly services: TokenServices;

  constructor(services: TokenServices) {
    this.services = services;
  }

  private parameters(request: GrantRequest): Result<ExchangeParameters> {
    const { params } = request;
    const subjectToken = firstValue(params, 'subject_token');
    const subjectTokenType = firstValue(params, 'subject_token_type');
    const actorToken = firstValue(params, 'actor_token') ?? null;
    const actorTokenType = firstValue(params, 'actor_token_type') ?? null;
    const requestedTokenType = firstValue(params, 'requested_token_type') ?? null;
    if (subjectToken === undefined) return fail(invalidRequest('subject_token is required'));
    if (subjectTokenType === undefined) return fail(invalidRequest('subject_token_type is required'));
    // Txn-Token requests also take self-signed JWTs and Txn-Tokens (server/oauth/txn-token.ts).
    if (!PRESENTED_TYPES.has(subjectTokenType) && !TXN_SUBJECT_TYPES.has(subjectTokenType)) return fail(invalidRequest('Unsupported subject_token_type'));
    if (actorToken !== null && actorTokenType === null) return fail(invalidRequest('actor_token_type is required with actor_token'));
    if (actorToken === null && actorTokenType !== null) return fail(invalidRequest('actor_token_type must not be sent without actor_token'));
    if (actorTokenType !== null && !PRESENTED_TYPES.has(actorTokenType)) return fail(invalidRequest('Unsupported actor_token_type'));
    if (requestedTokenType !== null && !ISSUABLE_TYPES.has(requestedTokenType)) return fail(invalidRequest('Unsupported requested_token_type'));
    const targets = requestedTargets(params, this.services.config.maxTargets);
    if (!targets.ok) return targets;
    return ok({ subjectToken, subjectTokenType, actorToken, actorTokenType, requestedTokenType, scopes: requestedScopes(params), targets: targets.value });
  }

  private async presented(client: ClientRecord, token: string, tokenType: string, role: 'subject' | 'actor'): Promise<Result<Presented>> {
    if (tokenType === TOKEN_TYPE_SELF_SIGNED) {
      const policy = this.services.issuancePolicy();
      const selfSigned = await validateSelfSigned(this.services.validator, client, token, policy.signer.issuer, Math.floor(policy.now() / 1000));
      if (!selfSigned.ok) return selfSigned;
      const claims = selfSigned.value;
      return ok({ input: { value: token, type: tokenType, claims, delegation: delegationOf(claims) }, link: linkOf({ kind: 'foreign', claims, value: token }) });
    }
    const validation = await this.services.validator.validate({
      token,
      tokenType,
      callerClientId: client.client_id,
      acceptedAudiences: client.accepted_audiences ?? [],
      trustDomain: this.services.config.trustDomain,
      role,
    });
    if (validation.status === 'valid') {
      const { claims } = validation;
      const link = linkOf(validation.source.kind === 'self' ? { kind: 'own', claims } : { kind: 'foreign', claims, value: token });
      return ok({ input: { value: token, type: tokenType, claims, delegation: delegationOf(claims) }, link });
    }
    if (validation.status === 'unvalidated' && client.accept_unvalidated_tokens) {
      return ok({ input: { value: token, type: tokenType, claims: null, delegation: null }, link: linkOf({ kind: 'unvalidated', value: token }) });
    }
    return fail(invalidRequest(validation.reason));
  }

  async handle(request: GrantRequest): Promise<GrantOutcome> {
    const { client } = request;
    const outcome = await this.exchange(request);
    // Granted is what the response carries: a procedure may issue several tokens, or issue and then fail.
    const response = outcome.response;
    const issuedClaims = response.ok ? outcome.issued.find((t) => t.token === response.value.access_token)?.claims : undefined;
    // One structured line per exchange: who, for whom, what was asked and granted; never a token.
    this.services.logger.info('token exchange', {
      event: 'token_exchange',
      request_id: request.requestId,
      client_id: client.client_id,
      requested_scope: firstValue(request.params, 'scope') ?? null,
      requested_targets: [...(request.params.get('resource') ?? []), ...(request.params.get('audience') ?? [])],
      subject: outcome.subjectSub,
      actor: outcome.actorSub,
      granted_scope: issuedClaims?.scope ?? null,
      granted_audience: issuedClaims?.aud ?? null,
      outcome: response.ok ? 'issued' : response.error.error,
    });
    return outcome;
  }

  private async exchange(request: GrantRequest): Promise<GrantOutcome & { subjectSub: unknown; actorSub: unknown }> {
    const { client } = request;
    const refused = (error: OAuthError) => ({ response: fail(error), issued: [], diagnostic: null, subjectSub: null, actorSub: null });
    const parsed = this.parameters(request);
    if (!parsed.ok) return refused(parsed.error);
    const p = parsed.value;
    // Transaction tokens (server/oauth/txn-token.ts): the JSON parameters and the request's shape.
    const txnObjects = txnRequestObjects(request.params);
    if (!txnObjects.ok) return refused(txnObjects.error);
    const txnShape = checkTxnRequestShape(p, this.services.config.trustDomain);
    if (!txnShape.ok) return refused(txnShape.error);
    const wantsTxn = p.requestedTokenType === TOKEN_TYPE_TXN_TOKEN;
    // An ID-JAG (server/oauth/id-jag.ts) is made from an ID token alone.
    const wantsIdJag = p.requestedTokenType === TOKEN_TYPE_ID_JAG;
    if (wantsIdJag) {
      const problem = idJagRequestProblem(p.subjectTokenType, p.actorToken !== null);
      if (!problem.ok) return refused(problem.error);
    }

    const subjectResult = await this.presented(client, p.subjectToken, p.subjectTokenType, 'subject');
    if (!subjectResult.ok) return refused(subjectResult.error);
    const subject = subjectResult.value;
    let actor: Presented | null = null;
    if (p.actorToken !== null && p.actorTokenType !== null) {
      const validated = await this.presented(client, p.actorToken, p.actorTokenType, 'actor');
      if (!validated.ok) return refused(validated.error);
      actor = validated.value;
    }
    let txn: TxnIssuance | null = null;
    if (wantsTxn) {
      const made = txnIssuanceFor(client, subject.input, txnObjects.value, request.view.clientIpAddress, this.services.config.trustDomain);
      if (!made.ok) return refused(made.error);
      txn = made.value;
    }
    let jagTarget: IdJagTarget | null = null;
    if (wantsIdJag) {
      const target = idJagTarget(client, request.params, subject.input.claims);
      if (!target.ok) return refused(target.error);
      jagTarget = target.value;
    }

    // What is issued derives from the subject and the actor (server/tokens/lineage.ts); a client
    // allowed refresh tokens also names the family a refresh token of this request would start.
    const parents = actor ? [subject.link, actor.link] : [subject.link];
    const lineage = derivedLineage(parents);
    const lifecycle = this.services.lifecycle;
    // Delegated tokens are not refreshable: an actor token, or a subject already carrying `act`.
    const delegated = actor !== null || (subject.input.claims !== null && subject.input.claims.act !== undefined);
    // An ID-JAG is never refreshable (the draft: no refresh token beside it).
    const refresh =
      lineage === null ? null : wantsIdJag ? NO_REFRESH_WITH_ID_JAG : wantsTxn ? NO_REFRESH_WITH_TXN_TOKEN : lifecycle.newFamilyPermission(client, delegated, lineage);
    const tokenLineage = lineage === null || refresh === null ? null : refresh.ok ? derivedLineage(parents, [refresh.value.familyId]) : lineage;
    if (lineage === null || refresh === null || tokenLineage === null) {
      return refused(invalidRequest(`The subject and actor tokens derive from too many tokens (at most ${MAX_LINEAGE_LENGTH} in a chain); start again from a fresh token`));
    }
    if (p.requestedTokenType === TOKEN_TYPE_REFRESH_TOKEN && !refresh.ok) {
      return refused(oauthError(refresh.error.error, `A refresh token cannot be issued: ${refresh.error.description}`));
    }

    const procedure = ProcedureRunner.procedureFor(client, FLOW, this.services.lookupProcedure);
    if (!procedure.ok) return refused(procedure.error);

    const issuance = new IssuanceHost(this.services.issuancePolicy(), client, subject.input.claims, { lineage: tokenLineage, refresh });
    issuance.idJag = jagTarget;
    issuance.txn = txn;
    issuance.actorClaims = actor?.input.claims ?? null;
    const result = await this.services.runner.run({
      procedure: procedure.value,
      issuance,
      requestId: request.requestId,
      includeIssuedTokenType: true,
      refreshTokenRequested: p.requestedTokenType === TOKEN_TYPE_REFRESH_TOKEN,
      nowSeconds: this.services.nowSeconds,
      observer: this.services.procedureObserver,
      input: {
        flow: FLOW,
        client: clientView(client),
        request: request.view,
        subjectToken: subject.input,
        actorToken: actor?.input ?? null,
        requestedScopes: p.scopes,
        requestedAudiences: p.targets,
        requestedTokenType: p.requestedTokenType,
        initialized: null,
        requestContext: txnObjects.value.requestContext,
        requestDetails: txnObjects.value.requestDetails,
      },
    });
    const who = { subjectSub: subject.input.claims?.sub ?? null, actorSub: actor?.input.claims?.sub ?? null };
    if (wantsTxn && result.response.ok) {
      const problem = txnResponseProblem(result.response.value, result.issued);
      if (problem !== null) return { ...result, response: fail(oauthError('server_error', problem)), diagnostic: { reason: 'invalid_result', message: problem, line: null, column: null }, ...who };
    }
    if (wantsIdJag && result.response.ok) {
      const problem = idJagResponseProblem(result.response.value, result.issued);
      if (problem !== null) return { ...result, response: fail(oauthError('server_error', problem)), diagnostic: { reason: 'invalid_result', message: problem, line: null, column: null }, ...who };
    }
    if (result.response.ok) {
      // Refresh tokens and opaque access tokens exist once stored; a JWT access token writes nothing.
      const stored = await lifecycle.storeCarried(result.response.value, result.issued);
      if (!stored.ok) return { ...result, response: stored, ...who };
    }
    return { ...result, ...who };
  }
}
