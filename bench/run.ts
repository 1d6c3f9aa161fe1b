/**
 * `npm run bench`: the token endpoint measured honestly, side by side in one run, on loopback.
 *
 * 1. the crypto floor (ES256 verify + sign in a tight loop on one core);
 * 2. the sandbox's cost per exchange, in process, with the server's own engine and issuance host;
 * 3. side by side, with all three servers running: token exchange with the downscoping procedure of Curity's Implementing Token Exchange tutorial
 *    on our server (`tokenproc serve`, embedded store), the bare floor server (node:http +
 *    node:crypto, nothing else) and the peer (node-oidc-provider with a token-exchange grant doing
 *    the same verify + sign), each warmed up, then saturated in turns over BENCH_ROUNDS rounds;
 * 4. our server further: the exchange with the built-in default procedure, client_credentials, the
 *    exchange at one connection (request time), at a fixed offered load (open loop, and
 *    autocannon's overallRate) and at half its capacity; the bare floor at the fixed load;
 * 5. the hostile neighbour: for each hostile procedure (lib/hostile.ts), a fresh server of ours, the
 *    Curity exchange at half capacity over BENCH_ROUNDS rounds, each alone then while a hostile
 *    client's never-ending procedure is called ~10 times a second;
 * 6. our server with TOKENPROC_WORKERS=1 and =2, both running, saturated in turns;
 * 7. the exchange client (client/): the same exchange repeated with and without its cache.
 *
 * Prints a table of the runs, a table of the figures derived from 2, 5 and 6 (bench/RESULTS.md,
 * "Sandbox v2 figures"), then one JSON line. Settings: see lib/settings.ts (BENCH_* variables).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import type crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChildServer } from './lib/child-server.ts';
import type { ChildServer } from './lib/child-server.ts';
import { checkTokenResponse } from './lib/check.ts';
import { alternateRounds, combineHostileResults, HOSTILE_PROCEDURES, neighbourRatios, roundRatios, startHostileLoad } from './lib/hostile.ts';
import type { HostileLoadResult, NeighbourP99 } from './lib/hostile.ts';
import { measureCryptoFloor } from './lib/crypto-floor.ts';
import type { CryptoFloorResult } from './lib/crypto-floor.ts';
import { generateEs256KeyPair, privateJwkOf, publicJwkOf } from './lib/es256.ts';
import { LatencyRecorder } from './lib/latency.ts';
import { autocannonAtRate, combineRuns, paced, saturate, warmUp } from './lib/load.ts';
import type { LoadResult, Target } from './lib/load.ts';
import { measureSandboxCost } from './lib/sandbox-cost.ts';
import type { SandboxCost } from './lib/sandbox-cost.ts';
import {
  CLIENT_CREDENTIALS_BODY,
  REQUESTED_SCOPE,
  SUBJECT_SCOPE,
  TOKEN_PATH,
  basicAuthorization,
  bodyPool,
  createIdentityProvider,
  exchangeBodies,
  newClient,
} from './lib/scenario.ts';
import type { BenchClient, BodyPool, IdentityProvider } from './lib/scenario.ts';
import { BENCH_USAGE, HOSTILE_VARIANTS, loadSettings } from './lib/settings.ts';
import type { BenchSettings, HostileVariant, Phase } from './lib/settings.ts';
import { processTree } from './lib/thread-cpu.ts';
import { SEED_PROCEDURE_FILE, startTokenproc } from './lib/tokenproc.ts';
import type { StartTokenprocOptions, TokenprocTarget } from './lib/tokenproc.ts';
import { formatProfileSummary, readProfile, summarizeProfile } from './profile-top.ts';
import { loadDefaultProcedure } from '../sandbox/default-procedures.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(BENCH_DIR, '..');

interface Row {
  scenario: string;
  result: LoadResult;
  /** CPU cores the server used during the run (all its threads). */
  serverCores: number;
  /** CPU cores the load generator (this process) used meanwhile: server + generator near 2 means the machine was full. */
  generatorCores: number;
  /** CPU per completed request, microseconds: all threads, and the main thread alone. */
  cpuMicrosPerRequest: number;
  mainThreadMicrosPerRequest: number;
}

const rows: Row[] = [];
/**
 * Rows whose failed requests are what they measure (victims next to a hostile client), not a broken
 * set-up: they are reported (hostile_victims_errors_*) but do not make the run invalid.
 */
