/**
 * An RFC 8693 token exchange client with client authentication (client_secret_basic,
 * client_secret_post, private_key_jwt), RFC 8414 discovery, and a cache that makes a repeated
 * exchange free: keyed by a SHA-256 of the request, expiring before the token does and never after
 * the subject token, single-flight, bounded, with short negative caching of refusals.
 */
import type { KeyObject } from 'node:crypto';
import { cacheKey, LruCache, type CacheEntry } from './cache.ts';
import { CLIENT_ERROR_CODES, ExchangeError, scrubDescription } from './errors.ts';
import { checkAlg, clientAssertion, defaultAlg, jwtExpiry, loadPrivateKey, type AssertionAlg, type PrivateKeyInput } from './jwt.ts';
import { ACCESS_TOKEN_TYPE, JWT_BEARER_ASSERTION, TOKEN_EXCHANGE_GRANT, type ExchangeLogger, type FetchLike, type TokenResponse } from './types.ts';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface CacheOptions {
  /** Most entries kept (tokens and refusals together); the least recently used goes first. Default 1000. */
  maxEntries?: number;
  /**
   * An exchanged token is reused until `marginSeconds` before it expires, or a tenth of its
   * lifetime before, whichever is less. Default 30.
   */
  marginSeconds?: number;
  /** How long an OAuth refusal (a 4xx answer with an `error`, 429 aside) is answered from the cache. Default 5. */
  refusalTtlSeconds?: number;
  /** How long a transient failure (network, timeout, 5xx, 429, malformed answer) is. Default 0: not cached. */
  transientErrorTtlSeconds?: number;
}

export interface ExchangeClientOptions {
  /** The authorization server's issuer: its token endpoint is read from its metadata (RFC 8414, then OpenID discovery). */
  issuer?: string;
  /** The token endpoint, when there is no metadata to read (takes precedence over `issuer`). */
  tokenEndpoint?: string;
  clientId: string;
  /** For client_secret_basic and client_secret_post. */
  clientSecret?: string;
  /** For private_key_jwt: a KeyObject, a PEM string or a private JWK. */
  privateKey?: PrivateKeyInput;
  /** The `kid` put in the assertion's header. */
  kid?: string;
  /** The assertion's algorithm; by default ES256/384/512 by the key's curve, RS256 for RSA, EdDSA for Ed25519. */
  alg?: AssertionAlg;
  /** Default: private_key_jwt when a privateKey is given, else client_secret_basic. */
  authMethod?: ClientAuthMethod;
  /** The assertion's `aud`; default the token endpoint URL. */
  assertionAudience?: string;
  /** Lifetime of each assertion; default 60 seconds. */
  assertionLifetimeSeconds?: number;
  /** Cache settings, or `false` to send every exchange. */
  cache?: CacheOptions | false;
  /** Default the global fetch. */
  fetch?: FetchLike;
  /** Milliseconds since the epoch; default Date.now (tests move it). */
  now?: () => number;
  /** Per request (metadata and token endpoint); default 10000 ms. */
  timeoutMs?: number;
  /** Plain http is refused for non-loopback hosts unless this is true. */
  allowInsecureHttp?: boolean;
  logger?: ExchangeLogger;
}

export interface ExchangeRequest {
  subjectToken: string;
  /** Default `urn:ietf:params:oauth:token-type:access_token`. */
  subjectTokenType?: string;
  audience?: string | readonly string[];
  resource?: string | readonly string[];
  /** A space-separated string or a list of scopes. */
  scope?: string | readonly string[];
  actorToken?: string;
  /** Default `urn:ietf:params:oauth:token-type:access_token` when an actorToken is given. */
  actorTokenType?: string;
  requestedTokenType?: string;
  /** More form parameters (part of the cache key); the standard ones above cannot be named here. */
  extraParameters?: Readonly<Record<string, string | readonly string[]>>;
  /** `false`: neither read nor write the cache for this call. */
  cache?: boolean;
}

export interface ExchangeClientStats {
  /** Token endpoint requests sent. */
  requests: number;
  /** Answers from the cache (tokens and refusals). */
  hits: number;
  /** Calls that joined a request already in flight for the same key. */
  coalesced: number;
  /** Entries now held. */
  entries: number;
}

export interface ExchangeClient {
  /** Exchanges (or answers from the cache); rejects with an ExchangeError. */
  exchange(request: ExchangeRequest): Promise<TokenResponse>;
  /** The token endpoint in use (discovered on first use when an issuer was given). */
  tokenEndpoint(): Promise<string>;
  /** Forgets every cached token and refusal. */
  clear(): void;
  stats(): ExchangeClientStats;
}

const RESERVED_PARAMETERS = new Set([
  'grant_type', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'audience', 'resource', 'scope',
  'requested_token_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type',
]);
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

