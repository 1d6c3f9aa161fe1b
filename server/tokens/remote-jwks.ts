/**
 * The cache of trusted issuers' remote key sets (`jwks_uri`). Rules:
 * - keys are fetched on first use, kept for `maxAgeMs`, and never used beyond it;
 * - a token whose `kid` is not in a fresh set may trigger one refresh, at most once per
 *   `refreshCooldownMs` per issuer (an attacker sending random kids cannot make us hammer the IdP);
 * - after a failed fetch, no new attempt for `failureBackoffMs` (a down IdP is not hammered either);
 * - one fetch in flight per issuer: concurrent callers share it;
 * - fetches have a timeout, refuse redirects (the registered URL is the only place keys come from),
 *   and read at most `maxResponseBytes`.
 */
import { hasSecretMaterial } from './jws-guards.ts';
import type { JsonWebKeyLike } from './jws-guards.ts';
import { withTraceHeaders } from '../observability/tracing.ts';

export interface RemoteJwksOptions {
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly timeoutMs: number;
  readonly maxAgeMs: number;
  readonly refreshCooldownMs: number;
  readonly failureBackoffMs: number;
  readonly maxResponseBytes: number;
  /** Told why a fetch failed (for operators' logs); the detail never reaches a client. */
  readonly onFetchError?: ((issuerId: string, problem: JwksFetchProblem) => void) | undefined;
}

export type JwksFetchProblem = 'timeout' | 'network' | 'http_status' | 'too_large' | 'invalid_json' | 'invalid_jwks';

/** `refresh_for_unknown_kid`: the caller holds a token whose key is not in the cached set. */
export type JwksLookupMode = 'cached' | 'refresh_for_unknown_kid';

/** Keys, or null when none can be had right now (fetch failed, or backing off after a failure). */
export type RemoteJwksKeys = readonly JsonWebKeyLike[] | null;

/** More keys than this in one set is not a key set we accept. */
export const MAX_REMOTE_JWKS_KEYS = 100;

interface CacheEntry {
  readonly jwksUri: string;
  keys: readonly JsonWebKeyLike[] | null;
  fetchedAt: number;
  lastAttemptAt: number | null;
  failedAt: number | null;
  inflight: Promise<void> | null;
}

class JwksFetchError extends Error {
  readonly problem: JwksFetchProblem;
  /** The HTTP status, for `http_status`. */
  readonly status: number | undefined;
  constructor(problem: JwksFetchProblem, status?: number) {
    super(problem);
    this.problem = problem;
    this.status = status;
  }
}

/** What one fetch needs: the cache's limits (RemoteJwksOptions), or the admin API's JWKS test. */
export type JwksFetchLimits = Pick<RemoteJwksOptions, 'fetch' | 'timeoutMs' | 'maxResponseBytes'>;

/** One fetch's outcome: the set's public keys, or why there are none (`status` for `http_status`). */
export type JwksFetchOutcome = { ok: true; keys: readonly JsonWebKeyLike[] } | { ok: false; problem: JwksFetchProblem; status?: number };

/**
 * Fetches a JWK Set once, under the rules the cache fetches with (timeout, no redirects, at most
 * `maxResponseBytes`, the set validated by publicKeysOf). Never throws. Only http(s) URLs are
 * fetched; anything else is `network`.
 */
export async function fetchJwks(jwksUri: string, limits: JwksFetchLimits): Promise<JwksFetchOutcome> {
  try {
    return { ok: true, keys: await fetchKeySet(jwksUri, limits) };
  } catch (error) {
    if (error instanceof JwksFetchError) return error.status === undefined ? { ok: false, problem: error.problem } : { ok: false, problem: error.problem, status: error.status };
    return { ok: false, problem: 'network' };
  }
}

/** A JWK Set document's public keys, or why it is not one (`invalid_jwks`). Never throws. */
export function jwksDocumentKeys(document: unknown): JwksFetchOutcome {
  try {
    return { ok: true, keys: publicKeysOf(document) };
  } catch {
    return { ok: false, problem: 'invalid_jwks' };
  }
}

export class RemoteJwksCache {
  private readonly options: RemoteJwksOptions;
  private readonly entries = new Map<string, CacheEntry>();

  constructor(options: RemoteJwksOptions) {
    this.options = options;
  }

