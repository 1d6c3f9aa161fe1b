/**
 * `tokenproc import FILE` and `tokenproc export`: the whole configuration (clients without secrets,
 * procedures with source, trusted issuers) as one JSON document, read from or written to the store
 * in --data / TOKENPROC_DATA_DIR. The same document is what TOKENPROC_CONFIG applies at start.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config.ts';
import { openStore } from '../../store/index.ts';
import { DATABASE_FILE_NAME } from '../../store/sqlite.ts';
import type { Store } from '../../store/types.ts';
import { createProcedureEngine } from '../../../sandbox/engine.ts';
import { ConfigImportError, exportConfig, importConfig, readConfigDocumentFile, type ImportCounts, type ImportSummary } from '../../configuration/config-document.ts';
import { CliError, EXIT_OK } from '../exit-codes.ts';

interface StoreOptions {
  data?: string;
  databaseUrl?: string;
}

interface ImportOptions extends StoreOptions {
  json?: boolean;
}

interface ExportOptions extends StoreOptions {
  output?: string;
}

const IMPORT_HELP = `
FILE is a document as written by \`tokenproc export\`. Importing merges: clients, procedures and
trusted issuers the document names are created or brought in line with it; nothing else is
touched. What already matches is left alone (no new procedure version, no audit entry), so
importing the same document twice changes nothing the second time. Every procedure is compiled
and every reference checked before the first write: a bad document changes nothing.

A secret-based client new to the store gets a generated secret, printed once here; store it now.
Documents carry no secrets: set one afterwards through the admin API if you need a known value.

Exit codes: 0 imported; 2 usage error, unreadable file, or an invalid document (the message names
the member, e.g. /clients/0/procedures/oauth-token-client-credentials).`;

const EXPORT_HELP = `
Prints the configuration document (JSON) to stdout, or writes it to --output FILE. Clients carry
no secrets; procedures carry the source of their active version. Entries are ordered by id, so
equal configurations export to equal text and the file diffs well in git.

Exit codes: 0 exported; 2 usage error, no store at the data directory, or the file cannot be written.`;

interface StoreLocation {
  dataDir: string;
  databaseUrl: string | null;
}

function storeLocation(options: StoreOptions): StoreLocation {
  try {
    const config = loadConfig(process.env, options);
    return { dataDir: config.dataDir, databaseUrl: config.databaseUrl };
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

function openStoreAt(location: StoreLocation): Store {
  return openStore({ dataDir: location.dataDir, ...(location.databaseUrl ? { databaseUrl: location.databaseUrl } : {}) });
}

function countsLine(label: string, counts: ImportCounts): string {
  const part = (name: string, ids: string[]) => `${ids.length} ${name}${ids.length ? ` (${ids.join(', ')})` : ''}`;
  return `${label}: ${part('created', counts.created)}, ${part('updated', counts.updated)}, ${counts.unchanged.length} unchanged\n`;
}

export function formatImportSummary(summary: ImportSummary): string {
  let text = countsLine('procedures', summary.procedures) + countsLine('trusted issuers', summary.trusted_issuers) + countsLine('clients', summary.clients);
  const secrets = Object.entries(summary.generated_secrets);
  if (secrets.length > 0) {
    text += 'generated client secrets (shown only this once; store them now):\n';
    for (const [clientId, secret] of secrets) text += `  ${clientId}  ${secret}\n`;
  }
  return text;
}

async function runImport(file: string, options: ImportOptions): Promise<void> {
  // Read and parse before touching the store: a bad file leaves no trace, not even a data directory.
  let document: unknown;
  try {
    document = readConfigDocumentFile(file);
  } catch (err) {
    if (err instanceof ConfigImportError) throw new CliError(err.message);
    throw err;
  }
  const store = openStoreAt(storeLocation(options));
  // Compile errors are reported in the import error; the engine's own event log would only repeat them.
  const engine = createProcedureEngine({ logger: { warn: () => {}, error: () => {} } });
  try {
    await store.migrate();
    const summary = await importConfig({ store, engine }, document, 'cli');
    process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatImportSummary(summary));
    process.exitCode = EXIT_OK;
  } catch (err) {
    if (err instanceof ConfigImportError) throw new CliError(`${file}: ${err.message}${err.field ? ` (at ${err.field})` : ''}`);
    throw err;
  } finally {
    await engine.close();
    await store.close();
  }
}

async function runExport(options: ExportOptions): Promise<void> {
  const location = storeLocation(options);
  // Opening the embedded store would create an empty one; exporting that would only hide a wrong --data.
  if (location.databaseUrl === null && !fs.existsSync(path.join(location.dataDir, DATABASE_FILE_NAME))) {
    throw new CliError(`no tokenproc store in ${location.dataDir} (set --data or TOKENPROC_DATA_DIR)`);
  }
  const store = openStoreAt(location);
  let text: string;
  try {
    await store.migrate();
    text = `${JSON.stringify(await exportConfig(store), null, 2)}\n`;
  } finally {
    await store.close();
  }
  if (options.output === undefined) {
    process.stdout.write(text);
    return;
  }
  // Written beside the target and renamed over it, so a reader never sees half a document.
  const target = path.resolve(options.output);
  const temporary = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, text, { mode: 0o644 });
    fs.renameSync(temporary, target);
  } catch (err) {
    fs.rmSync(temporary, { force: true });
    throw new CliError(`cannot write ${options.output}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  process.stderr.write(`exported the configuration to ${options.output}\n`);
}

/** Prints a CliError as `tokenproc CMD: message` and sets its exit code; anything else propagates. */
async function reportingErrors(command: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(`tokenproc ${command}: ${err.message}\n`);
    process.exitCode = err.exitCode;
  }
}

export function registerImportExportCommands(program: Command): void {
  const storeOptions = (cmd: Command) =>
    cmd
      .option('--data <dir>', 'store directory (env TOKENPROC_DATA_DIR, default ./data)')
      .option('--database-url <url>', 'shared store (env TOKENPROC_DATABASE_URL)');

  storeOptions(
    program
      .command('import')
      .description('Apply a configuration document (clients, procedures, trusted issuers) to the store')
      .argument('<file>', 'the JSON document, as written by tokenproc export'),
  )
    .option('--json', 'print the summary as JSON (generated secrets included)')
    .addHelpText('after', IMPORT_HELP)
    .action(async (file: string, options: ImportOptions) => {
      await reportingErrors('import', () => runImport(file, options));
    });

  storeOptions(program.command('export').description('Print the whole configuration as one JSON document'))
    .option('--output <file>', 'write the document to this file instead of stdout')
    .addHelpText('after', EXPORT_HELP)
    .action(async (options: ExportOptions) => {
      await reportingErrors('export', () => runExport(options));
    });
}

