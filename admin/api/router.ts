/**
 * The admin API, /admin/api/v1: bearer-authenticated, JSON only, every body validated against
 * the published JSON Schemas (GET /admin/api/v1/schemas/{name}).
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Runtime } from '../../server/runtime/runtime.ts';
import { adminAuthentication, adminAuthorization } from './auth.ts';
import { adminKeyRoutes } from './admin-keys.ts';
import { openApiDocument } from './openapi.ts';
import { clientRoutes } from './clients.ts';
import { trustedIssuerRoutes } from './trusted-issuers.ts';
import { procedureRoutes } from './procedures.ts';
import { configDocumentRoutes } from './config-document.ts';
import { signingKeyRoutes } from './signing-keys.ts';
import { PATCH_MEDIA_TYPES } from './patch.ts';
import type { AdminCaller } from './auth.ts';
import { documentedOperations } from './openapi.ts';
import { route, sendAdminError, param } from './http.ts';
import { createAdminContext } from './context.ts';
import { DEFAULT_PAGE_LIMIT, readPage, sendPage } from './pagination.ts';
import { answer, type AuditEntryBody, type CallerBody } from './bodies.ts';
import { isSchemaName, loadSchema, SCHEMA_NAMES } from '../../server/schemas/validate.ts';
import { isStoreUnavailableError } from '../../server/store/errors.ts';
import type { AuditFilter } from '../../server/store/types.ts';
import { isPreconditionFailedError } from '../../server/store/etag.ts';

/** The audit trail's filters: query parameters named as the entries' members. */
const AUDIT_FILTERS = ['target_type', 'target_id', 'actor', 'action'] as const satisfies ReadonlyArray<keyof AuditFilter>;

/**
 * Answers 405 method_not_allowed, with Allow, to a method that a documented path (the OpenAPI
 * document's, which tests/admin/openapi.test.ts holds equal to the mounted routes) does not offer;
 * OPTIONS gets 204 with Allow. Paths that match no documented path go on (to 404).
 */
function methodNotAllowed() {
  const templates = documentedOperations().map(({ path, methods }) => ({
    pattern: new RegExp(`^${path.split('/').map((segment) => (segment.startsWith('{') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}/?$`),
    methods,
  }));
  return (req: Request, res: Response, next: NextFunction): void => {
    const matching = templates.filter((t) => t.pattern.test(req.path));
    if (matching.length === 0) return next();
    const allowed = new Set(matching.flatMap((t) => t.methods.map((m) => m.toUpperCase())));
    if (allowed.has('GET')) allowed.add('HEAD');
    if (allowed.has(req.method)) return next();
    allowed.add('OPTIONS');
    const allow = [...allowed].sort().join(', ');
    res.setHeader('Allow', allow);
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    sendAdminError(res, 'method_not_allowed', `${req.method} is not offered here; allowed: ${allow}`);
  };
}

