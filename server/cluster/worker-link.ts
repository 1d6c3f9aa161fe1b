/**
 * A worker process's side of the supervisor (see supervisor.ts): heartbeats for the watchdog, the
 * request to be replaced when the sandbox can no longer bound a call, `/metrics` for the whole
 * server, and the order to stop. Outside a supervisor (tests, the CLI) the same interface does
 * nothing beyond this process.
 */
import cluster from 'node:cluster';
import type { Registry } from 'prom-client';
import type { ProcedureSuspension } from '../../sandbox/types.ts';
import { HEARTBEAT_MS, isSupervisorMessage, METRICS_COLLECT_MS } from './messages.ts';
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
  /** The sandbox cannot bound calls any more: ask for a fresh process (once). */
  requestReplacement(reason: string): void;
  /** Prometheus text for the whole server: every worker's metrics added up, or this process's alone. */
  serverMetrics(): Promise<string>;
  /** What to do when the supervisor says stop. */
  onShutdown(handler: () => void): void;
  /** Tells the other workers that the configuration changed, so they reload at once. */
  announceConfigChange(): void;
  /** What to do when another worker saw the configuration change. */
  onConfigChange(handler: () => void): void;
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
  let configChanged: () => void = () => undefined;
  let suspensions: (list: ProcedureSuspension[]) => void = () => undefined;
  let replacementRequested = false;
  const requestReplacement = (reason: string): void => {
    if (replacementRequested) return;
    replacementRequested = true;
    send({ type: 'tokenproc:replace-me', reason });
  };
  let nextId = 1;
  const waiting = new Map<number, (text: string | null) => void>();

  const maxRssBytes = options.maxRssMb * 1024 * 1024;
  const heartbeat = setInterval(() => {
    send({ type: 'tokenproc:heartbeat' });
    const rss = process.memoryUsage.rss();
    if (rss > maxRssBytes && !replacementRequested) {
      options.logger?.error('worker memory above its limit; asking for a replacement', { rss_mb: Math.round(rss / 1048576), max_rss_mb: options.maxRssMb });
      requestReplacement(`resident memory ${Math.round(rss / 1048576)} MiB above ${options.maxRssMb} MiB`);
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const onMessage = (message: unknown): void => {
    if (!isSupervisorMessage(message)) return;
    if (message.type === 'tokenproc:shutdown') {
      shutdown();
    } else if (message.type === 'tokenproc:config-changed') {
      configChanged();
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
    onConfigChange: (handler) => {
      configChanged = handler;
    },
    announceSuspension: (suspension) => send({ type: 'tokenproc:suspended', suspension }),
    onSuspensions: (handler) => {
      suspensions = handler;
    },
    close: () => {
      clearInterval(heartbeat);
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
    },
  };
}

