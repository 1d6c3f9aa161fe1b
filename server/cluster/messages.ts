/**
 * The messages the supervisor and its worker processes exchange over the cluster IPC channel.
 * Every message carries a `type` in the `tokenproc:` namespace so that other users of the channel
 * (prom-client's own cluster messages, for instance) are told apart.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { ProcedureSuspension } from '../../sandbox/types.ts';

/** A worker's registry as prom-client's `getMetricsAsJSON()` returns it. */
export type MetricsJson = Array<MetricObjectWithValues<MetricValue<string>>>;

export type WorkerMessage =
  /** The worker's event loop is turning (sent every HEARTBEAT_MS). */
  | { type: 'tokenproc:heartbeat' }
  /** The worker serves requests. */
  | { type: 'tokenproc:ready'; port: number }
  /**
   * The worker can no longer bound a procedure call: start another, then stop this one. Urgent when
   * a script runs away with memory: the worker is stopped at once rather than once its replacement
   * serves (the other workers, if any, serve meanwhile).
   */
  | { type: 'tokenproc:replace-me'; reason: string; urgent: boolean }
  /** A `/metrics` request reached this worker: the supervisor answers with the whole server's. */
  | { type: 'tokenproc:metrics-request'; id: number }
  /** This worker's own metrics, for a collection the supervisor started. */
  | { type: 'tokenproc:metrics-json'; id: number; metrics: MetricsJson }
  /**
   * This worker saw the configuration change (its own write, or its poll of the store). With an
   * id, it waits for every other worker to have reloaded (config-synced) before it answers.
   */
  | { type: 'tokenproc:config-changed'; id?: number }
  /** This worker reloaded its configuration for the change `id` asked about. */
  | { type: 'tokenproc:config-applied'; id: number }
  /** This worker's sandbox suspended a procedure that kept failing on its limits. */
  | { type: 'tokenproc:suspended'; suspension: ProcedureSuspension };

export type SupervisorMessage =
  | { type: 'tokenproc:metrics-response'; id: number; text: string | null }
  | { type: 'tokenproc:metrics-collect'; id: number }
  /** Stop accepting, finish what is in flight, exit. */
  | { type: 'tokenproc:shutdown' }
  /** Another worker saw the configuration change: reload now (and say so, when it has an id). */
  | { type: 'tokenproc:config-changed'; id?: number }
  /** Every other worker has reloaded for the change `id` (or the wait for them ended). */
  | { type: 'tokenproc:config-synced'; id: number }
  /** Suspensions decided by other workers (all that still hold, for a worker that just started). */
  | { type: 'tokenproc:suspend'; suspensions: ProcedureSuspension[] };

const WORKER_TYPES = new Set([
  'tokenproc:heartbeat',
  'tokenproc:ready',
  'tokenproc:replace-me',
  'tokenproc:metrics-request',
  'tokenproc:metrics-json',
  'tokenproc:config-changed',
  'tokenproc:config-applied',
  'tokenproc:suspended',
]);
const SUPERVISOR_TYPES = new Set([
  'tokenproc:metrics-response',
  'tokenproc:metrics-collect',
  'tokenproc:shutdown',
  'tokenproc:config-changed',
  'tokenproc:config-synced',
  'tokenproc:suspend',
]);

function typeOf(message: unknown): string | null {
  if (typeof message !== 'object' || message === null) return null;
  const type = (message as { type?: unknown }).type;
  return typeof type === 'string' ? type : null;
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  const type = typeOf(message);
  return type !== null && WORKER_TYPES.has(type);
}

export function isSupervisorMessage(message: unknown): message is SupervisorMessage {
  const type = typeOf(message);
  return type !== null && SUPERVISOR_TYPES.has(type);
}

/** How often a worker says its event loop is turning. */
export const HEARTBEAT_MS = 500;
/** How often a worker compares its resident memory with TOKENPROC_WORKER_MAX_RSS_MB. */
export const MEMORY_CHECK_MS = 100;
/**
 * A worker whose event loop has not turned for this long is killed and replaced. Far above any
 * legitimate pause (the synchronous sandbox path is bounded at TOKENPROC_SANDBOX_SYNC_MS, garbage
 * collection pauses are tens of ms); it is the bound of last resort on a call V8 cannot interrupt.
 */
export const WATCHDOG_MS = 5000;
/** How long the supervisor waits for the workers' metrics; a worker that does not answer is left out. */
export const METRICS_COLLECT_MS = 1000;
/** How long a worker's admin write waits for the other workers to reload before it answers anyway. */
export const CONFIG_SYNC_MS = 3000;
/** How long a stopping worker may take to finish in-flight requests before it is killed. */
export const WORKER_STOP_GRACE_MS = 10_000;
/** The same for a worker stopped urgently (a runaway script keeps taking memory meanwhile). */
export const URGENT_STOP_GRACE_MS = 2000;
