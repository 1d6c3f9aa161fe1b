/**
 * Scripts V8 could not stop. With Turboshaft's loop unrolling on (Node 24's default), loops such as
 * `for (;;) { new Array(1000).at(5) }` ignored termination once optimized: isolated-vm then crashed
 * the process or let the script run on with a growing heap. The engine turns the unrolling off, so
 * they stop at their limit. And should a script still not stop, the request is answered as a
 * timeout soon after the wall-clock limit, the engine reports that its process can no longer bound
 * calls (the server replaces it), and the (procedure version, client) pair is suspended so that no
 * process runs it again. Each case runs in a child process: a runaway thread must not outlive it.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/unstoppable-run.ts', import.meta.url));

interface Report {
  first: { kind: string; reason?: string };
  firstMs: number;
  second: { kind: string; reason?: string; message?: string };
  unrecoverable: Array<{ reason: string; procedureId: string }>;
  suspensions: Array<{ procedureId: string; clientId: string; until: number }>;
}

function runFixture(source: string, mode: 'default' | 'unstoppable'): Report {
  const child = spawnSync(process.execPath, ['--no-node-snapshot', FIXTURE, source, mode], { encoding: 'utf8', timeout: 30_000 });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('{')) throw new Error(`fixture failed (status ${child.status}, signal ${child.signal}):\n${child.stdout}\n${child.stderr}`);
  return JSON.parse(line) as Report;
}

const LOOPS = [
  'for (;;) { new Array(1000).at(5); }',
  'for (;;) { var y = new Array(1000); y[0] = 1; }',
  'var a = []; for (;;) a.push(new Array(1000).fill(1));',
  'for (;;) { new Array(1000).slice(); }',
  'for (;;) { [...new Array(100)]; }',
];

describe('loops V8 ignored termination in', () => {
  it.each(LOOPS)('%s stops at its limit, and the process goes on', (loop) => {
    const report = runFixture(`function result() { ${loop} }`, 'default');
    expect(report.first).toMatchObject({ kind: 'failure' });
    expect(['timeout', 'memory_limit']).toContain(report.first.reason);
    expect(report.unrecoverable).toEqual([]);
    expect(report.second.kind).toBe('failure');
  });
});

describe('a procedure the sandbox cannot stop', () => {
  it('is answered as a timeout, reported as unrecoverable, and suspended for its client', () => {
    const report = runFixture('function result() { for (;;) { new Array(1000).at(5); } }', 'unstoppable');
    expect(report.first).toMatchObject({ kind: 'failure', reason: 'timeout' });
    // Wall limit 300 ms plus the 1 s grace for a script that does not stop.
    expect(report.firstMs).toBeLessThan(5000);
    expect(report.unrecoverable.length).toBeGreaterThanOrEqual(1);
    expect(report.unrecoverable[0]).toMatchObject({ procedureId: 'unstoppable' });
    expect(['catastrophic_error', 'termination_failed']).toContain(report.unrecoverable[0]!.reason);
    expect(report.suspensions[0]).toMatchObject({ procedureId: 'unstoppable', clientId: 'victim-of-itself' });
    expect(report.suspensions[0]!.until - Date.now()).toBeGreaterThan(10 * 60_000);
    expect(report.second).toMatchObject({ kind: 'failure', reason: 'suspended' });
  });
});