export function createAdminRouter(runtime: Runtime): Router {
  const router = Router();
  const context = createAdminContext(runtime);
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // Schemas are public documentation: no key needed to read them.
  router.get('/schemas', (_req, res) => {
    answer<string[]>(res, [...SCHEMA_NAMES]);
  });
  router.get('/openapi.json', (_req, res) => {
    answer<Record<string, unknown>>(res, openApiDocument());
  });
  router.get('/schemas/:name', (req, res) => {
    const name = param(req, 'name');
    if (!isSchemaName(name)) return sendAdminError(res, 'not_found', 'No such schema');
    res.type('application/schema+json').send(JSON.stringify(loadSchema(name)));
  });

  router.use(
    route(
      adminAuthentication(runtime.store, Date.now, (failure) => {
        const throttled = failure.status === 429;
        runtime.logger.log(throttled ? 'warn' : 'info', throttled ? 'admin authentication throttled' : 'admin authentication failed', {
          event: throttled ? 'admin_auth_throttled' : 'admin_auth_failure',
          source_address: failure.sourceAddress,
          key_presented: failure.keyPresented,
        });
        runtime.metrics?.adminAuthFailures.inc({ outcome: throttled ? 'throttled' : 'refused' });
      }, () => runtime.cache.snapshot.revision),
    ),
  );
  // A known path asked with a method it does not offer: 405 whatever the key's role (no role could do it).
  router.use(methodNotAllowed());
  router.use(adminAuthorization());
  router.use((req, res, next) => {
    // An empty body needs no type (POST .../rotate-secret takes none); req.is is null without any body.
    const empty = req.headers['content-length'] === '0';
    if (req.method === 'PATCH' && !empty && req.is([...PATCH_MEDIA_TYPES]) === false) {
      return sendAdminError(res, 'invalid_request', 'PATCH takes application/merge-patch+json (or application/json) bodies', { status: 415 });
    }
    if ((req.method === 'PUT' || req.method === 'POST') && !empty && req.is('application/json') === false) {
      return sendAdminError(res, 'invalid_request', 'The admin API takes application/json bodies', { status: 415 });
    }
    next();
  });
  router.use(express.json({ limit: '1mb', strict: true, type: [...PATCH_MEDIA_TYPES] }));

  router.get('/me', (_req, res) => {
    const caller = res.locals.adminCaller as AdminCaller;
    answer<CallerBody>(res, { actor: caller.actor, role: caller.role });
  });
  router.use('/signing-keys', signingKeyRoutes(context));

  router.use('/clients', clientRoutes(context));
  router.use('/trusted-issuers', trustedIssuerRoutes(context));
  router.use('/procedures', procedureRoutes(context));
  router.use('/config', configDocumentRoutes(context));
  router.use('/admin-keys', adminKeyRoutes(context));

  router.get('/audit', route(async (req, res) => {
    // `?target_type=&target_id=&actor=&action=` narrow the trail (exact matches, combined).
    const filter: AuditFilter = {};
    for (const name of AUDIT_FILTERS) {
      const value = req.query[name];
      if (value === undefined) continue;
      if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
        return sendAdminError(res, 'invalid_request', `${name} must be given once, 1 to 256 characters`, { field: name });
      }
      filter[name] = value;
    }
    // `?limit=&before=` predates cursors and answers the bare array (the admin page uses it); a
    // `cursor` (empty for the first page) asks for `{items, next_cursor}`.
    if (req.query.cursor === undefined) {
      const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 1000);
      const before = req.query.before !== undefined ? Number(req.query.before) : undefined;
      answer<AuditEntryBody[]>(res, await runtime.store.listAudit({ limit, filter, ...(before !== undefined && Number.isFinite(before) ? { before } : {}) }));
      return;
    }
    const parsed = readPage(req, 'audit');
    if (!parsed.ok) return sendAdminError(res, 'invalid_request', parsed.message, { field: parsed.field });
    if (req.query.before !== undefined) return sendAdminError(res, 'invalid_request', 'give cursor or before, not both', { field: 'before' });
    const page = parsed.page ?? { limit: DEFAULT_PAGE_LIMIT, after: undefined };
    const before = page.after === undefined ? undefined : Number(page.after);
    if (before !== undefined && !Number.isSafeInteger(before)) return sendAdminError(res, 'invalid_request', 'cursor is not a cursor of this list', { field: 'cursor' });
    const entries = await runtime.store.listAudit({ limit: page.limit + 1, filter, ...(before !== undefined ? { before } : {}) });
    sendPage(res, 'audit', page, entries, (e) => String(e.id), (e) => e);
  }));

  router.use((_req, res) => sendAdminError(res, 'not_found', 'No such admin endpoint'));
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err ? Number((err as { status: unknown }).status) : 500;
    if (status >= 400 && status < 500) {
      const description = status === 413 ? 'The body is too large' : status === 415 ? 'The body must be UTF-8 JSON' : 'The body is not valid JSON';
      return sendAdminError(res, 'invalid_request', description, { status: status === 413 || status === 415 ? status : 400 });
    }
    if (isPreconditionFailedError(err)) return sendAdminError(res, 'precondition_failed', err.message);
    const detail = err instanceof Error ? err.message : String(err);
    if (isStoreUnavailableError(err)) {
      runtime.logger.error('store unavailable', { detail });
      res.setHeader('Retry-After', '1');
      return sendAdminError(res, 'temporarily_unavailable', 'The server cannot reach its store; try again shortly');
    }
    runtime.logger.error('admin API error', { detail });
    sendAdminError(res, 'server_error', 'Internal error');
  });
  return router;
}
