/**
 * Builds the admin web page into admin/web/dist/ (index.html, app.js, app.css, favicon.svg) with
 * esbuild's JS API: everything bundled locally, nothing fetched from a CDN at run time.
 * Run: `node admin/web/build.ts` (on the pinned Node 24).
 */
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB_DIR = dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = join(WEB_DIR, 'src');
/** Copied as they are; index.html references only these and the two bundles. */
const STATIC_FILES = ['index.html', 'favicon.svg'] as const;

export interface AdminWebBuildOptions {
  /** Where to write; defaults to admin/web/dist. */
  outDir?: string;
  /** Defaults to true; false keeps the output readable when debugging. */
  minify?: boolean;
}

export interface AdminWebBuildResult {
  outDir: string;
  /** Absolute paths of the files written. */
  files: string[];
}

export async function buildAdminWeb(options: AdminWebBuildOptions = {}): Promise<AdminWebBuildResult> {
  const outDir = options.outDir ?? join(WEB_DIR, 'dist');
  // Files are overwritten in place rather than the directory emptied first, so a running server
  // never finds the page missing while it is rebuilt.
  await mkdir(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: WEB_DIR,
    entryPoints: [
      { in: join(SOURCE_DIR, 'main.js'), out: 'app' },
      { in: join(SOURCE_DIR, 'app.css'), out: 'app' },
    ],
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox121', 'safari17'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    legalComments: 'eof',
    // Anything not bundled would be fetched at run time; there must be nothing of the kind.
    external: [],
    metafile: true,
    logLevel: 'warning',
  });
  if (result.errors.length > 0) throw new Error(`admin web build failed with ${result.errors.length} error(s)`);
  await Promise.all(STATIC_FILES.map((name) => copyFile(join(SOURCE_DIR, name), join(outDir, name))));
  const bundled = Object.keys(result.metafile.outputs).map((path) => join(WEB_DIR, path));
  return { outDir, files: [...bundled, ...STATIC_FILES.map((name) => join(outDir, name))] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const { outDir, files } = await buildAdminWeb();
  process.stdout.write(`admin web: ${files.length} files in ${outDir} (${Date.now() - started} ms)\n`);
}
