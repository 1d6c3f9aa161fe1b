/**
 * GET /admin/api/v1/openapi.json: an OpenAPI 3.1 description of the admin API. Request bodies are
 * the published JSON Schemas the server validates with (server/schemas/, embedded under
 * components.schemas with their `$id`, so their own `$ref`s resolve inside the document): one
 * source, not a second copy. tests/admin/openapi.test.ts checks that every route the router mounts
 * is described here.
 */
import { loadSchema, SCHEMA_NAMES, type SchemaName } from '../../server/schemas/validate.ts';
import { ADMIN_ERROR_STATUS } from './http.ts';
import { MAX_PAGE_LIMIT } from './pagination.ts';

type Json = Record<string, unknown>;
type Method = 'get' | 'put' | 'patch' | 'post' | 'delete';
type Role = 'viewer' | 'author' | 'admin';

const ref = (to: string): Json => ({ $ref: to });
const schemaRef = (name: SchemaName): Json => ref(`#/components/schemas/${name}`);
const jsonContent = (schema: Json): Json => ({ 'application/json': { schema } });

interface Operation {
  summary: string;
  /** Null: public, no key needed. */
  role: Role | null;
  body?: Json;
  /** The body's media types (default application/json). */
  bodyTypes?: readonly string[];
  /** Whether the body may be left out (default: required). */
  bodyOptional?: boolean;
  /** Success statuses with their body schema (null: no body). */
  ok: Record<number, Json | null>;
  /** Error statuses besides those every authenticated operation may answer. */
  errors?: number[];
  ifMatch?: boolean;
  etag?: boolean;
  paged?: boolean;
  /** Further query parameters: name → description (strings). */
  query?: Record<string, string>;
}

const pathParameter = (name: string, description: string): Json => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });

/** Statuses any authenticated operation may answer. */
const AUTHENTICATED_ERRORS = [401, 403, 429, 500, 503];
const BODY_ERRORS = [400, 413, 415];

const STATUS_DESCRIPTIONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No content',
  400: 'Invalid request (invalid_request): a bad body, path id or query parameter; `field` names it',
  401: 'No valid admin key (invalid_token)',
  403: 'The key\'s role does not cover this operation (insufficient_role)',
  404: 'No such resource (not_found)',
  405: 'The path does not offer this method (method_not_allowed); the Allow header lists those it does',
  409: 'Conflict (conflict, procedure_in_use, procedure_flow_mismatch, procedure_missing)',
  412: 'If-Match does not match the current ETag, or `*` and the resource does not exist (precondition_failed); nothing changed',
  413: 'The body is too large (invalid_request)',
  415: 'The body is not application/json (invalid_request)',
  422: 'The procedure does not compile (invalid_procedure); `details` lists `{line, column, message}`',
  429: 'Too many failed admin authentications (too_many_requests); see Retry-After',
  500: 'Internal error (server_error)',
  503: 'The store cannot be reached (temporarily_unavailable); see Retry-After',
};

function operation(op: Operation, pathParameters: Json[]): Json {
  const parameters: Json[] = [...pathParameters];
  if (op.ifMatch) parameters.push({ name: 'If-Match', in: 'header', required: false, description: 'Entity tags (or `*`): the write happens only if one is current (else 412).', schema: { type: 'string' } });
  for (const [name, description] of Object.entries(op.query ?? {})) {
    parameters.push({ name, in: 'query', required: false, description, schema: { type: 'string', minLength: 1, maxLength: 256 } });
  }
  if (op.paged) {
    parameters.push(
      { name: 'limit', in: 'query', required: false, description: 'Page size; with it (or cursor) the answer is a page', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_LIMIT, default: 100 } },
      { name: 'cursor', in: 'query', required: false, description: 'next_cursor of the previous page; empty for the first page', schema: { type: 'string' } },
    );
  }
  const responses: Json = {};
  for (const [status, schema] of Object.entries(op.ok)) {
    const response: Json = { description: STATUS_DESCRIPTIONS[Number(status)] ?? 'OK' };
    if (schema) {
      response['content'] = jsonContent(op.paged ? { oneOf: [schema, pageOf(schema)] } : schema);
      if (op.etag) response['headers'] = { ETag: { description: 'Strong validator of the stored record', schema: { type: 'string' } } };
    }
    responses[status] = response;
  }
  const errors = new Set([...(op.role ? AUTHENTICATED_ERRORS : [500]), ...(op.body ? BODY_ERRORS : []), ...(op.ifMatch ? [412] : []), ...(op.errors ?? [])]);
  for (const status of [...errors].sort()) responses[String(status)] = ref(`#/components/responses/error${status}`);
  const described: Json = { summary: op.summary, parameters, responses };
  if (op.role) described['x-tokenproc-role'] = op.role;
  else described['security'] = [];
  if (op.body) {
    const content: Json = {};
    for (const type of op.bodyTypes ?? ['application/json']) content[type] = { schema: op.body };
    described['requestBody'] = { required: op.bodyOptional !== true, content };
  }
  return described;
}

