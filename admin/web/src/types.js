// @ts-check
// Shapes of the admin API (interfaces.md, "Admin API"), as JSDoc types so the browser sources
// are type-checked without a DOM lib leaking into the server build. Times are epoch seconds.

/**
 * @typedef {number | string} Timestamp epoch seconds (an ISO string is shown as it is)
 * @typedef {{ id: string, flow: string, active_version: number | null, latest_version: number,
 *   sha256: string, updated_at: Timestamp }} ProcedureSummary
 * @typedef {{ id: string, version: number, flow: string, source: string, sha256: string,
 *   created_at: Timestamp, created_by: string }} Procedure
 * @typedef {{ id: string, version: number, flow: string, sha256: string, created_at: Timestamp,
 *   created_by: string, active: boolean }} ProcedureVersion
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

/** The flows a procedure can be attached to (Curity's ids where Curity has them). */
export const FLOWS = /** @type {const} */ ([
  'oauth-token-oauth-token-exchange',
  'oauth-token-client-credentials',
  'oauth-token-jwt-assertion',
  'oauth-token-refresh',
]);

export {};
