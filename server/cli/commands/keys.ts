import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { openStore } from '../../store/index.ts';
import { KEY_PREPUBLISH_SECONDS } from '../../defaults.ts';
import { KeyManager } from '../../tokens/keys.ts';

interface KeysOptions {
  data?: string;
  databaseUrl?: string;
  json?: boolean;
  now?: boolean;
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
  const at = (seconds: number) => new Date(seconds * 1000).toISOString();
  const nowSeconds = Date.now() / 1000;
  for (const k of rows) {
    let state: string;
    if (k.signing) state = k.retired_at === null ? 'signing' : `signing until ${at(k.retired_at)}`;
    else if (k.signs_from > nowSeconds) state = `published, signs from ${at(k.signs_from)}`;
    else state = k.published ? `retired ${at(k.retired_at ?? k.created_at)} (still in JWKS)` : 'retired';
    process.stdout.write(`${k.kid}  ${k.alg}  created ${at(k.created_at)}  ${state}\n`);
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
  common(
    keys
      .command('rotate')
      .description(
        'Make a new signing key (of TOKENPROC_SIGNING_ALG, default ES256). It is published at once and signs ' +
          `${KEY_PREPUBLISH_SECONDS} s later, once every JWKS cache has it; the current key signs until then`,
      )
      .option('--now', 'sign with the new key at once (for a key that must stop signing now; relying parties with a cached JWKS refuse new tokens until they refetch it)'),
  ).action(async (options: KeysOptions) => {
    await withKeys(options, async (k) => {
      const { kid, signsFrom, pruned } = await k.rotate('cli', { immediately: options.now === true });
      if (!options.json) {
        const when = options.now ? 'signs now' : `published now, signs from ${new Date(signsFrom * 1000).toISOString()}`;
        process.stdout.write(`new key ${kid}: ${when}${pruned.length ? `; removed expired keys ${pruned.join(', ')}` : ''}\n`);
      }
      printKeys(k, options.json);
    });
  });
}