function pageOf(listSchema: Json): Json {
  const items = (listSchema['items'] as Json | undefined) ?? {};
  return {
    type: 'object',
    required: ['items', 'next_cursor'],
    properties: { items: { type: 'array', items }, next_cursor: { type: ['string', 'null'], description: 'Pass as cursor for the next page; null on the last page' } },
  };
}

const object = (description: string): Json => ({ type: 'object', description });
const arrayOf = (items: Json): Json => ({ type: 'array', items });

const PUBLIC_CLIENT = object('A client as stored, without its secret: the client schema\'s members plus has_secret, created_at, updated_at');
const TRUSTED_ISSUER = object('A trusted issuer as stored: the trusted-issuer schema\'s members plus id, created_at, updated_at');
const PROCEDURE_VERSION = object('A stored procedure version: id, version, flow, source, sha256, created_at, created_by, note (the change note given with the upload, or null)');
const PUBLISHED = object('{id, version, sha256, flow} (and warnings after an upload: [{line, column, rule, message}])');
/** A JSON Merge Patch (RFC 7396) of a resource: the merged result must be valid against `schema`, as a PUT body. */
const mergePatchOf = (schema: SchemaName): Json => ({
  type: 'object',
  description: `A JSON Merge Patch (RFC 7396): members replace the resource's, null removes one; the result must be valid against the ${schema} schema (#/components/schemas/${schema}), as a PUT body`,
});
const MERGE_PATCH_TYPES = ['application/merge-patch+json', 'application/json'] as const;

const JWK_SUMMARY: Json = {
  type: 'object',
  required: ['kid', 'kty', 'alg', 'use'],
  properties: { kid: { type: ['string', 'null'] }, kty: { type: 'string' }, alg: { type: ['string', 'null'] }, use: { type: ['string', 'null'] } },
};
const SIGNING_KEY: Json = {
  type: 'object',
  description: 'A signing key (never private material); times are epoch seconds',
  required: ['kid', 'alg', 'created_at', 'signs_from', 'retired_at', 'published', 'signing', 'public_jwk'],
  properties: {
    kid: { type: 'string' },
    alg: { type: 'string' },
    created_at: { type: 'integer' },
    signs_from: { type: 'integer', description: 'When it signs (or signed) from: its creation, or the end of its pre-publication' },
    retired_at: { type: ['integer', 'null'], description: 'When it stops (or stopped) signing; null while no newer key replaces it' },
    published: { type: 'boolean', description: 'In the JWKS now' },
    signing: { type: 'boolean', description: 'The key signing now' },
    public_jwk: { type: 'object', description: 'The public JWK as the JWKS publishes it' },
  },
};
const ROTATED: Json = {
  type: 'object',
  required: ['kid', 'signs_from', 'pruned'],
  properties: { kid: { type: 'string' }, signs_from: { type: 'integer' }, pruned: { type: 'array', items: { type: 'string' }, description: 'Retired keys removed, their tokens having expired' } },
};
const JWKS_TEST_RESULT: Json = {
  oneOf: [
    { type: 'object', required: ['ok', 'keys'], properties: { ok: { const: true }, keys: { type: 'array', items: JWK_SUMMARY } } },
    { type: 'object', required: ['ok', 'problem'], properties: { ok: { const: false }, problem: { type: 'string', description: 'Why the set is unusable, in a few words' } } },
  ],
};
const ME: Json = {
  type: 'object',
  required: ['actor', 'role'],
  properties: { actor: { type: 'string', description: 'How the audit trail names this key: admin-key:<name>, or admin:<id> for the main key' }, role: { enum: ['viewer', 'author', 'admin'] } },
};

