/**
 * A worker process's side of the supervisor (see supervisor.ts): heartbeats for the watchdog, the
 * request to be replaced when the sandbox can no longer bound a call, `/metrics` for the whole
 * server, and the order to stop. Outside a supervisor (tests, the CLI) the same interface does
 * nothing beyond this process.
 */
import cluster from 'node:cluster';
import type { Registry } from 'prom-client';
import type { ProcedureSuspension } from '../../sandbox/types.ts';
import { CONFIG_SYNC_MS, HEARTBEAT_MS, isSupervisorMessage, MEMORY_CHECK_MS, METRICS_COLLECT_MS } from './messages.ts';
import type { WorkerMessage } from './messages.ts';

/** Set by the supervisor for the first worker of a start: it alone applies TOKENPROC_CONFIG. */
export const STARTUP_TASKS_ENV = 'TOKENPROC_WORKER_STARTUP_TASKS';

export interface WorkerLink {
  /** True in a worker process under the supervisor. */
  readonly supervised: boolean;
  /** Whether this process runs the once-per-start tasks (applying TOKENPROC_CONFIG). */
  readonly runsStartupTasks: boolean;
  /** The worker serves requests on `port`. */
  ready(port: number): void;
  /** The sandbox cannot bound calls any more: ask for a fresh process (once); urgent stops this one at once. */
  requestReplacement(reason: string, urgent: boolean): void;
  /** Prometheus text for the whole server: every worker's metrics added up, or this process's alone. */
  serverMetrics(): Promise<string>;
  /** What to do when the supervisor says stop. */
  onShutdown(handler: () => void): void;
  /** Tells the other workers that the configuration changed, so they reload at once. */
  announceConfigChange(): void;
  /** The same, and resolves once every other worker has reloaded (an admin write, before it answers). */
  syncConfigChange(): Promise<void>;
  /** What to do when another worker saw the configuration change (resolve once reloaded). */
  onConfigChange(handler: () => Promise<void>): void;
  /** Shares a suspension this worker's sandbox decided with the other workers. */
  announceSuspension(suspension: ProcedureSuspension): void;
  /** What to do with suspensions decided by other workers. */
  onSuspensions(handler: (suspensions: ProcedureSuspension[]) => void): void;
  close(): void;
}

export function standaloneLink(registry: Registry): WorkerLink {
  return {
    supervised: false,
    runsStartupTasks: true,
    ready: () => undefined,
    requestReplacement: () => undefined,
    serverMetrics: () => registry.metrics(),
    onShutdown: () => undefined,
    announceConfigChange: () => undefined,
    syncConfigChange: async () => undefined,
    onConfigChange: () => undefined,
    announceSuspension: () => undefined,
    onSuspensions: () => undefined,
    close: () => undefined,
  };
}

function send(message: WorkerMessage): void {
  if (process.connected && process.send) process.send(message);
}

/**
 * The link of this process: supervised when it is a cluster worker with an IPC channel. `registry`
 * is what this worker contributes to the whole server's `/metrics`.
 */
export interface WorkerLinkOptions {
  /**
   * Resident memory (MiB) past which the worker asks to be replaced: memory a script that could not
   * be stopped still holds is only given back when its process ends.
   */
  maxRssMb: number;
  logger?: { error(message: string, meta: Record<string, unknown>): void };
}

