/**
 * Admin API, procedures, black-box against a real `tokenproc serve`: upload compiled in the real
 * sandbox, immutable versions, activation reaching the token endpoint without a restart (and not
 * disturbing a request in flight), dry-run storing nothing, delete guarded by the clients using it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clientBody, startTestServer, type HttpResult, type TestServer } from '../helpers/server.ts';
import { CC_FLOW, TE_FLOW, claimsOf, markingProcedure, sha256Hex } from './support.ts';

const SECRET = 'procedures-test-secret-0123';
const CLIENT = { id: 'marked-client', secret: SECRET };
let server: TestServer;

const ccToken = (): Promise<HttpResult> => server.token({ grant_type: 'client_credentials', scope: 'read' }, CLIENT);

beforeAll(async () => {
  // A generous sandbox budget for the procedure that spins to stay in flight.
  server = await startTestServer({ env: { TOKENPROC_SANDBOX_CPU_MS: '3000', TOKENPROC_SANDBOX_WALL_MS: '6000' } });
});

afterAll(async () => {
  await server?.stop();
});

describe('upload and versions', () => {
  const v1 = markingProcedure(1);
  const v2 = markingProcedure(2);

  it('stores the first upload as version 1 and answers its sha256', async () => {
    const result = await server.admin('PUT', '/procedures/marking', { flow: CC_FLOW, source: v1 });
    expect(result.status).toBe(201);
    expect(result.body).toEqual({ id: 'marking', version: 1, sha256: sha256Hex(v1), flow: CC_FLOW, warnings: [] });
  });

  it('refuses a script that does not compile with 422 at its line, leaving the active version alone', async () => {
    const broken = 'function result(context) {\n  var a = 1;\n  return { a: };\n}\n';
    const result = await server.admin('PUT', '/procedures/marking', { flow: CC_FLOW, source: broken });
    expect(result.status).toBe(422);
    expect(result.body.error).toBe('invalid_procedure');
    const details = result.body.details as Array<{ line: number; column: number; message: string }>;
    expect(details.length).toBeGreaterThanOrEqual(1);
    expect(details[0]).toMatchObject({ line: 3 });
    expect(details[0]?.column).toBeGreaterThanOrEqual(1);
    expect(typeof details[0]?.message).toBe('string');

    const active = await server.admin('GET', '/procedures/marking');
    expect(active.body).toMatchObject({ id: 'marking', version: 1, source: v1, sha256: sha256Hex(v1) });
    expect((await server.admin('GET', '/procedures/marking/versions')).body).toHaveLength(1);
  });

  it("answers what `tokenproc check` finds as warnings next to the stored version", async () => {
    const source = [
      'function result(context) {',
      '  var subject = context.getPresentedSubjectTokens();',
      '  var claims = new Packages.org.jose4j.jwt.JwtClaims();',
      '  return { access_token: context.subjectToken };',
      '}',
      '',
    ].join('\n');
    const result = await server.admin('PUT', '/procedures/linted', { flow: TE_FLOW, source });
    expect(result.status).toBe(201);
    expect(result.body).toMatchObject({ id: 'linted', version: 1, sha256: sha256Hex(source), flow: TE_FLOW });
    const warnings = result.body.warnings as Array<Record<string, unknown>>;
    expect(warnings.map((w) => [w.line, w.column, w.rule])).toEqual([
      [2, 25, 'unknown-api'],
      [3, 20, 'unknown-global'],
      [4, 34, 'unknown-property'],
    ]);
    expect(warnings[0]?.message).toBe('the context has no method `getPresentedSubjectTokens`: did you mean getPresentedSubjectToken?');
    expect(Object.keys(warnings[0] ?? {}).sort()).toEqual(['column', 'line', 'message', 'rule']);
    expect((await server.admin('DELETE', '/procedures/linted')).status).toBe(204);
  });

  it('makes the second upload version 2, active, with the history flagging it', async () => {
    const result = await server.admin('PUT', '/procedures/marking', { flow: CC_FLOW, source: v2 });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ id: 'marking', version: 2, sha256: sha256Hex(v2), flow: CC_FLOW, warnings: [] });
    expect((await server.admin('GET', '/procedures/marking')).body).toMatchObject({ version: 2, source: v2 });

    const versions = await server.admin('GET', '/procedures/marking/versions');
    expect(versions.status).toBe(200);
    const list = versions.body as unknown as Array<Record<string, unknown>>;
    expect(list.map((v) => [v.version, v.active, v.sha256])).toEqual([
      [1, false, sha256Hex(v1)],
      [2, true, sha256Hex(v2)],
    ]);
    // The history lists versions; sources are read one version at a time.
    expect(list.every((v) => v.source === undefined)).toBe(true);
    expect((await server.admin('GET', '/procedures/marking/versions/1')).body).toMatchObject({ version: 1, source: v1 });

    const listed = await server.admin('GET', '/procedures');
    expect(listed.body).toEqual([expect.objectContaining({ id: 'marking', flow: CC_FLOW, active_version: 2, latest_version: 2 })]);
  });

  it('refuses an upload under an id that belongs to another flow, and a bad flow or id', async () => {
    const otherFlow = await server.admin('PUT', '/procedures/marking', { flow: TE_FLOW, source: v1 });
    expect(otherFlow.status).toBe(409);
    const badFlow = await server.admin('PUT', '/procedures/other', { flow: 'oauth-token-implicit', source: v1 });
    expect(badFlow.status).toBe(400);
    expect(badFlow.body.field).toBe('/flow');
    const badId = await server.admin('PUT', `/procedures/${encodeURIComponent('bad id')}`, { flow: CC_FLOW, source: v1 });
    expect(badId.status).toBe(400);
    expect((await server.admin('GET', '/procedures/marking')).body.version).toBe(2);
  });
});

describe('activation reaches the token endpoint without a restart', () => {
  beforeAll(async () => {
    const created = await server.admin('PUT', `/clients/${CLIENT.id}`, clientBody({ client_secret: SECRET, procedures: { [CC_FLOW]: 'marking' } }));
    expect(created.status).toBe(201);
  });

  it('runs the active version, then whichever version is activated', async () => {
    expect(claimsOf(await ccToken()).v).toBe(2);

    const back = await server.admin('POST', '/procedures/marking/activate', { version: 1 });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ id: 'marking', version: 1 });
    expect(claimsOf(await ccToken()).v).toBe(1);
    expect((await server.admin('GET', '/procedures/marking')).body.version).toBe(1);

    const forward = await server.admin('POST', '/procedures/marking/activate', { version: 2 });
    expect(forward.status).toBe(200);
    expect(claimsOf(await ccToken()).v).toBe(2);
  });

  it('answers 404 for a version or procedure that does not exist, and 400 for a bad body', async () => {
    expect((await server.admin('POST', '/procedures/marking/activate', { version: 99 })).status).toBe(404);
    expect((await server.admin('POST', '/procedures/nothing-here/activate', { version: 1 })).status).toBe(404);
    const bad = await server.admin('POST', '/procedures/marking/activate', { version: 'two' });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('/version');
    expect(claimsOf(await ccToken()).v).toBe(2);
  });
});

describe('a request in flight finishes on the version it started with', () => {
  it('keeps the old version for the running request and serves the new one next', async () => {
    // v3 spins long enough for an activation to land while it runs; v4 answers at once.
    expect((await server.admin('PUT', '/procedures/marking', { flow: CC_FLOW, source: markingProcedure(3, { busyMs: 700 }) })).body.version).toBe(3);
    expect((await server.admin('PUT', '/procedures/marking', { flow: CC_FLOW, source: markingProcedure(4) })).body.version).toBe(4);

    let proven = false;
    // The race is set up, not assumed: retry (bounded) until the activation was acknowledged
    // before the slow response arrived.
    for (let attempt = 0; attempt < 3 && !proven; attempt++) {
      expect((await server.admin('POST', '/procedures/marking/activate', { version: 3 })).status).toBe(200);
      const order: string[] = [];
      const inFlight = ccToken().then((r) => {
        order.push('token');
        return r;
      });
      await new Promise((r) => setTimeout(r, 250));
      const activated = await server.admin('POST', '/procedures/marking/activate', { version: 4 });
      order.push('activated');
      expect(activated.status).toBe(200);
      const slow = await inFlight;
      expect(slow.status).toBe(200);
      if (order[0] !== 'activated') continue;
      // Started on v3, finished after v4 became active: still v3 through and through.
      expect(claimsOf(slow).v).toBe(3);
      expect(claimsOf(await ccToken()).v).toBe(4);
      proven = true;
    }
    expect(proven).toBe(true);
  });
});

describe('dry-run', () => {
  async function history(): Promise<{ versions: unknown; audit: unknown; procedures: unknown }> {
    return {
      versions: (await server.admin('GET', '/procedures/marking/versions')).body,
      audit: (await server.admin('GET', '/audit?limit=1000')).body,
      procedures: (await server.admin('GET', '/procedures')).body,
    };
  }

  it('runs the active version, a given version or unsaved source, and stores nothing', async () => {
    const before = await history();
    const active = (await server.admin('GET', '/procedures/marking')).body.version as number;

    const onActive = await server.admin('POST', '/procedures/marking/dry-run', { client: { scope: 'read' }, params: { scope: 'read' } });
    expect(onActive.status).toBe(200);
    expect(onActive.body.status).toBe(200);
    expect((onActive.body.body as Record<string, unknown>).token_type).toBe('Bearer');
    const issued = onActive.body.issued as Array<{ kind: string; claims: Record<string, unknown> }>;
    expect(issued).toHaveLength(1);
    expect(issued[0]?.claims.v).toBe(active);

    const onVersion = await server.admin('POST', '/procedures/marking/dry-run', { version: 1 });
    expect(onVersion.status).toBe(200);
    expect((onVersion.body.issued as Array<{ claims: Record<string, unknown> }>)[0]?.claims.v).toBe(1);

    const unsaved = markingProcedure(77, { log: 'dry run of {}' });
    const onSource = await server.admin('POST', '/procedures/marking/dry-run', { flow: CC_FLOW, source: unsaved });
    expect(onSource.status).toBe(200);
    expect((onSource.body.issued as Array<{ claims: Record<string, unknown> }>)[0]?.claims.v).toBe(77);
    expect(onSource.body.logs).toEqual([{ level: 'info', message: 'dry run of 77' }]);
    expect(onSource.body.corrections).toEqual([]);

    // A response the server has to correct (the scope of Curity's downscoping tutorial) says so.
    const overclaiming = markingProcedure(78).replace('scope: data.scope', "scope: 'read write'");
    const corrected = await server.admin('POST', '/procedures/marking/dry-run', { flow: CC_FLOW, source: overclaiming, client: { scope: 'read write' }, params: { scope: 'read' } });
    expect(corrected.status).toBe(200);
    expect(corrected.body.corrections).toEqual([{ member: 'scope', returned: 'read write', sent: 'read' }]);

    const refused = await server.admin('POST', '/procedures/marking/dry-run', {
      flow: CC_FLOW,
      source: 'function result(context) { throw exceptionFactory.forbiddenException("no"); }',
    });
    expect(refused.status).toBe(200);
    expect(refused.body.status).toBe(403);

    expect(await history()).toEqual(before);
  });

  it('answers 422 for unsaved source that does not compile, 404 for a missing version, 400 for a bad body', async () => {
    const broken = await server.admin('POST', '/procedures/marking/dry-run', { flow: CC_FLOW, source: 'function result(context) {\n  return {\n' });
    expect(broken.status).toBe(422);
    expect(broken.body.error).toBe('invalid_procedure');
    expect((await server.admin('POST', '/procedures/marking/dry-run', { version: 42 })).status).toBe(404);
    expect((await server.admin('POST', '/procedures/nothing-here/dry-run', {})).status).toBe(404);
    const unknown = await server.admin('POST', '/procedures/marking/dry-run', { versoin: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.field).toBe('/versoin');
  });
});

describe('clients naming procedures, and delete', () => {
  it('refuses a client naming a missing procedure, naming the field', async () => {
    const result = await server.admin('PUT', '/clients/dangling', clientBody({ client_secret: SECRET, procedures: { [CC_FLOW]: 'no-such-procedure' } }));
    expect(result.status).toBe(400);
    expect(result.body.field).toBe(`/procedures/${CC_FLOW}`);
    expect((await server.admin('GET', '/clients/dangling')).status).toBe(404);
  });

  it('refuses a client naming a procedure under the wrong flow', async () => {
    const result = await server.admin('PUT', '/clients/wrong-flow', clientBody({ client_secret: SECRET, procedures: { [TE_FLOW]: 'marking' } }));
    expect(result.status).toBe(400);
    expect(result.body.field).toBe(`/procedures/${TE_FLOW}`);
    expect(String(result.body.error_description)).toContain(CC_FLOW);
  });

  it('refuses to delete a procedure while a client uses it, then deletes it once detached', async () => {
    const refused = await server.admin('DELETE', '/procedures/marking');
    expect(refused.status).toBe(409);
    expect(refused.body.details).toEqual({ clients: [CLIENT.id] });
    expect((await server.admin('GET', '/procedures/marking')).status).toBe(200);

    const detached = await server.admin('PUT', `/clients/${CLIENT.id}`, clientBody({ procedures: {} }));
    expect(detached.status).toBe(200);
    const deleted = await server.admin('DELETE', '/procedures/marking');
    expect(deleted.status).toBe(204);
    expect((await server.admin('GET', '/procedures/marking')).status).toBe(404);
    expect((await server.admin('GET', '/procedures/marking/versions')).status).toBe(404);
    expect((await server.admin('DELETE', '/procedures/marking')).status).toBe(404);

    // The client now runs the built-in default: no `v` claim.
    const token = await ccToken();
    expect(token.status).toBe(200);
    expect(claimsOf(token).v).toBeUndefined();
  });
});
