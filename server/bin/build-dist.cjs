#!/usr/bin/env node
'use strict';
// Builds what the package publishes (`npm pack` / `npm publish` run it as `prepack`): Node refuses
// to strip TypeScript types inside node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), so
// the installed CLI runs JavaScript from dist/: the server, the sandbox and the admin API compiled
// by tsc (tsconfig.build.json: `.ts` imports rewritten to `.js`), next to the files they read at
// run time: the sandbox prelude's modules, the JSON Schemas, the built-in default procedures and
// the built admin page. server/bin/tokenproc.cjs runs dist/ when the TypeScript sources are absent
// (an installed package) and the sources in a checkout.
//
//   node server/bin/build-dist.cjs          build dist/ (replacing it)
//   node server/bin/build-dist.cjs --clean  remove dist/ (`postpack`: a checkout runs its sources)
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

/** Runs a Node script on this Node (npm scripts run on the pinned Node 24); exits on failure. */
function node(args, what) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`build-dist: ${what} failed (${result.error ? result.error.message : `exit ${result.status}`})\n`);
    process.exit(1);
  }
}

// The admin page first: the server serves admin/web/dist, which is git-ignored and built here too.
node([path.join(root, 'admin', 'web', 'build.ts')], 'building the admin page');
node([require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', path.join(root, 'tsconfig.build.json')], 'tsc -p tsconfig.build.json');

/** Copies the files of `from` (relative to the root) that `keep` accepts into the same place under dist/. */
function copy(from, keep = () => true) {
  const source = path.join(root, from);
  const target = path.join(dist, from);
  fs.cpSync(source, target, {
    recursive: true,
    filter: (file) => fs.statSync(file).isDirectory() || keep(file),
  });
}

copy(path.join('sandbox', 'prelude'), (file) => file.endsWith('.js'));
copy(path.join('server', 'schemas'), (file) => file.endsWith('.json'));
copy(path.join('procedures', 'defaults'), (file) => file.endsWith('.js'));
copy(path.join('admin', 'web', 'dist'));

// What the launcher and the runtime look for: fail the pack now rather than the user's first run.
for (const required of ['server/cli/main.js', 'sandbox/engine.js', 'server/schemas/client.schema.json', 'admin/web/dist/index.html']) {
  if (!fs.existsSync(path.join(dist, required))) {
    process.stderr.write(`build-dist: dist/${required} is missing\n`);
    process.exit(1);
  }
}
process.stdout.write(`build-dist: wrote ${path.relative(process.cwd(), dist) || 'dist'}/\n`);
