/**
 * Server configuration: defaults, then environment variables, then `serve` flags. One value
 * object, validated once at start, passed down explicitly (nothing reads process.env later).
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SANDBOX_LIMITS } from '../sandbox/engine.ts';
import * as defaults from './defaults.ts';
import { MIN_ADMIN_KEY_LENGTH } from './configuration/admin-key.ts';
import type { SandboxLimits } from '../sandbox/types.ts';
import { DEFAULT_SIGNING_ALG, isSigningAlg, SIGNING_ALGORITHMS, type SigningAlg } from './tokens/keys.ts';

/**
 * Which proxies in front of the server are trusted to say the client's address
 * (X-Forwarded-For), in Express's `trust proxy` terms: false (none), a hop count, or addresses,
 * CIDR ranges and the names loopback, linklocal and uniquelocal.
 */
export type TrustProxy = false | number | readonly string[];

export interface ServerConfig {
  port: number;
  host: string;
  /** The `iss` of issued tokens and the metadata `issuer`; no trailing slash. */
  issuer: string;
  /** True when the issuer was not configured: it follows the port actually bound (matters with port 0). */
  issuerFromPort: boolean;
  /**
   * The trust domain a transaction token's `aud` names (TOKENPROC_TRUST_DOMAIN); the issuer when
   * unset, and then it follows the issuer (`trustDomainFromIssuer`).
   */
  trustDomain: string;
  trustDomainFromIssuer: boolean;
  dataDir: string;
  databaseUrl: string | null;
  /** Admin bearer key from TOKENPROC_ADMIN_KEY; null means "use the stored hash, generate one at first start". */
  adminKey: string | null;
  configFile: string | null;
  logLevel: string;
  /** Upper bound on any issued token's lifetime, seconds. */
  maxTokenLifetimeSeconds: number;
  /** Default access token lifetime for clients that set none, seconds. */
  defaultAccessTokenTtlSeconds: number;
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number;
  /** Largest accepted subject/actor token, bytes. */
  maxPresentedTokenBytes: number;
  clockSkewSeconds: number;
  /** At most this many resource + audience values in one request. */
  maxTargets: number;
  /** Algorithm of the active signing key (TOKENPROC_SIGNING_ALG). */
  signingAlg: SigningAlg;
  /** A retired signing key stays in the JWKS this long after it stopped signing. */
  retiredKeyGraceSeconds: number;
  sandbox: SandboxLimits;
  /** Processes serving the one port (TOKENPROC_WORKERS; `auto` is one per core). */
  workers: number;
  /** A worker whose resident memory passes this (MiB) is replaced (TOKENPROC_WORKER_MAX_RSS_MB). */
  workerMaxRssMb: number;
  /** The proxies trusted for the client's address (TOKENPROC_TRUST_PROXY): Express's `trust proxy`. */
  trustProxy: TrustProxy;
  /** Connection bounds per process (defaults.ts explains them). */
  connections: { headersTimeoutMs: number; requestTimeoutMs: number; maxConnections: number };
  /**
   * TOKENPROC_MANAGEMENT_PORT (and _HOST): /metrics, /healthz and /readyz on an address of their own;
   * the public port then serves no /metrics. Null: everything on the public port.
   */
  management: { port: number; host: string } | null;
}