const ADMIN_KEY: Json = {
  type: 'object',
  required: ['name', 'role', 'created_at'],
  properties: { name: { type: 'string' }, role: { enum: ['viewer', 'author', 'admin'] }, created_at: { type: 'integer' } },
};

/** The admin API, path by path (relative to /admin/api/v1). */
function paths(): Record<string, { parameters?: Json[]; operations: Partial<Record<Method, Operation>> }> {
  const clientId = pathParameter('clientId', 'The client id');
  const id = pathParameter('id', 'The resource id');
  return {
    '/openapi.json': { operations: { get: { summary: 'This document', role: null, ok: { 200: object('OpenAPI 3.1 document') } } } },
    '/schemas': { operations: { get: { summary: 'Names of the published JSON Schemas', role: null, ok: { 200: arrayOf({ type: 'string' }) } } } },
    '/schemas/{name}': {
      parameters: [pathParameter('name', 'A schema name')],
      operations: { get: { summary: 'One published JSON Schema (application/schema+json)', role: null, ok: { 200: object('JSON Schema draft 2020-12') }, errors: [404] } },
    },
    '/clients': { operations: { get: { summary: 'List clients', role: 'viewer', ok: { 200: arrayOf(PUBLIC_CLIENT) }, paged: true, errors: [400] } } },
    '/clients/{clientId}': {
      parameters: [clientId],
      operations: {
        get: { summary: 'Read a client', role: 'viewer', ok: { 200: PUBLIC_CLIENT }, errors: [404], etag: true },
        put: { summary: 'Create or replace a client (a generated secret is answered once)', role: 'admin', body: schemaRef('client'), ok: { 200: PUBLIC_CLIENT, 201: PUBLIC_CLIENT }, errors: [409], ifMatch: true },
        patch: {
          summary: 'Change a client with a JSON Merge Patch (client_secret may be set; a generated secret is answered once); answers it with its new ETag',
          role: 'admin',
          body: mergePatchOf('client'),
          bodyTypes: MERGE_PATCH_TYPES,
          ok: { 200: PUBLIC_CLIENT },
          errors: [404],
          ifMatch: true,
          etag: true,
        },
        delete: { summary: 'Delete a client', role: 'admin', ok: { 204: null }, errors: [404], ifMatch: true },
      },
    },
    '/clients/{clientId}/rotate-secret': {
      parameters: [clientId],
      operations: { post: { summary: 'Generate a new secret, answered once', role: 'admin', ok: { 200: object('{client_id, client_secret}') }, errors: [404, 409], ifMatch: true } },
    },
    '/trusted-issuers': { operations: { get: { summary: 'List trusted issuers', role: 'viewer', ok: { 200: arrayOf(TRUSTED_ISSUER) }, paged: true, errors: [400] } } },
    '/trusted-issuers/{id}': {
      parameters: [id],
      operations: {
        get: { summary: 'Read a trusted issuer', role: 'viewer', ok: { 200: TRUSTED_ISSUER }, errors: [404], etag: true },
        put: { summary: 'Create or replace a trusted issuer', role: 'admin', body: schemaRef('trusted-issuer'), ok: { 200: TRUSTED_ISSUER, 201: TRUSTED_ISSUER }, ifMatch: true },
        patch: {
          summary: 'Change a trusted issuer with a JSON Merge Patch; answers it with its new ETag',
          role: 'admin',
          body: mergePatchOf('trusted-issuer'),
          bodyTypes: MERGE_PATCH_TYPES,
          ok: { 200: TRUSTED_ISSUER },
          errors: [404],
          ifMatch: true,
          etag: true,
        },
        delete: { summary: 'Delete a trusted issuer', role: 'admin', ok: { 204: null }, errors: [404], ifMatch: true },
      },
    },
    '/trusted-issuers/test-jwks': {
      operations: {
        post: {
          summary: 'Try a key set before saving it: fetched from jwks_uri as the server fetches trusted issuers\' keys (same timeout, size limit, no redirects), or given inline; answers the usable keys or why there are none',
          role: 'admin',
          body: schemaRef('trusted-issuer-jwks-test'),
          ok: { 200: JWKS_TEST_RESULT },
        },
      },
    },
    '/signing-keys': { operations: { get: { summary: 'The server\'s signing keys, newest first (never private material)', role: 'viewer', ok: { 200: arrayOf(SIGNING_KEY) }, paged: true, errors: [400] } } },
    '/signing-keys/rotate': {
      operations: {
        post: {
          summary: 'Make a new signing key, as `tokenproc keys rotate` does: published now and signing once JWKS caches have it, or signing at once with now: true',
          role: 'admin',
          body: schemaRef('signing-key-rotate'),
          bodyOptional: true,
          ok: { 200: ROTATED },
        },
      },
    },
    '/me': { operations: { get: { summary: 'The presented key: its audit actor and role', role: 'viewer', ok: { 200: ME } } } },
    '/procedures': { operations: { get: { summary: 'List procedures', role: 'viewer', ok: { 200: arrayOf(object('{id, flow, active_version, latest_version, sha256, updated_at}')) }, paged: true, errors: [400] } } },
    '/procedures/{id}': {
      parameters: [id],
      operations: {
        get: { summary: 'The active version with its source', role: 'viewer', ok: { 200: PROCEDURE_VERSION }, errors: [404], etag: true },
        put: { summary: 'Compile and store a new version, made active', role: 'author', body: schemaRef('procedure-upload'), ok: { 200: PUBLISHED, 201: PUBLISHED }, errors: [409, 422], ifMatch: true },
        delete: { summary: 'Delete a procedure (409 while a client uses it)', role: 'author', ok: { 204: null }, errors: [404, 409], ifMatch: true },
      },
    },
    '/procedures/{id}/versions': { parameters: [id], operations: { get: { summary: 'The version history', role: 'viewer', ok: { 200: arrayOf(object('A version without source, with `active`')) }, errors: [404] } } },
    '/procedures/{id}/versions/{version}': {
      parameters: [id, pathParameter('version', 'A version number')],
      operations: { get: { summary: 'One version with its source', role: 'viewer', ok: { 200: PROCEDURE_VERSION }, errors: [404], etag: true } },
    },
    '/procedures/{id}/activate': {
      parameters: [id],
      operations: { post: { summary: 'Roll back or forward', role: 'author', body: schemaRef('procedure-activate'), ok: { 200: PUBLISHED }, errors: [404], ifMatch: true } },
    },
    '/procedures/{id}/dry-run': {
      parameters: [id],
      operations: { post: { summary: 'Run a procedure against given input; nothing is stored', role: 'author', body: schemaRef('procedure-dry-run'), ok: { 200: object('{status, body, issued, logs, diagnostic, corrections}') }, errors: [404, 422] } },
    },
    '/config': {
      operations: {
        get: { summary: 'Export the configuration document', role: 'viewer', ok: { 200: schemaRef('config-document') } },
        put: { summary: 'Import (merge) a configuration document', role: 'admin', body: schemaRef('config-document'), ok: { 200: object('Import summary') } },
      },
    },
    '/audit': {
      operations: {
        get: {
          summary: 'The audit trail, newest first (`limit` alone, or `before`, answers the bare array)',
          role: 'viewer',
          ok: { 200: arrayOf(object('{id, at, actor, action, target_type, target_id, old_version, new_version, details}')) },
          paged: true,
          query: {
            target_type: 'Only entries about this kind of target (client, procedure, trusted_issuer, signing_key, admin_key)',
            target_id: 'Only entries about this target',
            actor: 'Only entries by this actor (admin-key:<name>, admin:<id>, cli, config, system)',
            action: 'Only entries of this action (e.g. client.update, procedure.activate)',
          },
          errors: [400],
        },
      },
    },
    '/admin-keys': {
      operations: {
        get: { summary: 'List named admin keys (never the keys)', role: 'admin', ok: { 200: arrayOf(ADMIN_KEY) }, paged: true, errors: [400] },
        post: {
          summary: 'Create a named admin key; the key is answered this once',
          role: 'admin',
          body: schemaRef('admin-key'),
          ok: { 201: { type: 'object', required: ['name', 'role', 'key'], properties: { name: { type: 'string' }, role: { enum: ['viewer', 'author', 'admin'] }, key: { type: 'string', minLength: 32 } } } },
          errors: [409],
        },
      },
    },
    '/admin-keys/{name}': {
      parameters: [pathParameter('name', 'The key\'s name')],
      operations: {
        get: { summary: 'Read a named admin key (never the key)', role: 'admin', ok: { 200: ADMIN_KEY }, errors: [404], etag: true },
        delete: { summary: 'Delete a named admin key', role: 'admin', ok: { 204: null }, errors: [404], ifMatch: true },
      },
    },
  };
}

