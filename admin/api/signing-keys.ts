/**
 * /admin/api/v1/signing-keys: the server's signing keys (what `tokenproc keys list` shows, with
 * each key's public JWK; never private material) and their rotation (what `tokenproc keys rotate`
 * does, through the same KeyManager, audited under the admin key's actor).
 */
import { Router, type Response } from 'express';
import type { KeyManager, SigningKeyDescription } from '../../server/tokens/keys.ts';
import { validateSigningKeyRotateBody } from '../../server/schemas/validate.ts';
import { actorOf, route, sendAdminError } from './http.ts';
import type { AdminContext } from './context.ts';
import { readPage, sendPage } from './pagination.ts';
import { answer, type RotationBody, type SigningKeyBody } from './bodies.ts';

/** A page's cursor key: the key's creation time and kid, so a page still follows on after its last key was pruned. */
function cursorKey(key: SigningKeyDescription): string {
  return `${key.created_at}.${key.kid}`;
}

/** The keys after the cursor's in the list's order (newest first). */
function after(keys: readonly SigningKeyDescription[], cursor: string): SigningKeyDescription[] {
  const dot = cursor.indexOf('.');
  const createdAt = Number(cursor.slice(0, dot));
  const kid = cursor.slice(dot + 1);
  const index = keys.findIndex((k) => k.kid === kid);
  if (index >= 0) return keys.slice(index + 1);
  return keys.filter((k) => k.created_at < createdAt);
}

function keyManagerOf(keys: KeyManager | null, res: Response): KeyManager | null {
  if (!keys) sendAdminError(res, 'not_found', 'This server signs with no stored keys');
  return keys;
}

export function signingKeyRoutes({ runtime, committed }: AdminContext): Router {
  const router = Router();

  router.get('/', route(async (req, res) => {
    const keys = keyManagerOf(runtime.keys, res);
    if (!keys) return;
    // Keys rotated elsewhere (the CLI, another instance) are seen here without waiting for the poll.
    await keys.reload();
    const described = keys.describe();
    const parsed = readPage(req, 'signing-keys');
    if (!parsed.ok) return sendAdminError(res, 'invalid_request', parsed.message, { field: parsed.field });
    if (parsed.page === null) {
      answer<SigningKeyBody[]>(res, described);
      return;
    }
    const { page } = parsed;
    if (page.after !== undefined && !/^[0-9]+\./.test(page.after)) return sendAdminError(res, 'invalid_request', 'cursor is not a cursor of this list', { field: 'cursor' });
    const rest = page.after === undefined ? described : after(described, page.after);
    sendPage(res, 'signing-keys', page, rest.slice(0, page.limit + 1), cursorKey, (k) => k);
  }));

  router.post('/rotate', route(async (req, res) => {
    const validated = validateSigningKeyRotateBody(req.body);
    if (!validated.ok) return sendAdminError(res, 'invalid_request', validated.error.message, { field: validated.error.field });
    const keys = keyManagerOf(runtime.keys, res);
    if (!keys) return;
    const { kid, signsFrom, pruned } = await keys.rotate(actorOf(res), { immediately: validated.value.now });
    await committed();
    answer<RotationBody>(res, { kid, signs_from: signsFrom, pruned });
  }));

  return router;
}
