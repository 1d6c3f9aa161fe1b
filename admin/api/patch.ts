/**
 * PATCH of a single resource with a JSON Merge Patch (RFC 7396): the patch is applied to what a
 * GET answers (without the members the server sets), the result goes through exactly what a PUT
 * of it would (the same JSON Schema, the same checks, the same store write and audit entry), and
 * the answer is the updated resource with its new ETag.
 *
 * The caller's If-Match is checked against the record the patch was applied to; the store write
 * is conditional on that record still being current, so a concurrent change is never overwritten
 * by a patch computed from the record before it (the patch is then applied again to the new
 * record, or answered 412 when the caller's If-Match no longer holds).
 */
import type { Request, Response } from 'express';
import { checkPrecondition, entityTag, isPreconditionFailedError, PreconditionFailedError } from '../../server/store/etag.ts';
import { applyMergePatch, preconditionOf, sendAdminError, sendWithEtag, withoutReadOnly } from './http.ts';
import type { Precondition } from '../../server/store/etag.ts';
import type { Result } from '../../sandbox/protocol.ts';
import type { ValidationProblem } from '../../server/schemas/validate.ts';

/** Media types a PATCH body may have. */
export const PATCH_MEDIA_TYPES = ['application/merge-patch+json', 'application/json'] as const;

/** How often a patch is re-applied after losing a race with another write before 412 is answered. */
const ATTEMPTS = 3;

/** A record built from a body, with what the answer adds once (a generated secret); or where the body went wrong. */
export type PatchBuild<R> = Result<{ record: R; extra?: Record<string, unknown> }, ValidationProblem>;

export interface PatchTarget<R extends object, V extends object> {
  /** "client", "trusted issuer": for messages. */
  readonly what: string;
  read(): Promise<R | null>;
  /** The resource as a GET answers it. */
  view(record: R): V;
  /** Members of the view the server sets itself; a patch of them is ignored, as a PUT ignores them. */
  readonly readOnly: readonly string[];
  /** Validates the merged document as a PUT body and builds the record to store. */
  build(merged: unknown, existing: R): Promise<PatchBuild<R>>;
  /** The store write (a PUT's), conditional on `precondition`. */
  write(record: R, precondition: Precondition): Promise<void>;
}

/** Answers the request; `committed` runs after the write. */
export async function patchResource<R extends object, V extends object>(req: Request, res: Response, target: PatchTarget<R, V>, committed: () => Promise<void>): Promise<void> {
  const patch: unknown = req.body;
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    return sendAdminError(res, 'invalid_request', `A patch of a ${target.what} is a JSON object (RFC 7396 JSON Merge Patch)`, { field: '' });
  }
  const asked = preconditionOf(req);
  for (let attempt = 1; ; attempt++) {
    const existing = await target.read();
    if (existing === null) return sendAdminError(res, 'not_found', `No such ${target.what}`);
    checkPrecondition(asked, existing, target.what);
    const merged = applyMergePatch(withoutReadOnly(target.view(existing), target.readOnly), withoutReadOnly(patch, target.readOnly));
    const built = await target.build(merged, existing);
    if (!built.ok) return sendAdminError(res, 'invalid_request', built.error.message, { field: built.error.field });
    try {
      await target.write(built.value.record, { ifMatch: [entityTag(existing)] });
    } catch (err) {
      if (!isPreconditionFailedError(err)) throw err;
      if (attempt >= ATTEMPTS) throw new PreconditionFailedError(`the ${target.what} kept changing while it was patched; try again`);
      continue;
    }
    await committed();
    const stored = await target.read();
    if (stored === null) return sendAdminError(res, 'not_found', `No such ${target.what}`);
    sendWithEtag(res, stored, { ...target.view(stored), ...(built.value.extra ?? {}) });
    return;
  }
}
