/**
 * The hostile neighbour: a client whose token-exchange procedure never ends, called a few times a
 * second next to well-behaved clients. Each hostile call should end with a 500 server_error once the
 * sandbox's CPU or wall-clock limit stops it; what the phase measures is what the other clients'
 * tail latency pays meanwhile.
 *
 * The hostile load is its own small open-loop sender, not `paced`: it keeps a bounded number of
 * requests in flight (a send that falls due while the cap is reached is skipped and counted, rather
 * than queued behind the others), never waits on one request before sending the next, and ends by
 * itself: sends stop after `durationSeconds` (or `stop()`), and answers still missing after the
 * drain time are abandoned.
 *
 * The phase alternates rounds of the victims alone and with the hostile load (`alternateRounds`);
 * each kind's samples are merged over the rounds (`paced`'s `alsoRecordInto`, `combineHostileResults`).
 */
import http from 'node:http';
import { LatencyRecorder } from './latency.ts';
import type { LatencySummary } from './latency.ts';
import type { Target } from './load.ts';
import type { HostileVariant } from './settings.ts';

/** The procedures, exactly as a hostile admin would upload them. */
export const HOSTILE_PROCEDURES: Readonly<Record<HostileVariant, string>> = {
  loop: 'function result(context) { for (;;) {} }\n',
  alloc: 'function result(context) { const a = []; for (;;) a.push(new Array(1000).fill(1)); }\n',
};

export interface HostileLoadOptions {
  /** Requests per second. */
  rate: number;
  /** Requests pending at most. */
  maxInFlight: number;
  /** Sends stop after this long (so at most rate × durationSeconds requests). */
  durationSeconds: number;
  /** One request's own limit: past it, it is abandoned and counted as "timeout". */
  requestTimeoutMs: number;
  /** After sends stop, how long `stop()` waits for the pending answers. */
  drainTimeoutMs: number;
  /** Also record latencies here (shared by the loads of several rounds, for `combineHostileResults`). */
  alsoRecordInto?: LatencyRecorder;
}

export interface HostileLoadResult {
  /** Sends that fell due. */
  due: number;
  sent: number;
  /** Due while `maxInFlight` requests were pending: not sent. */
  skippedAtCap: number;
  /** Outcomes by HTTP status, or "timeout" (request limit), "error" (socket), "abandoned" (still pending at the end). */
  statuses: Record<string, number>;
  /** Most requests pending at once. */
  peakInFlight: number;
  /** Time from send to outcome, all outcomes. */
  latency: LatencySummary;
}

export interface HostileLoad {
  /** Stops sending, waits (bounded) for the pending answers, and tells what came back. */
  stop(): Promise<HostileLoadResult>;
}

/** How many sends are due `elapsedMs` after the start at `rate` per second (the first at once). */
export function dueCount(elapsedMs: number, rate: number): number {
  return Math.floor((Math.max(0, elapsedMs) * rate) / 1000) + 1;
}

export function startHostileLoad(target: Target, options: HostileLoadOptions): HostileLoad {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxInFlight });
  const url = new URL(target.path, target.origin);
  const total = Math.max(1, Math.ceil(options.rate * options.durationSeconds));
  const latencies = new LatencyRecorder();
  const statuses: Record<string, number> = {};
  const pending = new Map<http.ClientRequest, number>();
  let due = 0;
  let sent = 0;
  let skippedAtCap = 0;
  let peakInFlight = 0;
  let sending = true;
  let timer: NodeJS.Timeout | undefined;
  let drained: () => void = () => undefined;

  /** Counts a request's outcome once (a socket error after a timeout, say, is not counted again). */
  const settle = (request: http.ClientRequest, outcome: string) => {
    const sentAt = pending.get(request);
    if (sentAt === undefined) return;
    pending.delete(request);
    statuses[outcome] = (statuses[outcome] ?? 0) + 1;
    const ms = performance.now() - sentAt;
    latencies.record(ms);
    options.alsoRecordInto?.record(ms);
    if (pending.size === 0) drained();
  };

  const send = () => {
    const body = target.nextBody();
    let timedOut = false;
    const request = http.request(url, {
      method: 'POST',
      agent,
      timeout: options.requestTimeoutMs,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...target.headers },
    }, (response) => {
      response.resume();
      response.once('close', () => settle(request, timedOut ? 'timeout' : response.complete ? String(response.statusCode ?? 0) : 'error'));
    });
    request.once('timeout', () => {
      timedOut = true;
      request.destroy();
    });
    request.once('error', () => settle(request, timedOut ? 'timeout' : 'error'));
    pending.set(request, performance.now());
    peakInFlight = Math.max(peakInFlight, pending.size);
    sent += 1;
    request.end(body);
  };

  const stopSending = () => {
    sending = false;
    if (timer !== undefined) clearTimeout(timer);
  };

  const start = performance.now();
  const tick = () => {
    if (!sending) return;
    const elapsed = performance.now() - start;
    const nowDue = Math.min(total, dueCount(elapsed, options.rate));
    for (; due < nowDue; due++) {
      if (pending.size >= options.maxInFlight) skippedAtCap += 1;
      else send();
    }
    if (due >= total || elapsed >= options.durationSeconds * 1000) stopSending();
    else timer = setTimeout(tick, 10);
  };
  tick();

  return {
    async stop() {
      stopSending();
      if (pending.size > 0) {
        const allIn = new Promise<void>((resolve) => (drained = resolve));
        let wait: NodeJS.Timeout | undefined;
        const drainLimit = new Promise<void>((resolve) => (wait = setTimeout(resolve, options.drainTimeoutMs)));
        await Promise.race([allIn, drainLimit]);
        clearTimeout(wait);
      }
      for (const request of [...pending.keys()]) {
        settle(request, 'abandoned');
        request.destroy();
      }
      agent.destroy();
      return { due, sent, skippedAtCap, statuses, peakInFlight, latency: latencies.summary() };
    },
  };
}

