#!/usr/bin/env node
'use strict';
// Launcher for `tokenproc`. It must run on whatever `node` started it (the system Node 20 included),
// so it is plain CommonJS. isolated-vm needs Node 24 and --no-node-snapshot: unless both already
// hold, the CLI is re-run on the Node 24 binary pinned through the registry's `node` package.
const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const { pathToFileURL } = require('node:url');

const root = path.resolve(__dirname, '..', '..');
// A checkout runs its TypeScript sources; the published package has none (Node does not strip types
// inside node_modules) and runs the JavaScript its `prepack` built into dist/.
const sourceEntry = path.join(root, 'server', 'cli', 'main.ts');
const entry = fs.existsSync(sourceEntry) ? sourceEntry : path.join(root, 'dist', 'server', 'cli', 'main.js');
const major = Number(process.versions.node.split('.')[0]);
const hasFlag = process.execArgv.includes('--no-node-snapshot');

if (major >= 24 && hasFlag) {
  stopWhenOrphaned(() => process.kill(process.pid, 'SIGTERM'));
  import(pathToFileURL(entry).href).catch((err) => {
    process.stderr.write(`tokenproc: ${err && err.message ? err.message : err}\n`);
    process.exit(2);
  });
} else {
  const pinned = findPinnedNode();
  const child = spawn(pinned, ['--no-node-snapshot', entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal));
  }
  stopWhenOrphaned(() => child.kill('SIGTERM'));
  child.on('error', (err) => {
    process.stderr.write(`tokenproc: cannot start Node 24 at ${pinned}: ${err.message}\n`);
    process.exit(2);
  });
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code === null ? 1 : code);
  });
}

/**
 * Run by an npm script (`npm start`), the server stops with npm: npm 11 stops the script's shell
 * without telling its children, which would leave the server running with nobody to stop it. When
 * the process that started this one goes away (this one is re-parented), `stop` is called once.
 * Started any other way (`nohup tokenproc serve &`, a service manager) it keeps running.
 */
function stopWhenOrphaned(stop) {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, 1000);
  timer.unref();
}

function findPinnedNode() {
  try {
    const pkg = require.resolve('node/package.json', { paths: [root] });
    const bin = path.join(path.dirname(pkg), 'bin', 'node');
    if (fs.existsSync(bin)) return bin;
  } catch {
    // fall through
  }
  if (major >= 24) return process.execPath;
  process.stderr.write('tokenproc: Node 24 is required; run `npm install` to fetch the pinned runtime.\n');
  process.exit(2);
}
