import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config.ts';
import { startServer } from '../../server.ts';
import { CliError } from '../exit-codes.ts';

interface ServeOptions {
  port?: string;
  host?: string;
  data?: string;
  databaseUrl?: string;
  issuer?: string;
  config?: string;
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
    .addHelpText(
      'after',
      '\nOther environment: TOKENPROC_ADMIN_KEY (admin API key; generated and printed once if unset),\n' +
        'LOG_LEVEL (default info), TOKENPROC_MAX_TOKEN_LIFETIME (seconds, default 86400),\n' +
        'TOKENPROC_SANDBOX_CPU_MS, TOKENPROC_SANDBOX_WALL_MS, TOKENPROC_SANDBOX_MEMORY_MB, TOKENPROC_SANDBOX_ISOLATES,\n' +
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
      const server = await startServer(config);
      const stop = (signal: string) => {
        server.runtime.logger.info('signal received', { signal });
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