/** The victims' p99 with the hostile neighbour and without, for one hostile procedure. */
export interface NeighbourP99 {
  aloneP99Ms: number;
  withHostileP99Ms: number;
}

/**
 * p99 with / p99 alone for each procedure, and the worst of them. A procedure whose ratio cannot be
 * computed (no victim answered in one of its runs: NaN) makes the worst unknown (null) rather than
 * letting the other procedure's ratio stand for both.
 */
export function neighbourRatios(byVariant: ReadonlyMap<HostileVariant, NeighbourP99>): { ratios: Map<HostileVariant, number | null>; worst: number | null } {
  const ratios = new Map<HostileVariant, number | null>();
  for (const [variant, { aloneP99Ms, withHostileP99Ms }] of byVariant) {
    const ratio = withHostileP99Ms / aloneP99Ms;
    ratios.set(variant, Number.isFinite(ratio) ? ratio : null);
  }
  const values = [...ratios.values()];
  const known = values.filter((ratio): ratio is number => ratio !== null);
  const worst = values.length === 0 || known.length < values.length ? null : Math.max(...known);
  return { ratios, worst };
}

/**
 * The hostile loads of several rounds taken as one: counts add up, the peak is the largest, and the
 * latency is summarised from `latencies`, the recorder they shared (raw samples, not averaged).
 */
export function combineHostileResults(results: readonly HostileLoadResult[], latencies: LatencyRecorder): HostileLoadResult {
  const statuses: Record<string, number> = {};
  let due = 0;
  let sent = 0;
  let skippedAtCap = 0;
  let peakInFlight = 0;
  for (const result of results) {
    due += result.due;
    sent += result.sent;
    skippedAtCap += result.skippedAtCap;
    peakInFlight = Math.max(peakInFlight, result.peakInFlight);
    for (const [outcome, count] of Object.entries(result.statuses)) statuses[outcome] = (statuses[outcome] ?? 0) + count;
  }
  return { due, sent, skippedAtCap, statuses, peakInFlight, latency: latencies.summary() };
}

/**
 * p99 with / p99 alone round by round: alone[i] with withHostile[i]. A round without its pair (the
 * server died before it) has no ratio and is left out; a ratio that cannot be computed is null.
 */
export function roundRatios(aloneP99Ms: readonly number[], withHostileP99Ms: readonly number[]): Array<number | null> {
  const pairs = Math.min(aloneP99Ms.length, withHostileP99Ms.length);
  const ratios: Array<number | null> = [];
  for (let i = 0; i < pairs; i++) {
    const ratio = (withHostileP99Ms[i] ?? Number.NaN) / (aloneP99Ms[i] ?? Number.NaN);
    ratios.push(Number.isFinite(ratio) ? ratio : null);
  }
  return ratios;
}

export type RoundKind = 'alone' | 'with hostile';

export interface AlternatedRounds<R> {
  alone: R[];
  withHostile: R[];
  /** The server stopped answering after a run: the rounds ended there. */
  endedEarly: boolean;
}

/**
 * `rounds` rounds of the victims alone and with the hostile client, the order turning each round
 * (alone, with | with, alone | alone, with ...), so that both see the same server age and the same
 * drift of the machine. After each run but the
 * last, `alive` tells whether the server still answers; if not, the rounds end there.
 */
export async function alternateRounds<R>(rounds: number, run: (kind: RoundKind, round: number) => Promise<R>, alive: () => Promise<boolean>): Promise<AlternatedRounds<R>> {
  const alone: R[] = [];
  const withHostile: R[] = [];
  const runs: Array<[RoundKind, R[]]> = [
    ['alone', alone],
    ['with hostile', withHostile],
  ];
  for (let round = 0; round < rounds; round++) {
    // Alone first in even rounds, second in odd ones (alone, with, with, alone, ...): neither kind is
    // always the younger. The first run is alone, before any hostile request.
    const order = round % 2 === 0 ? runs : [runs[1]!, runs[0]!];
    for (let i = 0; i < order.length; i++) {
      const [kind, results] = order[i]!;
      results.push(await run(kind, round));
      const last = round === rounds - 1 && i === order.length - 1;
      if (!last && !(await alive())) return { alone, withHostile, endedEarly: true };
    }
  }
  return { alone, withHostile, endedEarly: false };
}

