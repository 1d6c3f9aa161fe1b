import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { openStore } from '../../store/index.ts';
import { KeyManager } from '../../tokens/keys.ts';

interface KeysOptions {
  data?: string;
  databaseUrl?: string;
  json?: boolean;
}

async function withKeys<T>(options: KeysOptions, work: (keys: KeyManager) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, options);
  const store = openStore({ dataDir: config.dataDir, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) });
  try {
    await store.migrate();
    const keys = new KeyManager(store, config.issuer, config.retiredKeyGraceSeconds, config.signingAlg);
    await keys.init();
    return await work(keys);
  } finally {
    await store.close();
  }
}

function printKeys(keys: KeyManager, json: boolean | undefined): void {
  const rows = keys.describe();
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  for (const k of rows) {
    const state = k.retired_at === null ? 'active' : k.published ? `retired ${new Date(k.retired_at * 1000).toISOString()} (still in JWKS)` : 'retired';
    process.stdout.write(`${k.kid}  ${k.alg}  created ${new Date(k.created_at * 1000).toISOString()}  ${state}\n`);
  }
}

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('Manage signing keys (a retired key stays in the JWKS until the tokens it signed have expired)');
  const common = (cmd: Command) =>
    cmd
      .option('--data <dir>', 'store directory (env TOKENPROC_DATA_DIR, default ./data)')
      .option('--database-url <url>', 'shared store (env TOKENPROC_DATABASE_URL)')
      .option('--json', 'print JSON');
  common(keys.command('list').description('List signing keys'))
    .action(async (options: KeysOptions) => {
      await withKeys(options, async (k) => printKeys(k, options.json));
    });
  common(keys.command('rotate').description('Make a new active signing key (of TOKENPROC_SIGNING_ALG, default ES256); the previous one is retired'))
    .action(async (options: KeysOptions) => {
      await withKeys(options, async (k) => {
        const { kid, pruned } = await k.rotate('cli');
        if (!options.json) process.stdout.write(`new active key ${kid}${pruned.length ? `; removed expired keys ${pruned.join(', ')}` : ''}\n`);
        printKeys(k, options.json);
      });
    });
}
