/**
 * Audit trail, black-box: every admin change is recorded with who (the admin key id), what, when
 * and the old/new procedure versions; readable through the API and written to the log; never a
 * secret, a secret hash or a script body in it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { clientBody, startTestServer, type TestServer } from '../helpers/server.ts';
import { CC_FLOW, adminActorFor, eventually, markingProcedure } from './support.ts';

interface Audit {
  id: number;
  at: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  old_version: string | null;
  new_version: string | null;
  details: Record<string, unknown> | null;
}

const SECRET = 'audit-test-secret-0123';
// Unique text inside the procedure sources: it must never show up in the audit trail or its log lines.
const SOURCE_MARKER = 'SOURCE_MARKER_7f3a9c';
let server: TestServer;
let startedAt = 0;
let rotatedSecret = '';
let entries: Audit[] = [];

/** The stored scrypt hashes of every client, read from the database beside the running server. */
function storedSecretHashes(): string[] {
  const db = new DatabaseSync(path.join(server.dataDir, 'tokenproc.db'), { readOnly: true });
  try {
    return db
      .prepare('SELECT client_secret_hash FROM clients WHERE client_secret_hash IS NOT NULL')
      .all()
      .map((row) => String(row['client_secret_hash']));
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  server = await startTestServer();
  startedAt = Math.floor(Date.now() / 1000) - 1;
  const source = (v: number) => markingProcedure(v, { extra: `// ${SOURCE_MARKER} ${v}\n` });
  const steps: Array<[string, string, unknown?]> = [
    ['PUT', '/procedures/audited', { flow: CC_FLOW, source: source(1) }],
    ['PUT', '/procedures/audited', { flow: CC_FLOW, source: source(2) }],
    ['POST', '/procedures/audited/activate', { version: 1 }],
    ['PUT', '/clients/audited-client', clientBody({ client_secret: SECRET, procedures: { [CC_FLOW]: 'audited' } })],
    ['PUT', '/clients/audited-client', clientBody({ scope: 'read', procedures: {} })],
    ['POST', '/clients/audited-client/rotate-secret'],
    ['PUT', '/trusted-issuers/audited-idp', { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks' }],
    ['DELETE', '/trusted-issuers/audited-idp'],
    ['DELETE', '/procedures/audited'],
    ['DELETE', '/clients/audited-client'],
  ];
  for (const [method, urlPath, body] of steps) {
    const result = await server.admin(method, urlPath, body);
    expect(`${method} ${urlPath} ${result.status}`).toMatch(/ 20[014]$/);
    if (urlPath.endsWith('/rotate-secret')) rotatedSecret = String(result.body.client_secret);
  }
  const audit = await server.admin('GET', '/audit?limit=1000');
  expect(audit.status).toBe(200);
  entries = (audit.body as unknown as Audit[]).filter((e) => e.actor.startsWith('admin:'));
});

afterAll(async () => {
  await server?.stop();
});

describe('audit trail', () => {
  it('records each change with the admin key id, action, target and versions, newest first', () => {
    const actor = adminActorFor(server.adminKey);
    const rows = [...entries].reverse().map((e) => [e.actor, e.action, e.target_type, e.target_id, e.old_version, e.new_version]);
    expect(rows).toEqual([
      [actor, 'procedure.upload', 'procedure', 'audited', null, '1'],
      [actor, 'procedure.upload', 'procedure', 'audited', '1', '2'],
      [actor, 'procedure.activate', 'procedure', 'audited', '2', '1'],
      [actor, 'client.create', 'client', 'audited-client', null, null],
      [actor, 'client.replace', 'client', 'audited-client', null, null],
      [actor, 'client.replace', 'client', 'audited-client', null, null],
      [actor, 'trusted_issuer.put', 'trusted_issuer', 'audited-idp', null, null],
      [actor, 'trusted_issuer.delete', 'trusted_issuer', 'audited-idp', null, null],
      [actor, 'procedure.delete', 'procedure', 'audited', '1', null],
      [actor, 'client.delete', 'client', 'audited-client', null, null],
    ]);
    const now = Math.floor(Date.now() / 1000) + 1;
    for (const entry of entries) {
      expect(entry.at).toBeGreaterThanOrEqual(startedAt);
      expect(entry.at).toBeLessThanOrEqual(now);
    }
    // The key itself is not the actor: only a short prefix of its hash.
    expect(actor).toMatch(/^admin:[0-9a-f]{8}$/);
  });

  it('says which client fields a replace changed, and that a rotation changed the secret, without values', () => {
    const replaces = entries.filter((e) => e.action === 'client.replace').reverse();
    expect(replaces[0]?.details?.changed).toEqual(expect.arrayContaining(['scope', 'procedures']));
    expect(replaces[1]?.details?.changed).toEqual(['client_secret']);
  });

  it('never holds a secret, the admin key or a script body', async () => {
    const text = JSON.stringify((await server.admin('GET', '/audit?limit=1000')).body);
    for (const forbidden of [SECRET, rotatedSecret, server.adminKey, SOURCE_MARKER, 'function result', 'scrypt$']) {
      expect(text).not.toContain(forbidden);
    }
  });

  it('pages with before=<id>', async () => {
    const first = (await server.admin('GET', '/audit?limit=3')).body as unknown as Audit[];
    expect(first).toHaveLength(3);
    const last = first[2];
    const next = (await server.admin('GET', `/audit?limit=3&before=${last?.id}`)).body as unknown as Audit[];
    expect(next[0]?.id).toBeLessThan(last?.id ?? 0);
    expect(next.map((e) => e.id)).toEqual([...next.map((e) => e.id)].sort((a, b) => b - a));
  });

  it('filters by target, actor and action, in both the array and the paged form', async () => {
    const all = (await server.admin('GET', '/audit?limit=1000')).body as unknown as Audit[];
    const someClient = all.find((e) => e.target_type === 'client');
    expect(someClient).toBeDefined();
    const target = encodeURIComponent(someClient?.target_id ?? '');
    const narrowed = (await server.admin('GET', `/audit?target_type=client&target_id=${target}`)).body as unknown as Audit[];
    expect(narrowed.length).toBe(all.filter((e) => e.target_type === 'client' && e.target_id === someClient?.target_id).length);
    expect(narrowed.every((e) => e.target_id === someClient?.target_id)).toBe(true);
    const paged = (await server.admin('GET', `/audit?cursor=&limit=1&action=${encodeURIComponent(someClient?.action ?? '')}`)).body as unknown as { items: Audit[]; next_cursor: string | null };
    expect(paged.items).toHaveLength(1);
    expect(paged.items[0]?.action).toBe(someClient?.action);
    const refused = await server.admin('GET', '/audit?actor=');
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'invalid_request', field: 'actor' });
  });

  it('writes each entry to the log as an audit line, without secrets or sources', async () => {
    const auditLines = () =>
      server
        .output()
        .split('\n')
        .filter((line) => line.includes('"message":"audit"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const lines = await eventually(auditLines, (l) => l.length >= entries.length);
    for (const entry of entries) {
      expect(lines).toContainEqual(
        expect.objectContaining({
          audit_id: entry.id,
          actor: entry.actor,
          action: entry.action,
          target_type: entry.target_type,
          target_id: entry.target_id,
          old_version: entry.old_version,
          new_version: entry.new_version,
        }),
      );
    }
    // Each entry is logged once.
    const ids = lines.map((l) => l.audit_id);
    expect(new Set(ids).size).toBe(ids.length);
    const log = server.output();
    for (const forbidden of [SECRET, rotatedSecret, server.adminKey, SOURCE_MARKER, 'scrypt$']) expect(log).not.toContain(forbidden);
  });
});

describe('audit of a live client', () => {
  it('holds no stored secret hash', async () => {
    expect((await server.admin('PUT', '/clients/live', clientBody({ client_secret: SECRET }))).status).toBe(201);
    expect((await server.admin('POST', '/clients/live/rotate-secret')).status).toBe(200);
    const hashes = storedSecretHashes();
    expect(hashes).toHaveLength(1);
    const text = JSON.stringify((await server.admin('GET', '/audit?limit=1000')).body);
    for (const hash of hashes) {
      expect(text).not.toContain(hash);
      // Not even the salt or the digest on their own.
      for (const part of hash.split('$').slice(4)) expect(text).not.toContain(part);
    }
    const log = await eventually(server.output, (o) => o.includes('"target_id":"live"'));
    for (const hash of hashes) expect(log).not.toContain(hash);
  });
});
