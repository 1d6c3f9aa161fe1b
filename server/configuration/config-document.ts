/**
 * The configuration document: all clients (without secrets), procedures (active versions, with
 * source) and trusted issuers as one JSON value, so a configuration can live in git. Used by
 * `tokenproc export` / `import`, TOKENPROC_CONFIG at start, and GET/PUT /admin/api/v1/config.
 *
 * Importing merges: what the document names is created or brought in line with it; what it does
 * not name is left alone. It is idempotent: what already is as the document says is not written
 * (no new procedure version, no audit entry). The whole document is checked (schema, compilation
 * of every procedure, flows, references) before the first write, so a bad document changes nothing.
 */
import fs from 'node:fs';
import type { Runtime } from '../runtime/runtime.ts';
import type { ClientRecord, FlowId, Store, TrustedIssuerRecord } from '../store/types.ts';
import type { ProcedureEngine } from '../../sandbox/types.ts';
import { validateConfigDocument, type ConfigDocument, type ConfigDocumentClient, type ConfigDocumentTrustedIssuer } from '../schemas/validate.ts';
import { clientRecordFrom, publicClient, sha256Hex, trustedIssuerRecordFrom, type BuiltClient } from './records.ts';

export interface ImportCounts {
  created: string[];
  updated: string[];
  unchanged: string[];
}

export interface ImportSummary {
  procedures: ImportCounts;
  trusted_issuers: ImportCounts;
  clients: ImportCounts;
  /** Secrets generated for secret-based clients that had none: shown once, never stored in clear. */
  generated_secrets: Record<string, string>;
}

/** A document that cannot be imported; `field` is a JSON Pointer into it. Nothing was written. */
export class ConfigImportError extends Error {
  readonly field: string;
  constructor(message: string, field: string) {
    super(message);
    this.name = 'ConfigImportError';
    this.field = field;
  }
}

/** JSON with object keys sorted at every depth and undefined members dropped: equal values, equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

function documentClient(client: ClientRecord): ConfigDocumentClient {
  const { created_at: _c, updated_at: _u, has_secret: _h, ...rest } = publicClient(client);
  return rest as unknown as ConfigDocumentClient;
}

function documentTrustedIssuer(issuer: TrustedIssuerRecord): ConfigDocumentTrustedIssuer {
  const { created_at: _c, updated_at: _u, ...rest } = issuer;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== null && value !== undefined) out[key] = value;
  return out as unknown as ConfigDocumentTrustedIssuer;
}

/** The whole configuration, ordered by id, so that exports of equal configurations are equal text. */
export async function exportConfig(store: Store): Promise<ConfigDocument> {
  const procedures: ConfigDocument['procedures'] = [];
  for (const summary of await store.listProcedures()) {
    const active = await store.getActiveProcedure(summary.id);
    if (active) procedures.push({ id: active.id, flow: active.flow, source: active.source });
  }
  return {
    version: 1,
    clients: (await store.listClients()).map(documentClient),
    procedures,
    trusted_issuers: (await store.listTrustedIssuers()).map(documentTrustedIssuer),
  };
}

function comparableClient(client: ClientRecord): string {
  const { created_at: _c, updated_at: _u, client_secret_hash: _h, ...rest } = client;
  return canonicalJson(rest);
}

function comparableIssuer(issuer: TrustedIssuerRecord): string {
  return canonicalJson(documentTrustedIssuer(issuer));
}

type Planned<T> = { kind: 'created' | 'updated'; id: string; write: T } | { kind: 'unchanged'; id: string };

