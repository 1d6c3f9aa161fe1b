/**
 * Load generators, both on loopback and bounded in time:
 * - `saturate`: autocannon, closed loop, N connections each sending its next request as soon as the
 *   previous answer arrives: the throughput a target sustains, and its latency at saturation.
 * - `autocannonAtRate`: autocannon with `overallRate`. It paces per connection per second (a burst
 *   at the start of every second) and measures from the actual send, so it under-reports queueing
 *   (coordinated omission). Reported because it is the common tool; `paced` is the honest one.
 * - `paced`: an open-loop generator: request i is due at start + i/rate whatever happened before,
 *   and its latency is measured from that due time (queueing in front of a busy connection counts).
 * Latency is recorded per response in fractional milliseconds (autocannon's own histogram keeps
 * whole milliseconds only). Only 2xx answers count as completed; anything else is reported.
 */
import http from 'node:http';
import autocannon from 'autocannon';
import { LatencyRecorder } from './latency.ts';
import type { LatencySummary } from './latency.ts';

export interface Target {
  /** http://127.0.0.1:PORT */
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** The next request body (rotates through a pool). */
  nextBody: () => string;
}

export interface LoadResult {
  generator: 'autocannon' | 'autocannon-overallRate' | 'paced-open-loop';
  connections: number;
  durationSeconds: number;
  /** Offered rate for the rate-limited generators, else null. */
  offeredRate: number | null;
  /** Completed 2xx answers per second. */
  rps: number;
  ok: number;
  non2xx: number;
  /** Answers by status code (the non-2xx ones tell what went wrong). */
  statuses: Record<string, number>;
  errors: number;
  latency: LatencySummary;
}

export interface SaturateOptions {
  connections: number;
  durationSeconds: number;
  /** Record latencies here (shared by several runs that make one measurement); a fresh recorder otherwise. */
  latencies?: LatencyRecorder;
}

function autocannonOptions(target: Target, connections: number, durationSeconds: number, overallRate?: number): autocannon.Options {
  return {
    url: `${target.origin}${target.path}`,
    connections,
    duration: durationSeconds,
    pipelining: 1,
    timeout: 10,
    ...(overallRate ? { overallRate } : {}),
    requests: [
      {
        method: 'POST',
        path: target.path,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...target.headers },
        setupRequest: (request) => ({ ...request, body: target.nextBody() }),
      },
    ],
  };
}

async function runAutocannon(options: autocannon.Options, latencies: LatencyRecorder | null): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result)));
    if (latencies) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) latencies.record(responseTime);
      });
    }
  });
}

function fromAutocannon(generator: LoadResult['generator'], result: autocannon.Result, latencies: LatencyRecorder, connections: number, offeredRate: number | null): LoadResult {
  const seconds = result.duration;
  const ok = result['2xx'];
  return {
    generator,
    connections,
    durationSeconds: seconds,
    offeredRate,
    rps: ok / seconds,
    ok,
    non2xx: result.non2xx,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count ?? 0])),
    errors: result.errors + result.timeouts,
    latency: latencies.summary(),
  };
}

/**
 * Several runs of one target taken as one measurement (the runs of a side-by-side comparison, taken
 * in turns with other targets): counts and durations add up; `latencies` is the recorder they shared.
 */
export function combineRuns(runs: readonly LoadResult[], latencies: LatencyRecorder): LoadResult {
  const first = runs[0];
  if (first === undefined) throw new Error('combineRuns needs at least one run');
  const statuses: Record<string, number> = {};
  let durationSeconds = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  for (const run of runs) {
    durationSeconds += run.durationSeconds;
    ok += run.ok;
    non2xx += run.non2xx;
    errors += run.errors;
    for (const [code, count] of Object.entries(run.statuses)) statuses[code] = (statuses[code] ?? 0) + count;
  }
  return { generator: first.generator, connections: first.connections, durationSeconds, offeredRate: first.offeredRate, rps: ok / durationSeconds, ok, non2xx, statuses, errors, latency: latencies.summary() };
}

/** Load that is not measured: JIT, isolates and connection pools settle before a measured run. */
export async function warmUp(target: Target, connections: number, seconds: number): Promise<void> {
  if (seconds > 0) await runAutocannon(autocannonOptions(target, connections, seconds), null);
}

export async function saturate(target: Target, options: SaturateOptions): Promise<LoadResult> {
  const latencies = options.latencies ?? new LatencyRecorder();
  const result = await runAutocannon(autocannonOptions(target, options.connections, options.durationSeconds), latencies);
  return fromAutocannon('autocannon', result, latencies, options.connections, null);
}

export async function autocannonAtRate(target: Target, rate: number, connections: number, durationSeconds: number): Promise<LoadResult> {
  const latencies = new LatencyRecorder();
  const result = await runAutocannon(autocannonOptions(target, connections, durationSeconds, rate), latencies);
  return fromAutocannon('autocannon-overallRate', result, latencies, connections, rate);
}

export interface PacedOptions {
  rate: number;
  /** Upper bound on open connections (requests beyond it queue, and the queueing is measured). */
  connections: number;
  durationSeconds: number;
  /** After the last send, answers still missing after this long count as errors. */
  drainTimeoutMs?: number;
  /**
   * Successful answers' latencies also go here: runs of several rounds that share it make one
   * percentile together (combineRuns), which averaging their p99s would not.
   */
  alsoRecordInto?: LatencyRecorder;
}

export async function paced(target: Target, options: PacedOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  const url = new URL(target.path, target.origin);
  const latencies = new LatencyRecorder();
  const total = Math.floor(options.rate * options.durationSeconds);
  let sent = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let settled = 0;
  const statuses: Record<string, number> = {};
  const start = performance.now();
  let allSettled: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allSettled = resolve));
  const settle = () => {
    settled += 1;
    if (settled === total) allSettled();
  };

  const send = (dueAt: number) => {
    const body = target.nextBody();
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...target.headers },
    }, (response) => {
      response.resume();
      response.once('end', () => {
        const status = response.statusCode ?? 0;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 200 && status < 300) {
          ok += 1;
          const ms = performance.now() - dueAt;
          latencies.record(ms);
          options.alsoRecordInto?.record(ms);
        } else {
          non2xx += 1;
        }
        settle();
      });
    });
    request.once('error', () => {
      errors += 1;
      settle();
    });
    request.end(body);
  };

  // Wake every millisecond and send what is due; each request keeps its own due time.
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      const due = Math.min(total, Math.floor((elapsed * options.rate) / 1000) + 1);
      while (sent < due) {
        send(start + (sent * 1000) / options.rate);
        sent += 1;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  let drainTimer: NodeJS.Timeout | undefined;
  const drain = new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, options.drainTimeoutMs ?? 10_000)));
  await Promise.race([done, drain]);
  clearTimeout(drainTimer);
  const elapsedSeconds = (performance.now() - start) / 1000;
  const missing = total - settled;
  agent.destroy();
  return {
    generator: 'paced-open-loop',
    connections: options.connections,
    durationSeconds: elapsedSeconds,
    offeredRate: options.rate,
    rps: ok / elapsedSeconds,
    ok,
    non2xx,
    statuses,
    errors: errors + missing,
    latency: latencies.summary(),
  };
}
