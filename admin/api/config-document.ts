/**
 * The configuration document: all clients (without secrets), procedures (active versions, with
 * source) and trusted issuers as one JSON value, so a configuration can live in git. Used by
 * `tokenproc export` / `import`, TOKENPROC_CONFIG at start, and GET/PUT /admin/api/v1/config.
 * Importing is idempotent: what is already as the document says is left untouched (no new
 * procedure version, no audit entry).
 */
import fs from 'node:fs';
import { Router } from 'express';
import type { Runtime } from '../../server/runtime/runtime.ts';
import type { ClientRecord, Store, TrustedIssuerRecord } from '../../server/store/types.ts';
import type { ProcedureEngine } from '../../sandbox/types.ts';
import { validateConfigDocument, type ConfigDocument } from '../../server/schemas/validate.ts';
import { clientRecordFrom, publicClient } from './clients.ts';
import { trustedIssuerRecordFrom } from './trusted-issuers.ts';
import { sha256Hex } from './procedures.ts';
import { actorOf, route, sendAdminError } from './http.ts';

export interface ImportSummary {
  procedures: { created: string[]; updated: string[]; unchanged: string[] };
  trusted_issuers: { created: string[]; updated: string[]; unchanged: string[] };
  clients: { created: string[]; updated: string[]; unchanged: string[] };
  /** Secrets generated for new secret-based clients: shown once. */
  generated_secrets: Record<string, string>;
}

export class ConfigImportError extends Error {
  readonly field: string;
  constructor(message: string, field: string) {
    super(message);
    this.name = 'ConfigImportError';
    this.field = field;
  }
}

export async function exportConfig(store: Store): Promise<ConfigDocument> {
  const procedures = [];
  for (const summary of await store.listProcedures()) {
    const active = await store.getActiveProcedure(summary.id);
    if (active) procedures.push({ id: active.id, flow: active.flow, source: active.source });
  }
  const strip = (c: ClientRecord) => {
    const { created_at: _c, updated_at: _u, has_secret: _h, ...rest } = publicClient(c);
    return rest;
  };
  const issuers = (await store.listTrustedIssuers()).map(({ created_at: _c, updated_at: _u, ...rest }) => {
    const out: Record<string, unknown> = { ...rest };
    for (const key of Object.keys(out)) if (out[key] === null) delete out[key];
    return out;
  });
  return {
    version: 1,
    clients: (await store.listClients()).map(strip),
    procedures,
    trusted_issuers: issuers,
  } as unknown as ConfigDocument;
}

function comparableClient(c: ClientRecord): string {
  const { created_at: _c, updated_at: _u, client_secret_hash: _h, ...rest } = c;
  return JSON.stringify(rest, Object.keys(rest).sort());
}

function comparableIssuer(t: TrustedIssuerRecord): string {
  const { created_at: _c, updated_at: _u, ...rest } = t;
  return JSON.stringify(rest, Object.keys(rest).sort());
}

export async function importConfig(deps: { store: Store; engine: ProcedureEngine }, document: unknown, actor: string): Promise<ImportSummary> {
  const validated = validateConfigDocument(document);
  if (!validated.ok) throw new ConfigImportError(validated.error.message, validated.error.field);
  const doc = validated.value;
  const { store, engine } = deps;
  const summary: ImportSummary = {
    procedures: { created: [], updated: [], unchanged: [] },
    trusted_issuers: { created: [], updated: [], unchanged: [] },
    clients: { created: [], updated: [], unchanged: [] },
    generated_secrets: {},
  };

  for (const [index, p] of doc.procedures.entries()) {
    const compiled = await engine.compile(p.source, `${p.id}.js`);
    if (!compiled.ok) {
      const d = compiled.diagnostics[0];
      throw new ConfigImportError(`procedure ${p.id} does not compile${d ? ` (${d.line}:${d.column}: ${d.message})` : ''}`, `/procedures/${index}/source`);
    }
    const sha256 = sha256Hex(p.source);
    const active = await store.getActiveProcedure(p.id);
    if (active && active.sha256 === sha256 && active.flow === p.flow) {
      summary.procedures.unchanged.push(p.id);
      continue;
    }
    await store.putProcedureVersion({ id: p.id, flow: p.flow, source: p.source, sha256 }, actor);
    (active ? summary.procedures.updated : summary.procedures.created).push(p.id);
  }

  for (const t of doc.trusted_issuers) {
    const existing = await store.getTrustedIssuer(t.id);
    const record = trustedIssuerRecordFrom(t.id, t, existing);
    if (existing && comparableIssuer(existing) === comparableIssuer(record)) {
      summary.trusted_issuers.unchanged.push(t.id);
      continue;
    }
    await store.putTrustedIssuer(record, actor);
    (existing ? summary.trusted_issuers.updated : summary.trusted_issuers.created).push(t.id);
  }

  for (const [index, c] of doc.clients.entries()) {
    for (const [flow, procedureId] of Object.entries(c.procedures ?? {})) {
      const active = await store.getActiveProcedure(String(procedureId));
      if (!active || active.flow !== flow) {
        throw new ConfigImportError(`client ${c.client_id} names procedure ${String(procedureId)}, which does not exist for flow ${flow}`, `/clients/${index}/procedures/${flow}`);
      }
    }
    const existing = await store.getClient(c.client_id);
    const built = await clientRecordFrom(c.client_id, c, existing);
    if ('status' in built) throw new ConfigImportError(built.message, `/clients/${index}${built.field}`);
    if (existing && comparableClient(existing) === comparableClient(built.record)) {
      summary.clients.unchanged.push(c.client_id);
      continue;
    }
    await store.putClient(built.record, actor);
    (existing ? summary.clients.updated : summary.clients.created).push(c.client_id);
    if (built.generatedSecret) summary.generated_secrets[c.client_id] = built.generatedSecret;
  }
  return summary;
}

/** TOKENPROC_CONFIG / serve --config: apply a document at start. */
export async function applyConfigFile(runtime: Runtime, file: string): Promise<void> {
  let document: unknown;
  try {
    document = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the configuration document ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const summary = await importConfig(runtime, document, 'config');
  await runtime.configChanged();
  const { generated_secrets, ...counts } = summary;
  runtime.logger.info('configuration document applied', { file, ...counts, clients_with_generated_secret: Object.keys(generated_secrets) });
  if (Object.keys(generated_secrets).length > 0) {
    // Shown once, like the admin key: the operator must capture them now.
    process.stdout.write(`${JSON.stringify({ level: 'warn', message: 'Generated client secrets; shown only this once', generated_client_secrets: generated_secrets })}\n`);
  }
}

export function configDocumentRoutes(runtime: Runtime): Router {
  const router = Router();
  router.get('/', route(async (_req, res) => {
    res.json(await exportConfig(runtime.store));
  }));
  router.put('/', route(async (req, res) => {
    try {
      const summary = await importConfig(runtime, req.body, actorOf(res));
      await runtime.configChanged();
      res.json(summary);
    } catch (err) {
      if (err instanceof ConfigImportError) return sendAdminError(res, 400, 'invalid_request', err.message, { field: err.field });
      throw err;
    }
  }));
  return router;
}
