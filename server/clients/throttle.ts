/**
 * Throttling of failed authentications (RFC 6749 §2.3.1: protect credential checks against brute
 * force), counted in the store so that every instance sharing it counts the same failures: three
 * instances on one PostgreSQL throttle after the same number of guesses as one.
 *
 * The rule, for client secrets and the admin key alike:
 * - A correct credential always passes. It is checked even while its keys are throttled, and is
 *   never answered 429: guessing cannot lock the owner out. A success neither reads nor writes the
 *   store.
 * - A wrong one is counted against each of its keys, narrowest first: (client id, source address)
 *   then the client id; for the admin key, the source address then all addresses. Once a key has
 *   its limit of failures in the current window, a wrong credential is answered 429 with
 *   Retry-After (the end of the window) and is counted no further: the key at its limit absorbs
 *   it. So a guesser from one address is answered 429 after a few failures without filling the
 *   wider count, and many addresses together reach the wider limit.
 * - A key's window opens at its first failure and lasts a minute; within it the count only grows,
 *   and every instance counts in the same window. An instance that learned from the store
 *   that a key is at its limit answers 429 for it from memory until the window ends, so a flood of
 *   wrong guesses costs the store nothing more. The store's count, shared by every instance, is
 *   what decides.
 * - If the store cannot count (StoreUnavailableError), the error propagates and the endpoint
 *   answers 503: an uncounted failure is not passed off as a counted one.
 *
 * - One exception keeps guessing from costing the server a hash per guess: a client secret from
 *   an address that this instance knows is at its own limit for that client is answered 429
 *   without being checked (unless it is a secret verified lately, which passes without a hash).
 *   Only that address is slowed; the owner elsewhere is still checked and passes. The first wrong
 *   guess past the limit on each instance is checked once, which is how the instance learns it.
 *   Behind a proxy, set TOKENPROC_TRUST_PROXY, or every client shares the proxy's address.
 *
 * Guesses from many addresses are still checked, each at most its address's limit per window; the
 * length of secrets is what makes online guessing hopeless (generated client secrets are 256-bit,
 * admin keys at least 32 characters of a random key).
 */
import type { Store } from '../store/types.ts';
import {
  AUTH_FAILURE_WINDOW_MS,
  MAX_ADMIN_AUTH_FAILURES,
  MAX_ADMIN_AUTH_FAILURES_PER_ADDRESS,
  MAX_CLIENT_AUTH_FAILURES,
  MAX_CLIENT_AUTH_FAILURES_PER_ADDRESS,
} from '../defaults.ts';

/** One throttled count: its name in the store and its limit. */
export interface ThrottleLimit {
  /** auth_failures.scope. */
  readonly scope: string;
  /** Failures answered as usual (401) in one window; the next ones are 429. */
  readonly maxFailures: number;
  readonly windowMs: number;
}

/** A failure is counted against `key` under `limit`. */
export interface ThrottledKey {
  readonly limit: ThrottleLimit;
  readonly key: string;
}

export const CLIENT_SECRET_PER_ADDRESS: ThrottleLimit = {
  scope: 'client_secret_address',
  maxFailures: MAX_CLIENT_AUTH_FAILURES_PER_ADDRESS,
  windowMs: AUTH_FAILURE_WINDOW_MS,
};
export const CLIENT_SECRET_PER_CLIENT: ThrottleLimit = { scope: 'client_secret', maxFailures: MAX_CLIENT_AUTH_FAILURES, windowMs: AUTH_FAILURE_WINDOW_MS };
export const ADMIN_KEY_PER_ADDRESS: ThrottleLimit = { scope: 'admin_key_address', maxFailures: MAX_ADMIN_AUTH_FAILURES_PER_ADDRESS, windowMs: AUTH_FAILURE_WINDOW_MS };
export const ADMIN_KEY_ALL_ADDRESSES: ThrottleLimit = { scope: 'admin_key', maxFailures: MAX_ADMIN_AUTH_FAILURES, windowMs: AUTH_FAILURE_WINDOW_MS };

