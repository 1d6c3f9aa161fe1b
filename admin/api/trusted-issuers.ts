/** /admin/api/v1/trusted-issuers: foreign issuers whose JWTs are accepted as subject or actor tokens. */
import { Router } from 'express';
import { trustedIssuerRecordFrom } from '../../server/configuration/records.ts';
import { validateTrustedIssuerBody } from '../../server/schemas/validate.ts';
import { actorOf, param, preconditionOf, refuseInvalidId, route, sendAdminError, sendWithEtag, withoutReadOnly } from './http.ts';
import type { AdminContext } from './context.ts';
import { answerList } from './pagination.ts';

export function trustedIssuerRoutes({ runtime, committed }: AdminContext): Router {
  const router = Router();
  const { store } = runtime;

  router.get('/', route(async (req, res) => {
    await answerList(req, res, 'trusted-issuers', (page) => store.listTrustedIssuers(page), (i) => i.id, (i) => i);
  }));

  router.get('/:id', route(async (req, res) => {
    const issuer = await store.getTrustedIssuer(param(req, 'id'));
    if (!issuer) return sendAdminError(res, 'not_found', 'No such trusted issuer');
    sendWithEtag(res, issuer, issuer);
  }));

  router.put('/:id', route(async (req, res) => {
    const id = param(req, 'id');
    if (refuseInvalidId(res, id, 'trusted issuer')) return;
    const validated = validateTrustedIssuerBody(withoutReadOnly(req.body, ['created_at', 'updated_at']));
    if (!validated.ok) return sendAdminError(res, 'invalid_request', validated.error.message, { field: validated.error.field });
    if (validated.value.id !== undefined && validated.value.id !== id) {
      return sendAdminError(res, 'invalid_request', 'id in the body differs from the one in the path', { field: '/id' });
    }
    const existing = await store.getTrustedIssuer(id);
    const record = trustedIssuerRecordFrom(id, validated.value, existing);
    const { created } = await store.putTrustedIssuer(record, actorOf(res), preconditionOf(req));
    await committed();
    res.status(created ? 201 : 200).json(record);
  }));

  router.delete('/:id', route(async (req, res) => {
    if (!(await store.deleteTrustedIssuer(param(req, 'id'), actorOf(res), preconditionOf(req)))) return sendAdminError(res, 'not_found', 'No such trusted issuer');
    await committed();
    res.status(204).end();
  }));

  return router;
}
