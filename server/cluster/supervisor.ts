/**
 * The first process of `tokenproc serve`: it serves nothing itself. It starts TOKENPROC_WORKERS
 * worker processes that share the one listening socket, and keeps that many serving:
 *
 * - a worker that exits unexpectedly is replaced (with a growing delay if they keep dying);
 * - a worker whose event loop stops turning for WATCHDOG_MS (a procedure stuck in code V8 cannot
 *   interrupt) is killed and replaced: this is the bound of last resort on how long a call can hold
 *   a thread;
 * - a worker that reports that its sandbox can no longer bound calls gets a replacement, and is
 *   stopped gracefully once the replacement serves;
 * - a procedure one worker suspends (it kept failing on its limits) is suspended in every worker,
 *   including those started later, so a hostile procedure cannot exhaust them one after another;
 * - `/metrics`, asked of any worker, answers for the whole server: the supervisor collects every
 *   worker's metrics and adds them up; with TOKENPROC_MANAGEMENT_PORT the supervisor serves them
 *   itself, with /healthz and /readyz, on that port.
 *
 * The first worker of a start runs the once-per-start tasks (migrations, TOKENPROC_CONFIG); the
 * others start after it serves. Workers share configuration through the store, as separate
 * instances do (each reloads when the store's revision moves); a worker that sees a change tells
 * the supervisor, which tells the others, so an admin write reaches every worker at once rather
 * than at the next poll.
 *
 * The socket is shared (SCHED_NONE): the kernel hands each connection to a worker that is
 * accepting, so a stuck worker takes no new connections while it waits to be replaced.
 */
import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import client from 'prom-client';
import type { Logger } from '../logging.ts';
import { CONFIG_SYNC_MS, HEARTBEAT_MS, isWorkerMessage, METRICS_COLLECT_MS, URGENT_STOP_GRACE_MS, WATCHDOG_MS, WORKER_STOP_GRACE_MS } from './messages.ts';
import type { MetricsJson, SupervisorMessage, WorkerMessage } from './messages.ts';
import { STARTUP_TASKS_ENV } from './worker-link.ts';
import type { ProcedureSuspension } from '../../sandbox/types.ts';

/** Restarts within this window count towards the back-off. */
const RESTART_WINDOW_MS = 60_000;
const MAX_RESTART_DELAY_MS = 30_000;

interface WorkerEntry {
  readonly worker: Worker;
  lastBeat: number;
  ready: boolean;
  /** Asked to stop (shutdown, or its replacement serves): its exit is expected. */
  stopping: boolean;
  /** The worker started to replace this one, if any. */
  replacement: Worker | null;
}

interface Collection {
  readonly pending: Set<number>;
  readonly results: MetricsJson[];
  readonly done: () => void;
}

export interface SupervisorOptions {
  workers: number;
  logger: Logger;
  /** Where /metrics, /healthz and /readyz are also served, apart from the public port (TOKENPROC_MANAGEMENT_PORT). */
  management?: { port: number; host: string } | null;
}

export interface Supervisor {
  /** Stops every worker (gracefully, then by force after WORKER_STOP_GRACE_MS); resolves when all are gone. */
  stop(signal: string): Promise<void>;
  /** Resolves with the exit code the supervisor should end with: 0 after stop(), 1 if the first start failed. */
  readonly finished: Promise<number>;
}