export async function importConfig(deps: { store: Store; engine: ProcedureEngine }, document: unknown, actor: string): Promise<ImportSummary> {
  const validated = validateConfigDocument(document);
  if (!validated.ok) throw new ConfigImportError(`${validated.error.field || 'the document'} ${validated.error.message}`, validated.error.field);
  const doc = validated.value;
  const { store, engine } = deps;

  // Plan: check everything, write nothing.
  const procedureFlows = new Map<string, FlowId>();
  for (const summary of await store.listProcedures()) procedureFlows.set(summary.id, summary.flow);
  const procedurePlan: Array<Planned<{ id: string; flow: FlowId; source: string; sha256: string }>> = [];
  for (const [index, p] of doc.procedures.entries()) {
    const compiled = await engine.compile(p.source, `${p.id}.js`);
    if (!compiled.ok) {
      const d = compiled.diagnostics[0];
      throw new ConfigImportError(`procedure ${p.id} does not compile${d ? ` (${p.id}.js:${d.line}:${d.column}: ${d.message})` : ''}`, `/procedures/${index}/source`);
    }
    const active = await store.getActiveProcedure(p.id);
    if (active && active.flow !== p.flow) {
      throw new ConfigImportError(`procedure ${p.id} exists for flow ${active.flow}; delete it to reuse the id for ${p.flow}`, `/procedures/${index}/flow`);
    }
    procedureFlows.set(p.id, p.flow);
    const sha256 = sha256Hex(p.source);
    procedurePlan.push(
      active?.sha256 === sha256 ? { kind: 'unchanged', id: p.id } : { kind: active ? 'updated' : 'created', id: p.id, write: { id: p.id, flow: p.flow, source: p.source, sha256 } },
    );
  }

  const issuerPlan: Array<Planned<TrustedIssuerRecord>> = [];
  for (const t of doc.trusted_issuers) {
    const existing = await store.getTrustedIssuer(t.id);
    const record = trustedIssuerRecordFrom(t.id, t, existing);
    issuerPlan.push(
      existing && comparableIssuer(existing) === comparableIssuer(record) ? { kind: 'unchanged', id: t.id } : { kind: existing ? 'updated' : 'created', id: t.id, write: record },
    );
  }

  const clientPlan: Array<Planned<BuiltClient>> = [];
  for (const [index, c] of doc.clients.entries()) {
    for (const [flow, procedureId] of Object.entries(c.procedures)) {
      const procedureFlow = procedureFlows.get(procedureId);
      if (procedureFlow !== flow) {
        const problem = procedureFlow ? `is for flow ${procedureFlow}` : 'is neither in the document nor stored';
        throw new ConfigImportError(`client ${c.client_id} names procedure ${procedureId} for ${flow}, which ${problem}`, `/clients/${index}/procedures/${flow}`);
      }
    }
    const existing = await store.getClient(c.client_id);
    const built = await clientRecordFrom(c.client_id, c, existing);
    if (!built.ok) throw new ConfigImportError(`client ${c.client_id}: ${built.error.message}`, `/clients/${index}${built.error.field}`);
    clientPlan.push(
      existing && comparableClient(existing) === comparableClient(built.value.record)
        ? { kind: 'unchanged', id: c.client_id }
        : { kind: existing ? 'updated' : 'created', id: c.client_id, write: built.value },
    );
  }

  // Write: procedures first, so that clients never name a procedure that is not there yet.
  const summary: ImportSummary = {
    procedures: { created: [], updated: [], unchanged: [] },
    trusted_issuers: { created: [], updated: [], unchanged: [] },
    clients: { created: [], updated: [], unchanged: [] },
    generated_secrets: {},
  };
  for (const step of procedurePlan) {
    if (step.kind !== 'unchanged') await store.putProcedureVersion(step.write, actor);
    summary.procedures[step.kind].push(step.id);
  }
  for (const step of issuerPlan) {
    if (step.kind !== 'unchanged') await store.putTrustedIssuer(step.write, actor);
    summary.trusted_issuers[step.kind].push(step.id);
  }
  for (const step of clientPlan) {
    if (step.kind !== 'unchanged') {
      await store.putClient(step.write.record, actor);
      if (step.write.generatedSecret) summary.generated_secrets[step.id] = step.write.generatedSecret;
    }
    summary.clients[step.kind].push(step.id);
  }
  return summary;
}

/** Reads and parses a document file; a missing file or bad JSON is a ConfigImportError naming it. */
export function readConfigDocumentFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigImportError(`cannot read ${file}${code ? ` (${code})` : ''}`, '');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigImportError(`${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, '');
  }
}

/** Counts for a log line or a CLI summary: ids per outcome, and which clients got a generated secret (not the secret). */
export function importSummaryForLog(summary: ImportSummary): Record<string, unknown> {
  const { generated_secrets, ...counts } = summary;
  return { ...counts, clients_with_generated_secret: Object.keys(generated_secrets) };
}

/** TOKENPROC_CONFIG / serve --config: apply a document at start. */
export async function applyConfigFile(runtime: Runtime, file: string): Promise<void> {
  let summary: ImportSummary;
  try {
    summary = await importConfig(runtime, readConfigDocumentFile(file), 'config');
  } catch (err) {
    if (err instanceof ConfigImportError) throw new Error(`configuration document ${file}: ${err.message}${err.field ? ` (at ${err.field})` : ''}`);
    throw err;
  }
  await runtime.configChanged();
  runtime.logger.info('configuration document applied', { file, ...importSummaryForLog(summary) });
  if (Object.keys(summary.generated_secrets).length > 0) {
    // Shown once, like the admin key, deliberately outside the masking logger: the operator must capture them now.
    process.stdout.write(`${JSON.stringify({ level: 'warn', message: 'Generated client secrets; shown only this once', generated_client_secrets: summary.generated_secrets })}\n`);
  }
}