export interface ConfigOverrides {
  port?: number | string;
  host?: string;
  issuer?: string;
  data?: string;
  databaseUrl?: string;
  config?: string;
  workers?: string;
  /** A `--trust-proxy` flag, should `serve` declare one; it wins over TOKENPROC_TRUST_PROXY. */
  trustProxy?: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** TOKENPROC_ADMIN_KEY: unset, or a random key long enough not to be guessed. */
function adminKeyFrom(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (raw.length < MIN_ADMIN_KEY_LENGTH) {
    throw new ConfigError(
      `TOKENPROC_ADMIN_KEY must be at least ${MIN_ADMIN_KEY_LENGTH} characters of a random key (e.g. openssl rand -base64 32); leave it unset to have one generated`,
    );
  }
  return raw;
}

/** Most worker processes one server runs; more would only add memory on any machine this targets. */
export const MAX_WORKERS = 64;

/** TOKENPROC_WORKERS: a whole number from 1, or `auto` (one per core the process may use). */
function parseWorkers(raw: string | undefined): number {
  if (raw === undefined || raw === '') return defaults.DEFAULT_WORKERS;
  if (raw.trim().toLowerCase() === 'auto') return Math.min(MAX_WORKERS, Math.max(1, os.availableParallelism()));
  return parseInteger('TOKENPROC_WORKERS', raw, 1, 1, MAX_WORKERS);
}

function parseInteger(name: string, raw: string | number | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

/** Most proxy hops TOKENPROC_TRUST_PROXY may name; real chains are one or two. */
export const MAX_TRUSTED_PROXY_HOPS = 32;
/** Express's (proxy-addr's) names for address ranges. */
const TRUST_PROXY_NAMES: ReadonlySet<string> = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address, `address/prefix` or IPv4 `address/netmask`, as proxy-addr compiles it; else what is wrong. */
function trustedProxyProblem(entry: string): string | null {
  if (TRUST_PROXY_NAMES.has(entry)) return null;
  const slash = entry.lastIndexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  // No zone ids (fe80::1%eth0): proxy-addr does not take them.
  const family = address.includes('%') ? 0 : net.isIP(address);
  if (family === 0) return 'is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal';
  if (slash === -1) return null;
  const range = entry.slice(slash + 1);
  const maxPrefix = family === 4 ? 32 : 128;
  const prefix = /^\d{1,3}$/.test(range) ? Number(range) : family === 4 && net.isIPv4(range) ? netmaskPrefix(range) : null;
  if (prefix === null) return 'has a range that is neither a prefix length nor a contiguous IPv4 netmask';
  // proxy-addr refuses /0 too: a range of every address is "trust everyone" in disguise.
  if (prefix < 1 || prefix > maxPrefix) return `has a prefix length outside 1..${maxPrefix}`;
  return null;
}

/** The prefix length of a netmask such as 255.255.240.0 (20); null for one like 255.0.255.0. */
function netmaskPrefix(mask: string): number | null {
  const bits = mask.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
  const hostBits = ~bits >>> 0;
  if ((hostBits & (hostBits + 1)) !== 0) return null;
  return 32 - Math.log2(hostBits + 1);
}

/**
 * TOKENPROC_TRUST_PROXY, in Express's `trust proxy` syntax: unset (or `false`) trusts no proxy; a
 * whole number is how many proxies in front are trusted; anything else is a comma-separated list of
 * addresses, CIDR ranges and the names loopback, linklocal, uniquelocal. `true` (trust every hop)
 * is refused: any client could then choose its own address by sending X-Forwarded-For.
 */
export function parseTrustProxy(raw: string | undefined, name = 'TOKENPROC_TRUST_PROXY'): TrustProxy {
  const value = raw?.trim() ?? '';
  if (value === '' || value.toLowerCase() === 'false') return defaults.DEFAULT_TRUST_PROXY;
  if (value.toLowerCase() === 'true') {
    throw new ConfigError(
      `${name}=true would trust every proxy, so any client could pick its own address with X-Forwarded-For; ` +
        'give the number of proxies in front of the server or their addresses',
    );
  }
  if (/^\d+$/.test(value)) return parseInteger(name, value, 0, 0, MAX_TRUSTED_PROXY_HOPS);
  const entries = value.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (entry === '') throw new ConfigError(`${name} has an empty entry (got ${JSON.stringify(raw)})`);
    const problem = trustedProxyProblem(entry);
    if (problem !== null) {
      throw new ConfigError(
        `${name}: ${JSON.stringify(entry)} ${problem}; expected a number of proxies, or a comma-separated list of addresses, CIDR ranges, loopback, linklocal, uniquelocal`,
      );
    }
  }
  return entries;
}

const LOOPBACK_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** RFC 6749 §3.2: the token endpoint requires TLS; plain http is for loopback (development) only. */
function requireTlsUnlessLoopback(issuer: string, allowHttp: boolean): void {
  const url = new URL(issuer);
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.test(url.hostname) && !allowHttp) {
    throw new ConfigError(
      `issuer ${issuer} is plain http on a non-loopback host; use https (TLS is required by RFC 6749 §3.2), ` +
        'or set TOKENPROC_ALLOW_HTTP_ISSUER=true for a closed test network',
    );
  }
}