export function startSupervisor(options: SupervisorOptions): Supervisor {
  const logger = options.logger.child({ component: 'supervisor' });
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const entries = new Map<number, WorkerEntry>();
  const restarts: number[] = [];
  const collections = new Map<number, Collection>();
  /** Admin writes waiting for the other workers to reload, by relay id. */
  const syncs = new Map<number, { pending: Set<number>; done: () => void }>();
  let nextSync = 1;
  /** Suspensions the workers decided, by procedure/client/version: a new worker learns those that still hold. */
  const suspensions = new Map<string, ProcedureSuspension>();
  let nextCollection = 1;
  let everReady = false;
  let shuttingDown = false;
  /** The exit code of a first worker that failed to start (the supervisor ends with it). */
  let startFailedCode: number | null = null;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const registry = new client.Registry();
  const restartCounter = new client.Counter({
    name: 'tokenproc_worker_restarts_total',
    help: 'Worker processes replaced, by reason (crashed, unresponsive, sandbox_unrecoverable)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  new client.Gauge({
    name: 'tokenproc_workers',
    help: 'Worker processes serving requests',
    registers: [registry],
    collect() {
      let ready = 0;
      for (const entry of entries.values()) if (entry.ready && !entry.stopping) ready += 1;
      this.set(ready);
    },
  });

  function tell(worker: Worker, message: SupervisorMessage): void {
    if (worker.isConnected()) worker.send(message);
  }

  function fork(startupTasks: boolean): Worker {
    const worker = cluster.fork({ [STARTUP_TASKS_ENV]: startupTasks ? '1' : '0' });
    entries.set(worker.id, { worker, lastBeat: Date.now(), ready: false, stopping: false, replacement: null });
    return worker;
  }

  function stopWorker(entry: WorkerEntry, graceMs = WORKER_STOP_GRACE_MS): void {
    if (entry.stopping) return;
    entry.stopping = true;
    tell(entry.worker, { type: 'tokenproc:shutdown' });
    const kill = setTimeout(() => {
      if (!entry.worker.isDead()) entry.worker.process.kill('SIGKILL');
    }, graceMs);
    kill.unref();
  }

  function restartDelay(now: number): number {
    while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    restarts.push(now);
    return restarts.length <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** (restarts.length - 2));
  }

  function replaceLater(reason: string): void {
    const delay = restartDelay(Date.now());
    if (delay > 0) logger.warn('workers keep failing; waiting before the next start', { delay_ms: delay, recent_restarts: restarts.length });
    const timer = setTimeout(() => {
      if (!shuttingDown) fork(false);
    }, delay);
    timer.unref();
    restartCounter.inc({ reason });
  }

  function liveSuspensions(now: number): ProcedureSuspension[] {
    for (const [key, suspension] of suspensions) if (suspension.until <= now) suspensions.delete(key);
    return [...suspensions.values()];
  }

  function onReady(entry: WorkerEntry, port: number): void {
    entry.ready = true;
    entry.lastBeat = Date.now();
    const held = liveSuspensions(entry.lastBeat);
    if (held.length > 0) tell(entry.worker, { type: 'tokenproc:suspend', suspensions: held });
    if (!everReady) {
      everReady = true;
      logger.info('workers starting', { workers: options.workers, port });
      for (let i = 1; i < options.workers; i++) fork(false);
    }
    // A worker that was started to replace another: the other may stop now.
    for (const other of entries.values()) {
      if (other.replacement === entry.worker) stopWorker(other);
    }
  }

  /**
   * Tells every other worker to reload. A change with an id is an admin write waiting to answer:
   * the supervisor tells its worker once every other one has reloaded (or CONFIG_SYNC_MS passed),
   * so that a client who reads after the write sees it whichever worker takes the request.
   */
  function relayConfigChange(origin: Worker, originId: number | undefined): void {
    const id = originId === undefined ? undefined : nextSync++;
    const pending = new Set<number>();
    for (const other of entries.values()) {
      if (other.worker === origin || !other.ready || other.stopping) continue;
      if (id !== undefined) pending.add(other.worker.id);
      tell(other.worker, id === undefined ? { type: 'tokenproc:config-changed' } : { type: 'tokenproc:config-changed', id });
    }
    if (id === undefined || originId === undefined) return;
    let answered = false;
    const done = (): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      syncs.delete(id);
      tell(origin, { type: 'tokenproc:config-synced', id: originId });
    };
    const timer = setTimeout(done, CONFIG_SYNC_MS);
    syncs.set(id, { pending, done });
    if (pending.size === 0) done();
  }

  function collectMetrics(requester: Worker, requestId: number): void {
    collectServerMetrics((text) => tell(requester, { type: 'tokenproc:metrics-response', id: requestId, text }));
  }

  /** Every serving worker's metrics added up, with the supervisor's own; null when that failed. */
  function collectServerMetrics(answer: (text: string | null) => void): void {
    const id = nextCollection++;
    const pending = new Set<number>();
    const results: MetricsJson[] = [];
    let answered = false;
    const done = (): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      collections.delete(id);
      void aggregate(results).then(answer, (error: unknown) => {
        logger.error('metrics aggregation failed', { detail: error instanceof Error ? error.message : String(error) });
        answer(null);
      });
    };
    // A worker that does not answer in time (stuck, stopping) is left out rather than holding the scrape.
    const timer = setTimeout(done, METRICS_COLLECT_MS);
    collections.set(id, { pending, results, done });
    for (const entry of entries.values()) {
      if (!entry.ready || entry.stopping || !entry.worker.isConnected()) continue;
      pending.add(entry.worker.id);
      tell(entry.worker, { type: 'tokenproc:metrics-collect', id });
    }
    if (pending.size === 0) done();
  }

  async function aggregate(results: MetricsJson[]): Promise<string> {
    const workers = client.AggregatorRegistry.aggregate(results);
    return `${await workers.metrics()}${await registry.metrics()}`;
  }

  function onMessage(worker: Worker, message: WorkerMessage): void {
    const entry = entries.get(worker.id);
    if (entry === undefined) return;
    switch (message.type) {
      case 'tokenproc:heartbeat':
        entry.lastBeat = Date.now();
        break;
      case 'tokenproc:ready':
        onReady(entry, message.port);
        break;
      case 'tokenproc:replace-me':
        if (entry.replacement !== null || entry.stopping || shuttingDown) break;
        logger.error('worker cannot bound procedure calls any more; starting a replacement', {
          worker_pid: worker.process.pid,
          reason: message.reason,
          urgent: message.urgent,
        });
        restartCounter.inc({ reason: 'sandbox_unrecoverable' });
        entry.replacement = fork(false);
        if (message.urgent) stopWorker(entry, URGENT_STOP_GRACE_MS);
        break;
      case 'tokenproc:metrics-request':
        collectMetrics(worker, message.id);
        break;
      case 'tokenproc:suspended': {
        const { suspension } = message;
        suspensions.set(`${suspension.procedureId}\u0000${suspension.clientId}\u0000${suspension.sha256}`, suspension);
        for (const other of entries.values()) if (other.worker !== worker && other.ready) tell(other.worker, { type: 'tokenproc:suspend', suspensions: [suspension] });
        break;
      }
      case 'tokenproc:config-changed':
        relayConfigChange(worker, message.id);
        break;
      case 'tokenproc:config-applied': {
        const sync = syncs.get(message.id);
        if (sync !== undefined && sync.pending.delete(worker.id) && sync.pending.size === 0) sync.done();
        break;
      }
      case 'tokenproc:metrics-json': {
        const collection = collections.get(message.id);
        if (collection === undefined || !collection.pending.delete(worker.id)) break;
        collection.results.push(message.metrics);
        if (collection.pending.size === 0) collection.done();
        break;
      }
    }
  }

  cluster.on('message', (worker, message: unknown) => {
    if (isWorkerMessage(message)) onMessage(worker, message);
  });

  cluster.on('exit', (worker, code, signal) => {
    const entry = entries.get(worker.id);
    entries.delete(worker.id);
    for (const collection of collections.values()) {
      if (collection.pending.delete(worker.id) && collection.pending.size === 0) collection.done();
    }
    for (const sync of syncs.values()) {
      if (sync.pending.delete(worker.id) && sync.pending.size === 0) sync.done();
    }
    if (shuttingDown) {
      if (entries.size === 0) finish(startFailedCode ?? 0);
      return;
    }
    if (!everReady) {
      // The first start failed (bad configuration, port in use): restarting would fail the same way.
      logger.error('the server could not start', { worker_pid: worker.process.pid, code, signal });
      startFailedCode = code !== null && code !== 0 ? code : 1;
      void stop('start failure');
      return;
    }
    if (entry?.stopping) return;
    logger.error('worker exited unexpectedly; starting another', { worker_pid: worker.process.pid, code, signal });
    // A replacement already on its way takes this worker's place.
    if (entry?.replacement && !entry.replacement.isDead()) return;
    replaceLater(signal === 'SIGKILL' && entry !== undefined && Date.now() - entry.lastBeat > WATCHDOG_MS ? 'unresponsive' : 'crashed');
  });

  const watchdog = setInterval(() => {
    const now = Date.now();
    for (const entry of entries.values()) {
      if (!entry.ready || entry.stopping || now - entry.lastBeat <= WATCHDOG_MS) continue;
      logger.error('worker stopped responding; killing it', { worker_pid: entry.worker.process.pid, silent_ms: now - entry.lastBeat });
      entry.worker.process.kill('SIGKILL');
    }
  }, HEARTBEAT_MS);
  watchdog.unref();

  async function stop(reason: string): Promise<void> {
    if (!shuttingDown) {
      shuttingDown = true;
      clearInterval(watchdog);
      logger.info('stopping workers', { reason });
      for (const entry of entries.values()) stopWorker(entry);
      if (entries.size === 0) finish(startFailedCode ?? 0);
    }
    await finished;
  }

  const management = options.management ? startManagementListener(options.management) : null;

  /**
   * The management listener (TOKENPROC_MANAGEMENT_PORT): /metrics for the whole server, /healthz
   * (the supervisor runs) and /readyz (a worker serves), on an address of their own, so that the
   * public port need not expose them.
   */
  function startManagementListener(address: { port: number; host: string }): http.Server {
    const server = http.createServer((req, res) => {
      const send = (status: number, type: string, body: string) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'application/json', JSON.stringify({ error: 'method_not_allowed' }));
      if (path === '/healthz') return send(200, 'application/json', JSON.stringify({ status: 'ok' }));
      if (path === '/readyz') {
        const serving = !shuttingDown && [...entries.values()].some((entry) => entry.ready && !entry.stopping);
        return send(serving ? 200 : 503, 'application/json', JSON.stringify({ status: serving ? 'ready' : 'unavailable' }));
      }
      if (path === '/metrics') {
        return collectServerMetrics((text) =>
          text === null ? send(500, 'application/json', JSON.stringify({ error: 'metrics_unavailable' })) : send(200, registry.contentType, text),
        );
      }
      send(404, 'application/json', JSON.stringify({ error: 'not_found' }));
    });
    server.on('error', (error) => {
      logger.error('the management listener failed', { detail: error.message, port: address.port, host: address.host });
      void stop('management listener failed');
    });
    server.listen(address.port, address.host, () => {
      const bound = server.address();
      logger.info('management listener', { port: typeof bound === 'object' && bound ? bound.port : address.port, host: address.host });
    });
    return server;
  }

  fork(true);
  void finished.then(() => management?.close());
  return { stop, finished };
}
