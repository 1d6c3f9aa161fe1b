#!/usr/bin/env node
'use strict';
// npm links the `bin` of dependencies into node_modules/.bin, never the project's own. `npm start`
// runs `tokenproc serve` and the README promises node_modules/.bin/tokenproc after `npm install`,
// so the prepare step links it here (a relative link: the checkout may move).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const binDir = path.join(root, 'node_modules', '.bin');
const link = path.join(binDir, 'tokenproc');
const target = path.relative(binDir, path.join(root, 'server', 'bin', 'tokenproc.cjs'));

fs.mkdirSync(binDir, { recursive: true });
try {
  if (fs.readlinkSync(link) === target) process.exit(0);
  fs.unlinkSync(link);
} catch {
  // missing, or not a link: (re)create below
  fs.rmSync(link, { force: true });
}
fs.symlinkSync(target, link);
fs.chmodSync(path.join(root, 'server', 'bin', 'tokenproc.cjs'), 0o755);
