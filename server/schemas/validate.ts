import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fail, ok } from '../oauth/errors.ts';
import type { Result } from '../oauth/errors.ts';
import type { AdminRole, ClientRecord, FlowId, JsonWebKeySet } from '../store/types.ts';

/**
 * The admin API's request bodies and the configuration document, validated against the JSON
 * Schema files next to this module (draft 2020-12). The same files are published to users.
 */

export const SCHEMA_NAMES = [
  'client',
  'trusted-issuer',
  'procedure-upload',
  'procedure-activate',
  'config-document',
  'procedure-dry-run',
  'admin-key',
  'signing-key-rotate',
  'trusted-issuer-jwks-test',
  'definitions',
] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

export function isSchemaName(name: string): name is SchemaName {
  return (SCHEMA_NAMES as readonly string[]).includes(name);
}

/** Where a body went wrong: `field` is a JSON Pointer into it ("/scope", "/grant_types/1", "" for the body). */
export interface ValidationProblem {
  field: string;
  message: string;
}

export const MAX_PROCEDURE_SOURCE_BYTES = 256 * 1024;

/** A client as the admin API receives it, defaults applied: the stored record with the secret in clear. */
export type ClientInput = Omit<ClientRecord, 'client_secret_hash' | 'created_at' | 'updated_at'> & {
  /** Write-only; hash it before storing. */
  client_secret?: string;
};

export type TrustedIssuerAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

/** Exactly one of jwks_uri and jwks is present. */
export interface TrustedIssuerInput {
  id?: string;
  issuer: string;
  jwks_uri?: string;
  jwks?: JsonWebKeySet;
  allowed_algs?: TrustedIssuerAlg[];
  audiences?: string[];
}

export interface ProcedureUploadInput {
  flow: FlowId;
  source: string;
  /** Trimmed; absent when none was given or it was empty. */
  note?: string;
}

/** The dry-run body: what `tokenproc run` takes, as JSON. */
export interface ProcedureDryRunInput {
  flow?: FlowId;
  version?: number;
  source?: string;
  client?: Record<string, unknown>;
  subject_token?: string;
  subject_token_type?: string;
  subject_claims?: Record<string, unknown>;
  actor_token?: string;
  actor_token_type?: string;
  actor_claims?: Record<string, unknown>;
  params?: Record<string, string | string[]>;
}

export interface ProcedureActivateInput {
  version: number;
  /** Trimmed; absent when none was given or it was empty. */
  note?: string;
}

/** POST /admin/api/v1/signing-keys/rotate, defaults applied. */
export interface SigningKeyRotateInput {
  now: boolean;
}

/** POST /admin/api/v1/trusted-issuers/test-jwks: exactly one of the two. */
export interface TrustedIssuerJwksTestInput {
  jwks_uri?: string;
  jwks?: Record<string, unknown>;
}

export interface AdminKeyInput {
  name: string;
  role: AdminRole;
}

export type ConfigDocumentClient = Omit<ClientInput, 'client_secret'>;
export interface ConfigDocumentProcedure {
  id: string;
  flow: FlowId;
  source: string;
}
export type ConfigDocumentTrustedIssuer = TrustedIssuerInput & { id: string };

/** The `tokenproc export` / `import` / TOKENPROC_CONFIG document, defaults applied. */
export interface ConfigDocument {
  version: 1;
  clients: ConfigDocumentClient[];
  procedures: ConfigDocumentProcedure[];
  trusted_issuers: ConfigDocumentTrustedIssuer[];
}

const schemaTexts = new Map<SchemaName, string>(
  SCHEMA_NAMES.map((name) => [name, readFileSync(new URL(`./${name}.schema.json`, import.meta.url), 'utf8')]),
);

function schemaText(name: SchemaName): string {
  const text = schemaTexts.get(name);
  if (text === undefined) throw new Error(`unknown schema ${name}`);
  return text;
}

/** A fresh copy of a published schema (for GET /admin/api/v1/schemas/{name}). */
export function loadSchema(name: SchemaName): Record<string, unknown> {
  return JSON.parse(schemaText(name)) as Record<string, unknown>;
}

const ajv = new Ajv2020.default({
  strict: true,
  // Conditional subschemas name members declared by their parent schema.
  strictRequired: false,
  allowUnionTypes: true,
  allErrors: false,
  // Gives each error its parent schema, where `x-error-message` lives.
  verbose: true,
  useDefaults: true,
});
addFormats.default(ajv, ['uri']);
// Annotation only: the message to report when a keyword of this (sub)schema fails.
ajv.addKeyword('x-error-message');
for (const name of SCHEMA_NAMES) ajv.addSchema(loadSchema(name));

function compiled(name: SchemaName): ValidateFunction {
  const validate = ajv.getSchema(`urn:tokenproc:schema:${name}`);
  if (!validate) throw new Error(`schema ${name} did not compile`);
  return validate;
}

const validators = {
  client: compiled('client'),
  trustedIssuer: compiled('trusted-issuer'),
  procedureUpload: compiled('procedure-upload'),
  procedureActivate: compiled('procedure-activate'),
  configDocument: compiled('config-document'),
  procedureDryRun: compiled('procedure-dry-run'),
  adminKey: compiled('admin-key'),
  signingKeyRotate: compiled('signing-key-rotate'),
  trustedIssuerJwksTest: compiled('trusted-issuer-jwks-test'),
};