const findingScenarios = new Set<string>();
const running = new Set<{ stop(): Promise<void> }>();

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function ensurePeerInstalled(): void {
  if (fs.existsSync(path.join(BENCH_DIR, 'node_modules', 'oidc-provider', 'package.json'))) return;
  log('installing the peer (npm --prefix bench ci)');
  const result = spawnSync('npm', ['--prefix', BENCH_DIR, 'ci', '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 180_000 });
  if (result.status !== 0) throw new Error('npm --prefix bench ci failed');
}

function target(server: ChildServer, client: BenchClient, pool: BodyPool): Target {
  return { origin: server.origin, path: TOKEN_PATH, headers: { authorization: basicAuthorization(client) }, nextBody: () => pool.next() };
}

/** CPU of a server and of this process (the load generator) around one run. */
interface CpuSnapshot {
  server: number;
  main: number;
  generator: NodeJS.CpuUsage;
  at: number;
}

function cpuSnapshot(server: ChildServer): CpuSnapshot {
  return { server: server.cpuSeconds(), main: server.mainThreadCpuSeconds(), generator: process.cpuUsage(), at: performance.now() };
}

/**
 * CPU spent since `before`: server (all threads), its main thread, the generator, and wall time, in
 * seconds. A server that is gone has no /proc entry left to read: its share is then unknown (NaN).
 */
function cpuSince(server: ChildServer, before: CpuSnapshot): { server: number; main: number; generator: number; wall: number } {
  const generator = process.cpuUsage(before.generator);
  const gone = server.exitStatus() !== null;
  return {
    server: gone ? Number.NaN : server.cpuSeconds() - before.server,
    main: gone ? Number.NaN : server.mainThreadCpuSeconds() - before.main,
    generator: (generator.user + generator.system) / 1e6,
    wall: (performance.now() - before.at) / 1000,
  };
}

/** Adds a row to the table (and logs it): a run's result with the CPU it cost. */
function record(scenario: string, result: LoadResult, cpu: { server: number; main: number; generator: number; wall: number }): void {
  const requests = Math.max(1, result.ok + result.non2xx);
  const cpuMicrosPerRequest = (cpu.server / requests) * 1e6;
  const mainThreadMicrosPerRequest = (cpu.main / requests) * 1e6;
  const latency = result.latency;
  log(`${scenario}: ${round(result.rps, 0)} rps, p50 ${round(latency.p50)} ms, p99 ${round(latency.p99)} ms, server CPU ${round(cpuMicrosPerRequest, 0)} µs/request (main thread ${round(mainThreadMicrosPerRequest, 0)} µs), non-2xx ${result.non2xx}, errors ${result.errors}${result.non2xx > 0 ? ` (statuses ${JSON.stringify(result.statuses)})` : ''}`);
  rows.push({ scenario, result, serverCores: cpu.server / cpu.wall, generatorCores: cpu.generator / cpu.wall, cpuMicrosPerRequest, mainThreadMicrosPerRequest });
}

/** Runs a load phase and records the server's CPU use during it. */
async function measured(scenario: string, server: ChildServer, run: () => Promise<LoadResult>, warm?: () => Promise<void>): Promise<LoadResult> {
  if (warm) await warm();
  const before = cpuSnapshot(server);
  const result = await run();
  record(scenario, result, cpuSince(server, before));
  return result;
}

/** One saturation target of the side-by-side comparison. */
interface Contender {
  scenario: string;
  server: ChildServer;
  target: Target;
}

interface SideBySide {
  /** Each contender's rounds taken together, by scenario. */
  combined: Map<string, LoadResult>;
  /** Each contender's rps in every round, by scenario. */
  rounds: Map<string, number[]>;
}

/**
 * The saturation runs that the ratios compare, taken in turns: after a warm-up of each, `rounds`
 * rounds in which every contender runs for durationSeconds/rounds. On this shared machine the
 * capacity drifts by more than the differences measured (other tenants' load moves within
 * minutes), so runs of whole phases one after another compared different machines; in turns, each
 * ratio compares runs seconds apart, and the per-round ratios show the spread.
 */
async function sideBySide(settings: BenchSettings, contenders: readonly Contender[]): Promise<SideBySide> {
  for (const c of contenders) await warmUp(c.target, settings.connections, settings.warmupSeconds);
  const seconds = settings.durationSeconds / settings.rounds;
  const state = contenders.map((c) => ({
    contender: c,
    latencies: new LatencyRecorder(),
    runs: [] as LoadResult[],
    cpu: { server: 0, main: 0, generator: 0, wall: 0 },
  }));
  for (let round = 0; round < settings.rounds; round++) {
    for (const entry of state) {
      const before = cpuSnapshot(entry.contender.server);
      entry.runs.push(await saturate(entry.contender.target, { connections: settings.connections, durationSeconds: seconds, latencies: entry.latencies }));
      const spent = cpuSince(entry.contender.server, before);
      for (const key of ['server', 'main', 'generator', 'wall'] as const) entry.cpu[key] += spent[key];
    }
  }
  const combined = new Map<string, LoadResult>();
  const rounds = new Map<string, number[]>();
  for (const entry of state) {
    const result = combineRuns(entry.runs, entry.latencies);
    record(`${entry.contender.scenario} [${settings.rounds} rounds in turns]`, result, entry.cpu);
    combined.set(entry.contender.scenario, result);
    rounds.set(entry.contender.scenario, entry.runs.map((r) => r.rps));
  }
  return { combined, rounds };
}

const EXCHANGE_SCENARIO = 'exchange (Curity downscoping procedure)';
const BARE_SCENARIO = 'bare floor (node:http + node:crypto)';
const PEER_SCENARIO = 'node-oidc-provider token exchange (peer)';

interface OursRunning {
  tp: TokenprocTarget;
  exchange: Target;
  defaultExchange: Target;
  clientCredentials: Target;
  rss: Array<{ t: number; mb: number }>;
  sampleRss(): void;
  stop(): Promise<void>;
}

async function startOurs(settings: BenchSettings, idp: IdentityProvider): Promise<OursRunning> {
  const nodeOptions = settings.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`] : [];
  const tp: TokenprocTarget = await startTokenproc({ repoRoot: REPO_ROOT, idp, nodeOptions });
  running.add(tp);
  const rss: Array<{ t: number; mb: number }> = [];
  const startedAt = performance.now();
  const sampleRss = () => rss.push({ t: round((performance.now() - startedAt) / 1000, 1), mb: round(tp.server.rssMb(), 1) });
  sampleRss();
  const sampler = setInterval(sampleRss, 1000);
  const stop = async () => {
    clearInterval(sampler);
    await tp.stop();
    running.delete(tp);
  };
  try {
    const server = tp.server;
    const procedurePool = exchangeBodies(idp, tp.procedureClient.id, settings.tokenPool);
    const defaultPool = exchangeBodies(idp, tp.defaultClient.id, settings.tokenPool);
    const ccPool = bodyPool([CLIENT_CREDENTIALS_BODY]);
    const auth = (client: BenchClient) => ({ authorization: basicAuthorization(client) });
    // Retried: with TOKENPROC_WORKERS set, a worker may not have read the new clients yet.
    await untilServed(async () => {
      const jwks = ((await (await fetch(`${server.origin}/oauth/v2/oauth-anonymous/jwks`)).json()) as { keys: crypto.JsonWebKey[] }).keys;
      await checkTokenResponse({ origin: server.origin, path: TOKEN_PATH, headers: auth(tp.procedureClient), body: procedurePool.sample(), keys: jwks, expectScope: REQUESTED_SCOPE, expectSub: 'user-0' });
      await checkTokenResponse({ origin: server.origin, path: TOKEN_PATH, headers: auth(tp.defaultClient), body: defaultPool.sample(), keys: jwks, expectScope: REQUESTED_SCOPE, expectSub: 'user-0' });
      await checkTokenResponse({ origin: server.origin, path: TOKEN_PATH, headers: auth(tp.defaultClient), body: ccPool.sample(), keys: jwks, expectScope: REQUESTED_SCOPE, expectSub: tp.defaultClient.id });
    }, 1);
    return {
      tp,
      exchange: target(server, tp.procedureClient, procedurePool),
      defaultExchange: target(server, tp.defaultClient, defaultPool),
      clientCredentials: target(server, tp.defaultClient, ccPool),
      rss,
      sampleRss,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Our server's other runs, after the side-by-side saturation runs (whose exchange rps sets the half-capacity rate). */
async function benchOursFurther(settings: BenchSettings, ours: OursRunning, exchangeRps: number) {
  const { tp, exchange } = ours;
  const server = tp.server;
  const saturated = (t: Target) => [() => saturate(t, { connections: settings.connections, durationSeconds: settings.durationSeconds }), () => warmUp(t, settings.connections, settings.warmupSeconds)] as const;
  const exchangeDefault = await measured('exchange (built-in default procedure)', server, ...saturated(ours.defaultExchange));
  const clientCredentials = await measured('client_credentials (default procedure)', server, ...saturated(ours.clientCredentials));

  // Request time at one connection, server side (token endpoint histogram), for sandbox_share.
  const before = (await tp.tokenLatency()).get('urn:ietf:params:oauth:grant-type:token-exchange') ?? { sumSeconds: 0, count: 0 };
  const single = await measured('exchange, 1 connection', server, () => saturate(exchange, { connections: 1, durationSeconds: settings.singleConnectionSeconds }));
  const after = (await tp.tokenLatency()).get('urn:ietf:params:oauth:grant-type:token-exchange') ?? { sumSeconds: 0, count: 0 };
  const serverRequestMs = ((after.sumSeconds - before.sumSeconds) / Math.max(1, after.count - before.count)) * 1000;

  const fixedPaced = await measured(`exchange at ${settings.rate}/s (open loop)`, server, () =>
    paced(exchange, { rate: settings.rate, connections: settings.connections, durationSeconds: settings.durationSeconds }),
  );
  const fixedAutocannon = await measured(`exchange at ${settings.rate}/s (autocannon overallRate)`, server, () =>
    autocannonAtRate(exchange, settings.rate, settings.connections, settings.durationSeconds),
  );
  // Tail latency at a load the server does sustain: half of what it reached at saturation.
  const halfRate = Math.max(1, Math.round(exchangeRps / 2));
  const halfCapacity = await measured(`exchange at ${halfRate}/s = half capacity (open loop)`, server, () =>
    paced(exchange, { rate: halfRate, connections: settings.connections, durationSeconds: settings.durationSeconds }),
  );
  ours.sampleRss();
  const rssEnd = server.rssMb();
  if (rows.some((r) => r.result.non2xx > 0)) log(`tokenproc answered some requests with errors; the end of its output:\n${server.output().slice(-4000)}`);
  return { exchangeDefault, clientCredentials, single, serverRequestMs, fixedPaced, fixedAutocannon, halfRate, halfCapacity, rssEnd };
}

interface FloorRunning {
  server: ChildServer;
  target: Target;
}

async function startBareFloor(settings: BenchSettings, idp: IdentityProvider): Promise<FloorRunning> {
  const signer = generateEs256KeyPair();
  const client = newClient('bench-floor-client');
  const server = await startChildServer({
    name: 'bare floor',
    cwd: REPO_ROOT,
    args: ['bench/servers/bare-floor.ts'],
    env: { ...process.env, BENCH_SERVER_CONFIG: JSON.stringify({ idpIssuer: idp.issuer, idpPublicJwk: publicJwkOf(idp.key), signingJwk: privateJwkOf(signer), issuer: 'http://localhost' }) },
  });
  running.add(server);
  try {
    const pool = exchangeBodies(idp, client.id, settings.tokenPool);
    await checkTokenResponse({ origin: server.origin, path: TOKEN_PATH, headers: {}, body: pool.sample(), keys: [publicJwkOf(signer)], expectScope: REQUESTED_SCOPE, expectSub: 'user-0' });
    return { server, target: target(server, client, pool) };
  } catch (error) {
    await stopServer(server);
    throw error;
  }
}

async function stopServer(server: ChildServer): Promise<void> {
  await server.stop();
  running.delete(server);
}

interface PeerRunning extends FloorRunning {
  version: string;
}

async function startPeer(settings: BenchSettings, idp: IdentityProvider): Promise<PeerRunning> {
  ensurePeerInstalled();
  const signer = generateEs256KeyPair();
  const client = newClient('bench-peer-client');
  const server = await startChildServer({
    name: 'node-oidc-provider',
    cwd: REPO_ROOT,
    args: ['bench/servers/oidc-peer.ts'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_SERVER_CONFIG: JSON.stringify({
        issuer: 'http://localhost',
        idpIssuer: idp.issuer,
        idpPublicJwk: publicJwkOf(idp.key),
        signingJwk: privateJwkOf(signer),
        client: { id: client.id, secret: client.secret, scope: SUBJECT_SCOPE },
      }),
    },
  });
  running.add(server);
  try {
    const pool = exchangeBodies(idp, client.id, settings.tokenPool);
    await checkTokenResponse({ origin: server.origin, path: TOKEN_PATH, headers: { authorization: basicAuthorization(client) }, body: pool.sample(), keys: [publicJwkOf(signer)], expectScope: REQUESTED_SCOPE, expectSub: 'user-0' });
    const version = (JSON.parse(fs.readFileSync(path.join(BENCH_DIR, 'node_modules', 'oidc-provider', 'package.json'), 'utf8')) as { version: string }).version;
    return { server, target: target(server, client, pool), version };
  } catch (error) {
    await stopServer(server);
    throw error;
  }
}

/**
 * Runs `check` until it passes `times` times in a row (retrying for at most `timeoutMs`). With
 * worker processes, connections are spread over the workers, and a worker may not yet have read
 * the clients just configured through another (each polls the store): a fresh server's first
 * requests may fail for a moment.
 */
async function untilServed(check: () => Promise<unknown>, times: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let passed = 0;
  while (passed < times) {
    try {
      await check();
      passed += 1;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      passed = 0;
      await sleep(200);
    }
  }
}

/** Checks the Curity exchange `times` times in a row, each on a new connection (so each may reach another worker). */
async function checkExchangeServed(tp: TokenprocTarget, pool: BodyPool, times: number): Promise<void> {
  const origin = tp.server.origin;
  const headers = { authorization: basicAuthorization(tp.procedureClient), connection: 'close' };
  await untilServed(async () => {
    const jwks = ((await (await fetch(`${origin}/oauth/v2/oauth-anonymous/jwks`)).json()) as { keys: crypto.JsonWebKey[] }).keys;
    await checkTokenResponse({ origin, path: TOKEN_PATH, headers, body: pool.sample(), keys: jwks, expectScope: REQUESTED_SCOPE, expectSub: 'user-0' });
  }, times);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A fresh `tokenproc serve` for the hostile and workers phases, stopped by SIGINT too, its seed
 * exchange checked (twice per worker, so that every worker is likely to have answered one).
 * `stop(graceMs)` gives a stuck server that long before SIGKILL.
 */
async function startTracked(settings: BenchSettings, idp: IdentityProvider, options: Pick<StartTokenprocOptions, 'workers' | 'extraProcedures'>) {
  const tp = await startTokenproc({ repoRoot: REPO_ROOT, idp, ...options });
  running.add(tp);
  const stop = async (graceMs?: number) => {
    if (graceMs !== undefined) await tp.server.stop(graceMs);
    await tp.stop();
    running.delete(tp);
  };
  try {
    const pool = exchangeBodies(idp, tp.procedureClient.id, settings.tokenPool);
    await checkExchangeServed(tp, pool, 2 * (options.workers ?? 1));
    return { tp, seedExchange: target(tp.server, tp.procedureClient, pool), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Hostile requests have started before the victims' run by this much, so the victims meet their steady state. */
const HOSTILE_LEAD_IN_MS = 1000;

interface HostileRun {
  variant: HostileVariant;
  victimRate: number;
  /** Rounds whose "alone" run took place (fewer than BENCH_ROUNDS when the server stopped answering). */
  rounds: number;
  /** The victims' "alone" runs of every round, combined (their samples merged). */
  alone: LoadResult;
  /** The victims' runs with the hostile client, combined; null if the server died before the first. */
  withHostile: LoadResult | null;
  /** p99 with / p99 alone, round by round (null where it cannot be computed). */
  byRound: Array<number | null>;
  /** The hostile loads of every round, combined. */
  hostile: HostileLoadResult;
  /** RSS when the first hostile request went out. */
  rssMbBefore: number;
  /** Largest RSS from the first hostile request to the end of the last round. */
  rssMbMax: number;
  /** When the server passed BENCH_HOSTILE_MAX_RSS_MB and was killed, ms after the first hostile request; else null. */
  rssLimitHitAfterMs: number | null;
  /** The server still answered /healthz after the last round. */
  survived: boolean;
  /**
   * Processes of the server's tree after the last round that were not there at the first hostile
   * request: worker processes the server replaced (a supervisor kills a worker whose event loop
   * stopped, say). 0 for one process.
   */
  processesReplaced: number;
  exitStatus: string | null;
}

interface HostilePhase {
  capacityRps: number;
  capacityFrom: 'tokenproc phase' | 'hostile phase';
  runs: HostileRun[];
}

/**
 * Samples the server's RSS; past `limitMb` it kills the server at once, so that the run ends (and
 * leaves the machine's memory to its other tenants). Tells the largest RSS seen, and when the limit
 * was passed, in ms after the watch started (null if it was not).
 */
function watchRss(server: ChildServer, limitMb: number): () => { maxMb: number; limitHitAfterMs: number | null } {
  const start = performance.now();
  let maxMb = server.rssMb();
  let limitHitAfterMs: number | null = null;
  const timer = setInterval(() => {
    const mb = server.rssMb();
    maxMb = Math.max(maxMb, mb);
    if (limitHitAfterMs !== null || mb <= limitMb) return;
    limitHitAfterMs = performance.now() - start;
    log(`${server.name}: RSS ${round(mb, 0)} MB is over BENCH_HOSTILE_MAX_RSS_MB=${limitMb} after ${round(limitHitAfterMs / 1000, 1)} s of hostile load: killing it`);
    void server.stop(0);
  }, 250);
  return () => {
    clearInterval(timer);
    return { maxMb, limitHitAfterMs };
  };
}

async function answersHealth(server: ChildServer): Promise<boolean> {
  if (server.exitStatus() !== null) return false;
  try {
    const response = await fetch(`${server.origin}/healthz`, { signal: AbortSignal.timeout(3000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * One hostile procedure, on a server of its own (what one procedure leaves behind, e.g. memory,
 * does not reach the other's run). After a warm-up, BENCH_ROUNDS rounds of durationSeconds/rounds
 * each: the victims alone, then the same victims while the hostile client's requests run (started
 * HOSTILE_LEAD_IN_MS before, stopped after). Each kind's runs are combined (raw samples), so the
 * ratio compares the same server age and the same drift of the machine; the rounds also tell the
 * spread. The RSS watch covers every round from the first hostile request on; a server that stops
 * answering ends the rounds. `capacity` gives the server's saturated exchange rate (victims run at half).
 */
async function hostileRun(settings: BenchSettings, idp: IdentityProvider, variant: HostileVariant, capacity: (victims: Target, server: ChildServer) => Promise<number>): Promise<HostileRun> {
  const name = `hostile-${variant}`;
  const ours = await startTracked(settings, idp, { extraProcedures: [{ name, source: HOSTILE_PROCEDURES[variant] }] });
  try {
    const server = ours.tp.server;
    const hostileClient = ours.tp.extraClients.get(name);
    if (!hostileClient) throw new Error(`no client for ${name}`);
    const hostileTarget = target(server, hostileClient, exchangeBodies(idp, hostileClient.id, 16));
    const victimRate = Math.max(1, Math.round((await capacity(ours.seedExchange, server)) / 2));
    const roundSeconds = settings.durationSeconds / settings.rounds;
    const scenario = `Curity exchange at ${victimRate}/s = half capacity (open loop)`;
    const aloneScenario = `${scenario}, alone [hostile ${variant} server]`;
    const withScenario = `${scenario} + hostile ${variant} at ${settings.hostileRate}/s`;
    const victims = { alone: new LatencyRecorder(), with: new LatencyRecorder() };
    const cpu = { alone: { server: 0, main: 0, generator: 0, wall: 0 }, with: { server: 0, main: 0, generator: 0, wall: 0 } };
    const hostileLatencies = new LatencyRecorder();
    const hostileResults: HostileLoadResult[] = [];
    /** Set when the first hostile request goes out: the server's RSS and processes then, and its RSS watch. */
    const before: { rssMb: number; pids: Set<number>; stopWatch: ReturnType<typeof watchRss> | null } = { rssMb: Number.NaN, pids: new Set(), stopWatch: null };

    /** The victims for one round, their CPU added to their kind's. */
    const victimRound = async (kind: 'alone' | 'with', index: number) => {
      const snapshot = cpuSnapshot(server);
      const result = await paced(ours.seedExchange, { rate: victimRate, connections: settings.connections, durationSeconds: roundSeconds, alsoRecordInto: victims[kind] });
      const spent = cpuSince(server, snapshot);
      for (const key of ['server', 'main', 'generator', 'wall'] as const) cpu[kind][key] += spent[key];
      log(`${variant} round ${index + 1}/${settings.rounds}, ${kind === 'alone' ? 'alone' : `with hostile ${variant}`}: victims ${round(result.rps, 0)}/s, p50 ${round(result.latency.p50)} ms, p99 ${round(result.latency.p99)} ms, failed ${result.non2xx + result.errors}`);
      return result;
    };

    await warmUp(ours.seedExchange, settings.connections, settings.warmupSeconds);
    const rounds = await alternateRounds(
      settings.rounds,
      async (kind, index) => {
        if (kind === 'alone') {
          // The same pause as the hostile lead-in before a "with" run: without it, an "alone" run
          // started on the tail of the previous run (its GC, its last answers) and measured slower.
          await sleep(HOSTILE_LEAD_IN_MS);
          return victimRound('alone', index);
        }
        if (before.stopWatch === null) {
          before.rssMb = server.rssMb();
          before.pids = new Set(processTree(server.pid).map((stat) => stat.pid));
          before.stopWatch = watchRss(server, settings.hostileMaxRssMb);
        }
        const hostile = startHostileLoad(hostileTarget, {
          rate: settings.hostileRate,
          maxInFlight: settings.hostileMaxInFlight,
          durationSeconds: HOSTILE_LEAD_IN_MS / 1000 + roundSeconds,
          requestTimeoutMs: 30_000,
          drainTimeoutMs: 10_000,
          alsoRecordInto: hostileLatencies,
        });
        await sleep(HOSTILE_LEAD_IN_MS);
        const result = await victimRound('with', index);
        hostileResults.push(await hostile.stop());
        return result;
      },
      () => answersHealth(server),
    );
    const { maxMb, limitHitAfterMs } = before.stopWatch ? before.stopWatch() : { maxMb: Number.NaN, limitHitAfterMs: null };
    const survived = await answersHealth(server);
    const processesReplaced = before.stopWatch ? processTree(server.pid).filter((stat) => !before.pids.has(stat.pid)).length : 0;

    const label = ` [${rounds.alone.length}+${rounds.withHostile.length} rounds alternating]`;
    const alone = combineRuns(rounds.alone, victims.alone);
    record(`${aloneScenario}${label}`, alone, cpu.alone);
    // Failures alone after a hostile round are the hostile client's doing too; in the first round, a broken set-up.
    const firstAlone = rounds.alone[0];
    if (firstAlone !== undefined && firstAlone.non2xx + firstAlone.errors === 0) findingScenarios.add(`${aloneScenario}${label}`);
    const withHostile = rounds.withHostile.length > 0 ? combineRuns(rounds.withHostile, victims.with) : null;
    if (withHostile) {
      findingScenarios.add(`${withScenario}${label}`);
      record(`${withScenario}${label}`, withHostile, cpu.with);
    }
    const hostileResult = combineHostileResults(hostileResults, hostileLatencies);
    const byRound = roundRatios(rounds.alone.map((r) => r.latency.p99), rounds.withHostile.map((r) => r.latency.p99));
    log(`hostile ${variant}: ${hostileResult.sent} sent over ${hostileResults.length} round(s) (${hostileResult.skippedAtCap} skipped at ${settings.hostileMaxInFlight} in flight), outcomes ${JSON.stringify(hostileResult.statuses)}, p50 ${round(hostileResult.latency.p50)} ms; server RSS ${round(before.rssMb, 0)} → max ${round(maxMb, 0)} MB, ${processesReplaced} process(es) replaced; ${survived ? 'server still answers' : `server gone (${server.exitStatus() ?? 'not answering'})`}${rounds.endedEarly ? '; rounds ended early' : ''}; p99 ratio by round ${JSON.stringify(byRound.map((r) => (r === null ? null : round(r, 2))))}`);
    const victimFailures = (withHostile ? withHostile.non2xx + withHostile.errors : 0) + alone.non2xx + alone.errors;
    if (!survived || victimFailures > 0) log(`the end of tokenproc's output:\n${server.output().slice(-3000)}`);
    return { variant, victimRate, rounds: rounds.alone.length, alone, withHostile, byRound, hostile: hostileResult, rssMbBefore: before.rssMb, rssMbMax: maxMb, rssLimitHitAfterMs: limitHitAfterMs, survived, processesReplaced, exitStatus: server.exitStatus() };
  } finally {
    // A server whose main thread is stuck would not stop on SIGTERM: 5 s, then SIGKILL.
    await ours.stop(5000);
  }
}

async function benchHostile(settings: BenchSettings, idp: IdentityProvider, tokenprocRps: number | undefined): Promise<HostilePhase> {
  let capacityRps = tokenprocRps;
  const capacityFrom: HostilePhase['capacityFrom'] = capacityRps === undefined ? 'hostile phase' : 'tokenproc phase';
  const capacity = async (victims: Target, server: ChildServer) => {
    if (capacityRps === undefined) {
      const saturated = await measured('Curity exchange saturated (hostile phase: capacity)', server, () => saturate(victims, { connections: settings.connections, durationSeconds: settings.durationSeconds }), () => warmUp(victims, settings.connections, settings.warmupSeconds));
      capacityRps = saturated.rps;
    }
    return capacityRps;
  };
  const runs: HostileRun[] = [];
  for (const variant of settings.hostileVariants) runs.push(await hostileRun(settings, idp, variant, capacity));
  return { capacityRps: capacityRps ?? Number.NaN, capacityFrom, runs };
}

const workersScenario = (workers: number) => `Curity exchange, TOKENPROC_WORKERS=${workers}`;

interface WorkersPhase {
  compared: SideBySide;
  /** Processes in each server's tree after its runs, by TOKENPROC_WORKERS: shows whether the server honoured it. */
  processes: Map<number, number>;
}

/** `tokenproc serve` with 1 and with 2 worker processes, both running, saturated in turns. */
async function benchWorkers(settings: BenchSettings, idp: IdentityProvider): Promise<WorkersPhase> {
  const started: Array<Awaited<ReturnType<typeof startTracked>> & { workers: number }> = [];
  try {
    for (const workers of [1, 2]) started.push({ ...(await startTracked(settings, idp, { workers })), workers });
    const compared = await sideBySide(settings, started.map((s) => ({ scenario: workersScenario(s.workers), server: s.tp.server, target: s.seedExchange })));
    const processes = new Map(started.map((s) => [s.workers, processTree(s.tp.server.pid).length]));
    log(`processes per server: ${[...processes].map(([workers, count]) => `TOKENPROC_WORKERS=${workers}: ${count}`).join(', ')}`);
    return { compared, processes };
  } finally {
    for (const s of started) await s.stop();
  }
}

function printTable(): void {
  const header = ['scenario', 'generator', 'conns', 'offered/s', 'rps', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'non-2xx', 'errors', 'server cores', 'generator cores', 'CPU µs/req', 'main µs/req'];
  const body = rows.map(({ scenario, result, serverCores, generatorCores, cpuMicrosPerRequest, mainThreadMicrosPerRequest }) => [
    scenario,
    result.generator,
    String(result.connections),
    result.offeredRate === null ? '-' : String(result.offeredRate),
    result.rps.toFixed(0),
    result.latency.p50.toFixed(2),
    result.latency.p90.toFixed(2),
    result.latency.p99.toFixed(2),
    result.latency.p999.toFixed(2),
    result.latency.max.toFixed(1),
    String(result.non2xx),
    String(result.errors),
    serverCores.toFixed(2),
    generatorCores.toFixed(2),
    cpuMicrosPerRequest.toFixed(0),
    mainThreadMicrosPerRequest.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  process.stdout.write(`${line(header)}\n|${widths.map((w, i) => (i < 2 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|\n`);
  for (const r of body) process.stdout.write(`${line(r)}\n`);
}

/** One line of the second table: a derived figure, its value, and what it came from. */
type Figure = [name: string, value: string, detail: string];

function printFigures(figures: readonly Figure[]): void {
  if (figures.length === 0) return;
  const header: Figure = ['figure', 'value', 'from'];
  const widths = header.map((h, i) => Math.max(h.length, ...figures.map((f) => f[i]?.length ?? 0)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 1 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  process.stdout.write(`${line(header)}\n|${widths.map((w, i) => (i === 1 ? `-${'-'.repeat(w)}:` : `-${'-'.repeat(w)}-`)).join('|')}|\n`);
  for (const f of figures) process.stdout.write(`${line(f)}\n`);
}

const fixed = (value: number | null | undefined, digits: number) => (value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits));

/** Per hostile procedure, the victims' p99 alone and with it. */
function neighbourP99s(phase: HostilePhase | null): ReadonlyMap<HostileVariant, NeighbourP99> {
  return new Map((phase?.runs ?? []).map((r) => [r.variant, { aloneP99Ms: r.alone.latency.p99, withHostileP99Ms: r.withHostile?.latency.p99 ?? Number.NaN }]));
}

/** The hostile phase's JSON keys, present (null) when it did not run, so results files compare. */
function hostileSummary(settings: BenchSettings, phase: HostilePhase | null): Record<string, unknown> {
  const { ratios, worst } = neighbourRatios(neighbourP99s(phase));
  const summary: Record<string, unknown> = {
    hostile_neighbour_p99_ratio: worst === null ? null : round(worst, 3),
    hostile_rate: phase ? settings.hostileRate : null,
    hostile_victims_rate: phase?.runs[0]?.victimRate ?? null,
    hostile_capacity_rps: phase ? round(phase.capacityRps, 0) : null,
    hostile_capacity_from: phase?.capacityFrom ?? null,
  };
  for (const variant of HOSTILE_VARIANTS) {
    const run = phase?.runs.find((r) => r.variant === variant);
    const ratio = ratios.get(variant);
    Object.assign(summary, {
      [`hostile_neighbour_p99_ratio_${variant}`]: ratio === undefined || ratio === null ? null : round(ratio, 3),
      [`hostile_neighbour_p99_ratio_${variant}_by_round`]: run ? run.byRound.map((r) => (r === null ? null : round(r, 3))) : null,
      [`hostile_rounds_${variant}`]: run ? run.rounds : null,
      [`hostile_victims_alone_p99_ms_${variant}`]: run ? round(run.alone.latency.p99, 3) : null,
      [`hostile_victims_p99_ms_${variant}`]: run?.withHostile ? round(run.withHostile.latency.p99, 3) : null,
      [`hostile_victims_alone_rps_${variant}`]: run ? round(run.alone.rps, 0) : null,
      [`hostile_victims_rps_${variant}`]: run?.withHostile ? round(run.withHostile.rps, 0) : null,
      [`hostile_victims_alone_errors_${variant}`]: run ? run.alone.non2xx + run.alone.errors : null,
      [`hostile_victims_errors_${variant}`]: run?.withHostile ? run.withHostile.non2xx + run.withHostile.errors : null,
      [`hostile_victims_statuses_${variant}`]: run?.withHostile?.statuses ?? null,
      [`hostile_requests_${variant}`]: run
        ? { due: run.hostile.due, sent: run.hostile.sent, skipped_at_cap: run.hostile.skippedAtCap, outcomes: run.hostile.statuses, peak_in_flight: run.hostile.peakInFlight, p50_ms: round(run.hostile.latency.p50, 1), max_ms: round(run.hostile.latency.max, 1) }
        : null,
      [`hostile_server_${variant}`]: run
        ? { rss_mb_before: round(run.rssMbBefore, 1), rss_mb_max: round(run.rssMbMax, 1), rss_limit_hit_after_s: run.rssLimitHitAfterMs === null ? null : round(run.rssLimitHitAfterMs / 1000, 2), survived: run.survived, processes_replaced: run.processesReplaced, exit: run.exitStatus }
        : null,
    });
  }
  return summary;
}

function hostileFigures(settings: BenchSettings, phase: HostilePhase | null): Figure[] {
  if (!phase) return [];
  const { ratios, worst } = neighbourRatios(neighbourP99s(phase));
  const figures: Figure[] = phase.runs.map((run) => [
    `hostile_neighbour_p99_ratio_${run.variant}`,
    fixed(ratios.get(run.variant), 2),
    `victims at ${run.victimRate}/s, ${run.rounds} rounds alternating: p99 ${fixed(run.alone.latency.p99, 1)} ms alone → ${fixed(run.withHostile?.latency.p99, 1)} ms with hostile ${run.variant} at ${settings.hostileRate}/s ` +
      `(by round ${run.byRound.map((r) => fixed(r, 2)).join(', ')}); ` +
      `victims ${fixed(run.withHostile?.rps, 0)}/s, ${run.withHostile ? run.withHostile.non2xx + run.withHostile.errors : '-'} failed with, ${run.alone.non2xx + run.alone.errors} alone; hostile outcomes ${JSON.stringify(run.hostile.statuses)}` +
      `${run.processesReplaced > 0 ? `; ${run.processesReplaced} server process(es) replaced` : ''}` +
      `${run.survived ? '' : `; server gone (${run.exitStatus ?? 'not answering'}${run.rssLimitHitAfterMs === null ? '' : `, killed at the RSS limit after ${fixed(run.rssLimitHitAfterMs / 1000, 1)} s`})`}`,
  ]);
  figures.push(['hostile_neighbour_p99_ratio', fixed(worst, 2), `the larger of ${phase.runs.map((r) => r.variant).join(', ')}; capacity ${fixed(phase.capacityRps, 0)}/s from the ${phase.capacityFrom}`]);
  return figures;
}

/** rps, server cores and CPU per request of one TOKENPROC_WORKERS setting. */
function workersFigures(phase: WorkersPhase | null, workers: number) {
  const result = phase?.compared.combined.get(workersScenario(workers));
  const row = rows.find((r) => r.scenario.startsWith(`${workersScenario(workers)} [`));
  return {
    rps: result?.rps,
    p99: result?.latency.p99,
    cores: row?.serverCores,
    cpu: row?.cpuMicrosPerRequest,
    byRound: phase?.compared.rounds.get(workersScenario(workers)),
    processes: phase?.processes.get(workers),
  };
}

function workersSummary(phase: WorkersPhase | null): Record<string, unknown> {
  const one = workersFigures(phase, 1);
  const two = workersFigures(phase, 2);
  const rounded = (v: number | undefined, digits: number) => (v === undefined ? null : round(v, digits));
  return {
    workers_1_rps: rounded(one.rps, 0),
    workers_2_rps: rounded(two.rps, 0),
    workers_2_to_1_ratio: one.rps === undefined || two.rps === undefined ? null : round(two.rps / one.rps, 3),
    workers_2_to_1_ratio_by_round: one.byRound && two.byRound ? two.byRound.map((rps, i) => round(rps / (one.byRound?.[i] ?? Number.NaN), 3)) : null,
    workers_1_p99_ms: rounded(one.p99, 3),
    workers_2_p99_ms: rounded(two.p99, 3),
    workers_1_server_cores: rounded(one.cores, 2),
    workers_2_server_cores: rounded(two.cores, 2),
    workers_1_cpu_us_per_request: rounded(one.cpu, 0),
    workers_2_cpu_us_per_request: rounded(two.cpu, 0),
    workers_1_processes: one.processes ?? null,
    workers_2_processes: two.processes ?? null,
  };
}

function workersTable(phase: WorkersPhase | null): Figure[] {
  if (!phase) return [];
  const one = workersFigures(phase, 1);
  const two = workersFigures(phase, 2);
  const detail = (f: typeof one) =>
    `saturated, ${one.byRound?.length ?? 0} rounds in turns; ${f.processes ?? '?'} server process(es), ${fixed(f.cores, 2)} cores, CPU ${fixed(f.cpu, 0)} µs/request`;
  const honoured = two.processes !== undefined && two.processes > (one.processes ?? 1);
  return [
    ['workers_1_rps', fixed(one.rps, 0), detail(one)],
    ['workers_2_rps', fixed(two.rps, 0), detail(two)],
    [
      'workers_2_to_1_ratio',
      fixed(one.rps === undefined || two.rps === undefined ? undefined : two.rps / one.rps, 3),
      honoured
        ? `by round ${JSON.stringify(workersSummary(phase).workers_2_to_1_ratio_by_round)}`
        : `${one.processes ?? '?'} and ${two.processes ?? '?'} server processes: TOKENPROC_WORKERS=2 started no second process (not honoured yet?), so expect ~1`,
    ],
  ];
}

function sandboxFigures(cost: SandboxCost | null): Figure[] {
  if (!cost) return [];
  return [
    [
      'sandbox_main_thread_us_per_call',
      fixed(cost.mainThreadMicrosPerCall, 1),
      `Curity downscoping procedure, in process, 1 call at a time (${cost.calls} calls): main-thread CPU per engine.run ${fixed(cost.mainThreadMicrosPerCall + cost.signingMicrosPerCall, 1)} µs less ES256 signing ${fixed(cost.signingMicrosPerCall, 1)} µs`,
    ],
  ];
}

/** Waits (bounded) until the machine's 1-minute load average is below BENCH_MAX_LOAD, when set. */
async function waitForQuiet(settings: BenchSettings): Promise<number> {
  const load = () => os.loadavg()[0] ?? 0;
  if (settings.maxLoad === null) return load();
  const deadline = Date.now() + settings.quietWaitSeconds * 1000;
  while (load() >= settings.maxLoad && Date.now() < deadline) {
    log(`load average ${load().toFixed(2)} >= ${settings.maxLoad}: waiting for a quieter machine`);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
  return load();
}

function newestProfile(dir: string): string | null {
  if (!fs.existsSync(dir)) return null;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files[0] ?? null;
}

interface ClientCacheRun {
  uncached: { meanMs: number; serverRequests: number };
  cached: { meanMs: number; serverRequests: number };
  savedPerCallMs: number;
}

/**
 * Phase "client": the exchange client's own script (client/bench/cache-savings.ts) against a local
 * tokenproc: the same exchange repeated with and without the client's cache.
 */
function measureClientCache(): ClientCacheRun {
  const output = execFileSync(process.execPath, ['--no-node-snapshot', path.join(REPO_ROOT, 'client', 'bench', 'cache-savings.ts'), '--json', '--iterations', '500'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const run = JSON.parse(output.slice(output.indexOf('{'))) as ClientCacheRun;
  log(
    `exchange client, repeated exchange: ${run.uncached.meanMs} ms and ${run.uncached.serverRequests} server requests without its cache, ` +
      `${run.cached.meanMs} ms and ${run.cached.serverRequests} with it (saves ${run.savedPerCallMs} ms a call)`,
  );
  return run;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(BENCH_USAGE);
    return;
  }
  const settings = loadSettings(process.env);
  const loadStart = await waitForQuiet(settings);
  const isolatedVmVersion = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'isolated-vm', 'package.json'), 'utf8')) as { version: string }).version;
  log(`node ${process.version}, isolated-vm ${isolatedVmVersion}, ${os.cpus().length} cores, load average ${loadStart.toFixed(2)}; ${JSON.stringify({ ...settings, phases: [...settings.phases] })}`);
  const idp = createIdentityProvider();
  const only = (phase: Phase) => settings.phases.has(phase);

  let cryptoFloor: CryptoFloorResult | null = null;
  if (only('crypto')) {
    const cryptoTokens = Array.from({ length: settings.tokenPool }, (_, i) => idp.mint('bench-crypto-client', `user-${i}`));
    cryptoFloor = measureCryptoFloor(idp, cryptoTokens, settings.cryptoSeconds);
    log(`crypto floor: ${cryptoFloor.opsPerSecond.toFixed(0)} verify+sign/s (verify ${cryptoFloor.verifyMicros.toFixed(1)} µs, sign ${cryptoFloor.signMicros.toFixed(1)} µs)`);
  }

  let sandboxSeed: SandboxCost | null = null;
  let sandboxDefault: SandboxCost | null = null;
  if (only('sandbox')) {
    const seedSource = fs.readFileSync(path.join(REPO_ROOT, SEED_PROCEDURE_FILE), 'utf8');
    const pool = exchangeBodies(idp, 'bench-sandbox-client', settings.tokenPool);
    sandboxSeed = await measureSandboxCost({ id: 'bench-seed', source: seedSource, sha256: '' }, 'bench-sandbox-client', pool, settings.sandboxSeconds);
    sandboxDefault = await measureSandboxCost(loadDefaultProcedure('oauth-token-oauth-token-exchange'), 'bench-sandbox-client', pool, settings.sandboxSeconds);
    for (const [name, cost] of [['seed procedure', sandboxSeed], ['default procedure', sandboxDefault]] as const) {
      log(`sandbox, ${name}: run ${cost.runMs.toFixed(3)} ms, of which host services ${cost.hostMs.toFixed(3)} ms; main thread CPU ${cost.mainThreadMs.toFixed(3)} ms per call (${cost.calls} calls, ${cost.failures} failed)`);
    }
  }

  // All three servers run at once, so that their saturation runs can be taken in turns.
  const oursRunning = only('tokenproc') ? await startOurs(settings, idp) : null;
  const floorRunning = only('bare') ? await startBareFloor(settings, idp) : null;
  const peerRunning = only('peer') ? await startPeer(settings, idp) : null;
  const contenders: Contender[] = [];
  if (oursRunning) contenders.push({ scenario: EXCHANGE_SCENARIO, server: oursRunning.tp.server, target: oursRunning.exchange });
  if (floorRunning) contenders.push({ scenario: BARE_SCENARIO, server: floorRunning.server, target: floorRunning.target });
  if (peerRunning) contenders.push({ scenario: PEER_SCENARIO, server: peerRunning.server, target: peerRunning.target });
  const compared = await sideBySide(settings, contenders);
  const exchangeSaturated = compared.combined.get(EXCHANGE_SCENARIO);
  const bareSaturated = compared.combined.get(BARE_SCENARIO);
  const peerSaturated = compared.combined.get(PEER_SCENARIO);
  const rssAfterFirstPhase = oursRunning?.tp.server.rssMb();
  if (peerRunning) await stopServer(peerRunning.server);

  const further = oursRunning && exchangeSaturated ? await benchOursFurther(settings, oursRunning, exchangeSaturated.rps) : null;
  if (oursRunning) await oursRunning.stop();
  // The same open-loop run against the floor: what the load generator itself adds to p99.
  const bareFixed = floorRunning
    ? await measured(`bare floor at ${settings.rate}/s (open loop)`, floorRunning.server, () =>
        paced(floorRunning.target, { rate: settings.rate, connections: settings.connections, durationSeconds: settings.durationSeconds }),
      )
    : null;
  if (floorRunning) await stopServer(floorRunning.server);

  // Half the capacity the side-by-side runs measured, when they ran; else the phase measures it.
  const hostilePhase = only('hostile') ? await benchHostile(settings, idp, exchangeSaturated?.rps) : null;
  const workersPhase = only('workers') ? await benchWorkers(settings, idp) : null;
  const clientCache = only('client') ? measureClientCache() : null;

  /** Per-round ratios of the exchange to another contender (the spread of the ratio). */
  const roundRatios = (other: string): number[] | null => {
    const ourRounds = compared.rounds.get(EXCHANGE_SCENARIO);
    const theirRounds = compared.rounds.get(other);
    if (!ourRounds || !theirRounds) return null;
    return ourRounds.map((rps, i) => round(rps / (theirRounds[i] ?? Number.NaN), 3));
  };

  const allClean = rows.every((r) => findingScenarios.has(r.scenario) || (r.result.non2xx === 0 && r.result.errors === 0));
  process.stdout.write('\n');
  printTable();
  process.stdout.write('\n');
  const figures = [...hostileFigures(settings, hostilePhase), ...workersTable(workersPhase), ...sandboxFigures(sandboxSeed)];
  if (figures.length > 0) {
    process.stdout.write('Sandbox v2 figures (bench/RESULTS.md says what they mean):\n');
    printFigures(figures);
    process.stdout.write('\n');
  }

  if (settings.profileDir) {
    const file = newestProfile(settings.profileDir);
    if (file) process.stdout.write(`CPU profile of tokenproc (${file}):\n${formatProfileSummary(summarizeProfile(readProfile(file), 30))}\n\n`);
  }

  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? null : round(a / b, 3));
  const value = (v: number | undefined, digits = 3) => (v === undefined ? null : round(v, digits));
  const summary = {
    exchange_rps: value(exchangeSaturated?.rps, 0),
    exchange_p50_ms: value(further?.fixedPaced.latency.p50),
    exchange_p99_ms: value(further?.fixedPaced.latency.p99),
    exchange_fixed_rate: settings.rate,
    exchange_fixed_rate_achieved_rps: value(further?.fixedPaced.rps, 0),
    exchange_p99_ms_autocannon_rate: value(further?.fixedAutocannon.latency.p99),
    exchange_half_capacity_rate: further?.halfRate ?? null,
    exchange_half_capacity_p99_ms: value(further?.halfCapacity.latency.p99),
    exchange_1conn_p50_ms: value(further?.single.latency.p50),
    exchange_1conn_p99_ms: value(further?.single.latency.p99),
    exchange_saturation_p50_ms: value(exchangeSaturated?.latency.p50),
    exchange_saturation_p99_ms: value(exchangeSaturated?.latency.p99),
    exchange_default_rps: value(further?.exchangeDefault.rps, 0),
    exchange_default_p99_ms: value(further?.exchangeDefault.latency.p99),
    cc_rps: value(further?.clientCredentials.rps, 0),
    cc_p99_ms: value(further?.clientCredentials.latency.p99),
    bare_rps: value(bareSaturated?.rps, 0),
    bare_p99_ms: value(bareSaturated?.latency.p99),
    bare_p99_ms_at_fixed_rate: value(bareFixed?.latency.p99),
    crypto_floor_ops: value(cryptoFloor?.opsPerSecond, 0),
    floor_ratio: ratio(exchangeSaturated?.rps, bareSaturated?.rps),
    floor_ratio_by_round: roundRatios(BARE_SCENARIO),
    sandbox_ms: value(sandboxSeed?.sandboxMs, 4),
    sandbox_host_ms: value(sandboxSeed?.hostMs, 4),
    request_ms_1conn: value(further?.serverRequestMs, 4),
    sandbox_share: ratio(sandboxSeed?.sandboxMs, further?.serverRequestMs),
    sandbox_share_incl_host: ratio(sandboxSeed?.runMs, further?.serverRequestMs),
    sandbox_default_ms: value(sandboxDefault?.sandboxMs, 4),
    sandbox_main_thread_ms: value(sandboxSeed?.mainThreadMs, 4),
    sandbox_main_thread_us_per_call: value(sandboxSeed?.mainThreadMicrosPerCall, 1),
    sandbox_main_thread_signing_us_per_call: value(sandboxSeed?.signingMicrosPerCall, 1),
    exchange_cpu_us_per_request: value(rows.find((r) => r.scenario.startsWith(EXCHANGE_SCENARIO))?.cpuMicrosPerRequest, 0),
    exchange_main_thread_us_per_request: value(rows.find((r) => r.scenario.startsWith(EXCHANGE_SCENARIO))?.mainThreadMicrosPerRequest, 0),
    exchange_1conn_rps: value(further?.single.rps, 0),
    peer: peerRunning ? `oidc-provider@${peerRunning.version}` : null,
    peer_rps: value(peerSaturated?.rps, 0),
    peer_p99_ms: value(peerSaturated?.latency.p99),
    peer_ratio: ratio(exchangeSaturated?.rps, peerSaturated?.rps),
    peer_ratio_by_round: roundRatios(PEER_SCENARIO),
    rss_mb: value(further?.rssEnd, 1),
    rss_mb_after_first_phase: value(rssAfterFirstPhase, 1),
    rss_mb_min: oursRunning ? round(Math.min(...oursRunning.rss.map((s) => s.mb)), 1) : null,
    rss_mb_max: oursRunning ? round(Math.max(...oursRunning.rss.map((s) => s.mb)), 1) : null,
    ...hostileSummary(settings, hostilePhase),
    ...workersSummary(workersPhase),
    client_cache_uncached_mean_ms: clientCache?.uncached.meanMs ?? null,
    client_cache_cached_mean_ms: clientCache?.cached.meanMs ?? null,
    client_cache_saved_ms_per_call: clientCache?.savedPerCallMs ?? null,
    client_cache_server_requests: clientCache ? { uncached: clientCache.uncached.serverRequests, cached: clientCache.cached.serverRequests } : null,
    tokenproc_workers_env: process.env.TOKENPROC_WORKERS ?? null,
    connections: settings.connections,
    duration_s: settings.durationSeconds,
    rounds: settings.rounds,
    warmup_s: settings.warmupSeconds,
    all_requests_ok: allClean,
    node: process.version,
    isolated_vm: isolatedVmVersion,
    cores: os.cpus().length,
    loadavg_at_start: round(loadStart, 2),
  };
  const resultsDir = path.join(BENCH_DIR, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  fs.writeFileSync(path.join(resultsDir, `${stamp}.json`), `${JSON.stringify({ summary, settings: { ...settings, phases: [...settings.phases] }, rows, rss: oursRunning?.rss ?? null }, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (!allClean) {
    log('some requests failed: the numbers above are not valid');
    process.exitCode = 1;
  }
}

const stopAll = async () => {
  await Promise.allSettled([...running].map((s) => s.stop()));
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the servers`);
    void stopAll().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  await stopAll();
  process.exitCode = 1;
}
