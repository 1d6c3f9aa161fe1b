/** The benchmark's own arithmetic: runs taken in turns add up to one measurement. */
import { describe, expect, it } from '@jest/globals';
import { LatencyRecorder } from '../../bench/lib/latency.ts';
import { combineRuns } from '../../bench/lib/load.ts';
import type { LoadResult } from '../../bench/lib/load.ts';
import { loadSettings } from '../../bench/lib/settings.ts';

function run(seconds: number, ok: number, extra: Partial<LoadResult> = {}): LoadResult {
  return {
    generator: 'autocannon',
    connections: 32,
    durationSeconds: seconds,
    offeredRate: null,
    rps: ok / seconds,
    ok,
    non2xx: 0,
    statuses: { '200': ok },
    errors: 0,
    latency: { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
    ...extra,
  };
}

describe('combineRuns', () => {
  it('adds counts and durations: rps is all answers over all measured time, not a mean of the rounds', () => {
    const latencies = new LatencyRecorder();
    for (const ms of [1, 2, 3, 4]) latencies.record(ms);
    const combined = combineRuns([run(2, 1000), run(2, 3000, { non2xx: 2, errors: 1, statuses: { '200': 3000, '500': 2 } })], latencies);
    expect(combined).toMatchObject({ durationSeconds: 4, ok: 4000, rps: 1000, non2xx: 2, errors: 1, statuses: { '200': 4000, '500': 2 } });
    expect(combined.latency).toMatchObject({ count: 4, p50: 2, max: 4 });
  });

  it('needs at least one run', () => {
    expect(() => combineRuns([], new LatencyRecorder())).toThrow(/at least one run/);
  });
});

describe('bench settings', () => {
  it('takes the side-by-side rounds from BENCH_ROUNDS (default 4, 1-20)', () => {
    expect(loadSettings({}).rounds).toBe(4);
    expect(loadSettings({ BENCH_ROUNDS: '2' }).rounds).toBe(2);
    expect(() => loadSettings({ BENCH_ROUNDS: '0' })).toThrow(/BENCH_ROUNDS/);
  });
});
