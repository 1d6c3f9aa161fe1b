/**
 * Starting and stopping the server: store, admin key, sandbox, runtime, HTTP listener, graceful
 * shutdown. `tokenproc serve` calls startServer; integration tests spawn that command.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from './config.ts';
import { createLogger, type Logger } from './logging.ts';
import { createMetrics, observeSandbox } from './metrics.ts';
import { CONNECTION_CHECK_INTERVAL_MS, KEEP_ALIVE_TIMEOUT_MS } from './defaults.ts';
import { createWorkerLink, type WorkerLink } from './cluster/worker-link.ts';
import { logAuditEntries } from './runtime/audit-log.ts';
import { openStore, PostgresStore } from './store/index.ts';
import { assertSandboxRuntime, createProcedureEngine } from '../sandbox/engine.ts';
import { createRuntime, type Runtime } from './runtime/runtime.ts';
import { withStoreMetrics } from './runtime/store-metrics.ts';
import { createApp } from './app.ts';
// The composition root: the one place server/ reaches into admin/, to mount its routes and page.
import { createAdminRouter } from '../admin/api/router.ts';
import { adminWebRouter } from '../admin/web/serve.ts';
import { ensureAdminKey } from './configuration/admin-key.ts';
import { applyConfigFile } from './configuration/config-document.ts';
import { startTracing } from './observability/tracing.ts';

export interface RunningServer {
  readonly port: number;
  readonly runtime: Runtime;
  /** This process's link to the supervisor (a no-op link when it runs alone). */
  readonly link: WorkerLink;
  close(): Promise<void>;
}

/** Requests that arrive while the server is still starting wait for it; beyond this many they get 503. */
const MAX_WAITING_REQUESTS = 1000;

export async function startServer(requested: ServerConfig, logger: Logger = createLogger({ level: requested.logLevel })): Promise<RunningServer> {
  assertSandboxRuntime();
  // The handler is attached before the port is bound: a request that arrives during start-up (the
  // socket may be shared with other workers) waits for the app instead of being left unanswered.
  let app: http.RequestListener | null = null;
  let startFailed = false;
  const waiting: Array<() => void> = [];
  const server = http.createServer({ connectionsCheckingInterval: CONNECTION_CHECK_INTERVAL_MS }, (req, res) => {
    if (app !== null) {
      app(req, res);
    } else if (startFailed || waiting.length >= MAX_WAITING_REQUESTS) {
      res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': '1' });
      res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'The server is starting' }));
    } else {
      waiting.push(() => server.emit('request', req, res));
    }
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Silent and slow connections are bounded, and so is their number (defaults.ts).
  server.headersTimeout = requested.connections.headersTimeoutMs;
  server.requestTimeout = requested.connections.requestTimeoutMs;
  server.maxConnections = requested.connections.maxConnections;
  // Bind first, so that with port 0 the default issuer can name the port actually bound.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(requested.port, requested.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const boundIssuer = `http://localhost:${port}`;
  // An unset trust domain is the issuer, whichever port it names.
  const config: ServerConfig = requested.issuerFromPort
    ? { ...requested, port, issuer: boundIssuer, ...(requested.trustDomainFromIssuer ? { trustDomain: boundIssuer } : {}) }
    : { ...requested, port };
  try {
    const running = await serve(server, config, logger, (listener) => {
      app = listener;
      for (const replay of waiting.splice(0)) replay();
    });
    return running;
  } catch (err) {
    startFailed = true;
    for (const replay of waiting.splice(0)) replay();
    server.close();
    throw err;
  }
}

async function serve(server: http.Server, config: ServerConfig, logger: Logger, attach: (listener: http.RequestListener) => void): Promise<RunningServer> {
  const port = config.port;

  // Each server process (each worker) traces on its own, with its own exporter; off without OTEL_*.
  const tracing = startTracing(process.env, logger);
  const metrics = createMetrics();
  const store = withStoreMetrics(openStore({ dataDir: config.dataDir, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) }), metrics);
  await store.migrate();
  logAuditEntries(store, logger);

  const adminKey = await ensureAdminKey(store, config.adminKey);
  if (adminKey.replaced) logger.warn('TOKENPROC_ADMIN_KEY replaced the stored admin key; the previous key no longer works');
  const generatedKey = adminKey.generated;
  if (generatedKey) {
    // Printed once, deliberately outside the masking logger: this is how the operator learns it.
    process.stdout.write(
      `${JSON.stringify({ level: 'warn', message: 'Generated the admin API key. It is shown only this once; store it now.', generated_admin_key: generatedKey })}\n`,
    );
  }

  const link = createWorkerLink(metrics.registry, { maxRssMb: config.workerMaxRssMb, logger });
  const engine = createProcedureEngine({
    limits: config.sandbox,
    logger,
    onUnrecoverable: (event) => {
      logger.error('the sandbox can no longer bound procedure calls in this process', { ...event, supervised: link.supervised });
      // Served on until the replacement serves; if the script runs away with memory meanwhile, the
      // memory watch ends this worker sooner (TOKENPROC_WORKER_MAX_RSS_MB).
      link.requestReplacement(`${event.reason}: ${event.detail}`, false);
    },
    onSuspended: (suspension) => link.announceSuspension(suspension),
  });
  link.onSuspensions((suspensions) => {
    for (const suspension of suspensions) engine.suspend(suspension);
  });
  observeSandbox(metrics, engine);
  // An admin write answers once every worker has reloaded: reads after it see it wherever they land.
  const runtime = await createRuntime({ config, store, logger, metrics, engine, afterConfigChange: () => link.syncConfigChange() });
  if (config.configFile && link.runsStartupTasks) await applyConfigFile(runtime, config.configFile);
  runtime.cache.startPolling(1000);
  // Revocations by other instances and workers reach this one within about a second.
  runtime.lifecycle.revocations.startPolling();
  runtime.cache.onChange(() => link.announceConfigChange());
  link.onConfigChange(async () => {
    try {
      // Reload here only: configChanged() would ask the other workers again.
      await runtime.cache.refresh();
      await runtime.keys?.reload();
    } catch (error) {
      logger.warn('configuration reload failed', { detail: error instanceof Error ? error.message : String(error) });
    }
  });

  attach(
    createApp(runtime, {
      serverMetrics: () => link.serverMetrics(),
      mounts: [
        { path: '/admin/api/v1', handler: createAdminRouter(runtime) },
        { path: '/admin', handler: adminWebRouter() },
      ],
    }),
  );
  const storeLocation = store instanceof PostgresStore ? store.location : config.dataDir;
  logger.info('listening', { port, host: config.host, issuer: config.issuer, store: storeLocation, pid: process.pid });
  link.ready(port);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('shutting down');
      link.close();
      runtime.cache.stop();
      runtime.lifecycle.revocations.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight requests get a moment to finish; then connections are cut.
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      });
      await engine.close();
      await store.close();
      // Last: the spans of the final requests are sent before the process goes.
      await tracing?.shutdown();
      logger.info('stopped');
    })();
    return closing;
  };
  return { port, runtime, link, close };
}
