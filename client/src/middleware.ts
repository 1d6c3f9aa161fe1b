/**
 * Express-style middleware: takes the incoming `Authorization: Bearer` token, exchanges it for the
 * configured audience and hands the token response to the handler as `req.exchangedToken` (and
 * `res.locals.exchangedToken` when the response has `locals`, as Express's does). Written against
 * plain (req, res, next) shapes: Express is not a dependency, and node:http's objects fit too.
 *
 * Answers (unless `onError` takes over):
 * - no bearer token: 401, `WWW-Authenticate: Bearer` (RFC 6750 §3.1: no error code), empty body;
 * - the exchange refused the token (`invalid_request`, `invalid_grant`, `invalid_token`): 401,
 *   `WWW-Authenticate: Bearer error="invalid_token"`;
 * - the exchange refused the scope or audience (`invalid_scope`, `invalid_target`,
 *   `access_denied`): 403, `WWW-Authenticate: Bearer error="insufficient_scope"`;
 * - the authorization server is unreachable, failing (5xx), throttling (429) or answering nonsense:
 *   503 with `Retry-After`;
 * - anything else (`invalid_client`, `unauthorized_client`, `unsupported_grant_type`, ...: this
 *   API's own client is misconfigured, which the caller cannot fix): 500 `server_error`, with no
 *   description.
 * Bodies are JSON `{"error", "error_description"}`; they never carry a token.
 */
import type { ExchangeClient, ExchangeRequest } from './client.ts';
import { ExchangeError } from './errors.ts';
import type { TokenResponse } from './types.ts';

/** The request as the middleware needs it (an Express Request or an http.IncomingMessage fits). */
export interface BearerRequest {
  readonly headers: { readonly authorization?: string | undefined };
  exchangedToken?: TokenResponse;
}

/** The response as the middleware needs it (an Express Response or an http.ServerResponse fits). */
export interface ResponseLike {
  statusCode: number;
  readonly headersSent?: boolean;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
  locals?: Record<string, unknown>;
}

export type NextFunctionLike = (error?: unknown) => void;

export interface ExchangeMiddlewareOptions<Req extends BearerRequest = BearerRequest, Res extends ResponseLike = ResponseLike> {
  client: ExchangeClient;
  audience?: string | readonly string[];
  resource?: string | readonly string[];
  scope?: string | readonly string[];
  requestedTokenType?: string;
  /** Default `urn:ietf:params:oauth:token-type:access_token`. */
  subjectTokenType?: string;
  /** An actor token to present with each exchange (e.g. this service's own token), or none. */
  actorToken?: (req: Req) => string | undefined | Promise<string | undefined>;
  actorTokenType?: string;
  /** The `realm` of the `WWW-Authenticate` challenges. */
  realm?: string;
  /** Takes over the answer to a failed exchange (the error carries no token). */
  onError?: (error: ExchangeError, req: Req, res: Res, next: NextFunctionLike) => void;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const TOKEN_REFUSED = new Set(['invalid_request', 'invalid_grant', 'invalid_token']);
const NOT_ALLOWED = new Set(['invalid_scope', 'invalid_target', 'access_denied']);

/** The token response the middleware stored on the request, if any. */
export function exchangedToken(req: BearerRequest): TokenResponse | undefined {
  return req.exchangedToken;
}

/** The bearer token of an Authorization header value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  return BEARER.exec(header)?.[1];
}

export function exchangeMiddleware<Req extends BearerRequest = BearerRequest, Res extends ResponseLike = ResponseLike>(
  options: ExchangeMiddlewareOptions<Req, Res>,
): (req: Req, res: Res, next: NextFunctionLike) => Promise<void> {
  if (!options?.client || typeof options.client.exchange !== 'function') throw new TypeError('exchangeMiddleware needs a client');
  const realm = options.realm?.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
  return async (req, res, next) => {
    const subjectToken = bearerToken(req.headers.authorization);
    if (subjectToken === undefined) {
      res.statusCode = 401;
      res.setHeader('WWW-Authenticate', challenge(realm));
      res.end();
      return;
    }
    let response: TokenResponse;
    try {
      const actorToken = options.actorToken ? await options.actorToken(req) : undefined;
      const request: ExchangeRequest = {
        subjectToken,
        ...(options.subjectTokenType !== undefined ? { subjectTokenType: options.subjectTokenType } : {}),
        ...(options.audience !== undefined ? { audience: options.audience } : {}),
        ...(options.resource !== undefined ? { resource: options.resource } : {}),
        ...(options.scope !== undefined ? { scope: options.scope } : {}),
        ...(options.requestedTokenType !== undefined ? { requestedTokenType: options.requestedTokenType } : {}),
        ...(actorToken !== undefined ? { actorToken, ...(options.actorTokenType !== undefined ? { actorTokenType: options.actorTokenType } : {}) } : {}),
      };
      response = await options.client.exchange(request);
    } catch (error) {
      if (!(error instanceof ExchangeError)) {
        next(error);
        return;
      }
      if (options.onError) {
        options.onError(error, req, res, next);
        return;
      }
      answerFailure(error, res, realm);
      return;
    }
    req.exchangedToken = response;
    if (res.locals !== undefined && res.locals !== null && typeof res.locals === 'object') res.locals.exchangedToken = response;
    next();
  };
}

/** An RFC 6750 §3 challenge. */
function challenge(realm: string | undefined, error?: string): string {
  const parameters = [...(realm ? [`realm="${realm}"`] : []), ...(error ? [`error="${error}"`] : [])];
  return parameters.length ? `Bearer ${parameters.join(', ')}` : 'Bearer';
}

function answerFailure(error: ExchangeError, res: ResponseLike, realm: string | undefined): void {
  if (res.headersSent) return;
  let status: number;
  let body: { error: string; error_description?: string };
  if (error.transient) {
    status = 503;
    res.setHeader('Retry-After', String(Math.min(Math.max(error.retryAfter ?? 1, 1), 60)));
    body = { error: 'temporarily_unavailable', error_description: 'the authorization server is not available' };
  } else if (TOKEN_REFUSED.has(error.error)) {
    status = 401;
    res.setHeader('WWW-Authenticate', challenge(realm, 'invalid_token'));
    body = { error: 'invalid_token', ...(error.error_description ? { error_description: error.error_description } : {}) };
  } else if (NOT_ALLOWED.has(error.error)) {
    status = 403;
    res.setHeader('WWW-Authenticate', challenge(realm, 'insufficient_scope'));
    body = { error: 'insufficient_scope', ...(error.error_description ? { error_description: error.error_description } : {}) };
  } else {
    status = 500;
    body = { error: 'server_error' };
  }
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}
