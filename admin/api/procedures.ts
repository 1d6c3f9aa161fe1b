/**
 * /admin/api/v1/procedures: upload (compiled in the real sandbox before anything is stored), read,
 * history, activate (roll back or forward), dry-run (nothing stored), delete (refused while a
 * client uses the procedure). Every upload is a new immutable version.
 */
import { Router } from 'express';
import type { ProcedureVersion } from '../../server/store/types.ts';
import { isStoreConflictError } from '../../server/store/errors.ts';
import { validateProcedureUploadBody, validateProcedureActivateBody, validateProcedureDryRunBody } from '../../server/schemas/validate.ts';
import { sha256Hex } from '../../server/configuration/records.ts';
import { procedureWarnings } from '../../server/cli/authoring/lint.ts';
import { actorOf, param, preconditionOf, refuseInvalidId, route, sendAdminError, sendWithEtag } from './http.ts';
import type { AdminContext } from './context.ts';
import { answerList } from './pagination.ts';
import { answer, type DryRunBody, type ProcedureHistoryItem, type UploadBody, type VersionSummaryBody } from './bodies.ts';

export function versionSummary(v: ProcedureVersion): VersionSummaryBody {
  return { id: v.id, version: v.version, sha256: v.sha256, flow: v.flow };
}


export function procedureRoutes({ runtime, committed, localRunner }: AdminContext): Router {
  const router = Router();
  const { store, engine } = runtime;

  router.get('/', route(async (req, res) => {
    await answerList(req, res, 'procedures', (page) => store.listProcedures(page), (p) => p.id, (p) => p);
  }));

  router.get('/:id', route(async (req, res) => {
    const active = await store.getActiveProcedure(param(req, 'id'));
    if (!active) return sendAdminError(res, 'not_found', 'No such procedure');
    sendWithEtag(res, active, active);
  }));

  router.get('/:id/versions', route(async (req, res) => {
    const id = param(req, 'id');
    const versions = await store.listProcedureVersions(id);
    if (versions.length === 0) return sendAdminError(res, 'not_found', 'No such procedure');
    const active = await store.getActiveProcedure(id);
    answer<ProcedureHistoryItem[]>(res, versions.map(({ source: _source, ...v }) => ({ ...v, active: v.version === active?.version })));
  }));

  router.get('/:id/versions/:version', route(async (req, res) => {
    const version = await store.getProcedureVersion(param(req, 'id'), Number(param(req, 'version')));
    if (!version) return sendAdminError(res, 'not_found', 'No such procedure version');
    sendWithEtag(res, version, version);
  }));

  router.put('/:id', route(async (req, res) => {
    const id = param(req, 'id');
    if (refuseInvalidId(res, id, 'procedure')) return;
    const validated = validateProcedureUploadBody(req.body);
    if (!validated.ok) return sendAdminError(res, 'invalid_request', validated.error.message, { field: validated.error.field });
    const { flow, source, note } = validated.value;
    const compiled = await engine.compile(source, `${id}.js`);
    if (!compiled.ok) {
      sendAdminError(res, 'invalid_procedure', 'The procedure does not compile', { details: compiled.diagnostics });
      return;
    }
    // What `tokenproc check` finds: the version is stored all the same, and the author is told.
    const warnings = procedureWarnings(source, flow);
    try {
      const version = await store.putProcedureVersion({ id, flow, source, sha256: sha256Hex(source), ...(note !== undefined ? { note } : {}) }, actorOf(res), preconditionOf(req));
      await committed();
      answer<UploadBody>(res, { ...versionSummary(version), warnings }, version.version === 1 ? 201 : 200);
    } catch (err) {
      if (isStoreConflictError(err)) return sendAdminError(res, err.code, err.message);
      throw err;
    }
  }));

  router.post('/:id/activate', route(async (req, res) => {
    const validated = validateProcedureActivateBody(req.body);
    if (!validated.ok) return sendAdminError(res, 'invalid_request', validated.error.message, { field: validated.error.field });
    const version = await store.activateProcedureVersion(param(req, 'id'), validated.value.version, actorOf(res), preconditionOf(req), validated.value.note);
    if (!version) return sendAdminError(res, 'not_found', 'No such procedure version');
    await committed();
    answer<VersionSummaryBody>(res, versionSummary(version));
  }));

  router.post('/:id/dry-run', route(async (req, res) => {
    const id = param(req, 'id');
    const validated = validateProcedureDryRunBody(req.body);
    if (!validated.ok) return sendAdminError(res, 'invalid_request', validated.error.message, { field: validated.error.field });
    const body = validated.value;
    let stored: ProcedureVersion | null = null;
    if (body.source === undefined) {
      stored = body.version !== undefined ? await store.getProcedureVersion(id, body.version) : await store.getActiveProcedure(id);
      if (!stored) return sendAdminError(res, 'not_found', 'No such procedure or version');
      if (body.flow !== undefined && body.flow !== stored.flow) {
        return sendAdminError(res, 'invalid_request', `procedure ${id} is for flow ${stored.flow}`, { field: '/flow' });
      }
    }
    const flow = body.flow ?? stored?.flow ?? 'oauth-token-oauth-token-exchange';
    const source = body.source ?? stored?.source ?? '';
    const compiled = await engine.compile(source, `${id}.js`);
    if (!compiled.ok) {
      sendAdminError(res, 'invalid_procedure', 'The procedure does not compile', { details: compiled.diagnostics });
      return;
    }
    const params: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(body.params ?? {})) {
      for (const v of Array.isArray(value) ? value : [value]) params.push([name, String(v)]);
    }
    const result = await localRunner.run({
      flow,
      procedure: { id, source, filename: `${id}.js` },
      ...(body.client ? { client: body.client } : {}),
      ...(body.subject_token ? { subjectToken: body.subject_token } : {}),
      ...(body.subject_claims ? { subjectClaims: body.subject_claims } : {}),
      ...(body.subject_token_type ? { subjectTokenType: body.subject_token_type } : {}),
      ...(body.actor_token ? { actorToken: body.actor_token } : {}),
      ...(body.actor_claims ? { actorClaims: body.actor_claims } : {}),
      ...(body.actor_token_type ? { actorTokenType: body.actor_token_type } : {}),
      params,
      trustedIssuers: [...runtime.cache.snapshot.trustedIssuers],
    });
    answer<DryRunBody>(res, {
      status: result.status,
      body: result.body,
      issued: result.issued.map(({ kind, header, claims }) => ({ kind, header, claims })),
      logs: result.logs,
      diagnostic: result.diagnostic,
      // What the server changed in the procedure's response to match the issued token (it logs a warning for it).
      corrections: result.corrections ?? [],
    });
  }));

  router.delete('/:id', route(async (req, res) => {
    const id = param(req, 'id');
    try {
      if (!(await store.deleteProcedure(id, actorOf(res), preconditionOf(req)))) return sendAdminError(res, 'not_found', 'No such procedure');
    } catch (err) {
      if (isStoreConflictError(err)) {
        return sendAdminError(res, err.code, err.message, { details: { clients: err.clientIds } });
      }
      throw err;
    }
    engine.evict(id);
    await committed();
    res.status(204).end();
  }));

  return router;
}
