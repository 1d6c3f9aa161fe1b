/**
 * POST /oauth/v2/oauth-token: endpoint → request validation → grant handler → response. The
 * protocol rules common to every grant live here: form-urlencoded body, no repeated parameters,
 * client authentication, the client's permission for the grant, and the response headers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { GrantHandler, GrantOutcome } from './grants/grant.ts';
import type { ClientAuthenticator } from '../clients/authenticator.ts';
import { errorBody, oauthError, type OAuthError, type OAuthErrorBody } from './errors.ts';
import { firstValue, isFormContentType, parseForm } from '../http/form.ts';
import { requestView } from './procedure-input.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { GrantType } from '../store/types.ts';

export interface EndpointRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  remoteAddress: string;
  requestId: string;
}

/** A JSON response as a value: a success body, or an OAuth error body. */
export interface EndpointResponse<Body extends Readonly<Record<string, unknown>> = Readonly<Record<string, unknown>>> {
  status: number;
  headers: Record<string, string>;
  body: Body;
}

/** RFC 6749 §5.1: responses carrying tokens or credentials are never cached. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function errorResponse(error: OAuthError): EndpointResponse<OAuthErrorBody> {
  const headers: Record<string, string> = { ...NO_STORE_HEADERS, ...(error.headers ?? {}) };
  if (error.wwwAuthenticate) headers['WWW-Authenticate'] = error.wwwAuthenticate;
  return { status: error.status, headers, body: errorBody(error) };
}

/** What the token endpoint answers: the token response, or an error, with what the metrics and logs need. */
export type TokenEndpointResult = (
  | (EndpointResponse<Record<string, unknown>> & { readonly ok: true })
  | (EndpointResponse<OAuthErrorBody> & { readonly ok: false })
) & {
  grantType: string;
  /** The authenticated client, or null when the request was refused before or at authentication. */
  clientId: string | null;
  outcome: GrantOutcome | null;
};

/** Where refusals are told (the server's logger). */
export interface TokenEndpointLog {
  info(message: string, fields: Record<string, unknown>): void;
}

export class TokenEndpoint {
  private readonly grants: ReadonlyMap<string, GrantHandler>;
  private readonly authenticator: ClientAuthenticator;
  private readonly metrics: ServerMetrics | null;

  private readonly log: TokenEndpointLog | null;

  constructor(grants: readonly GrantHandler[], authenticator: ClientAuthenticator, metrics: ServerMetrics | null, log: TokenEndpointLog | null = null) {
    this.grants = new Map(grants.map((g) => [g.grantType, g]));
    this.authenticator = authenticator;
    this.metrics = metrics;
    this.log = log;
  }

  get supportedGrantTypes(): string[] {
    return [...this.grants.keys()];
  }

  async handle(request: EndpointRequest): Promise<TokenEndpointResult> {
    const started = process.hrtime.bigint();
    const result = await this.process(request);
    const label = this.grants.has(result.grantType) ? result.grantType : 'other';
    const outcome = result.ok ? 'ok' : result.body.error;
    this.metrics?.tokenRequests.inc({ grant_type: label, outcome });
    this.metrics?.tokenLatency.observe({ grant_type: label }, Number(process.hrtime.bigint() - started) / 1e9);
    if (result.clientId !== null) this.metrics?.clientTokenRequests.inc({ client_id: result.clientId, grant_type: label, outcome });
    // Refusals say why (failed client authentication is told by the authenticator's own event).
    if (!result.ok && !(result.clientId === null && result.body.error === 'invalid_client')) {
      this.log?.info('token request refused', {
        event: 'token_refused',
        request_id: request.requestId,
        client_id: result.clientId ?? undefined,
        grant_type: result.grantType,
        error: result.body.error,
        reason: result.body.error_description,
      });
    }
    return result;
  }

  private async process(request: EndpointRequest): Promise<TokenEndpointResult> {
    let clientId: string | null = null;
    const refuse = (error: OAuthError, grantType = 'unknown'): TokenEndpointResult => ({ ...errorResponse(error), ok: false, grantType, clientId, outcome: null });
    if (!isFormContentType(request.headers['content-type'])) {
      return refuse(oauthError('invalid_request', 'The body must be application/x-www-form-urlencoded'));
    }
    const parsed = parseForm(request.body);
    if (!parsed.ok) return refuse(parsed.error);
    const params = parsed.value;
    const grantType = firstValue(params, 'grant_type') ?? 'unknown';

    const auth = await this.authenticator.authenticate(request.headers.authorization, params, request.remoteAddress);
    if (!auth.ok) return refuse(auth.error, grantType);
    const { client } = auth.value;
    clientId = client.client_id;

    if (!params.has('grant_type')) return refuse(oauthError('invalid_request', 'grant_type is required'));
    const handler = this.grants.get(grantType);
    if (!handler) return refuse(oauthError('unsupported_grant_type', 'This grant type is not supported'), grantType);
    if (!client.grant_types.includes(grantType as GrantType)) {
      return refuse(oauthError('unauthorized_client', 'The client may not use this grant type'), grantType);
    }
    for (const [name, values] of params) {
      if (values.length > 1 && !handler.repeatableParameters.has(name)) {
        return refuse(oauthError('invalid_request', `Parameter ${name} is repeated`), grantType);
      }
    }

    const view = requestView(request.method, request.path, request.remoteAddress, params, request.headers);
    const outcome = await handler.handle({ client, params, requestId: request.requestId, view });
    if (!outcome.response.ok) return { ...errorResponse(outcome.response.error), ok: false, grantType, clientId, outcome };
    return { status: 200, headers: { ...NO_STORE_HEADERS }, body: outcome.response.value, ok: true, grantType, clientId, outcome };
  }
}
