/**
 * A bounded soak: one `tokenproc serve` (embedded store, defaults) takes Curity downscoping
 * exchanges at a fixed share of its measured capacity for a while, and a new version of the
 * procedure is uploaded every few seconds (so isolates are replaced under load, as when admins
 * publish). Every window reports requests, errors (non-2xx and socket errors), p50/p99 latency and
 * the server's RSS, so drift shows: errors appearing, latency creeping up, memory that keeps
 * growing. Results go to bench/results/soak-<time>.json and a table on stdout.
 *
 *   node --no-node-snapshot bench/soak.ts --help
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { paced, saturate, warmUp, type Target } from './lib/load.ts';
import { basicAuthorization, createIdentityProvider, exchangeBodies, TOKEN_PATH } from './lib/scenario.ts';
import { SEED_PROCEDURE_FILE, startTokenproc } from './lib/tokenproc.ts';

const USAGE = `usage: node --no-node-snapshot bench/soak.ts

Environment:
  SOAK_MINUTES=10        how long the soak runs
  SOAK_LOAD=0.8          offered load as a share of the capacity measured first (a short saturation run)
  SOAK_RATE=N            offered load in requests per second instead (skips the capacity run)
  SOAK_WINDOW=30         seconds per reported window
  SOAK_UPLOAD_EVERY=5    seconds between procedure uploads (0: none)
  SOAK_CONNECTIONS=32    connections of the load generator
`;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function numberFrom(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new RangeError(`${name} must be a number from ${min} to ${max}`);
  return value;
}

interface Window {
  at_s: number;
  offered_rps: number;
  rps: number;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  rss_mb: number;
  uploads: number;
  upload_failures: number;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const minutes = numberFrom('SOAK_MINUTES', 10, 0.1, 24 * 60);
  const share = numberFrom('SOAK_LOAD', 0.8, 0.05, 1);
  const windowSeconds = numberFrom('SOAK_WINDOW', 30, 2, 3600);
  const uploadEvery = numberFrom('SOAK_UPLOAD_EVERY', 5, 0, 3600);
  const connections = numberFrom('SOAK_CONNECTIONS', 32, 1, 1024);

  const idp = createIdentityProvider();
  const tokenproc = await startTokenproc({ repoRoot: REPO_ROOT, idp, logLevel: 'warn' });
  const seedSource = fs.readFileSync(path.join(REPO_ROOT, SEED_PROCEDURE_FILE), 'utf8');
  try {
    const bodies = exchangeBodies(idp, tokenproc.procedureClient.id, 256);
    const target: Target = {
      origin: tokenproc.server.origin,
      path: TOKEN_PATH,
      headers: { authorization: basicAuthorization(tokenproc.procedureClient), 'content-type': 'application/x-www-form-urlencoded' },
      nextBody: () => bodies.next(),
    };
    await warmUp(target, connections, 3);
    let rate = numberFrom('SOAK_RATE', 0, 0, 1_000_000);
    let capacity: number | null = null;
    if (rate === 0) {
      capacity = (await saturate(target, { connections, durationSeconds: 8 })).rps;
      rate = Math.max(1, Math.round(capacity * share));
    }
    process.stdout.write(
      `soak: ${minutes} min at ${rate}/s${capacity === null ? '' : ` (${share} of ${Math.round(capacity)}/s measured)`}, ` +
        `uploads every ${uploadEvery} s, ${os.availableParallelism()} cores, load average ${os.loadavg()[0]?.toFixed(2)}\n`,
    );

    let uploads = 0;
    let uploadFailures = 0;
    let version = 0;
    const uploader =
      uploadEvery > 0
        ? setInterval(() => {
            version += 1;
            tokenproc.uploadProcedure(`${seedSource}\n// soak version ${version}\n`).then(
              () => (uploads += 1),
              () => (uploadFailures += 1),
            );
          }, uploadEvery * 1000)
        : null;

    const windows: Window[] = [];
    const started = performance.now();
    const end = started + minutes * 60_000;
    try {
      while (performance.now() < end) {
        const seconds = Math.min(windowSeconds, Math.max(1, (end - performance.now()) / 1000));
        const uploadsBefore = uploads;
        const failuresBefore = uploadFailures;
        const result = await paced(target, { rate, connections, durationSeconds: seconds });
        const window: Window = {
          at_s: Math.round((performance.now() - started) / 1000),
          offered_rps: rate,
          rps: Math.round(result.rps),
          ok: result.ok,
          errors: result.non2xx + result.errors,
          statuses: result.statuses,
          p50_ms: Number(result.latency.p50.toFixed(2)),
          p99_ms: Number(result.latency.p99.toFixed(2)),
          max_ms: Number(result.latency.max.toFixed(1)),
          rss_mb: Math.round(tokenproc.server.rssMb()),
          uploads: uploads - uploadsBefore,
          upload_failures: uploadFailures - failuresBefore,
        };
        windows.push(window);
        process.stdout.write(
          `${String(window.at_s).padStart(5)} s  ${String(window.rps).padStart(5)}/s  errors ${String(window.errors).padStart(4)}  ` +
            `p50 ${window.p50_ms.toFixed(2).padStart(7)} ms  p99 ${window.p99_ms.toFixed(2).padStart(8)} ms  RSS ${String(window.rss_mb).padStart(5)} MB  ` +
            `uploads ${window.uploads}${window.upload_failures ? ` (${window.upload_failures} failed)` : ''}\n`,
        );
      }
    } finally {
      if (uploader) clearInterval(uploader);
    }

    const rss = windows.map((w) => w.rss_mb);
    const summary = {
      minutes,
      rate,
      capacity,
      requests: windows.reduce((sum, w) => sum + w.ok + w.errors, 0),
      errors: windows.reduce((sum, w) => sum + w.errors, 0),
      uploads,
      upload_failures: uploadFailures,
      worst_window_p99_ms: Math.max(...windows.map((w) => w.p99_ms)),
      median_window_p99_ms: [...windows.map((w) => w.p99_ms)].sort((a, b) => a - b)[Math.floor(windows.length / 2)] ?? null,
      rss_mb_first: rss[0] ?? null,
      rss_mb_last: rss[rss.length - 1] ?? null,
      rss_mb_max: Math.max(...rss),
      node: process.version,
      loadavg_at_end: os.loadavg()[0],
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    const resultsDir = path.join(REPO_ROOT, 'bench', 'results');
    fs.mkdirSync(resultsDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    fs.writeFileSync(path.join(resultsDir, `soak-${stamp}.json`), `${JSON.stringify({ summary, windows }, null, 2)}\n`);
  } finally {
    await tokenproc.stop();
  }
}

await main();
