// @ts-check
// Shapes of the admin API (interfaces.md, "Admin API"), as JSDoc types so the browser sources
// are type-checked without a DOM lib leaking into the server build. Times are epoch seconds.

/**
 * @typedef {number | string} Timestamp epoch seconds (an ISO string is shown as it is)
 * @typedef {{ id: string, flow: string, active_version: number | null, latest_version: number,
 *   sha256: string, updated_at: Timestamp }} ProcedureSummary
 * @typedef {{ id: string, version: number, flow: string, source: string, sha256: string,
 *   created_at: Timestamp, created_by: string, note?: string | null }} Procedure
 * @typedef {{ id: string, version: number, flow: string, sha256: string, created_at: Timestamp,
 *   created_by: string, active: boolean, note?: string | null }} ProcedureVersion `note`: the
 *   change note given with the upload (null without one)
 * @typedef {{ line: number, column: number, rule: string, message: string }} LintWarning what
 *   `tokenproc check` reports; an upload answers them (the version is stored all the same)
 * @typedef {{ id: string, version: number, sha256: string, flow: string, warnings?: LintWarning[] }} PublishedVersion
 * @typedef {{ line: number, column: number, message: string, severity?: 'error' | 'warning' }} CompileError
 * @typedef {{ kind: string, header: Record<string, unknown>, claims: Record<string, unknown> }} IssuedToken
 * @typedef {{ level: string, message: string }} ProcedureLogLine
 * @typedef {{ member: string, returned: unknown, sent: unknown }} ResponseCorrection a member of the
 *   procedure's response the server made match the issued token
 * @typedef {{ status: number, body: unknown, issued: IssuedToken[], logs: ProcedureLogLine[],
 *   diagnostic?: unknown, corrections?: ResponseCorrection[] }} DryRunResult
 * @typedef {Record<string, string | string[]>} FormParams
 * @typedef {{ flow?: string, version?: number, source?: string, client?: Client,
 *   subject_token?: string, subject_claims?: Record<string, unknown>, actor_token?: string,
 *   actor_claims?: Record<string, unknown>, params?: FormParams }} DryRunRequest
 * @typedef {{ client_id: string, name?: string, has_secret?: boolean,
 *   token_endpoint_auth_method?: string, grant_types?: string[],
 *   scope?: string, audiences?: string[], properties?: Record<string, string>,
 *   procedures?: Record<string, string>, access_token_ttl?: number,
 *   accept_unvalidated_tokens?: boolean, jwks?: unknown }} Client
 * @typedef {{ id: string, issuer: string, jwks_uri?: string, jwks?: unknown,
 *   allowed_algs?: string[], audiences?: string[] }} TrustedIssuer
 * @typedef {{ id: number | string, at: Timestamp, actor: string, action: string, target_type: string,
 *   target_id: string, old_version: string | number | null, new_version: string | number | null,
 *   details: unknown }} AuditEntry
 */

/**
 * Configuration screens (clients, trusted issuers, signing keys, admin keys).
 * @typedef {'viewer' | 'author' | 'admin'} AdminRole
 * @typedef {{ actor: string, role: AdminRole }} Me the signed-in key (GET /me)
 * @typedef {Client & { access_token_format?: 'jwt' | 'opaque', refresh_token_ttl?: number,
 *   accepted_audiences?: string[], created_at?: Timestamp, updated_at?: Timestamp }} ClientDocument
 *   a client as GET /clients/{id} answers it (never its secret)
 * @typedef {{ id: string, issuer: string, jwks_uri?: string | null, jwks?: unknown,
 *   allowed_algs?: string[] | null, audiences?: string[] | null, created_at?: Timestamp,
 *   updated_at?: Timestamp }} TrustedIssuerDocument
 * @typedef {{ kid?: string | null, kty?: string, alg?: string | null, use?: string | null }} JwkSummary
 * @typedef {{ ok: true, keys: JwkSummary[] } | { ok: false, problem: string }} JwksTestResult
 * @typedef {{ kid: string, alg: string, created_at: Timestamp, signs_from: Timestamp | null,
 *   retired_at: Timestamp | null, published: boolean, signing: boolean,
 *   public_jwk: Record<string, unknown> }} SigningKey
 * @typedef {{ kid: string, signs_from: Timestamp, pruned: string[] }} SigningKeyRotation
 * @typedef {{ name: string, role: AdminRole, created_at: Timestamp }} AdminKey
 * @typedef {{ name: string, role: AdminRole, key: string }} CreatedAdminKey
 */

/**
 * Procedure and audit views (issue 16).
 * @typedef {{ items: AuditEntry[], next_cursor: string | null }} AuditPage one page of
 *   GET /audit?limit=&cursor= (newest first)
 */

/** The flows a procedure can be attached to (Curity's ids where Curity has them). */
export const FLOWS = /** @type {const} */ ([
  'oauth-token-oauth-token-exchange',
  'oauth-token-client-credentials',
  'oauth-token-jwt-assertion',
  'oauth-token-refresh',
]);

export {};
