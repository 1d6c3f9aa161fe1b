/**
 * Bearer authentication of the admin API. The right key always passes. Wrong (or missing) keys are
 * counted in the store per source address and for all addresses together; past either limit they
 * are answered 429 until the window passes (the rule: server/clients/throttle.ts).
 *
 * Two kinds of key: the main key (TOKENPROC_ADMIN_KEY or the generated one, role `admin`, named in
 * the audit trail by a prefix of its hash) and named keys with a role (POST /admin-keys, named in
 * the audit trail by name). The stored hashes are cached per store revision, so a request costs
 * no store read while the configuration is unchanged; a key the cache does not know is looked up
 * in the store once more before it is refused, so a key created on another instance is never
 * refused. A deleted key stops working on other instances when they see the new revision (as any
 * configuration change does).
 */
import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { AdminRole, Store } from '../../server/store/types.ts';
import { adminKeyKeys, FailedAuthThrottle } from '../../server/clients/throttle.ts';
import { adminKeyId, hashAdminKey } from '../../server/configuration/admin-key.ts';
import { sendAdminError } from './http.ts';

/** A refused admin key, as operators see it (never the key itself). */
export interface AdminAuthFailure {
  readonly sourceAddress: string;
  /** 401, or 429 when the throttle answered. */
  readonly status: number;
  readonly keyPresented: boolean;
}

/** Who is calling, set on res.locals.adminCaller by adminAuthentication. */
export interface AdminCaller {
  /** The audit trail's actor: `admin:<hash prefix>` for the main key, `admin-key:<name>` for a named key. */
  readonly actor: string;
  readonly role: AdminRole;
}

interface KnownKey {
  readonly hash: Buffer;
  readonly caller: AdminCaller;
}

/** The actor a named key is recorded as in the audit trail. */
export function namedKeyActor(name: string): string {
  return `admin-key:${name}`;
}

async function loadKnownKeys(store: Store): Promise<KnownKey[]> {
  const [mainHash, named] = await Promise.all([store.getAdminKeyHash(), store.listAdminKeys()]);
  const keys: KnownKey[] = named.map((key) => ({ hash: Buffer.from(key.key_hash, 'hex'), caller: { actor: namedKeyActor(key.name), role: key.role } }));
  if (mainHash) keys.unshift({ hash: Buffer.from(mainHash, 'hex'), caller: { actor: adminKeyId(mainHash), role: 'admin' } });
  return keys;
}

/** Compares against every known hash in constant time each, so the time taken does not say which (if any) matched. */
function matchKey(keys: readonly KnownKey[], presented: string): AdminCaller | null {
  const hash = Buffer.from(hashAdminKey(presented), 'hex');
  let found: AdminCaller | null = null;
  for (const key of keys) {
    if (key.hash.length === hash.length && crypto.timingSafeEqual(key.hash, hash) && found === null) found = key.caller;
  }
  return found;
}

/**
 * `revision`: the configuration revision this instance has seen (ConfigCache); absent or -1: the
 * keys are read on every request.
 */
export function adminAuthentication(
  store: Store,
  now: () => number = Date.now,
  onFailure?: (failure: AdminAuthFailure) => void,
  revision?: () => number,
) {
  const throttle = new FailedAuthThrottle(store);
  let cached: { revision: number; keys: KnownKey[] } | null = null;

  async function knownKeys(fresh: boolean): Promise<KnownKey[]> {
    const seen = revision?.() ?? -1;
    if (!fresh && cached && seen >= 0 && cached.revision === seen) return cached.keys;
    const keys = await loadKnownKeys(store);
    cached = { revision: seen, keys };
    return keys;
  }

  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1]) {
      const presented = match[1];
      const caller = matchKey(await knownKeys(false), presented) ?? (cached?.revision === -1 ? null : matchKey(await knownKeys(true), presented));
      if (caller) {
        res.locals.adminCaller = caller;
        res.locals.adminActor = caller.actor;
        next();
        return;
      }
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

const ROLE_RANK: Readonly<Record<AdminRole, number>> = { viewer: 0, author: 1, admin: 2 };

/**
 * The least role a request needs: managing keys is for `admin`; reading anything else (GET /me,
 * /signing-keys included) for every role; writing procedures (upload, activate, dry run, delete)
 * for `author`; every other write for `admin` (PATCH of clients and trusted issuers, the JWKS test,
 * signing key rotation among them). `path` is relative to /admin/api/v1. A method no path offers
 * never gets here: it is answered 405 first (router.ts).
 */
export function requiredRole(method: string, path: string): AdminRole {
  if (path === '/admin-keys' || path.startsWith('/admin-keys/')) return 'admin';
  if (method === 'GET' || method === 'HEAD') return 'viewer';
  if (path === '/procedures' || path.startsWith('/procedures/')) return 'author';
  return 'admin';
}

/** After adminAuthentication: answers 403 insufficient_role to a key whose role does not cover the request. */
export function adminAuthorization() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const caller = res.locals.adminCaller as AdminCaller | undefined;
    const needed = requiredRole(req.method, req.path);
    if (!caller || ROLE_RANK[caller.role] < ROLE_RANK[needed]) {
      sendAdminError(res, 'insufficient_role', `This needs an admin key with role ${needed} or above`, { details: { role: caller?.role ?? null, required: needed } });
      return;
    }
    next();
  };
}
