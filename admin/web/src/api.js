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

// ---- Configuration screens (clients, trusted issuers, signing keys, admin keys) ----------------
// Single resources are read with their ETag and written back with If-Match, so a change made by
// someone else meanwhile is answered 412 instead of being overwritten.

/** @import { Me, ClientDocument, TrustedIssuerDocument, JwksTestResult, SigningKey,
 *   SigningKeyRotation, AdminKey, CreatedAdminKey } from './types.js' */

/**
 * @param {string} method
 * @param {string} path relative to /admin/api/v1/, already URL-encoded
 * @param {{ body?: unknown, ifMatch?: string | null }} [options]
 * @returns {Promise<{ data: unknown, etag: string | null }>}
 */
async function send(method, path, { body, ifMatch } = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', authorization: `Bearer ${getAdminKey() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (ifMatch) headers['if-match'] = ifMatch;
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
  if (response.ok) return { data, etag: response.headers.get('etag') };
  const error = toApiError(response.status, data);
  if (response.status === 401) onUnauthorized();
  throw error;
}

export const configApi = {
  /** @returns {Promise<Me>} */
  me: async () => /** @type {Me} */ ((await send('GET', 'me')).data),
  /**
   * @param {string} name
   * @returns {Promise<Record<string, unknown>>}
   */
  schema: async (name) => /** @type {Record<string, unknown>} */ ((await send('GET', `schemas/${enc(name)}`)).data),
  /**
   * @param {string} id
   * @returns {Promise<{ client: ClientDocument, etag: string | null }>}
   */
  getClient: async (id) => {
    const { data, etag } = await send('GET', `clients/${enc(id)}`);
    return { client: /** @type {ClientDocument} */ (data), etag };
  },
  /**
   * @param {string} id
   * @param {Record<string, unknown>} body
   * @param {string | null} etag
   * @returns {Promise<ClientDocument & { client_secret?: string }>}
   */
  putClient: async (id, body, etag) =>
    /** @type {ClientDocument & { client_secret?: string }} */ ((await send('PUT', `clients/${enc(id)}`, { body, ifMatch: etag })).data),
  /**
   * @param {string} id
   * @param {string | null} etag
   */
  deleteClient: async (id, etag) => {
    await send('DELETE', `clients/${enc(id)}`, { ifMatch: etag });
  },
  /**
   * @param {string} id
   * @param {string | null} etag
   * @returns {Promise<{ client_id: string, client_secret: string }>}
   */
  rotateClientSecret: async (id, etag) =>
    /** @type {{ client_id: string, client_secret: string }} */ ((await send('POST', `clients/${enc(id)}/rotate-secret`, { ifMatch: etag })).data),
  /**
   * @param {string} id
   * @returns {Promise<{ issuer: TrustedIssuerDocument, etag: string | null }>}
   */
  getTrustedIssuer: async (id) => {
    const { data, etag } = await send('GET', `trusted-issuers/${enc(id)}`);
    return { issuer: /** @type {TrustedIssuerDocument} */ (data), etag };
  },
  /**
   * @param {string} id
   * @param {Record<string, unknown>} body
   * @param {string | null} etag
   * @returns {Promise<TrustedIssuerDocument>}
   */
  putTrustedIssuer: async (id, body, etag) =>
    /** @type {TrustedIssuerDocument} */ ((await send('PUT', `trusted-issuers/${enc(id)}`, { body, ifMatch: etag })).data),
  /**
   * @param {string} id
   * @param {string | null} etag
   */
  deleteTrustedIssuer: async (id, etag) => {
    await send('DELETE', `trusted-issuers/${enc(id)}`, { ifMatch: etag });
  },
  /**
   * @param {{ jwks_uri: string } | { jwks: unknown }} body
   * @returns {Promise<JwksTestResult>}
   */
  testJwks: async (body) => /** @type {JwksTestResult} */ ((await send('POST', 'trusted-issuers/test-jwks', { body })).data),
  /** @returns {Promise<SigningKey[]>} */
  listSigningKeys: async () => /** @type {SigningKey[]} */ ((await send('GET', 'signing-keys')).data),
  /**
   * @param {boolean} now
   * @returns {Promise<SigningKeyRotation>}
   */
  rotateSigningKeys: async (now) =>
    /** @type {SigningKeyRotation} */ ((await send('POST', 'signing-keys/rotate', { body: { now } })).data),
  /** @returns {Promise<AdminKey[]>} */
  listAdminKeys: async () => /** @type {AdminKey[]} */ ((await send('GET', 'admin-keys')).data),
  /**
   * @param {{ name: string, role: string }} body
   * @returns {Promise<CreatedAdminKey>}
   */
  createAdminKey: async (body) => /** @type {CreatedAdminKey} */ ((await send('POST', 'admin-keys', { body })).data),
  /** @param {string} name */
  deleteAdminKey: async (name) => {
    await send('DELETE', `admin-keys/${enc(name)}`);
  },
};
// ---- end of the configuration screens' block ----------------------------------------------------

// ---- Procedure and audit views (issue 16) -------------------------------------------------------
// The confirmation dialogs show a diff against the active version read here with its ETag; the
// write then sends If-Match, so it is refused (412) if the active version changed meanwhile and
// what was confirmed is exactly what happens.

/** @import { AuditPage } from './types.js' */

export const procedureApi = {
  /**
   * The active version with its ETag; a procedure never published answers 404 (an ApiError).
   * @param {string} id
   * @returns {Promise<{ procedure: Procedure, etag: string | null }>}
   */
  getActive: async (id) => {
    const { data, etag } = await send('GET', `procedures/${enc(id)}`);
    return { procedure: /** @type {Procedure} */ (data), etag };
  },
  /**
   * Compiles on the server and, when it compiles, stores a new active version.
   * @param {string} id
   * @param {{ flow: string, source: string, note?: string }} body `note`: the change note
   * @param {string | null} etag of the active version the author saw (null for a first version)
   * @returns {Promise<PublishedVersion>}
   */
  publish: async (id, body, etag) =>
    /** @type {PublishedVersion} */ ((await send('PUT', `procedures/${enc(id)}`, { body, ifMatch: etag })).data),
  /**
   * Rolls back or forward to a stored version.
   * @param {string} id
   * @param {number} version
   * @param {string} note the change note (left out when empty)
   * @param {string | null} etag of the active version the author saw
   * @returns {Promise<PublishedVersion>}
   */
  activate: async (id, version, note, etag) =>
    /** @type {PublishedVersion} */ (
      (await send('POST', `procedures/${enc(id)}/activate`, { body: note ? { version, note } : { version }, ifMatch: etag })).data
    ),
  /**
   * Deletes every version (refused with 409 while a client uses the procedure).
   * @param {string} id
   * @param {string | null} etag
   */
  remove: async (id, etag) => {
    await send('DELETE', `procedures/${enc(id)}`, { ifMatch: etag });
  },
  /**
   * One page of the audit trail, newest first; `filter` holds exact matches (target_type,
   * target_id, actor, action), combined. An empty cursor asks for the first page.
   * @param {Record<string, string>} filter
   * @param {number} limit
   * @param {string} cursor
   * @returns {Promise<AuditPage>}
   */
  listAudit: async (filter, limit, cursor) => {
    const query = new URLSearchParams({ ...filter, limit: String(limit), cursor });
    return /** @type {AuditPage} */ ((await send('GET', `audit?${query}`)).data);
  },
};
// ---- end of the procedure and audit views' block -------------------------------------------------
