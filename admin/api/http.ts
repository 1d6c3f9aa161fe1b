/** Small helpers shared by the admin API's routes: one error shape, async handlers. */
import type { NextFunction, Request, Response, RequestHandler } from 'express';
import { entityTag, parseIfMatch, type Precondition } from '../../server/store/etag.ts';

/**
 * Every error code the admin API answers, with its status: the one catalogue (as oauth/errors.ts
 * is for the token endpoint). A 400 `invalid_request` may be answered as 415 (wrong media type) or
 * 413 (body too large), where the request is refused before it is read.
 */
export const ADMIN_ERROR_STATUS = {
  invalid_request: 400,
  invalid_token: 401,
  /** An admin key whose role does not cover the request (admin/api/auth.ts requiredRole). */
  insufficient_role: 403,
  not_found: 404,
  /** A method the path does not offer (the answer's Allow header lists those it does); unknown paths are 404. */
  method_not_allowed: 405,
  conflict: 409,
  procedure_in_use: 409,
  procedure_flow_mismatch: 409,
  procedure_missing: 409,
  /** An If-Match that no longer matches the stored resource (or `*` for one that does not exist); nothing changed. */
  precondition_failed: 412,
  invalid_procedure: 422,
  too_many_requests: 429,
  server_error: 500,
  /** The store cannot be reached in time (see StoreUnavailableError). */
  temporarily_unavailable: 503,
} as const satisfies Readonly<Record<string, number>>;

export type AdminErrorCode = keyof typeof ADMIN_ERROR_STATUS;

export interface AdminErrorBody {
  error: AdminErrorCode;
  error_description: string;
  field?: string;
  details?: unknown;
}

export interface AdminErrorOptions {
  /** A status other than the code's own, where the catalogue allows one (415 or 413 for invalid_request). */
  status?: 400 | 413 | 415;
  field?: string;
  details?: unknown;
}

export function sendAdminError(res: Response, error: AdminErrorCode, description: string, options: AdminErrorOptions = {}): void {
  const { status, ...extra } = options;
  const body: AdminErrorBody = { error, error_description: description, ...extra };
  res.status(status ?? ADMIN_ERROR_STATUS[error]).json(body);
}

/** Express 5 forwards rejected promises; this only narrows the handler type. */
export function route(handler: (req: Request, res: Response, next: NextFunction) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    handler(req, res, next).catch(next);
  };
}

/** The admin key id recorded in the audit trail for this request. */
export function actorOf(res: Response): string {
  return typeof res.locals.adminActor === 'string' ? res.locals.adminActor : 'admin';
}

export function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
}

/** The definitions schema's resource_id: what a client, procedure or trusted issuer id may be. */
const RESOURCE_ID = /^(?!\.{1,2}$)[A-Za-z0-9._~:-]{1,128}$/;

export function isResourceId(id: string): boolean {
  return RESOURCE_ID.test(id);
}

/** Answers 400 naming the path segment when it is not a valid id; returns whether it did. */
export function refuseInvalidId(res: Response, id: string, what: string): boolean {
  if (isResourceId(id)) return false;
  sendAdminError(res, 'invalid_request', `A ${what} id is 1 to 128 characters from A-Z a-z 0-9 . _ ~ : - (and not . or ..)`, { field: 'id' });
  return true;
}

/** The request's If-Match, for the store write to check in its transaction; undefined without one. */
export function preconditionOf(req: Request): Precondition | undefined {
  return parseIfMatch(req.get('if-match'));
}

/** Answers a single stored resource with its ETag (taken from the stored record, which may hold more than `body` shows). */
export function sendWithEtag<B>(res: Response, stored: object, body: B): void {
  res.setHeader('ETag', entityTag(stored));
  res.json(body);
}

/**
 * A body without the members the server sets itself (times, `has_secret`): what a GET answered
 * can be changed and PUT back, as an ETag workflow does, and those members are ignored.
 */
export function withoutReadOnly(body: unknown, names: readonly string[]): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const name of names) delete copy[name];
  return copy;
}

/**
 * RFC 7396 JSON Merge Patch: members of `patch` replace those of `target`, objects merge
 * recursively, `null` removes a member; a patch that is not an object replaces the target.
 * Neither argument is changed.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [name, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) {
      delete result[name];
      continue;
    }
    // Defined, not assigned: a member named __proto__ stays a member (as JSON.parse made it).
    const merged = applyMergePatch(Object.hasOwn(result, name) ? result[name] : undefined, value);
    Object.defineProperty(result, name, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return result;
}
