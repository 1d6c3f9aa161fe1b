/**
 * /admin/api/v1/clients: create, replace, patch (JSON Merge Patch), read, list, delete, rotate the
 * secret. The secret is write-only: it is stored hashed, and shown once only when the server
 * generated it.
 */
import { Router } from 'express';
import type { ClientRecord, Store } from '../../server/store/types.ts';
import type { AdminContext } from './context.ts';
import { generateClientSecret, hashSecret } from '../../server/clients/secrets.ts';
import { checkClientReferences, clientRecordFrom, publicClient } from '../../server/configuration/records.ts';
import { validateClientBody } from '../../server/schemas/validate.ts';
import { actorOf, param, preconditionOf, route, sendAdminError, sendWithEtag, withoutReadOnly } from './http.ts';
import { isStoreConflictError } from '../../server/store/errors.ts';
import { fail, ok } from '../../sandbox/protocol.ts';
import { answerList } from './pagination.ts';
import { answer, type ClientWrittenBody, type SecretRotatedBody } from './bodies.ts';
import { patchResource, type PatchBuild } from './patch.ts';

/** Members a client's GET shows that the server sets itself. */
const READ_ONLY = ['created_at', 'updated_at', 'has_secret'];

/**
 * A PUT body (or a merged PATCH document) as the record to store: validated against the client
 * schema, its id matching the path, the procedures it names existing. `extra` carries a generated
 * secret, to be answered once.
 */
async function buildClient(clientId: string, body: unknown, store: Store, existing: ClientRecord | null): Promise<PatchBuild<ClientRecord>> {
  const raw: unknown = withoutReadOnly(body, READ_ONLY);
  // The path names the client; the body may repeat the id but need not.
  const withId = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !('client_id' in raw) ? { ...raw, client_id: clientId } : raw;
  const validated = validateClientBody(withId);
  if (!validated.ok) return validated;
  const input = validated.value;
  if (input.client_id !== clientId) return fail({ message: 'client_id in the body differs from the one in the path', field: '/client_id' });
  const references = await checkClientReferences(input, store);
  if (!references.ok) return references;
  const built = await clientRecordFrom(clientId, input, existing);
  if (!built.ok) return built;
  const { record, generatedSecret } = built.value;
  return ok({ record, ...(generatedSecret ? { extra: { client_secret: generatedSecret } } : {}) });
}

export function clientRoutes({ runtime, committed }: AdminContext): Router {
  const router = Router();
  const { store } = runtime;

  router.get('/', route(async (req, res) => {
    await answerList(req, res, 'clients', (page) => store.listClients(page), (c) => c.client_id, publicClient);
  }));

  router.get('/:clientId', route(async (req, res) => {
    const client = await store.getClient(param(req, 'clientId'));
    if (!client) return sendAdminError(res, 'not_found', 'No such client');
    sendWithEtag(res, client, publicClient(client));
  }));

  router.put('/:clientId', route(async (req, res) => {
    const clientId = param(req, 'clientId');
    const built = await buildClient(clientId, req.body, store, await store.getClient(clientId));
    if (!built.ok) return sendAdminError(res, 'invalid_request', built.error.message, { field: built.error.field });
    const { record, extra } = built.value;
    let created: boolean;
    try {
      ({ created } = await store.putClient(record, actorOf(res), preconditionOf(req)));
    } catch (err) {
      // The reference check above can race a concurrent procedure delete; the store has the last word.
      if (isStoreConflictError(err)) return sendAdminError(res, 'invalid_request', err.message, { field: '/procedures' });
      throw err;
    }
    await committed();
    answer<ClientWrittenBody>(res, { ...publicClient(record), ...(extra ?? {}) }, created ? 201 : 200);
  }));

  router.patch('/:clientId', route(async (req, res) => {
    const clientId = param(req, 'clientId');
    try {
      await patchResource(
        req,
        res,
        {
          what: 'client',
          read: () => store.getClient(clientId),
          view: publicClient,
          readOnly: READ_ONLY,
          build: (merged, existing) => buildClient(clientId, merged, store, existing),
          write: async (record, precondition) => {
            await store.putClient(record, actorOf(res), precondition);
          },
        },
        committed,
      );
    } catch (err) {
      // As for PUT: the reference check can race a concurrent procedure delete; the store has the last word.
      if (isStoreConflictError(err)) return sendAdminError(res, 'invalid_request', err.message, { field: '/procedures' });
      throw err;
    }
  }));

  router.post('/:clientId/rotate-secret', route(async (req, res) => {
    const existing = await store.getClient(param(req, 'clientId'));
    if (!existing) return sendAdminError(res, 'not_found', 'No such client');
    if (existing.token_endpoint_auth_method === 'private_key_jwt') {
      return sendAdminError(res, 'conflict', 'This client authenticates with private_key_jwt and has no secret');
    }
    const secret = generateClientSecret();
    const record = { ...existing, client_secret_hash: await hashSecret(secret), updated_at: Math.floor(Date.now() / 1000) };
    await store.putClient(record, actorOf(res), preconditionOf(req));
    runtime.authenticator.forgetVerifiedSecrets();
    await committed();
    answer<SecretRotatedBody>(res, { client_id: existing.client_id, client_secret: secret });
  }));

  router.delete('/:clientId', route(async (req, res) => {
    const deleted = await store.deleteClient(param(req, 'clientId'), actorOf(res), preconditionOf(req));
    if (!deleted) return sendAdminError(res, 'not_found', 'No such client');
    await committed();
    res.status(204).end();
  }));

  return router;
}
