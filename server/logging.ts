/**
 * JSON-lines logging (winston) with masking. Anything that could carry a credential or a token
 * is masked by key name wherever it appears in a log record, however deeply nested, so a careless
 * call site cannot leak one.
 */
import winston from 'winston';

const SENSITIVE_KEYS = new Set([
  'subject_token',
  'actor_token',
  'client_secret',
  'client_assertion',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'authorization',
  'password',
  'admin_key',
  'private_jwk',
  'client_secret_hash',
  // Transaction tokens (draft-ietf-oauth-transaction-tokens §Logging: never logged verbatim).
  'txn_token',
  'txn-token',
]);

export const MASK = '[masked]';

export function maskSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SENSITIVE_KEYS.has(key.toLowerCase()) ? MASK : maskSecrets(v, depth + 1);
  }
  return out;
}

/** Masks `name=value` pairs of sensitive form parameters inside free text (e.g. a raw body). */
export function maskText(text: string): string {
  return text.replace(
    /\b(subject_token|actor_token|client_secret|client_assertion|access_token|refresh_token|id_token|txn_token|token)=[^&\s]*/gi,
    (_m, name: string) => `${name}=${MASK}`,
  ).replace(/\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+/g, (_m, scheme: string) => `${scheme} ${MASK}`)
    // The draft's Txn-Token HTTP header, should a raw request ever be logged.
    .replace(/\b(Txn-Token)\s*:\s*[A-Za-z0-9._~+/=-]+/gi, (_m, name: string) => `${name}: ${MASK}`);
}

const maskFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SENSITIVE_KEYS.has(key.toLowerCase())) info[key] = MASK;
    else if (typeof info[key] === 'object') info[key] = maskSecrets(info[key]);
  }
  if (typeof info.message === 'string') info.message = maskText(info.message);
  return info;
});

export type Logger = winston.Logger;

export interface LoggerOptions {
  level: string;
  /** Where lines go; stdout by default. Tests pass a stream to capture them. */
  stream?: NodeJS.WritableStream;
}

type LogMethod = (this: Logger, ...args: unknown[]) => Logger;

/**
 * winston runs every format (timestamp, masking, JSON) and only then lets its transports drop a
 * disabled level: at LOG_LEVEL=warn each info line still cost ~10 µs on the token endpoint's hot
 * path. Here a disabled level returns before any of that. `this` (not the closure's logger) keeps
 * child loggers' metadata.
 */
function skipDisabledLevels(logger: Logger): Logger {
  const methods = logger as unknown as Record<string, unknown>;
  for (const level of Object.keys(logger.levels)) {
    const write = methods[level];
    if (typeof write !== 'function') continue;
    methods[level] = function (this: Logger, ...args: unknown[]): Logger {
      return this.isLevelEnabled(level) ? (Reflect.apply(write, this, args) as Logger) : this;
    } satisfies LogMethod;
  }
  const log = logger.log;
  methods.log = function (this: Logger, ...args: unknown[]): Logger {
    const first = args[0];
    const level = typeof first === 'string' ? first : typeof first === 'object' && first !== null ? (first as { level?: unknown }).level : undefined;
    if (typeof level === 'string' && !this.isLevelEnabled(level)) return this;
    return Reflect.apply(log, this, args) as Logger;
  } satisfies LogMethod;
  return logger;
}

export function createLogger(options: LoggerOptions): Logger {
  return skipDisabledLevels(
    winston.createLogger({
      level: options.level,
      format: winston.format.combine(winston.format.timestamp(), maskFormat(), winston.format.json()),
      transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout })],
    }),
  );
}