type Credentials =
  | { readonly method: 'client_secret_basic' | 'client_secret_post'; readonly secret: string }
  | { readonly method: 'private_key_jwt'; readonly key: KeyObject; readonly alg: AssertionAlg; readonly kid: string | undefined };

export function createExchangeClient(options: ExchangeClientOptions): ExchangeClient {
  if (typeof options.clientId !== 'string' || options.clientId === '') throw new TypeError('clientId is required');
  if (!options.issuer && !options.tokenEndpoint) throw new TypeError('issuer or tokenEndpoint is required');
  const allowHttp = options.allowInsecureHttp === true;
  if (options.tokenEndpoint) checkUrl(options.tokenEndpoint, 'tokenEndpoint', allowHttp);
  if (options.issuer) checkUrl(options.issuer, 'issuer', allowHttp);
  const credentials = loadCredentials(options);
  const clientId = options.clientId;
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const logger = options.logger;
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? {});
  const marginMs = (cacheOptions?.marginSeconds ?? 30) * 1000;
  const refusalTtlMs = (cacheOptions?.refusalTtlSeconds ?? 5) * 1000;
  const transientTtlMs = (cacheOptions?.transientErrorTtlSeconds ?? 0) * 1000;
  const cache = cacheOptions ? new LruCache(cacheOptions.maxEntries ?? 1000) : undefined;
  const inflight = new Map<string, Promise<TokenResponse>>();
  const counters = { requests: 0, hits: 0, coalesced: 0 };
  let endpoint: Promise<string> | undefined = options.tokenEndpoint ? Promise.resolve(options.tokenEndpoint) : undefined;

  function tokenEndpoint(): Promise<string> {
    if (!endpoint) {
      const issuer = options.issuer ?? '';
      endpoint = discover(issuer, fetchImpl, timeoutMs, allowHttp);
      // A failed discovery is tried again by the next call.
      endpoint.catch(() => (endpoint = undefined));
    }
    return endpoint;
  }

  async function exchange(request: ExchangeRequest): Promise<TokenResponse> {
    const parameters = formParameters(request);
    const url = await tokenEndpoint();
    const useCache = cache !== undefined && request.cache !== false;
    if (!useCache) return send(url, parameters, request);
    const key = cacheKey(url, clientId, parameters);
    const entry = cache.get(key, now());
    if (entry) {
      counters.hits++;
      logger?.debug?.('token exchange answered from cache', { key: key.slice(0, 16), kind: entry.kind });
      if (entry.kind === 'refusal') throw new ExchangeError(entry.error, true);
      return fromCache(entry, now());
    }
    const pending = inflight.get(key);
    if (pending) {
      counters.coalesced++;
      return pending;
    }
    const started = now();
    const promise = send(url, parameters, request).then(
      (response) => {
        const useUntil = tokenUseUntil(response, request, started, marginMs);
        if (useUntil !== undefined && useUntil > now()) {
          cache.set(key, { kind: 'token', response, useUntil, tokenExpiresAt: tokenExpiresAt(response, started) });
        }
        return response;
      },
      (error: unknown) => {
        if (error instanceof ExchangeError) {
          const ttl = error.transient ? transientTtlMs : refusalTtlMs;
          if (ttl > 0) cache.set(key, { kind: 'refusal', error: error.fields(), useUntil: now() + ttl });
        }
        throw error;
      },
    );
    inflight.set(key, promise);
    // Settled either way: the next miss for this key sends again (or finds the entry).
    void promise.then(
      () => inflight.delete(key),
      () => inflight.delete(key),
    );
    return promise;
  }

  async function send(url: string, parameters: ReadonlyArray<readonly [string, string]>, request: ExchangeRequest): Promise<TokenResponse> {
    const secrets = [request.subjectToken, request.actorToken ?? '', credentials.method === 'private_key_jwt' ? '' : credentials.secret];
    const body = new URLSearchParams();
    for (const [name, value] of parameters) body.append(name, value);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (credentials.method === 'private_key_jwt') {
      const assertion = clientAssertion({
        clientId,
        audience: options.assertionAudience ?? url,
        key: credentials.key,
        alg: credentials.alg,
        kid: credentials.kid,
        now: Math.floor(now() / 1000),
        lifetimeSeconds: options.assertionLifetimeSeconds ?? 60,
      });
      secrets.push(assertion);
      body.append('client_id', clientId);
      body.append('client_assertion_type', JWT_BEARER_ASSERTION);
      body.append('client_assertion', assertion);
    } else if (credentials.method === 'client_secret_basic') {
      headers.authorization = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(credentials.secret)}`).toString('base64')}`;
    } else {
      body.append('client_id', clientId);
      body.append('client_secret', credentials.secret);
    }
    counters.requests++;
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await fetchImpl(url, { method: 'POST', headers, body: body.toString(), signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      text = await response.text();
    } catch (error) {
      const failure = new ExchangeError({ error: CLIENT_ERROR_CODES.network, error_description: networkReason(error, secrets), transient: true });
      logger?.warn?.('token exchange failed', { error: failure.error, error_description: failure.error_description });
      throw failure;
    }
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const json = parseJson(text);
    if (response.ok) {
      if (!isTokenResponse(json)) {
        logger?.warn?.('token exchange answered without a token', { status: response.status, ms });
        throw new ExchangeError({
          error: CLIENT_ERROR_CODES.invalidResponse,
          error_description: 'the token endpoint answered 2xx without access_token, issued_token_type and token_type',
          status: response.status,
          transient: true,
        });
      }
      logger?.debug?.('token exchanged', { status: response.status, ms, expires_in: json.expires_in });
      return Object.freeze({ ...json });
    }
    const code = json && typeof json.error === 'string' && json.error !== '' ? json.error : undefined;
    const transient = response.status >= 500 || response.status === 429 || code === undefined;
    const failure = new ExchangeError({
      error: code ?? (response.status >= 500 ? 'server_error' : CLIENT_ERROR_CODES.invalidResponse),
      error_description: scrubDescription(json?.error_description, secrets),
      status: response.status,
      transient,
      retryAfter: retryAfter(response.headers.get('retry-after')),
    });
    logger?.[transient ? 'warn' : 'debug']?.('token exchange refused', { status: response.status, error: failure.error, error_description: failure.error_description, ms });
    throw failure;
  }

  return {
    exchange,
    tokenEndpoint,
    clear: () => cache?.clear(),
    stats: () => ({ ...counters, entries: cache?.size ?? 0 }),
  };
}