const ERROR_BODY: Json = {
  type: 'object',
  required: ['error', 'error_description'],
  properties: {
    error: { enum: Object.keys(ADMIN_ERROR_STATUS) },
    error_description: { type: 'string' },
    field: { type: 'string', description: 'JSON Pointer into the body, or the name of the path segment or query parameter' },
    details: { description: 'More about the error (compile errors, clients using a procedure, roles)' },
  },
};

const SCHEMA_ID_PREFIX = 'urn:tokenproc:schema:';

/** Rewrites a published schema's references to point into components.schemas; `base` is the schema a fragment-only reference is relative to. */
function localised(value: unknown, base: SchemaName): unknown {
  if (Array.isArray(value)) return value.map((item) => localised(item, base));
  if (value === null || typeof value !== 'object') return value;
  const rewritten: Json = {};
  for (const [name, member] of Object.entries(value as Json)) {
    if (name === '$ref' && typeof member === 'string') {
      const [target, fragment = ''] = member.split('#');
      const schema = target ? target.slice(SCHEMA_ID_PREFIX.length) : base;
      rewritten[name] = `#/components/schemas/${schema}${fragment}`;
    } else {
      rewritten[name] = localised(member, base);
    }
  }
  return rewritten;
}

/**
 * A published schema as a component: the file's content with its `$id` left out and its
 * references (`urn:tokenproc:schema:NAME#/...`, or `#/...` within the file) pointing into
 * components.schemas. OpenAPI 3.1 would also resolve the embedded `$id`s, but common OpenAPI
 * tools do not, and the document is for those tools.
 */