/**
 * The counts a wrong client secret goes to. Keyed by the presented id, known or not, so the answer
 * does not tell which ids exist. Without a source address (a caller that does not pass one) only
 * the per-client count applies.
 */
export function clientSecretKeys(clientId: string, sourceAddress: string | undefined): ThrottledKey[] {
  const perClient: ThrottledKey = { limit: CLIENT_SECRET_PER_CLIENT, key: clientId };
  if (!sourceAddress) return [perClient];
  return [{ limit: CLIENT_SECRET_PER_ADDRESS, key: JSON.stringify([clientId, sourceAddress]) }, perClient];
}

/** The counts a wrong admin key goes to. */
export function adminKeyKeys(sourceAddress: string): ThrottledKey[] {
  return [
    { limit: ADMIN_KEY_PER_ADDRESS, key: sourceAddress },
    { limit: ADMIN_KEY_ALL_ADDRESSES, key: '*' },
  ];
}

/** Seconds a client waits until the window ending at `windowEndsAt` has passed; at least 1. */
function secondsUntil(windowEndsAt: number, nowMs: number): number {
  return Math.max(1, Math.ceil((windowEndsAt - nowMs) / 1000));
}

export class FailedAuthThrottle {
  private readonly store: Pick<Store, 'recordAuthFailure'>;
  /** Keys this instance learned are at their limit, to the end of that window (epoch ms). */
  private readonly atLimitUntil = new Map<string, number>();
  private readonly maxRemembered: number;

  constructor(store: Pick<Store, 'recordAuthFailure'>, maxRemembered = 10_000) {
    this.store = store;
    this.maxRemembered = maxRemembered;
  }

  /**
   * Counts one failed authentication against `keys`, narrowest first. Answers 0 when it is refused
   * as usual (401), else the seconds to put in Retry-After (429). Store errors propagate.
   */
  async recordFailure(keys: readonly ThrottledKey[], nowMs: number): Promise<number> {
    for (const throttled of keys) {
      const until = this.knownAtLimitUntil(throttled, nowMs);
      if (until !== null) return secondsUntil(until, nowMs);
    }
    for (const throttled of keys) {
      const { scope, maxFailures, windowMs } = throttled.limit;
      const count = await this.store.recordAuthFailure(scope, throttled.key, nowMs, windowMs, maxFailures);
      if (count.failures >= maxFailures) this.rememberAtLimit(throttled, count.windowEndsAt);
      if (!count.counted) return secondsUntil(count.windowEndsAt, nowMs);
    }
    return 0;
  }

  /**
   * Seconds until `throttled` may be tried again, when this instance knows it is at its limit (it
   * was told so by the store within the window); 0 otherwise. No store call.
   */
  knownAtLimit(throttled: ThrottledKey, nowMs: number): number {
    const until = this.knownAtLimitUntil(throttled, nowMs);
    return until === null ? 0 : secondsUntil(until, nowMs);
  }

  private knownAtLimitUntil(throttled: ThrottledKey, nowMs: number): number | null {
    const name = rememberedName(throttled);
    const until = this.atLimitUntil.get(name);
    if (until === undefined) return null;
    if (until <= nowMs) {
      this.atLimitUntil.delete(name);
      return null;
    }
    return until;
  }

  private rememberAtLimit(throttled: ThrottledKey, windowEndsAt: number): void {
    const name = rememberedName(throttled);
    if (!this.atLimitUntil.has(name) && this.atLimitUntil.size >= this.maxRemembered) {
      // Map keeps insertion order: forget the oldest (the store still has its count).
      const oldest = this.atLimitUntil.keys().next().value;
      if (oldest !== undefined) this.atLimitUntil.delete(oldest);
    }
    this.atLimitUntil.set(name, windowEndsAt);
  }
}

function rememberedName(throttled: ThrottledKey): string {
  return `${throttled.limit.scope}\u0000${throttled.key}`;
}
