/**
 * Starting and stopping the server: store, admin key, sandbox, runtime, HTTP listener, graceful
 * shutdown. `tokenproc serve` calls startServer; integration tests spawn that command.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from './config.ts';
import { createLogger, type Logger } from './logging.ts';
import { createMetrics } from './metrics.ts';
import { openStore, PostgresStore } from './store/index.ts';
import { assertSandboxRuntime, createProcedureEngine } from '../sandbox/engine.ts';
import { createRuntime, type Runtime } from './runtime/runtime.ts';
import { createApp } from './app.ts';
import { closeLocalRunner } from './oauth/local-runner.ts';
import { ensureAdminKey } from '../admin/api/admin-key.ts';
import { applyConfigFile } from '../admin/api/config-document.ts';

export interface RunningServer {
  readonly port: number;
  readonly runtime: Runtime;
  close(): Promise<void>;
}

export async function startServer(requested: ServerConfig, logger: Logger = createLogger({ level: requested.logLevel })): Promise<RunningServer> {
  assertSandboxRuntime();
  // Bind first, so that with port 0 the default issuer can name the port actually bound.
  const server = http.createServer();
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(requested.port, requested.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const config: ServerConfig = requested.issuerFromPort ? { ...requested, port, issuer: `http://localhost:${port}` } : { ...requested, port };
  try {
    return await serve(server, config, logger);
  } catch (err) {
    server.close();
    throw err;
  }
}

async function serve(server: http.Server, config: ServerConfig, logger: Logger): Promise<RunningServer> {
  const port = config.port;

  const store = openStore({ dataDir: config.dataDir, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) });
  await store.migrate();

  const generatedKey = await ensureAdminKey(store, config.adminKey);
  if (generatedKey) {
    // Printed once, deliberately outside the masking logger: this is how the operator learns it.
    process.stdout.write(
      `${JSON.stringify({ level: 'warn', message: 'Generated the admin API key. It is shown only this once; store it now.', generated_admin_key: generatedKey })}\n`,
    );
  }

  const engine = createProcedureEngine({ limits: config.sandbox, logger });
  const runtime = await createRuntime({ config, store, logger, metrics: createMetrics(), engine });
  if (config.configFile) await applyConfigFile(runtime, config.configFile);
  runtime.cache.startPolling(1000);

  server.on('request', createApp(runtime));
  const storeLocation = store instanceof PostgresStore ? store.location : config.dataDir;
  logger.info('listening', { port, host: config.host, issuer: config.issuer, store: storeLocation });

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('shutting down');
      runtime.cache.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight requests get a moment to finish; then connections are cut.
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      });
      await engine.close();
      await closeLocalRunner();
      await store.close();
      logger.info('stopped');
    })();
    return closing;
  };
  return { port, runtime, close };
}
