/**
 * /admin/api/v1/admin-keys: named admin keys with a role. The key is generated here and answered
 * once, at creation; the store keeps only its hash, and no other answer carries it.
 */
import crypto from 'node:crypto';
import { Router } from 'express';
import type { AdminKeyRecord } from '../../server/store/types.ts';
import { hashAdminKey } from '../../server/configuration/admin-key.ts';
import { validateAdminKeyBody } from '../../server/schemas/validate.ts';
import { actorOf, param, preconditionOf, route, sendAdminError, sendWithEtag } from './http.ts';
import type { AdminContext } from './context.ts';
import { answerList } from './pagination.ts';
import { answer, type AdminKeyBody, type AdminKeyCreatedBody } from './bodies.ts';

/** What the API shows of a key: never the key nor its hash. */
export function publicAdminKey(key: AdminKeyRecord): AdminKeyBody {
  return { name: key.name, role: key.role, created_at: key.created_at };
}

export function adminKeyRoutes({ runtime, committed }: AdminContext): Router {
  const router = Router();
  const { store } = runtime;

  router.get('/', route(async (req, res) => {
    await answerList(req, res, 'admin-keys', (page) => store.listAdminKeys(page), (k) => k.name, publicAdminKey);
  }));

  router.get('/:name', route(async (req, res) => {
    const key = await store.getAdminKey(param(req, 'name'));
    if (!key) return sendAdminError(res, 'not_found', 'No such admin key');
    sendWithEtag(res, key, publicAdminKey(key));
  }));

  router.post('/', route(async (req, res) => {
    const validated = validateAdminKeyBody(req.body);
    if (!validated.ok) return sendAdminError(res, 'invalid_request', validated.error.message, { field: validated.error.field });
    const { name, role } = validated.value;
    // 256 random bits, as the generated main key: 43 base64url characters.
    const key = crypto.randomBytes(32).toString('base64url');
    const record: AdminKeyRecord = { name, role, key_hash: hashAdminKey(key), created_at: Math.floor(Date.now() / 1000) };
    if (!(await store.createAdminKey(record, actorOf(res)))) return sendAdminError(res, 'conflict', `An admin key named ${name} exists; delete it first`);
    await committed();
    answer<AdminKeyCreatedBody>(res, { name, role, key }, 201);
  }));

  router.delete('/:name', route(async (req, res) => {
    if (!(await store.deleteAdminKey(param(req, 'name'), actorOf(res), preconditionOf(req)))) return sendAdminError(res, 'not_found', 'No such admin key');
    await committed();
    res.status(204).end();
  }));

  return router;
}
