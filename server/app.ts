/**
 * The HTTP application, assembled in one place: thin express middleware in front of value-typed
 * endpoints (token, introspection, metadata, JWKS), operations endpoints, and what the caller
 * mounts (server.ts mounts the admin API and the admin page).
 */
import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Runtime } from './runtime/runtime.ts';
import { rawBody } from './http/raw-body.ts';
import { sendEndpointResponse } from './http/respond.ts';
import { errorResponse, type EndpointRequest } from './oauth/token-endpoint.ts';
import { oauthError } from './oauth/errors.ts';
import { isStoreUnavailableError } from './store/errors.ts';
import { serverSpan } from './observability/tracing.ts';
import { JWKS_MAX_AGE_SECONDS } from './defaults.ts';
import { authorizationServerMetadata, INTROSPECTION_PATH, JWKS_PATH, openIdConfiguration, REVOCATION_PATH, TOKEN_PATH } from './oauth/metadata.ts';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  req.requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
  res.setHeader('X-Request-Id', req.requestId);
  next();
}

function endpointRequest(req: Request): EndpointRequest {
  return {
    method: req.method,
    path: req.path,
    headers: req.headers,
    body: req.rawBody ?? '',
    // req.ip honours `trust proxy` (TOKENPROC_TRUST_PROXY): behind a proxy, the client's address.
    remoteAddress: req.ip ?? req.socket.remoteAddress ?? '',
    requestId: req.requestId ?? crypto.randomUUID(),
  };
}

/** RFC 9110 §15.5.6: a 405 names the allowed methods. */
function methodNotAllowed(allow: string) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Allow', allow);
    sendEndpointResponse(res, errorResponse(oauthError('invalid_request', `Use ${allow}`, { status: 405 })));
  };
}

export interface AppOptions {
  /** The `/metrics` text: the whole server's when several worker processes serve it. */
  serverMetrics?: () => Promise<string>;
  /** Mounted after the protocol endpoints, in order (the admin API and page): the app knows none of them. */
  mounts?: ReadonlyArray<{ path: string; handler: express.RequestHandler }>;
}

export function createApp(runtime: Runtime, options: AppOptions = {}): express.Express {
  const { config, logger } = runtime;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  app.use(requestId);

  const metadataInput = () => ({
    issuer: config.issuer,
    signingAlg: config.signingAlg,
    grantTypes: runtime.tokenEndpoint.supportedGrantTypes,
    trustDomain: config.trustDomain,
    scopes: [...new Set([...runtime.cache.snapshot.clients.values()].flatMap((c) => c.scope.split(' ').filter(Boolean)))].sort(),
  });

  app.post(TOKEN_PATH, rawBody(config.maxBodyBytes), async (req, res) => {
    await serverSpan(req, res, TOKEN_PATH, async (span) => {
      const result = await runtime.tokenEndpoint.handle(endpointRequest(req));
      // The grant type as the metrics label it (any other value is the caller's free text); never a
      // token or secret. Not recording (tracing off, or not sampled): nothing is computed.
      if (span.isRecording()) span.setAttributes({
        'oauth.grant_type': runtime.tokenEndpoint.supportedGrantTypes.includes(result.grantType) ? result.grantType : 'other',
        'oauth.outcome': result.ok ? 'ok' : result.body.error,
        ...(result.clientId !== null ? { 'oauth.client_id': result.clientId } : {}),
        ...(result.ok ? {} : { 'oauth.error': result.body.error }),
      });
      sendEndpointResponse(res, result);
    });
  });
  app.all(TOKEN_PATH, methodNotAllowed('POST'));

  app.post(INTROSPECTION_PATH, rawBody(config.maxBodyBytes), async (req, res) => {
    await serverSpan(req, res, INTROSPECTION_PATH, async () => {
      sendEndpointResponse(res, await runtime.introspection.handle(endpointRequest(req)));
    });
  });
  app.all(INTROSPECTION_PATH, methodNotAllowed('POST'));

  app.post(REVOCATION_PATH, rawBody(config.maxBodyBytes), async (req, res) => {
    await serverSpan(req, res, REVOCATION_PATH, async () => {
      sendEndpointResponse(res, await runtime.revocation.handle(endpointRequest(req)));
    });
  });
  app.all(REVOCATION_PATH, methodNotAllowed('POST'));

  app.get(JWKS_PATH, (_req, res) => {
    res.setHeader('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    res.type('application/json').send(JSON.stringify({ keys: runtime.signer.publicKeys() }));
  });

  const issuerPath = new URL(config.issuer).pathname.replace(/\/+$/, '');
  const oauthMetadataPaths = ['/.well-known/oauth-authorization-server'];
  if (issuerPath) oauthMetadataPaths.push(`/.well-known/oauth-authorization-server${issuerPath}`);
  app.get(oauthMetadataPaths, (_req, res) => {
    res.type('application/json').send(JSON.stringify(authorizationServerMetadata(metadataInput())));
  });
  app.get('/.well-known/openid-configuration', (_req, res) => {
    res.type('application/json').send(JSON.stringify(openIdConfiguration(metadataInput())));
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await runtime.store.revision();
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });
  app.get('/metrics', async (_req, res) => {
    // With a management listener, metrics are served there only (server/cluster/supervisor.ts).
    if (!runtime.metrics || config.management !== null) {
      res.status(404).end();
      return;
    }
    const text = options.serverMetrics ? await options.serverMetrics() : await runtime.metrics.registry.metrics();
    res.type(runtime.metrics.registry.contentType).send(text);
  });

  for (const mount of options.mounts ?? []) app.use(mount.path, mount.handler);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', error_description: 'No such endpoint' });
  });
  // Last resort: never a stack trace or an HTML page. A store that cannot be reached is a 503 the
  // client may retry, never a refusal of its credentials.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const detail = err instanceof Error ? err.message : String(err);
    if (isStoreUnavailableError(err)) {
      logger.error('store unavailable', { request_id: req.requestId, path: req.path, detail });
      if (res.headersSent) return;
      sendEndpointResponse(
        res,
        errorResponse(oauthError('temporarily_unavailable', 'The server cannot reach its store; try again shortly', { headers: { 'Retry-After': '1' } })),
      );
      return;
    }
    logger.error('unhandled request error', { request_id: req.requestId, detail });
    if (res.headersSent) return;
    sendEndpointResponse(res, errorResponse(oauthError('server_error', 'Internal error')));
  });
  return app;
}