export function createWorkerLink(registry: Registry, options: WorkerLinkOptions): WorkerLink {
  if (!cluster.isWorker || !process.send) return standaloneLink(registry);
  let shutdown: () => void = () => process.exit(0);
  let configChanged: () => Promise<void> = async () => undefined;
  const syncing = new Map<number, () => void>();
  let suspensions: (list: ProcedureSuspension[]) => void = () => undefined;
  let replacementRequested = false;
  const requestReplacement = (reason: string, urgent: boolean): void => {
    if (replacementRequested) return;
    replacementRequested = true;
    send({ type: 'tokenproc:replace-me', reason, urgent });
  };
  let nextId = 1;
  const waiting = new Map<number, (text: string | null) => void>();

  const heartbeat = setInterval(() => send({ type: 'tokenproc:heartbeat' }), HEARTBEAT_MS);
  heartbeat.unref();
  // A script that could not be stopped can take memory at gigabytes a second, so memory is looked
  // at often (reading it costs microseconds) and a worker past its limit ends at once: its
  // replacement is already asked for, and waiting would only let the memory grow.
  const maxRssBytes = options.maxRssMb * 1024 * 1024;
  const memoryWatch = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss <= maxRssBytes) return;
    clearInterval(memoryWatch);
    const rssMb = Math.round(rss / 1048576);
    options.logger?.error('worker memory above its limit; ending this worker', { rss_mb: rssMb, max_rss_mb: options.maxRssMb });
    replacementRequested = true;
    const message: WorkerMessage = { type: 'tokenproc:replace-me', reason: `resident memory ${rssMb} MiB above ${options.maxRssMb} MiB`, urgent: true };
    const end = (): void => {
      process.kill(process.pid, 'SIGKILL');
    };
    if (process.connected && process.send) process.send(message, undefined, {}, end);
    else end();
  }, MEMORY_CHECK_MS);
  memoryWatch.unref();

  const onMessage = (message: unknown): void => {
    if (!isSupervisorMessage(message)) return;
    if (message.type === 'tokenproc:shutdown') {
      shutdown();
    } else if (message.type === 'tokenproc:config-changed') {
      const { id } = message;
      void configChanged().finally(() => {
        if (id !== undefined) send({ type: 'tokenproc:config-applied', id });
      });
    } else if (message.type === 'tokenproc:config-synced') {
      syncing.get(message.id)?.();
      syncing.delete(message.id);
    } else if (message.type === 'tokenproc:suspend') {
      suspensions(message.suspensions);
    } else if (message.type === 'tokenproc:metrics-collect') {
      registry.getMetricsAsJSON().then(
        (metrics) => send({ type: 'tokenproc:metrics-json', id: message.id, metrics }),
        () => undefined,
      );
    } else {
      waiting.get(message.id)?.(message.text);
      waiting.delete(message.id);
    }
  };
  process.on('message', onMessage);
  // The supervisor is gone (killed, crashed): nobody would restart or stop this process.
  const onDisconnect = (): void => shutdown();
  process.on('disconnect', onDisconnect);

  return {
    supervised: true,
    runsStartupTasks: process.env[STARTUP_TASKS_ENV] === '1',
    ready: (port) => send({ type: 'tokenproc:ready', port }),
    requestReplacement,
    serverMetrics: async () => {
      const id = nextId++;
      const text = await new Promise<string | null>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(null);
        }, METRICS_COLLECT_MS * 3);
        waiting.set(id, (answer) => {
          clearTimeout(timer);
          resolve(answer);
        });
        send({ type: 'tokenproc:metrics-request', id });
      });
      // Without an answer, this worker's own metrics are better than none.
      return text ?? registry.metrics();
    },
    onShutdown: (handler) => {
      shutdown = handler;
    },
    announceConfigChange: () => send({ type: 'tokenproc:config-changed' }),
    syncConfigChange: () => {
      const id = nextId++;
      return new Promise<void>((resolve) => {
        // The supervisor answers within CONFIG_SYNC_MS; this bound only guards against its loss.
        const timer = setTimeout(() => {
          syncing.delete(id);
          resolve();
        }, CONFIG_SYNC_MS * 2);
        syncing.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
        send({ type: 'tokenproc:config-changed', id });
      });
    },
    onConfigChange: (handler) => {
      configChanged = handler;
    },
    announceSuspension: (suspension) => send({ type: 'tokenproc:suspended', suspension }),
    onSuspensions: (handler) => {
      suspensions = handler;
    },
    close: () => {
      clearInterval(heartbeat);
      clearInterval(memoryWatch);
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
    },
  };
}

