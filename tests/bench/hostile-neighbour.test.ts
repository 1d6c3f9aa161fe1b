/** The arithmetic of the bench's hostile-neighbour and workers figures (no server is started). */
import { describe, expect, it } from '@jest/globals';
import { dueCount, neighbourRatios } from '../../bench/lib/hostile.ts';
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
