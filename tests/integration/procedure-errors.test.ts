/**
 * A procedure's failures and refusals as a client sees them over HTTP: each is a clean OAuth
 * error with no-store headers, never a stack trace or a host path, and the server keeps serving.
 * Also the client-authentication throttle (RFC 6749 §2.3.1).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clientBody, startTestServer, type TestServer } from '../helpers/server.ts';

const CC_FLOW = 'oauth-token-client-credentials';
const SECRET = 'procedure-errors-secret';
let server: TestServer;

/** A client_credentials procedure whose body is `body`, registered for its own client. */
async function clientWithProcedure(name: string, body: string): Promise<void> {
  const source = `function result(context) {\n${body}\n}\n`;
  const uploaded = await server.admin('PUT', `/procedures/${name}`, { flow: CC_FLOW, source });
  expect(uploaded.status).toBe(201);
  const created = await server.admin('PUT', `/clients/${name}`, clientBody({ client_secret: SECRET, procedures: { [CC_FLOW]: name } }));
  expect(created.status).toBe(201);
}

const request = (clientId: string) => server.token({ grant_type: 'client_credentials' }, { id: clientId, secret: SECRET });

function expectClean(result: { status: number; headers: Headers; body: Record<string, unknown>; text: string }, status: number, error: string): void {
  expect({ status: result.status, error: result.body.error }).toEqual({ status, error });
  expect(result.headers.get('cache-control')).toBe('no-store');
  expect(result.headers.get('pragma')).toBe('no-cache');
  expect(result.text).not.toMatch(/\bat \S+ \(|node_modules|\/work\/|sandbox\/|\.ts:\d/);
}

beforeAll(async () => {
  server = await startTestServer();
  await clientWithProcedure('healthy', `
    var data = context.getDefaultAccessTokenData();
    logger.info('issuing for {}', context.client.id);
    return { access_token: context.accessTokenIssuer.issue(data, null), token_type: 'bearer', expires_in: secondsUntil(data.exp) };`);
  await clientWithProcedure('forbidden', `throw exceptionFactory.forbiddenException('Not during the maintenance window');`);
  await clientWithProcedure('unauthorized', `throw exceptionFactory.unauthorizedException('This client may not do that');`);
  await clientWithProcedure('scoped', `throw exceptionFactory.badRequestException('invalid_scope', 'Scope x is retired');`);
  await clientWithProcedure('custom-code', `throw exceptionFactory.badRequestException('NOT_AN_OAUTH_CODE', 'nope');`);
  await clientWithProcedure('crashing', `var missing = null;\n  return missing.property;`);
  await clientWithProcedure('looping', `while (true) {}`);
  await clientWithProcedure('forging', `return { access_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', token_type: 'bearer', expires_in: 60 };`);
  await clientWithProcedure('internal', `throw exceptionFactory.internalServerException('the database said no');`);
});

afterAll(async () => {
  await server?.stop();
});

describe('procedure refusals', () => {
  it('forbiddenException is 403 access_denied with the procedure message', async () => {
    const result = await request('forbidden');
    expectClean(result, 403, 'access_denied');
    expect(result.body.error_description).toBe('Not during the maintenance window');
  });

  it('unauthorizedException is unauthorized_client; badRequestException(code) emits a registered code', async () => {
    expectClean(await request('unauthorized'), 400, 'unauthorized_client');
    const scoped = await request('scoped');
    expectClean(scoped, 400, 'invalid_scope');
    expect(scoped.body.error_description).toBe('Scope x is retired');
    const custom = await request('custom-code');
    expectClean(custom, 400, 'invalid_request');
    expect(custom.body.error_description).toContain('NOT_AN_OAUTH_CODE');
  });

  it('internalServerException is 500 server_error', async () => {
    expectClean(await request('internal'), 500, 'server_error');
  });
});

describe('procedure failures', () => {
  it('a runtime error is a generic server_error for the client, with procedure, line and column in the log', async () => {
    const result = await request('crashing');
    expectClean(result, 500, 'server_error');
    expect(result.body.error_description).toBe('The token procedure failed');
    await new Promise((r) => setTimeout(r, 100));
    const line = server.output().split('\n').find((l) => l.includes('"token procedure failed"') && l.includes('"procedure_id":"crashing"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line ?? '{}')).toMatchObject({ reason: 'runtime_error', line: 3, level: 'warn' });
  });

  it('an endless loop is stopped and answered with server_error; the server keeps serving', async () => {
    expectClean(await request('looping'), 500, 'server_error');
    const after = await request('healthy');
    expect(after.status).toBe(200);
  });

  it('a token the request did not issue never leaves the server', async () => {
    const result = await request('forging');
    expectClean(result, 500, 'server_error');
    expect(result.text).not.toContain('eyJhbGciOiJub25lIn0');
  });

  it("the procedure's logger lines reach the server log with the procedure and request ids", async () => {
    const ok = await request('healthy');
    expect(ok.status).toBe(200);
    const requestId = ok.headers.get('x-request-id');
    await new Promise((r) => setTimeout(r, 100));
    const line = server.output().split('\n').findLast((l) => l.includes('issuing for healthy'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ procedure_id: 'healthy', request_id: requestId, source: 'procedure', level: 'info' });
  });
});

describe('client authentication throttle', () => {
  it('answers 429 with Retry-After after repeated wrong secrets for one client, then only that client', async () => {
    let throttled: Awaited<ReturnType<typeof request>> | null = null;
    for (let attempt = 0; attempt < 30 && !throttled; attempt++) {
      const result = await server.token({ grant_type: 'client_credentials' }, { id: 'healthy', secret: `wrong-${attempt}` });
      if (result.status === 429) throttled = result;
      else expect(result.status).toBe(401);
    }
    expect(throttled).not.toBeNull();
    expect(Number(throttled?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(throttled?.body.error).toBe('invalid_client');
    expect(throttled?.headers.get('cache-control')).toBe('no-store');
    // Other clients are unaffected.
    expect((await request('forbidden')).status).toBe(403);
  });
});
