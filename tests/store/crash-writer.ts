/**
 * Child process for the crash test: uploads procedure versions of a single procedure in a tight
 * loop and prints "committed N" after each commit, until killed or maxVersions is reached.
 * Usage: node crash-writer.ts DATA_DIR MAX_VERSIONS
 */
import { createHash } from 'node:crypto';
import { SqliteStore } from '../../server/store/sqlite.ts';

function crashTestSource(version: number): string {
  // Large enough that each transaction spends real time writing pages.
  const filler = String.fromCharCode(97 + (version % 26)).repeat(128 * 1024);
  return `function result(context) { return { version: ${version}, filler: "${filler}" }; }`;
}

async function main(): Promise<void> {
  const [dataDir, maxArg] = process.argv.slice(2);
  if (!dataDir || !maxArg) throw new Error('usage: crash-writer.ts DATA_DIR MAX_VERSIONS');
  const maxVersions = Number(maxArg);
  const store = SqliteStore.open(dataDir);
  for (let i = 1; i <= maxVersions; i++) {
    const source = crashTestSource(i);
    const sha256 = createHash('sha256').update(source, 'utf8').digest('hex');
    const stored = await store.putProcedureVersion({ id: 'crash', flow: 'oauth-token-client-credentials', source, sha256 }, 'crash-test');
    process.stdout.write(`committed ${stored.version}\n`);
  }
  await store.close();
}

await main();