  /** The issuer's keys under the rules above. Never throws. */
  async getKeys(issuerId: string, jwksUri: string, mode: JwksLookupMode): Promise<RemoteJwksKeys> {
    let entry = this.entries.get(issuerId);
    if (!entry || entry.jwksUri !== jwksUri) {
      entry = { jwksUri, keys: null, fetchedAt: 0, lastAttemptAt: null, failedAt: null, inflight: null };
      this.entries.set(issuerId, entry);
    }
    if (entry.inflight) {
      // Someone is fetching right now: their result is as fresh as ours would be.
      await entry.inflight;
      return this.usableKeys(entry);
    }
    if (this.shouldFetch(entry, mode)) {
      entry.inflight = this.fetchInto(issuerId, entry).finally(() => {
        entry.inflight = null;
      });
      await entry.inflight;
    }
    return this.usableKeys(entry);
  }

  /** Drops cached keys of one issuer (after its record changed), or of all. */
  invalidate(issuerId?: string): void {
    if (issuerId === undefined) this.entries.clear();
    else this.entries.delete(issuerId);
  }

  private isFresh(entry: CacheEntry): boolean {
    return entry.keys !== null && this.options.now() - entry.fetchedAt < this.options.maxAgeMs;
  }

  private usableKeys(entry: CacheEntry): RemoteJwksKeys {
    return this.isFresh(entry) ? entry.keys : null;
  }

  private shouldFetch(entry: CacheEntry, mode: JwksLookupMode): boolean {
    const now = this.options.now();
    if (this.isFresh(entry)) {
      if (mode === 'cached') return false;
      return entry.lastAttemptAt === null || now - entry.lastAttemptAt >= this.options.refreshCooldownMs;
    }
    return entry.failedAt === null || now - entry.failedAt >= this.options.failureBackoffMs;
  }

  private async fetchInto(issuerId: string, entry: CacheEntry): Promise<void> {
    entry.lastAttemptAt = this.options.now();
    try {
      const keys = await fetchKeySet(entry.jwksUri, this.options);
      entry.keys = keys;
      entry.fetchedAt = this.options.now();
      entry.failedAt = null;
    } catch (error) {
      // A failed refresh keeps a still-fresh set (the kid was unknown, the old keys still hold);
      // usableKeys() stops serving it once it is older than maxAgeMs.
      entry.failedAt = this.options.now();
      const problem = error instanceof JwksFetchError ? error.problem : 'network';
      this.options.onFetchError?.(issuerId, problem);
    }
  }
}

async function fetchKeySet(jwksUri: string, limits: JwksFetchLimits): Promise<readonly JsonWebKeyLike[]> {
  if (!/^https?:\/\//i.test(jwksUri)) throw new JwksFetchError('network');
  let response: Response;
  try {
    response = await limits.fetch(jwksUri, {
      method: 'GET',
      redirect: 'error',
      // The caller's trace goes on to the issuer (traceparent, tracestate) when tracing is on.
      headers: withTraceHeaders({ accept: 'application/jwk-set+json, application/json' }),
      signal: AbortSignal.timeout(limits.timeoutMs),
    });
  } catch (error) {
    throw new JwksFetchError(isTimeout(error) ? 'timeout' : 'network');
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new JwksFetchError('http_status', response.status);
  }
  const text = await readBoundedText(response, limits.maxResponseBytes);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new JwksFetchError('invalid_json');
  }
  return publicKeysOf(document);
}

/** By name, not instanceof: the abort reason is a DOMException, possibly from another realm. */
function isTimeout(error: unknown): boolean {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return name === 'TimeoutError' || name === 'AbortError';
}

async function readBoundedText(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new JwksFetchError('too_large');
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw new JwksFetchError('too_large');
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof JwksFetchError) throw error;
    throw new JwksFetchError(isTimeout(error) ? 'timeout' : 'network');
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Validates a JWK Set document and keeps its public asymmetric keys. Secret or private members
 * make a key unusable, so such keys are dropped here as well as at selection time.
 */
export function publicKeysOf(document: unknown): readonly JsonWebKeyLike[] {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new JwksFetchError('invalid_jwks');
  const keys = (document as Record<string, unknown>).keys;
  if (!Array.isArray(keys) || keys.length > MAX_REMOTE_JWKS_KEYS) throw new JwksFetchError('invalid_jwks');
  const result: JsonWebKeyLike[] = [];
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new JwksFetchError('invalid_jwks');
    const jwk = key as Record<string, unknown>;
    if (typeof jwk.kty !== 'string' || jwk.kty === 'oct') continue;
    if (hasSecretMaterial(jwk)) continue;
    result.push(jwk);
  }
  return result;
}