function normalizeIssuer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`issuer must be an absolute URL (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('issuer must be an http(s) URL');
  if (url.search || url.hash) throw new ConfigError('issuer must have no query and no fragment (RFC 8414 §2)');
  return raw.replace(/\/+$/, '');
}

export function loadConfig(env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}): ServerConfig {
  const port = parseInteger('PORT', overrides.port ?? env.PORT, defaults.DEFAULT_PORT, 0, 65535);
  const host = overrides.host ?? env.HOST ?? defaults.DEFAULT_HOST;
  const configuredIssuer = overrides.issuer ?? env.TOKENPROC_ISSUER;
  const issuerRaw = configuredIssuer ?? `http://localhost:${port}`;
  const sandbox: SandboxLimits = {
    ...DEFAULT_SANDBOX_LIMITS,
    cpuTimeMs: parseInteger('TOKENPROC_SANDBOX_CPU_MS', env.TOKENPROC_SANDBOX_CPU_MS, DEFAULT_SANDBOX_LIMITS.cpuTimeMs, 1, 60000),
    wallTimeMs: parseInteger('TOKENPROC_SANDBOX_WALL_MS', env.TOKENPROC_SANDBOX_WALL_MS, DEFAULT_SANDBOX_LIMITS.wallTimeMs, 1, 120000),
    memoryMb: parseInteger('TOKENPROC_SANDBOX_MEMORY_MB', env.TOKENPROC_SANDBOX_MEMORY_MB, DEFAULT_SANDBOX_LIMITS.memoryMb, 8, 1024),
    maxIsolatesPerProcedure: parseInteger('TOKENPROC_SANDBOX_ISOLATES', env.TOKENPROC_SANDBOX_ISOLATES, DEFAULT_SANDBOX_LIMITS.maxIsolatesPerProcedure, 1, 64),
    syncCallMs: parseInteger('TOKENPROC_SANDBOX_SYNC_MS', env.TOKENPROC_SANDBOX_SYNC_MS, DEFAULT_SANDBOX_LIMITS.syncCallMs, 1, 1000),
  };
  const issuer = normalizeIssuer(issuerRaw);
  const signingAlg = env.TOKENPROC_SIGNING_ALG ?? DEFAULT_SIGNING_ALG;
  if (!isSigningAlg(signingAlg)) throw new ConfigError(`TOKENPROC_SIGNING_ALG must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
  requireTlsUnlessLoopback(issuer, env.TOKENPROC_ALLOW_HTTP_ISSUER === 'true');
  const maxTokenLifetimeSeconds = parseInteger(
    'TOKENPROC_MAX_TOKEN_LIFETIME',
    env.TOKENPROC_MAX_TOKEN_LIFETIME,
    defaults.DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    defaults.MIN_MAX_TOKEN_LIFETIME_SECONDS,
    defaults.MAX_MAX_TOKEN_LIFETIME_SECONDS,
  );
  return {
    port,
    host,
    issuer,
    issuerFromPort: configuredIssuer === undefined,
    ...trustDomainFrom(env.TOKENPROC_TRUST_DOMAIN, issuer),
    dataDir: path.resolve(overrides.data ?? env.TOKENPROC_DATA_DIR ?? defaults.DEFAULT_DATA_DIR),
    databaseUrl: overrides.databaseUrl ?? env.TOKENPROC_DATABASE_URL ?? null,
    adminKey: adminKeyFrom(env.TOKENPROC_ADMIN_KEY),
    configFile: overrides.config ?? env.TOKENPROC_CONFIG ?? null,
    logLevel: env.LOG_LEVEL ?? defaults.DEFAULT_LOG_LEVEL,
    maxTokenLifetimeSeconds,
    defaultAccessTokenTtlSeconds: defaults.DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    maxBodyBytes: defaults.MAX_BODY_BYTES,
    maxPresentedTokenBytes: defaults.MAX_TOKEN_BYTES,
    clockSkewSeconds: defaults.CLOCK_SKEW_SECONDS,
    maxTargets: defaults.MAX_TARGETS,
    signingAlg,
    retiredKeyGraceSeconds: maxTokenLifetimeSeconds + defaults.RETIRED_KEY_EXTRA_GRACE_SECONDS,
    sandbox,
    workers: parseWorkers(overrides.workers ?? env.TOKENPROC_WORKERS),
    workerMaxRssMb: parseInteger('TOKENPROC_WORKER_MAX_RSS_MB', env.TOKENPROC_WORKER_MAX_RSS_MB, defaults.DEFAULT_WORKER_MAX_RSS_MB, 256, 1024 * 1024),
    trustProxy: overrides.trustProxy !== undefined ? parseTrustProxy(overrides.trustProxy, '--trust-proxy') : parseTrustProxy(env.TOKENPROC_TRUST_PROXY),
    connections: connectionBounds(env),
    management: managementAddress(env, port),
  };
}

/** Longest TOKENPROC_TRUST_DOMAIN accepted. */
const MAX_TRUST_DOMAIN_LENGTH = 2048;

/**
 * TOKENPROC_TRUST_DOMAIN: any name the workloads of the domain agree on (a URI or a DNS name, as
 * the draft's `trust-domain.example`), without whitespace or control characters; unset or empty,
 * the issuer (defaults.DEFAULT_TRUST_DOMAIN).
 */
export function trustDomainFrom(raw: string | undefined, issuer: string): Pick<ServerConfig, 'trustDomain' | 'trustDomainFromIssuer'> {
  if (raw === undefined || raw.trim() === '' || raw.trim() === defaults.DEFAULT_TRUST_DOMAIN) return { trustDomain: issuer, trustDomainFromIssuer: true };
  const value = raw.trim();
  if (value.length > MAX_TRUST_DOMAIN_LENGTH || /\s/.test(value) || [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    throw new ConfigError(`TOKENPROC_TRUST_DOMAIN must be one name of at most ${MAX_TRUST_DOMAIN_LENGTH} characters without spaces (got ${JSON.stringify(raw)})`);
  }
  return { trustDomain: value, trustDomainFromIssuer: false };
}

function managementAddress(env: NodeJS.ProcessEnv, publicPort: number): ServerConfig['management'] {
  if (env.TOKENPROC_MANAGEMENT_PORT === undefined || env.TOKENPROC_MANAGEMENT_PORT === '') return null;
  const port = parseInteger('TOKENPROC_MANAGEMENT_PORT', env.TOKENPROC_MANAGEMENT_PORT, 0, 0, 65535);
  if (port !== 0 && port === publicPort) throw new ConfigError('TOKENPROC_MANAGEMENT_PORT must differ from the public port');
  return { port, host: env.TOKENPROC_MANAGEMENT_HOST || defaults.DEFAULT_MANAGEMENT_HOST };
}

function connectionBounds(env: NodeJS.ProcessEnv): ServerConfig['connections'] {
  const headersSeconds = parseInteger('TOKENPROC_HEADERS_TIMEOUT', env.TOKENPROC_HEADERS_TIMEOUT, defaults.DEFAULT_HEADERS_TIMEOUT_SECONDS, 1, 600);
  const requestSeconds = parseInteger('TOKENPROC_REQUEST_TIMEOUT', env.TOKENPROC_REQUEST_TIMEOUT, defaults.DEFAULT_REQUEST_TIMEOUT_SECONDS, 1, 3600);
  // Node requires the whole-request limit to be at least the headers' one.
  if (requestSeconds < headersSeconds) throw new ConfigError('TOKENPROC_REQUEST_TIMEOUT must be at least TOKENPROC_HEADERS_TIMEOUT');
  return {
    headersTimeoutMs: headersSeconds * 1000,
    requestTimeoutMs: requestSeconds * 1000,
    maxConnections: parseInteger('TOKENPROC_MAX_CONNECTIONS', env.TOKENPROC_MAX_CONNECTIONS, defaults.DEFAULT_MAX_CONNECTIONS, 1, 1_000_000),
  };
}
