// Builds the package: dist/ from src/ with tsc (JavaScript and declarations). The sources import
// each other as './x.ts' (Node runs them as they are in this repository); tsc rewrites those to
// './x.js' in the JavaScript, and this script does the same in the declarations, so that every
// TypeScript version a consumer uses resolves them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync('tsc', ['-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  throw new Error(`tsc failed (${tsc.error ? tsc.error.message : `exit ${tsc.status}`}); run it where the repository's typescript is installed`);
}
for (const name of fs.readdirSync(dist)) {
  if (!name.endsWith('.d.ts')) continue;
  const file = path.join(dist, name);
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1.js$2'));
}
