/**
 * GET/PUT /admin/api/v1/config: the configuration document (server/configuration/config-document.ts)
 * over the admin API.
 */
import { Router } from 'express';
import { exportConfig, ConfigImportError, importConfig } from '../../server/configuration/config-document.ts';
import { actorOf, route, sendAdminError } from './http.ts';
import type { AdminContext } from './context.ts';
import { answer, type ConfigDocumentBody, type ConfigImportBody } from './bodies.ts';

export function configDocumentRoutes({ runtime, committed }: AdminContext): Router {
  const router = Router();
  router.get('/', route(async (_req, res) => {
    answer<ConfigDocumentBody>(res, await exportConfig(runtime.store));
  }));
  router.put('/', route(async (req, res) => {
    try {
      const summary = await importConfig(runtime, req.body, actorOf(res));
      await committed();
      answer<ConfigImportBody>(res, summary);
    } catch (err) {
      if (err instanceof ConfigImportError) return sendAdminError(res, 'invalid_request', err.message, { field: err.field });
      throw err;
    }
  }));
  return router;
}
