/**
 * `tokenproc` command line. Each command lives in its own module under ./commands and registers
 * itself on the program; exit codes follow the spec: 0 success, 1 refused (OAuth error printed),
 * 2 usage, file or compile error.
 */
import { Command, CommanderError } from 'commander';
import { registerServeCommand } from './commands/serve.ts';
import { registerKeysCommand } from './commands/keys.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerTestCommand } from './commands/test.ts';
import { registerCheckCommand } from './commands/check.ts';
import { registerImportExportCommands } from './commands/import-export.ts';
import { registerInitCommand } from './commands/init.ts';
import { EXIT_USAGE } from './exit-codes.ts';

const program = new Command();
program
  .name('tokenproc')
  .description('Scriptable OAuth 2.0 Token Exchange (RFC 8693) server with sandboxed token procedures')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerServeCommand(program);
registerKeysCommand(program);
registerRunCommand(program);
registerInitCommand(program);
registerTestCommand(program);
registerCheckCommand(program);
registerImportExportCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors were already printed.
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  process.stderr.write(`tokenproc: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT_USAGE);
}
