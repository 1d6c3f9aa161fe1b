import cluster from 'node:cluster';
import type { Command } from 'commander';
import { startSupervisor } from '../../cluster/supervisor.ts';
import { ConfigError, loadConfig, type ServerConfig } from '../../config.ts';
import { createLogger } from '../../logging.ts';
import { startServer } from '../../server.ts';
import { CliError } from '../exit-codes.ts';

interface ServeOptions {
  port?: string;
  host?: string;
  data?: string;
  databaseUrl?: string;
  issuer?: string;
  config?: string;
  workers?: string;
  trustProxy?: string;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the token server (npm start runs this)')
    .option('--port <n>', 'port to listen on (env PORT, default 8080; 0 picks a free port)')
    .option('--host <h>', 'address to listen on (env HOST, default 127.0.0.1)')
    .option('--data <dir>', 'directory of the embedded SQLite store (env TOKENPROC_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'postgres://... shared store (env TOKENPROC_DATABASE_URL)')
    .option('--issuer <url>', 'iss of issued tokens and metadata issuer (env TOKENPROC_ISSUER, default http://localhost:PORT)')
    .option('--config <file>', 'configuration document (export format) applied at start (env TOKENPROC_CONFIG)')
    .option('--workers <n>', 'processes serving the one port, or auto for one per core (env TOKENPROC_WORKERS, default 1)')
    .option('--trust-proxy <value>', "which proxies' X-Forwarded-For to believe: a hop count, or addresses/CIDRs, comma-separated (env TOKENPROC_TRUST_PROXY, default none)")
    .addHelpText(
      'after',
      '\nOther environment: TOKENPROC_ADMIN_KEY (admin API key; generated and printed once if unset),\n' +
        'LOG_LEVEL (default info), TOKENPROC_MAX_TOKEN_LIFETIME (seconds, default 86400),\n' +
        'TOKENPROC_SANDBOX_CPU_MS, TOKENPROC_SANDBOX_WALL_MS, TOKENPROC_SANDBOX_MEMORY_MB, TOKENPROC_SANDBOX_ISOLATES,\n' +
        'TOKENPROC_SANDBOX_SYNC_MS (limit of a call on the synchronous path, default 20),\n' +
        'TOKENPROC_WORKER_MAX_RSS_MB (a worker past this resident memory is replaced, default 1536),\n' +
        'TOKENPROC_MANAGEMENT_PORT, TOKENPROC_MANAGEMENT_HOST (serve /metrics, /healthz, /readyz there instead; host default 127.0.0.1),\n' +
        'TOKENPROC_HEADERS_TIMEOUT, TOKENPROC_REQUEST_TIMEOUT (seconds, default 10 and 30), TOKENPROC_MAX_CONNECTIONS (default 900),\n' +
        'TOKENPROC_SIGNING_ALG (ES256 or RS256, default ES256), TOKENPROC_ALLOW_HTTP_ISSUER=true (allow a plain-http issuer on a non-loopback host; test networks only).',
    )
    .action(async (options: ServeOptions) => {
      let config;
      try {
        config = loadConfig(process.env, options);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message);
        throw err;
      }
      if (cluster.isPrimary) await supervise(config);
      else await serveAsWorker(config);
    });
}

/** The first process: starts and watches the workers, and forwards stop signals to them. */
async function supervise(config: ServerConfig): Promise<void> {
  const supervisor = startSupervisor({ workers: config.workers, logger: createLogger({ level: config.logLevel }), management: config.management });
  const stop = (signal: string) => void supervisor.stop(signal);
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.exit(await supervisor.finished);
}

/** A worker process: the server itself. It stops when the supervisor says so, or on a signal of its own. */
async function serveAsWorker(config: ServerConfig): Promise<void> {
  const server = await startServer(config);
  const stop = (reason: string) => {
    server.runtime.logger.info('stop requested', { reason });
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  server.link.onShutdown(() => stop('supervisor'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  if (server.link.supervised) {
    // Ctrl-C reaches the whole process group: the supervisor stops the workers, and a worker that
    // left by itself first would only be seen as a crash and replaced.
    process.on('SIGINT', () => undefined);
  } else {
    process.once('SIGINT', () => stop('SIGINT'));
  }
}
