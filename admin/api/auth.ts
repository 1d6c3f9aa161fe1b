/**
 * Bearer authentication of the admin API. Wrong keys are counted per remote address; past the
 * limit the address is refused with 429 until the window passes, so guessing is slowed down.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Store } from '../../server/store/types.ts';
import { FailedAuthThrottle } from '../../server/clients/throttle.ts';
import { adminKeyId, adminKeyMatches } from '../../server/configuration/admin-key.ts';
import { sendAdminError } from './http.ts';

export function adminAuthentication(store: Store) {
  const throttle = new FailedAuthThrottle(10, 60_000);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const now = Date.now();
    const retryAfter = throttle.retryAfterSeconds(address, now);
    if (retryAfter > 0) {
      res.setHeader('Retry-After', String(retryAfter));
      sendAdminError(res, 'too_many_requests', 'Too many failed admin authentication attempts; try again later');
      return;
    }
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const storedHash = await store.getAdminKeyHash();
    if (!match?.[1] || !storedHash || !adminKeyMatches(match[1], storedHash)) {
      throttle.recordFailure(address, now);
      res.setHeader('WWW-Authenticate', match ? 'Bearer realm="tokenproc-admin", error="invalid_token"' : 'Bearer realm="tokenproc-admin"');
      sendAdminError(res, 'invalid_token', 'A valid admin key is required (Authorization: Bearer <admin key>)');
      return;
    }
    res.locals.adminActor = adminKeyId(storedHash);
    next();
  };
}