function loadCredentials(options: ExchangeClientOptions): Credentials {
  const method = options.authMethod ?? (options.privateKey !== undefined ? 'private_key_jwt' : 'client_secret_basic');
  if (method === 'private_key_jwt') {
    if (options.privateKey === undefined) throw new TypeError('private_key_jwt needs privateKey');
    let key: KeyObject;
    try {
      key = loadPrivateKey(options.privateKey);
    } catch {
      // The parser's message could quote the key material.
      throw new TypeError('privateKey is not a usable private key (PEM, JWK or KeyObject)');
    }
    const alg = options.alg ?? defaultAlg(key);
    checkAlg(key, alg);
    return { method, key, alg, kid: options.kid };
  }
  if (method !== 'client_secret_basic' && method !== 'client_secret_post') throw new TypeError(`unsupported authMethod ${String(method)}`);
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') throw new TypeError(`${method} needs clientSecret`);
  return { method, secret: options.clientSecret };
}

function checkUrl(value: string, name: string, allowHttp: boolean): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} is not a URL`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (allowHttp || LOOPBACK_HOSTS.has(url.hostname))) return;
  throw new TypeError(`${name} must be https (plain http only on loopback, or with allowInsecureHttp)`);
}

/** The form parameters of the exchange, in a fixed order (client authentication aside). */
function formParameters(request: ExchangeRequest): Array<readonly [string, string]> {
  if (typeof request.subjectToken !== 'string' || request.subjectToken === '') throw new TypeError('subjectToken is required');
  const parameters: Array<readonly [string, string]> = [
    ['grant_type', TOKEN_EXCHANGE_GRANT],
    ['subject_token', request.subjectToken],
    ['subject_token_type', request.subjectTokenType ?? ACCESS_TOKEN_TYPE],
  ];
  if (request.actorToken !== undefined) {
    if (typeof request.actorToken !== 'string' || request.actorToken === '') throw new TypeError('actorToken must be a non-empty string');
    parameters.push(['actor_token', request.actorToken], ['actor_token_type', request.actorTokenType ?? ACCESS_TOKEN_TYPE]);
  } else if (request.actorTokenType !== undefined) {
    throw new TypeError('actorTokenType without actorToken');
  }
  for (const value of list(request.resource)) parameters.push(['resource', value]);
  for (const value of list(request.audience)) parameters.push(['audience', value]);
  const scope = typeof request.scope === 'string' ? request.scope : list(request.scope).join(' ');
  if (scope !== '') parameters.push(['scope', scope]);
  if (request.requestedTokenType !== undefined) parameters.push(['requested_token_type', request.requestedTokenType]);
  for (const name of Object.keys(request.extraParameters ?? {}).sort()) {
    if (RESERVED_PARAMETERS.has(name)) throw new TypeError(`extraParameters cannot name ${name}`);
    for (const value of list(request.extraParameters?.[name])) parameters.push([name, value]);
  }
  return parameters;
}

/** RFC 8693 §2.2.1: access_token, issued_token_type and token_type are required. */
function isTokenResponse(json: Record<string, unknown> | undefined): json is Record<string, unknown> & TokenResponse {
  return (
    json !== undefined &&
    typeof json.access_token === 'string' && json.access_token !== '' &&
    typeof json.issued_token_type === 'string' &&
    typeof json.token_type === 'string' &&
    (json.expires_in === undefined || typeof json.expires_in === 'number')
  );
}

function list(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

/** RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function retryAfter(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

/**
 * A network failure's reason, without anything the request carried (fetch errors name no body;
 * the cause's message is scrubbed anyway). Duck-typed: fetch's errors may come from another realm.
 */
function networkReason(error: unknown, secrets: readonly string[] = []): string {
  const name = error !== null && typeof error === 'object' ? (error as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError' || name === 'AbortError') return 'the token endpoint did not answer in time';
  const cause = error !== null && typeof error === 'object' ? (error as { cause?: unknown }).cause : undefined;
  const member = (key: 'code' | 'message') => {
    const value = cause !== null && typeof cause === 'object' ? (cause as Record<string, unknown>)[key] : undefined;
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const reason = member('code') ?? scrubDescription(member('message'), secrets);
  return reason ? `the token endpoint could not be reached (${reason.slice(0, 120)})` : 'the token endpoint could not be reached';
}

/** When the issued token expires (ms): from `expires_in` counted from when the request was sent, else its JWT `exp`. */
function tokenExpiresAt(response: TokenResponse, sentAt: number): number | undefined {
  if (typeof response.expires_in === 'number' && Number.isFinite(response.expires_in) && response.expires_in > 0) return sentAt + response.expires_in * 1000;
  const exp = jwtExpiry(response.access_token);
  return exp === undefined ? undefined : exp * 1000;
}

/**
 * Until when a response may be reused: its expiry less the margin (at most a tenth of its
 * lifetime), and never past the subject's or the actor's own `exp` when they are JWTs. Undefined:
 * not cached (no known lifetime).
 */
function tokenUseUntil(response: TokenResponse, request: ExchangeRequest, sentAt: number, marginMs: number): number | undefined {
  const expiresAt = tokenExpiresAt(response, sentAt);
  if (expiresAt === undefined) return undefined;
  const lifetime = expiresAt - sentAt;
  if (lifetime <= 0) return undefined;
  let until = expiresAt - Math.min(marginMs, lifetime / 10);
  for (const presented of [request.subjectToken, request.actorToken]) {
    const exp = presented === undefined ? undefined : jwtExpiry(presented);
    if (exp !== undefined) until = Math.min(until, exp * 1000);
  }
  return until;
}

function fromCache(entry: Extract<CacheEntry, { kind: 'token' }>, now: number): TokenResponse {
  if (entry.tokenExpiresAt === undefined || typeof entry.response.expires_in !== 'number') return entry.response;
  return Object.freeze({ ...entry.response, expires_in: Math.max(0, Math.floor((entry.tokenExpiresAt - now) / 1000)) });
}

async function discover(issuer: string, fetchImpl: FetchLike, timeoutMs: number, allowHttp: boolean): Promise<string> {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const candidates = [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${url.origin}${path}/.well-known/openid-configuration`];
  const fail = (why: string, status?: number) => new ExchangeError({ error: CLIENT_ERROR_CODES.discovery, error_description: why, status, transient: true });
  let lastStatus: number | undefined;
  for (const candidate of candidates) {
    let response: Response;
    try {
      response = await fetchImpl(candidate, { method: 'GET', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    } catch (error) {
      throw fail(`issuer metadata: ${networkReason(error).replace('the token endpoint', 'the issuer')}`);
    }
    if (!response.ok) {
      lastStatus = response.status;
      await response.body?.cancel();
      continue;
    }
    const metadata = parseJson(await response.text());
    if (!metadata) throw fail(`issuer metadata at ${candidate} is not a JSON object`, response.status);
    // RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
    if (typeof metadata.issuer !== 'string' || metadata.issuer.replace(/\/+$/, '') !== issuer.replace(/\/+$/, '')) {
      throw fail(`issuer metadata at ${candidate} names another issuer`, response.status);
    }
    if (typeof metadata.token_endpoint !== 'string') throw fail(`issuer metadata at ${candidate} has no token_endpoint`, response.status);
    try {
      checkUrl(metadata.token_endpoint, 'token_endpoint', allowHttp);
    } catch (error) {
      throw fail(`issuer metadata at ${candidate}: ${error instanceof Error ? error.message : 'bad token_endpoint'}`, response.status);
    }
    return metadata.token_endpoint;
  }
  throw fail('no issuer metadata at /.well-known/oauth-authorization-server or /.well-known/openid-configuration', lastStatus);
}
