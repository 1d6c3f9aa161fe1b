/** Small helpers shared by the admin API's routes: one error shape, async handlers. */
import type { NextFunction, Request, Response, RequestHandler } from 'express';

export interface AdminErrorBody {
  error: string;
  error_description: string;
  field?: string;
  details?: unknown;
}

export function sendAdminError(res: Response, status: number, error: string, description: string, extra: Partial<AdminErrorBody> = {}): void {
  res.status(status).json({ error, error_description: description, ...extra });
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
  sendAdminError(res, 400, 'invalid_request', `A ${what} id is 1 to 128 characters from A-Z a-z 0-9 . _ ~ : - (and not . or ..)`, { field: 'id' });
  return true;
}
