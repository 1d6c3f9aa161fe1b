/**
 * Durability, black-box: the server is SIGKILLed while it serves a stream of procedure uploads. On
 * restart over the same data directory the active version exists in full (its sha256 matches its
 * source, it is one of the uploads) and every acknowledged upload is there.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { CC_FLOW, markingProcedure, sha256Hex, startKillableServer, type KillableServer } from './support.ts';

const MAX_UPLOADS = 60;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenproc-durability-'));
const adminKey = crypto.randomBytes(24).toString('base64url');
let killable: KillableServer | null = null;
let restarted: TestServer | null = null;

/** Sources large enough that each commit spends real time writing pages (the limit is 256 KiB). */
function uploadSource(n: number): string {
  return markingProcedure(n, { extra: `// upload ${n} ${String.fromCharCode(97 + (n % 26)).repeat(200 * 1024)}\n` });
}

afterAll(async () => {
  if (killable && killable.child.exitCode === null && killable.child.signalCode === null) killable.child.kill('SIGKILL');
  await restarted?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 during a stream of uploads', () => {
  it('restarts with a whole active version and every acknowledged upload', async () => {
    const server = await startKillableServer(dataDir, adminKey);
    killable = server;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => server.child.once('exit', (_code, signal) => resolve(signal)));
    const upload = (n: number) =>
      fetch(`${server.origin}/admin/api/v1/procedures/durable`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ flow: CC_FLOW, source: uploadSource(n) }),
      });

    const acknowledged = new Map<number, string>(); // version -> sha256
    const sent = new Set<string>(); // sha256 of every source sent, acknowledged or not
    const killAfter = 3 + crypto.randomInt(6);
    for (let n = 1; n <= MAX_UPLOADS && acknowledged.size < killAfter; n++) {
      sent.add(sha256Hex(uploadSource(n)));
      const response = await upload(n);
      expect(response.status).toBeLessThan(300);
      const body = (await response.json()) as { version: number; sha256: string };
      acknowledged.set(body.version, body.sha256);
    }
    expect(acknowledged.size).toBe(killAfter);

    // Two more uploads in flight, and the kill at a random moment while they are being served.
    const inFlight = [killAfter + 1, killAfter + 2].map((n) => {
      sent.add(sha256Hex(uploadSource(n)));
      return upload(n).then(
        async (r) => ({ status: r.status, body: (await r.json().catch(() => ({}))) as { version?: number; sha256?: string } }),
        () => null,
      );
    });
    await new Promise((r) => setTimeout(r, crypto.randomInt(40)));
    server.child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    for (const outcome of await Promise.all(inFlight)) {
      // A response that made it out before the kill is an acknowledgement too.
      if (outcome?.status === 200 && outcome.body.version && outcome.body.sha256) acknowledged.set(outcome.body.version, outcome.body.sha256);
    }

    restarted = await startTestServer({ dataDir, adminKey });
    const active = await restarted.admin('GET', '/procedures/durable');
    expect(active.status).toBe(200);
    const source = String(active.body.source);
    expect(sha256Hex(source)).toBe(active.body.sha256);
    expect(sent.has(String(active.body.sha256))).toBe(true);
    const activeVersion = Number(active.body.version);
    expect(activeVersion).toBeGreaterThanOrEqual(Math.max(...acknowledged.keys()));
    expect(source).toContain(`data.v = `);

    const versions = (await restarted.admin('GET', '/procedures/durable/versions')).body as unknown as Array<{ version: number; sha256: string; active: boolean }>;
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    expect(versions.filter((v) => v.active).map((v) => v.version)).toEqual([activeVersion]);
    for (const [version, sha256] of acknowledged) {
      const stored = await restarted.admin('GET', `/procedures/durable/versions/${version}`);
      expect(stored.status).toBe(200);
      expect(stored.body.sha256).toBe(sha256);
      expect(sha256Hex(String(stored.body.source))).toBe(sha256);
    }
    // Each stored version has its audit line, committed with it.
    const uploads = ((await restarted.admin('GET', '/audit?limit=1000')).body as unknown as Array<{ action: string }>).filter((e) => e.action === 'procedure.upload');
    expect(uploads).toHaveLength(versions.length);
  });
});
