/** The arithmetic of the bench's hostile-neighbour and workers figures (no server is started). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { alternateRounds, combineHostileResults, dueCount, neighbourRatios, roundRatios } from '../../bench/lib/hostile.ts';
import type { HostileLoadResult, RoundKind } from '../../bench/lib/hostile.ts';
import { LatencyRecorder } from '../../bench/lib/latency.ts';
import { combineRuns, paced } from '../../bench/lib/load.ts';
import { loadSettings } from '../../bench/lib/settings.ts';
import type { HostileVariant } from '../../bench/lib/settings.ts';
import { parseProcStat, treeOf } from '../../bench/lib/thread-cpu.ts';

describe('hostile sends due', () => {
  it('sends the first at once, then one per 1/rate seconds', () => {
    expect(dueCount(0, 10)).toBe(1);
    expect(dueCount(99, 10)).toBe(1);
    expect(dueCount(100, 10)).toBe(2);
    expect(dueCount(3999, 10)).toBe(40);
    expect(dueCount(-5, 10)).toBe(1);
  });
});

describe('hostile_neighbour_p99_ratio', () => {
  const p99s = (entries: Array<[HostileVariant, number, number]>) =>
    new Map(entries.map(([variant, aloneP99Ms, withHostileP99Ms]) => [variant, { aloneP99Ms, withHostileP99Ms }]));

  it('is p99 with the hostile client over p99 alone, per procedure, and the larger of them', () => {
    const { ratios, worst } = neighbourRatios(p99s([['loop', 10, 40], ['alloc', 20, 30]]));
    expect(ratios.get('loop')).toBe(4);
    expect(ratios.get('alloc')).toBe(1.5);
    expect(worst).toBe(4);
  });

  it('is unknown (null) when a run had no successful victim, rather than the other procedure standing in', () => {
    const { ratios, worst } = neighbourRatios(p99s([['loop', 10, 40], ['alloc', 20, Number.NaN]]));
    expect(ratios.get('alloc')).toBeNull();
    expect(worst).toBeNull();
  });

  it('is null when the phase did not run, and the single ratio when one procedure ran', () => {
    expect(neighbourRatios(new Map()).worst).toBeNull();
    expect(neighbourRatios(p99s([['alloc', 10, 25]])).worst).toBe(2.5);
  });
});

describe('hostile_neighbour_p99_ratio by round', () => {
  it('pairs each round alone with the same round with the hostile client, in order', () => {
    expect(roundRatios([10, 20, 40], [20, 20, 10])).toEqual([2, 1, 0.25]);
  });

  it('leaves out a round whose pair did not run, and has null where a ratio cannot be computed', () => {
    expect(roundRatios([10, 20, 30], [15, 40])).toEqual([1.5, 2]);
    expect(roundRatios([10], [])).toEqual([]);
    expect(roundRatios([Number.NaN, 0, 10], [10, 10, Number.NaN])).toEqual([null, null, null]);
  });
});

describe('alternating rounds', () => {
  const fake = (rounds: number, diesAfter?: string) => {
    const order: string[] = [];
    let alive = 0;
    const run = async (kind: RoundKind, round: number) => {
      order.push(`${kind} ${round}`);
      return `${kind} ${round}`;
    };
    const answers = async () => {
      alive += 1;
      return order[order.length - 1] !== diesAfter;
    };
    return { order, checks: () => alive, go: () => alternateRounds(rounds, run, answers) };
  };

  it('runs alone and with the hostile client in alternating order, round after round, and checks the server between runs', async () => {
    const f = fake(3);
    const rounds = await f.go();
    expect(f.order).toEqual(['alone 0', 'with hostile 0', 'with hostile 1', 'alone 1', 'alone 2', 'with hostile 2']);
    expect(rounds).toEqual({ alone: ['alone 0', 'alone 1', 'alone 2'], withHostile: ['with hostile 0', 'with hostile 1', 'with hostile 2'], endedEarly: false });
    // Not after the last run: the caller checks the server then anyway.
    expect(f.checks()).toBe(5);
  });

  it('ends when the server stops answering after a run with the hostile client', async () => {
    const f = fake(4, 'with hostile 1');
    const rounds = await f.go();
    expect(f.order).toEqual(['alone 0', 'with hostile 0', 'with hostile 1']);
    expect(rounds).toMatchObject({ alone: ['alone 0'], withHostile: ['with hostile 0', 'with hostile 1'], endedEarly: true });
  });

  it('ends when the server stops answering after a run alone, without running its pair', async () => {
    const rounds = await fake(4, 'alone 2').go();
    expect(rounds).toMatchObject({ alone: ['alone 0', 'alone 1', 'alone 2'], withHostile: ['with hostile 0', 'with hostile 1'], endedEarly: true });
    // Round 3 would start with its hostile run: it never runs once the server stopped answering.
  });
});

describe('combining the rounds', () => {
  const recorderOf = (samples: number[]) => {
    const recorder = new LatencyRecorder();
    for (const ms of samples) recorder.record(ms);
    return recorder;
  };
  const hostileResult = (fields: Partial<HostileLoadResult>): HostileLoadResult => ({
    due: 0, sent: 0, skippedAtCap: 0, statuses: {}, peakInFlight: 0, latency: new LatencyRecorder().summary(), ...fields,
  });

  it('adds the hostile counts and outcomes up, keeps the largest peak, and takes the latency from the shared samples', () => {
    const shared = recorderOf([1, 2, 3, 1000]);
    const combined = combineHostileResults(
      [
        hostileResult({ due: 30, sent: 28, skippedAtCap: 2, statuses: { 500: 25, timeout: 3 }, peakInFlight: 20 }),
        hostileResult({ due: 30, sent: 30, statuses: { 500: 29, abandoned: 1 }, peakInFlight: 4 }),
      ],
      shared,
    );
    expect(combined).toMatchObject({ due: 60, sent: 58, skippedAtCap: 2, statuses: { 500: 54, timeout: 3, abandoned: 1 }, peakInFlight: 20 });
    expect(combined.latency.count).toBe(4);
    expect(combined.latency.max).toBe(1000);
  });

  it('gives the p99 of the victims\' merged samples, not the mean of the rounds\' p99s', () => {
    // Round 1: 100 answers at 1 ms (p99 1). Round 2: 98 at 1 ms, 2 at 100 ms (p99 100). Merged, the
    // 2 slow answers are 1% of 200: the p99 is 1 ms, where the mean of the p99s would say 50.5.
    const shared = recorderOf([...Array<number>(198).fill(1), 100, 100]);
    const runOf = (p99: number) => ({ generator: 'paced-open-loop' as const, connections: 32, durationSeconds: 2, offeredRate: 500, rps: 50, ok: 100, non2xx: 0, statuses: { 200: 100 }, errors: 0, latency: { ...recorderOf([1]).summary(), p99 } });
    const combined = combineRuns([runOf(1), runOf(100)], shared);
    expect(combined.latency.p99).toBe(1);
    expect(combined).toMatchObject({ ok: 200, durationSeconds: 4, rps: 50 });
  });

  it('records each victims\' run on its own and every 2xx answer of all runs in the shared recorder', async () => {
    const server = http.createServer((request, response) => {
      request.resume();
      request.once('end', () => {
        setTimeout(() => {
          response.statusCode = request.url === '/fail' ? 500 : 200;
          response.end('{}');
        }, request.headers['x-slow'] === '1' ? 30 : 0);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const shared = new LatencyRecorder();
      const run = (headers: Record<string, string>, path = '/token') =>
        paced({ origin, path, headers, nextBody: () => 'a=b' }, { rate: 200, connections: 4, durationSeconds: 0.2, alsoRecordInto: shared, drainTimeoutMs: 5000 });
      const fast = await run({});
      const slow = await run({ 'x-slow': '1' });
      const failing = await run({}, '/fail');
      expect([fast.ok, slow.ok, failing.ok, failing.non2xx]).toEqual([40, 40, 0, 40]);
      expect([fast.latency.count, slow.latency.count, failing.latency.count]).toEqual([40, 40, 0]);
      expect(slow.latency.p50).toBeGreaterThanOrEqual(29);
      expect(fast.latency.p50).toBeLessThan(slow.latency.p50);
      expect(shared.count).toBe(80);
      expect(combineRuns([fast, slow, failing], shared)).toMatchObject({ ok: 80, non2xx: 40, statuses: { 200: 80, 500: 40 }, latency: { count: 80 } });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('hostile settings', () => {
  it('runs both procedures at 10/s, at most 20 in flight, by default', () => {
    expect(loadSettings({})).toMatchObject({ hostileVariants: ['loop', 'alloc'], hostileRate: 10, hostileMaxInFlight: 20 });
    expect(loadSettings({}).phases.has('hostile')).toBe(true);
    expect(loadSettings({}).phases.has('workers')).toBe(true);
  });

  it('selects procedures and phases by name', () => {
    expect(loadSettings({ BENCH_HOSTILE: 'alloc, alloc' }).hostileVariants).toEqual(['alloc']);
    expect([...loadSettings({ BENCH_ONLY: 'hostile' }).phases]).toEqual(['hostile']);
    expect(() => loadSettings({ BENCH_HOSTILE: 'fork' })).toThrow(/BENCH_HOSTILE/);
  });
});

describe('server CPU over its process tree', () => {
  // A real line's shape: pid (comm) state ppid ... utime stime cutime cstime ... starttime ...
  const stat = (pid: number, comm: string, ppid: number, utime: number, stime: number, cutime = 0, cstime = 0) =>
    `${pid} (${comm}) S ${ppid} ${pid} 1 0 -1 4194304 128 0 0 0 ${utime} ${stime} ${cutime} ${cstime} 20 0 11 0 64677 3133440 389 18446744073709551615 0 0`;

  it('reads ppid, own CPU, reaped children CPU and start time (clock ticks of 1/100 s)', () => {
    expect(parseProcStat(stat(42, 'node', 7, 150, 50, 30, 10))).toEqual({ pid: 42, ppid: 7, cpuSeconds: 2, reapedChildrenCpuSeconds: 0.4, startTicks: 64677 });
  });

  it('reads a command name holding spaces and parentheses', () => {
    expect(parseProcStat(stat(43, 'MainThread) (x', 42, 1, 2))).toMatchObject({ pid: 43, ppid: 42, cpuSeconds: 0.03 });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('takes the server and all its descendants, not its parent nor other processes', () => {
    const stats = [
      { pid: 1, ppid: 0 },
      { pid: 10, ppid: 1 },
      { pid: 20, ppid: 10 },
      { pid: 21, ppid: 10 },
      { pid: 30, ppid: 20 },
      { pid: 40, ppid: 1 },
    ];
    expect(treeOf(10, stats)).toEqual([10, 20, 21, 30]);
    expect(treeOf(40, stats)).toEqual([40]);
  });
});
