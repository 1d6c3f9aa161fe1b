// @ts-check
// Client for the admin API under ./api/v1/ (relative to the page at /admin/).
import { getAdminKey } from './session.js';

/** @import { ProcedureSummary, Procedure, ProcedureVersion, PublishedVersion, DryRunRequest,
 *   DryRunResult, Client, TrustedIssuer, AuditEntry, CompileError } from './types.js' */

/** An error answer of the admin API: `{error, error_description}` or the 422 compile shape. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code the OAuth-style `error` field, or `http_<status>` when there was none
   * @param {string} description
   * @param {CompileError[]} details compile errors of a 422 `invalid_procedure`
   */
  constructor(status, code, description, details) {
    super(description ? `${code}: ${description}` : code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.description = description;
    this.details = details;
  }
}

/** @type {() => void} */
let onUnauthorized = () => {};

/**
 * Called whenever the API answers 401, so the page can drop the key and ask for it again.
 * @param {() => void} handler
 */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** @param {string} path */
function apiUrl(path) {
  return new URL(`api/v1/${path}`, document.baseURI).toString();
}

/**
 * @param {string} method
 * @param {string} path relative to /admin/api/v1/, already URL-encoded
 * @param {unknown} [body]
 * @param {string} [key] the admin key; defaults to the signed-in one
 * @returns {Promise<unknown>}
 */
async function call(method, path, body, key = getAdminKey() ?? '') {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(apiUrl(path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
    redirect: 'error',
  });
  const text = await response.text();
  /** @type {unknown} */
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (response.ok) return data;
  const error = toApiError(response.status, data);
  if (response.status === 401) onUnauthorized();
  throw error;
}

/**
 * @param {number} status
 * @param {unknown} data
 */
function toApiError(status, data) {
  if (typeof data === 'object' && data !== null) {
    const record = /** @type {Record<string, unknown>} */ (data);
    const code = typeof record['error'] === 'string' ? record['error'] : `http_${status}`;
    const description =
      typeof record['error_description'] === 'string' ? record['error_description'] : '';
    return new ApiError(status, code, description, compileErrors(record['details']));
  }
  return new ApiError(status, `http_${status}`, typeof data === 'string' ? data.slice(0, 200) : '', []);
}

/**
 * @param {unknown} details
 * @returns {CompileError[]}
 */
function compileErrors(details) {
  if (!Array.isArray(details)) return [];
  return details.flatMap((detail) => {
    if (typeof detail !== 'object' || detail === null) return [];
    const { line, column, message } = /** @type {Record<string, unknown>} */ (detail);
    return [
      {
        line: typeof line === 'number' ? line : 1,
        column: typeof column === 'number' ? column : 1,
        message: typeof message === 'string' ? message : JSON.stringify(detail),
      },
    ];
  });
}

const enc = encodeURIComponent;

export const api = {
  /**
   * Checks a key before keeping it: any authenticated read will do.
   * @param {string} key
   */
  async verifyKey(key) {
    await call('GET', 'procedures', undefined, key);
  },
  /** @returns {Promise<ProcedureSummary[]>} */
  listProcedures: async () => /** @type {ProcedureSummary[]} */ (await call('GET', 'procedures')),
  /**
   * @param {string} id
   * @returns {Promise<Procedure>}
   */
  getProcedure: async (id) => /** @type {Procedure} */ (await call('GET', `procedures/${enc(id)}`)),
  /**
   * @param {string} id
   * @returns {Promise<ProcedureVersion[]>}
   */
  listVersions: async (id) =>
    /** @type {ProcedureVersion[]} */ (await call('GET', `procedures/${enc(id)}/versions`)),
  /**
   * One stored version with its source.
   * @param {string} id
   * @param {number} version
   * @returns {Promise<Procedure>}
   */
  getVersion: async (id, version) =>
    /** @type {Procedure} */ (await call('GET', `procedures/${enc(id)}/versions/${version}`)),
  /**
   * Compiles on the server and, when it compiles, stores a new active version.
   * @param {string} id
   * @param {{ flow: string, source: string }} body
   * @returns {Promise<PublishedVersion>}
   */
  publish: async (id, body) =>
    /** @type {PublishedVersion} */ (await call('PUT', `procedures/${enc(id)}`, body)),
  /**
   * @param {string} id
   * @param {number} version
   * @returns {Promise<PublishedVersion>}
   */
  activate: async (id, version) =>
    /** @type {PublishedVersion} */ (
      await call('POST', `procedures/${enc(id)}/activate`, { version })
    ),
  /**
   * @param {string} id
   * @param {DryRunRequest} body
   * @returns {Promise<DryRunResult>}
   */
  dryRun: async (id, body) =>
    /** @type {DryRunResult} */ (await call('POST', `procedures/${enc(id)}/dry-run`, body)),
  /** @returns {Promise<Client[]>} */
  listClients: async () => /** @type {Client[]} */ (await call('GET', 'clients')),
  /** @returns {Promise<TrustedIssuer[]>} */
  listTrustedIssuers: async () =>
    /** @type {TrustedIssuer[]} */ (await call('GET', 'trusted-issuers')),
  /**
   * @param {number} limit
   * @returns {Promise<AuditEntry[]>}
   */
  listAudit: async (limit) => /** @type {AuditEntry[]} */ (await call('GET', `audit?limit=${limit}`)),
};

/**
 * A one-line message for an error from the API or the network.
 * @param {unknown} error
 */
export function describeError(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'The admin key was not accepted.';
    return `${error.code}${error.description ? `: ${error.description}` : ''} (HTTP ${error.status})`;
  }
  if (error instanceof Error) return `Request failed: ${error.message}`;
  return 'Request failed.';
}
