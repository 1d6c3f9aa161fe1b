/**
 * Every default and fixed limit of the server, in one place (as Express's defaultConfiguration and
 * Duende's *Options classes keep theirs). config.ts reads the settable ones from here; modules that
 * apply a fixed limit import it from here rather than writing the number again.
 */

/** Where the server listens and keeps its embedded store. */
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DATA_DIR = './data';
export const DEFAULT_LOG_LEVEL = 'info';

/** Lifetime of an access token whose client sets no `access_token_ttl`, seconds. */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 300;
/** Lifetime of a refresh family whose client sets no `refresh_token_ttl`, seconds (capped like every token). */
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 86_400;
/**
 * Most ids a token's lineage (the host-set `tkp_chain` claim) may hold: an exchange that would
 * make a longer one is refused. It bounds the claim's size and the revocation check's work, and
 * how long a revocation must be kept (server/tokens/revocations.ts).
 */
export const MAX_LINEAGE_LENGTH = 16;
/** Random bytes in a refresh token or an opaque access token (RFC 6749 §10.10 asks for at least 128 bits). */
export const OPAQUE_TOKEN_BYTES = 32;
/** How often each instance reads new revocations from the store (it also learns its own at once), ms. */
export const REVOCATION_POLL_MS = 1000;
/** How often an instance purges expired refresh tokens, opaque tokens and revocations, ms. */
export const TOKEN_PURGE_INTERVAL_MS = 10 * 60_000;
/**
 * Transaction tokens (draft-ietf-oauth-transaction-tokens): the lifetime of one whose procedure
 * sets no `exp`, and the most any may live, seconds. They are bearer context for one call chain,
 * replayable while they live, so both are short (server/oauth/txn-token.ts).
 */
export const DEFAULT_TXN_TOKEN_TTL_SECONDS = 300;
export const MAX_TXN_TOKEN_LIFETIME_SECONDS = 300;
/** TOKENPROC_TRUST_DOMAIN unset: the trust domain named in a Txn-Token's `aud` is the issuer. */
export const DEFAULT_TRUST_DOMAIN = 'issuer' as const;
/** Largest `request_context` or `request_details` parameter (a JSON object), bytes. */
export const MAX_TXN_REQUEST_JSON_BYTES = 8 * 1024;
/** Cap on any issued token's lifetime (TOKENPROC_MAX_TOKEN_LIFETIME), seconds, and its bounds. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;
export const MIN_MAX_TOKEN_LIFETIME_SECONDS = 60;
export const MAX_MAX_TOKEN_LIFETIME_SECONDS = 31 * 86_400;
/** A retired signing key stays in the JWKS this much longer than the longest token lifetime. */
export const RETIRED_KEY_EXTRA_GRACE_SECONDS = 300;

/** Largest request body the endpoints read, bytes (413 beyond). */
export const MAX_BODY_BYTES = 64 * 1024;
/** Largest subject, actor or introspected token, and largest claims set the server signs, bytes. */
export const MAX_TOKEN_BYTES = 16 * 1024;
/** Clock skew allowed on `exp`, `nbf` and `iat`, seconds (RFC 7519 §4.1.4: "a few minutes" at most). */
export const CLOCK_SKEW_SECONDS = 60;
/**
 * Longest life a client assertion (private_key_jwt) may declare, seconds: its jti is remembered
 * for as long as it could be replayed, so a token valid for a century would be kept a century.
 */
export const MAX_CLIENT_ASSERTION_LIFETIME_SECONDS = 600;

/** `resource` and `audience` values one request may name, in all. */
export const MAX_TARGETS = 4;

/** Worker processes (TOKENPROC_WORKERS) and the resident memory past which one is replaced, MiB. */
export const DEFAULT_WORKERS = 1;
export const DEFAULT_WORKER_MAX_RSS_MB = 1536;

/**
 * Failed-authentication throttles (server/clients/throttle.ts states the rule): wrong credentials
 * counted in the store per window; past a limit they are answered 429 until the window ends. A
 * correct credential is never refused by them.
 */
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Wrong client secrets per window from one source address for one client id. */
export const MAX_CLIENT_AUTH_FAILURES_PER_ADDRESS = 10;
/** Wrong client secrets per window for one client id, from all addresses together. */
export const MAX_CLIENT_AUTH_FAILURES = 20;
/** Wrong admin keys per window from one source address. */
export const MAX_ADMIN_AUTH_FAILURES_PER_ADDRESS = 10;
/** Wrong admin keys per window from all addresses together, so many addresses cannot guess unbounded. */
export const MAX_ADMIN_AUTH_FAILURES = 100;

/**
 * TOKENPROC_TRUST_PROXY unset: no proxy is trusted, the source address of a request is the peer of
 * its connection and X-Forwarded-For is ignored.
 */
export const DEFAULT_TRUST_PROXY = false;

/**
 * Connection bounds (per process). A client has this long to send a request's headers, and this long
 * for the whole request, body included; an idle keep-alive connection is closed after the keep-alive
 * timeout. Connections past the maximum are refused at accept, so silent or slow connections cannot
 * take every file descriptor (keep TOKENPROC_MAX_CONNECTIONS below `ulimit -n`, minus room for the
 * store and logs).
 */
export const DEFAULT_HEADERS_TIMEOUT_SECONDS = 10;
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
export const KEEP_ALIVE_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_CONNECTIONS = 900;
/** How often the server looks for connections past those timeouts, ms (Node's default is 30 s). */
export const CONNECTION_CHECK_INTERVAL_MS = 1000;

/** How long relying parties may cache the JWKS (its Cache-Control max-age), seconds. */
export const JWKS_MAX_AGE_SECONDS = 300;
/**
 * A rotated-in signing key is published this long before it signs: longer than the JWKS may be
 * cached, plus a minute for instances to reload and for clock skew, so that no relying party meets
 * a token signed by a key it has not seen (server/tokens/keys.ts).
 */
export const KEY_PREPUBLISH_SECONDS = JWKS_MAX_AGE_SECONDS + 60;

/** Where the management listener (TOKENPROC_MANAGEMENT_PORT) binds unless TOKENPROC_MANAGEMENT_HOST says otherwise. */
export const DEFAULT_MANAGEMENT_HOST = '127.0.0.1';
