/**
 * Whether this process's event loop is busy, sampled a few times a second: event-loop utilisation
 * (the share of time the loop was not idle) over the last interval, above a threshold. Work that can
 * run either on the loop or on the thread pool (signature checks) goes to the pool when the loop is
 * busy and stays on the loop, cheaper per request, when it is not.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/**
 * Busy means nearly saturated. One connection sending requests back to back keeps the loop ~60-70%
 * busy, and there the calling thread is cheaper (nothing else waits); offloading pays only when
 * requests queue behind each other.
 */
const BUSY_ABOVE = 0.8;

export interface EventLoopLoad {
  /** True when the loop was busier than the threshold over the last sample. */
  busy(): boolean;
  stop(): void;
}

export function watchEventLoopLoad(options: { intervalMs?: number; busyAbove?: number } = {}): EventLoopLoad {
  const intervalMs = options.intervalMs ?? 100;
  const busyAbove = options.busyAbove ?? BUSY_ABOVE;
  let busy = false;
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    busy = performance.eventLoopUtilization(now, last).utilization > busyAbove;
    last = now;
  }, intervalMs);
  timer.unref();
  return {
    busy: () => busy,
    stop: () => clearInterval(timer),
  };
}

let shared: EventLoopLoad | null = null;

/** The process's one gauge (the event loop is the process's): started on first use, never stopped. */
export function processEventLoopLoad(): EventLoopLoad {
  shared ??= watchEventLoopLoad();
  return shared;
}