function pointerSegment(name: unknown): string {
  return `/${String(name).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

function defaultMessage(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not allowed';
    case 'enum': {
      const allowed: unknown = error.params['allowedValues'];
      return Array.isArray(allowed) ? `must be one of: ${allowed.map(String).join(', ')}` : 'is not an allowed value';
    }
    case 'const':
      return `must be ${JSON.stringify(error.params['allowedValue'])}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/** The one problem to report. With allErrors off ajv stops at the first failure, except that an
 * anyOf/oneOf lists its branches' failures before its own: report the anyOf, at the first missing member. */
function toProblem(errors: readonly ErrorObject[]): ValidationProblem {
  const summary = errors.find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const error = summary ?? errors[0];
  if (!error) return { field: '', message: 'is invalid' };
  let field = error.instancePath;
  if (summary) {
    const missing = errors.find((e) => e.keyword === 'required' && e.instancePath === summary.instancePath);
    if (missing) field += pointerSegment(missing.params['missingProperty']);
  } else if (error.keyword === 'required') {
    field += pointerSegment(error.params['missingProperty']);
  } else if (error.keyword === 'additionalProperties') {
    field += pointerSegment(error.params['additionalProperty']);
  }
  const parent: unknown = error.parentSchema;
  const custom = parent && typeof parent === 'object' ? (parent as Record<string, unknown>)['x-error-message'] : undefined;
  return { field, message: typeof custom === 'string' ? custom : defaultMessage(error) };
}

/** Validates a copy (defaults are filled into it), never the caller's object. */
function run<T>(validate: ValidateFunction, body: unknown): Result<T, ValidationProblem> {
  let copy: unknown;
  try {
    copy = structuredClone(body);
  } catch {
    return fail({ field: '', message: 'must be JSON data' });
  }
  if (!validate(copy)) return fail(toProblem(validate.errors ?? []));
  return ok(copy as T);
}

function sourceTooLarge(source: string): boolean {
  return Buffer.byteLength(source, 'utf8') > MAX_PROCEDURE_SOURCE_BYTES;
}

const SOURCE_TOO_LARGE = `must be at most ${MAX_PROCEDURE_SOURCE_BYTES} bytes of UTF-8`;

export function validateClientBody(body: unknown): Result<ClientInput, ValidationProblem> {
  return run<ClientInput>(validators.client, body);
}

export function validateTrustedIssuerBody(body: unknown): Result<TrustedIssuerInput, ValidationProblem> {
  return run<TrustedIssuerInput>(validators.trustedIssuer, body);
}

/** A change note as stored: trimmed, and none when it is empty. */
function withTrimmedNote<T extends { note?: string }>(value: T): T {
  if (value.note === undefined) return value;
  const note = value.note.trim();
  const { note: _given, ...rest } = value;
  return (note === '' ? rest : { ...rest, note }) as T;
}

export function validateProcedureUploadBody(body: unknown): Result<ProcedureUploadInput, ValidationProblem> {
  const result = run<ProcedureUploadInput>(validators.procedureUpload, body);
  if (!result.ok) return result;
  if (sourceTooLarge(result.value.source)) return fail({ field: '/source', message: SOURCE_TOO_LARGE });
  return ok(withTrimmedNote(result.value));
}

export function validateProcedureActivateBody(body: unknown): Result<ProcedureActivateInput, ValidationProblem> {
  const result = run<ProcedureActivateInput>(validators.procedureActivate, body);
  return result.ok ? ok(withTrimmedNote(result.value)) : result;
}

/** An absent body (express leaves `undefined` or `{}`) is `{}`: rotate with the defaults. */
export function validateSigningKeyRotateBody(body: unknown): Result<SigningKeyRotateInput, ValidationProblem> {
  return run<SigningKeyRotateInput>(validators.signingKeyRotate, body ?? {});
}

export function validateTrustedIssuerJwksTestBody(body: unknown): Result<TrustedIssuerJwksTestInput, ValidationProblem> {
  return run<TrustedIssuerJwksTestInput>(validators.trustedIssuerJwksTest, body);
}

/** Also checks what a schema cannot: ids unique within each list, sources within the byte limit. */
export function validateConfigDocument(body: unknown): Result<ConfigDocument, ValidationProblem> {
  const result = run<ConfigDocument>(validators.configDocument, body);
  if (!result.ok) return result;
  const document = result.value;
  const duplicate =
    firstDuplicate(document.clients.map((c) => c.client_id), '/clients', 'client_id') ??
    firstDuplicate(document.procedures.map((p) => p.id), '/procedures', 'id') ??
    firstDuplicate(document.trusted_issuers.map((i) => i.id), '/trusted_issuers', 'id');
  if (duplicate) return fail(duplicate);
  const large = document.procedures.findIndex((p) => sourceTooLarge(p.source));
  if (large >= 0) return fail({ field: `/procedures/${large}/source`, message: SOURCE_TOO_LARGE });
  return result;
}

function firstDuplicate(ids: readonly string[], list: string, member: string): ValidationProblem | null {
  const seen = new Set<string>();
  for (const [index, id] of ids.entries()) {
    if (seen.has(id)) return { field: `${list}/${index}/${member}`, message: `duplicates ${member} "${id}"` };
    seen.add(id);
  }
  return null;
}

export function validateProcedureDryRunBody(body: unknown): Result<ProcedureDryRunInput, ValidationProblem> {
  const result = run<ProcedureDryRunInput>(validators.procedureDryRun, body);
  if (!result.ok && result.error.field === '' && body !== null && typeof body === 'object' && 'source' in body && 'version' in body) {
    return fail({ field: '/version', message: 'give either source or version, not both' });
  }
  if (result.ok && result.value.source !== undefined && sourceTooLarge(result.value.source)) return fail({ field: '/source', message: SOURCE_TOO_LARGE });
  return result;
}

export function validateAdminKeyBody(body: unknown): Result<AdminKeyInput, ValidationProblem> {
  return run<AdminKeyInput>(validators.adminKey, body);
}
