/**
 * Bearer authentication of the admin API. The right key always passes. Wrong (or missing) keys are
 * counted in the store per source address and for all addresses together; past either limit they
 * are answered 429 until the window passes (the rule: server/clients/throttle.ts).
 */
import type { NextFunction, Request, Response } from 'express';
import type { Store } from '../../server/store/types.ts';
import { adminKeyKeys, FailedAuthThrottle } from '../../server/clients/throttle.ts';
import { adminKeyId, adminKeyMatches } from '../../server/configuration/admin-key.ts';
import { sendAdminError } from './http.ts';

/** A refused admin key, as operators see it (never the key itself). */
export interface AdminAuthFailure {
  readonly sourceAddress: string;
  /** 401, or 429 when the throttle answered. */
  readonly status: number;
  readonly keyPresented: boolean;
}

export function adminAuthentication(store: Store, now: () => number = Date.now, onFailure?: (failure: AdminAuthFailure) => void) {
  const throttle = new FailedAuthThrottle(store);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const storedHash = await store.getAdminKeyHash();
    if (match?.[1] && storedHash && adminKeyMatches(match[1], storedHash)) {
      res.locals.adminActor = adminKeyId(storedHash);
      next();
      return;
    }
    // req.ip honours `trust proxy` (TOKENPROC_TRUST_PROXY): behind a proxy, the client's address.
    const sourceAddress = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const retryAfter = await throttle.recordFailure(adminKeyKeys(sourceAddress), now());
    onFailure?.({ sourceAddress, status: retryAfter > 0 ? 429 : 401, keyPresented: match !== null });
    if (retryAfter > 0) {
      res.setHeader('Retry-After', String(retryAfter));
      sendAdminError(res, 'too_many_requests', 'Too many failed admin authentication attempts; try again later');
      return;
    }
    res.setHeader('WWW-Authenticate', match ? 'Bearer realm="tokenproc-admin", error="invalid_token"' : 'Bearer realm="tokenproc-admin"');
    sendAdminError(res, 'invalid_token', 'A valid admin key is required (Authorization: Bearer <admin key>)');
  };
}
