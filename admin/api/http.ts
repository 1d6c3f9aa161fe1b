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