export function componentSchema(name: SchemaName): Json {
  const { $id: _id, ...schema } = loadSchema(name);
  return localised(schema, name) as Json;
}

/** Every documented path (relative to /admin/api/v1, `{name}` for a segment) with its methods. */
export function documentedOperations(): Array<{ path: string; methods: Method[] }> {
  return Object.entries(paths()).map(([path, { operations }]) => ({ path, methods: Object.keys(operations) as Method[] }));
}

/** Built on each call from the schema files; small, and requested rarely. */
export function openApiDocument(): Json {
  const documented: Json = {};
  for (const [path, { parameters = [], operations }] of Object.entries(paths())) {
    const item: Json = {};
    for (const [method, op] of Object.entries(operations)) item[method] = operation(op, parameters);
    documented[path] = item;
  }
  const errorStatuses = [...new Set([...Object.values(ADMIN_ERROR_STATUS), 413, 415])].sort();
  const responses: Json = {};
  for (const status of errorStatuses) responses[`error${status}`] = { description: STATUS_DESCRIPTIONS[status] ?? 'Error', content: jsonContent(ref('#/components/schemas/error')) };
  const schemas: Json = { error: ERROR_BODY };
  for (const name of SCHEMA_NAMES) schemas[name] = componentSchema(name);
  return {
    openapi: '3.1.0',
    info: {
      title: 'tokenproc admin API',
      version: '1',
      description:
        'Bearer-authenticated (Authorization: Bearer <admin key>). Roles: viewer (GET), author (also procedures), admin (everything); x-tokenproc-role names the least role of each operation. Lists answer the bare array without limit and cursor, else {items, next_cursor}. A method a path does not offer is 405 (method_not_allowed) with Allow.',
    },
    servers: [{ url: '/admin/api/v1' }],
    security: [{ adminKey: [] }],
    paths: documented,
    components: { securitySchemes: { adminKey: { type: 'http', scheme: 'bearer', description: 'An admin key' } }, schemas, responses },
  };
}
