/**
 * The configuration document, black-box: export through the API and `tokenproc export`, import
 * through the API and `tokenproc import` (idempotent: the second time changes nothing), and
 * TOKENPROC_CONFIG applied at start. export -> import elsewhere -> export gives the same document.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { clientBody, REPO_ROOT, startTestServer, TOKEN_EXCHANGE, type TestServer } from '../helpers/server.ts';
import { createTestIdp } from '../helpers/idp.ts';
import { CC_FLOW, TE_FLOW, claimsOf, markingProcedure } from './support.ts';

const TE_SOURCE = `function result(context) {
  var ctx = context.getInitializedContext(context.subjectAttributes(), context.contextAttributes(), context.getRequestedAudiences(), context.getRequestedScopes());
  var data = ctx.getDefaultAccessTokenData();
  data.imported = true;
  var token = ctx.accessTokenIssuer.issue(data, context.getPresentedSubjectTokenDelegation());
  return { access_token: token, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: secondsUntil(data.exp), scope: data.scope };
}
`;

interface Document {
  version: number;
  clients: Array<Record<string, unknown>>;
  procedures: Array<{ id: string; flow: string; source: string }>;
  trusted_issuers: Array<Record<string, unknown>>;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Several tests spawn the CLI; each run starts Node and loads the sandbox, slow on a busy machine.
jest.setTimeout(90_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenproc-config-'));
let server: TestServer;
let exported: Document;
let documentFile = '';

function cli(args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
  for (const name of ['TOKENPROC_DATA_DIR', 'TOKENPROC_DATABASE_URL', 'TOKENPROC_CONFIG', 'TOKENPROC_ADMIN_KEY']) delete env[name];
  return new Promise((resolve) => {
    execFile(process.execPath, ['--no-node-snapshot', 'server/cli/main.ts', ...args], { cwd: REPO_ROOT, env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function auditCount(dataDir: string): number {
  const db = new DatabaseSync(path.join(dataDir, 'tokenproc.db'), { readOnly: true });
  try {
    return Number(db.prepare('SELECT count(*) AS n FROM audit').get()?.['n']);
  } finally {
    db.close();
  }
}

function writeDocument(name: string, document: unknown): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, typeof document === 'string' ? document : JSON.stringify(document));
  return file;
}

beforeAll(async () => {
  const [started, idp] = await Promise.all([startTestServer(), createTestIdp()]);
  server = started;
  const steps: Array<[string, unknown]> = [
    ['/procedures/cc-proc', { flow: CC_FLOW, source: markingProcedure(1) }],
    ['/procedures/cc-proc', { flow: CC_FLOW, source: markingProcedure(2) }],
    ['/procedures/te-proc', { flow: TE_FLOW, source: TE_SOURCE }],
    ['/trusted-issuers/inline-idp', { issuer: idp.issuer, jwks: idp.jwks, allowed_algs: ['ES256'] }],
    ['/trusted-issuers/remote-idp', { issuer: 'https://remote.example.com', jwks_uri: 'https://remote.example.com/jwks', audiences: ['https://api.example.com'] }],
    ['/clients/svc', clientBody({ name: 'Service', grant_types: ['client_credentials'], scope: 'read', procedures: { [CC_FLOW]: 'cc-proc' } })],
    ['/clients/exchanger', clientBody({ grant_types: [TOKEN_EXCHANGE], audiences: ['https://api.example.com'], properties: { tier: 'gold' }, procedures: { [TE_FLOW]: 'te-proc' }, accept_unvalidated_tokens: true })],
    ['/clients/jwt-client', clientBody({ token_endpoint_auth_method: 'private_key_jwt', jwks: idp.jwks })],
  ];
  for (const [urlPath, body] of steps) expect((await server.admin('PUT', urlPath, body)).status).toBeLessThan(300);
  const result = await server.admin('GET', '/config');
  expect(result.status).toBe(200);
  exported = result.body as unknown as Document;
  documentFile = writeDocument('exported.json', exported);
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('export', () => {
  it('holds every client without secrets, the active source of every procedure, and the trusted issuers', () => {
    expect(exported.version).toBe(1);
    expect(exported.clients.map((c) => c.client_id)).toEqual(['exchanger', 'jwt-client', 'svc']);
    for (const client of exported.clients) {
      for (const member of ['client_secret', 'client_secret_hash', 'has_secret', 'created_at', 'updated_at']) expect(client).not.toHaveProperty(member);
    }
    expect(exported.clients[0]).toMatchObject({ properties: { tier: 'gold' }, procedures: { [TE_FLOW]: 'te-proc' }, accept_unvalidated_tokens: true });
    expect(exported.procedures).toEqual([
      { id: 'cc-proc', flow: CC_FLOW, source: markingProcedure(2) },
      { id: 'te-proc', flow: TE_FLOW, source: TE_SOURCE },
    ]);
    expect(exported.trusted_issuers.map((t) => t.id)).toEqual(['inline-idp', 'remote-idp']);
    expect(exported.trusted_issuers[1]).toEqual({ id: 'remote-idp', issuer: 'https://remote.example.com', jwks_uri: 'https://remote.example.com/jwks', audiences: ['https://api.example.com'] });
  });
});

describe('import through the API', () => {
  it('changes nothing when the document matches', async () => {
    const auditBefore = auditCount(server.dataDir);
    const result = await server.admin('PUT', '/config', exported);
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      procedures: { created: [], updated: [], unchanged: ['cc-proc', 'te-proc'] },
      trusted_issuers: { created: [], updated: [], unchanged: ['inline-idp', 'remote-idp'] },
      clients: { created: [], updated: [], unchanged: ['exchanger', 'jwt-client', 'svc'] },
      generated_secrets: {},
    });
    expect(auditCount(server.dataDir)).toBe(auditBefore);
    expect((await server.admin('GET', '/procedures/cc-proc')).body.version).toBe(2);
  });

  it('updates exactly what differs, nested members included', async () => {
    const changed = structuredClone(exported);
    changed.clients[0] = { ...changed.clients[0], properties: { tier: 'silver' } };
    changed.procedures[0] = { id: 'cc-proc', flow: CC_FLOW, source: markingProcedure(3) };
    const result = await server.admin('PUT', '/config', changed);
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      procedures: { created: [], updated: ['cc-proc'], unchanged: ['te-proc'] },
      clients: { created: [], updated: ['exchanger'], unchanged: ['jwt-client', 'svc'] },
    });
    expect((await server.admin('GET', '/clients/exchanger')).body.properties).toEqual({ tier: 'silver' });
    expect((await server.admin('GET', '/procedures/cc-proc')).body.version).toBe(3);
    // Back as exported: a new version 4 with version 2's source.
    expect((await server.admin('PUT', '/config', exported)).status).toBe(200);
    expect((await server.admin('GET', '/config')).body).toEqual(exported);
  });

  it('refuses an invalid document with 400 naming the member, writing nothing', async () => {
    const auditBefore = auditCount(server.dataDir);
    const dangling = { ...exported, clients: [...exported.clients, { client_id: 'new-one', grant_types: ['client_credentials'], procedures: { [CC_FLOW]: 'missing' } }] };
    const result = await server.admin('PUT', '/config', dangling);
    expect(result.status).toBe(400);
    expect(result.body.field).toBe(`/clients/3/procedures/${CC_FLOW}`);
    const withSecret = { ...exported, clients: [{ ...exported.clients[2], client_secret: 'not-allowed-here' }] };
    const secret = await server.admin('PUT', '/config', withSecret);
    expect(secret.status).toBe(400);
    expect(secret.body.field).toBe('/clients/0/client_secret');
    expect(auditCount(server.dataDir)).toBe(auditBefore);
  });
});

describe('tokenproc import / export', () => {
  const fresh = path.join(work, 'fresh');

  it('imports into a fresh store, prints the summary and generated secrets once, and exports the same document', async () => {
    const imported = await cli(['import', documentFile, '--data', fresh]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('procedures: 2 created (cc-proc, te-proc)');
    expect(imported.stdout).toContain('clients: 3 created (exchanger, jwt-client, svc)');
    expect(imported.stdout).toMatch(/generated client secrets/);
    expect(imported.stdout).toMatch(/^ {2}exchanger {2}[A-Za-z0-9_-]{43}$/m);
    expect(imported.stdout).toMatch(/^ {2}svc {2}[A-Za-z0-9_-]{43}$/m);
    expect(imported.stdout).not.toMatch(/^ {2}jwt-client /m);

    const again = await cli(['export', '--data', fresh]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual(exported);
  });

  it('changes nothing when the same document is imported again', async () => {
    const auditBefore = auditCount(fresh);
    const second = await cli(['import', documentFile, '--data', fresh, '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      procedures: { created: [], updated: [], unchanged: ['cc-proc', 'te-proc'] },
      trusted_issuers: { created: [], updated: [], unchanged: ['inline-idp', 'remote-idp'] },
      clients: { created: [], updated: [], unchanged: ['exchanger', 'jwt-client', 'svc'] },
      generated_secrets: {},
    });
    expect(auditCount(fresh)).toBe(auditBefore);
  });

  it('writes the document to --output', async () => {
    const output = path.join(work, 'out.json');
    const result = await cli(['export', '--data', fresh, '--output', output]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(JSON.parse(fs.readFileSync(output, 'utf8'))).toEqual(exported);
  });

  it('exits 2 with a clear message for an invalid document, and changes nothing', async () => {
    const auditBefore = auditCount(fresh);
    const dangling = writeDocument('dangling.json', { version: 1, clients: [{ client_id: 'x', grant_types: ['client_credentials'], procedures: { [CC_FLOW]: 'nope' } }] });
    const broken = writeDocument('broken.json', { version: 1, procedures: [{ id: 'p', flow: CC_FLOW, source: 'function result(context) {\n  return {;\n}' }] });
    // Independent refusals: run side by side to keep the suite short.
    const [refused, compile, schema, notJson, missing] = await Promise.all([
      cli(['import', dangling, '--data', fresh]),
      cli(['import', broken, '--data', fresh]),
      cli(['import', writeDocument('schema.json', { version: 2 }), '--data', fresh]),
      cli(['import', writeDocument('not.json', '{"version": 1,'), '--data', fresh]),
      cli(['import', path.join(work, 'missing.json'), '--data', fresh]),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('procedure nope');
    expect(refused.stderr).toContain(`/clients/0/procedures/${CC_FLOW}`);
    expect(compile.code).toBe(2);
    expect(compile.stderr).toMatch(/p\.js:2:\d+/);
    expect(compile.stderr).toContain('/procedures/0/source');
    expect(schema.code).toBe(2);
    expect(schema.stderr).toContain('/version');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('not valid JSON');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ENOENT');

    expect(auditCount(fresh)).toBe(auditBefore);
    expect(JSON.parse((await cli(['export', '--data', fresh])).stdout)).toEqual(exported);
  });

  it('exits 2 for usage errors and for exporting a directory with no store, and 0 for --help', async () => {
    const empty = path.join(work, 'no-store-here');
    const [usage, noStore, help] = await Promise.all([cli(['import', '--data', fresh]), cli(['export', '--data', empty]), cli(['export', '--help'])]);
    expect(usage.code).toBe(2);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain('no tokenproc store');
    expect(fs.existsSync(empty)).toBe(false);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--output');
  });
});

describe('TOKENPROC_CONFIG', () => {
  it('applies the document at start: clients, procedures and trusted issuers are served', async () => {
    const configured = await startTestServer({ env: { TOKENPROC_CONFIG: documentFile } });
    try {
      expect((await configured.admin('GET', '/config')).body).toEqual(exported);
      const secretsLine = configured
        .output()
        .split('\n')
        .find((line) => line.includes('generated_client_secrets'));
      const secrets = (JSON.parse(secretsLine ?? '{}') as { generated_client_secrets?: Record<string, string> }).generated_client_secrets ?? {};
      expect(Object.keys(secrets).sort()).toEqual(['exchanger', 'svc']);
      const token = await configured.token({ grant_type: 'client_credentials', scope: 'read' }, { id: 'svc', secret: String(secrets.svc) });
      expect(token.status).toBe(200);
      expect(claimsOf(token).v).toBe(2);
      // The generated secrets appear once, in that line only.
      expect(configured.output().split(String(secrets.svc)).length).toBe(2);
    } finally {
      await configured.stop();
    }
  });
});
