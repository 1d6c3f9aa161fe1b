/** Benchmark settings from the environment: short defaults, every one bounded. */

export const PHASES = ['crypto', 'sandbox', 'tokenproc', 'bare', 'peer', 'hostile', 'workers', 'client'] as const;
export type Phase = (typeof PHASES)[number];

/** The hostile phase's procedures (lib/hostile.ts), each run once. */
export const HOSTILE_VARIANTS = ['loop', 'alloc'] as const;
export type HostileVariant = (typeof HOSTILE_VARIANTS)[number];

export interface BenchSettings {
  /** Seconds each measured run lasts. */
  durationSeconds: number;
  /**
   * The saturation runs of the Curity exchange, the bare floor and the peer (and of the two workers
   * settings) are taken in turns, in this many rounds of durationSeconds/rounds each; so are the
   * hostile phase's victims, alone and with the hostile client (BENCH_ROUNDS, default 4).
   */
  rounds: number;
  /** Seconds of discarded load before each saturation run. */
  warmupSeconds: number;
  /** Connections of the saturation runs (the same for every target). */
  connections: number;
  /** Offered load of the fixed-rate runs, requests per second. */
  rate: number;
  /** Seconds of the one-connection run that gives the server's request time. */
  singleConnectionSeconds: number;
  cryptoSeconds: number;
  sandboxSeconds: number;
  /** Distinct subject tokens each client's requests rotate through. */
  tokenPool: number;
  /** What to run (BENCH_ONLY=tokenproc,bare ...; BENCH_PEER=0 drops the peer). All by default. */
  phases: ReadonlySet<Phase>;
  /** Which hostile procedures the hostile phase runs (BENCH_HOSTILE=loop,alloc; both by default). */
  hostileVariants: readonly HostileVariant[];
  /** Hostile requests per second while the victims are measured (BENCH_HOSTILE_RATE, default 10). */
  hostileRate: number;
  /** Hostile requests in flight at most; a send due while this many are pending is skipped (BENCH_HOSTILE_MAX_IN_FLIGHT, 20). */
  hostileMaxInFlight: number;
  /** The hostile phase kills the server when its RSS passes this (BENCH_HOSTILE_MAX_RSS_MB, 2048), so that a run ends. */
  hostileMaxRssMb: number;
  /** Directory for a --cpu-prof profile of our server, or null. */
  profileDir: string | null;
  /** Start only once the 1-minute load average is below this (BENCH_MAX_LOAD), or null to start at once. */
  maxLoad: number | null;
  /** How long to wait for that at most (BENCH_QUIET_WAIT, seconds). */
  quietWaitSeconds: number;
}

/** `npm run bench -- --help`. */
export const BENCH_USAGE = `usage: npm run bench [-- --help]

Measures the token endpoint on loopback: the crypto floor, the sandbox's cost per exchange, then
the exchange with Curity's downscoping procedure on tokenproc, the bare floor server and node-oidc-provider saturated in turns,
then tokenproc's other scenarios; then tokenproc next to a hostile client whose procedure never ends,
and tokenproc with 1 and 2 worker processes. Prints two tables and one JSON line; also writes
bench/results/*.json.
See bench/RESULTS.md for what each figure means.

Settings (environment):
  BENCH_DURATION=8        seconds measured per scenario (the side-by-side runs share them out over the rounds)
  BENCH_ROUNDS=4          rounds in which the exchange, the floor and the peer take turns (and the
                          hostile phase's victims alone and with the hostile client)
  BENCH_WARMUP=3          seconds of unmeasured load before each saturation run
  BENCH_CONNECTIONS=32    connections of the saturation and fixed-rate runs
  BENCH_RATE=2000         offered load of the fixed-rate runs, requests per second
  BENCH_SINGLE_CONNECTION_DURATION=5, BENCH_CRYPTO_DURATION=3, BENCH_SANDBOX_DURATION=3
  BENCH_TOKEN_POOL=256    distinct subject tokens each client's requests rotate through
  BENCH_ONLY=crypto,sandbox,tokenproc,bare,peer,hostile,workers,client   run only these phases; BENCH_PEER=0 drops the peer
  (client: what the exchange client's cache saves on a repeated exchange, client/bench/cache-savings.ts)
  BENCH_HOSTILE=loop,alloc        hostile procedures to run (loop: for (;;) {}; alloc: pushes arrays for ever)
  BENCH_HOSTILE_RATE=10           hostile requests per second next to the victims
  BENCH_HOSTILE_MAX_IN_FLIGHT=20  hostile requests pending at most (sends due beyond it are skipped, and counted)
  BENCH_HOSTILE_MAX_RSS_MB=2048   the hostile phase kills the server above this RSS (and says so)
  BENCH_PROFILE=DIR       run tokenproc with --cpu-prof into DIR and print its top functions
  BENCH_MAX_LOAD=N        wait (at most BENCH_QUIET_WAIT=300 s) for a 1-minute load average below N
  TOKENPROC_WORKERS       passed on to tokenproc in every phase but "workers", which sets it to 1 and 2

Sandbox v2 figures (also printed as a second table; see bench/RESULTS.md):
  hostile_neighbour_p99_ratio_loop, _alloc   phase "hostile": p99 of normal Curity exchanges (open loop at
      half the server's capacity: the tokenproc phase's exchange_rps, else a short saturation run) while
      a hostile client's never-ending procedure is called BENCH_HOSTILE_RATE times a second, over their
      p99 alone on the same server, in BENCH_ROUNDS rounds of alternating order (alone, with | with, alone ...;
      each kind's samples merged); hostile_neighbour_p99_ratio = the larger of the two.
      With: _by_round (the ratio in each round), hostile_victims_[alone_]p99_ms_*, _rps_*, _errors_*
      (non-2xx + socket errors; a ratio means little when these are not 0) and hostile_requests_*
      (status counts over all rounds; 500 expected).
  workers_1_rps, workers_2_rps, workers_2_to_1_ratio   phase "workers": the Curity exchange saturated on
      tokenproc with TOKENPROC_WORKERS=1 and =2, both running, in turns (BENCH_ROUNDS).
  sandbox_main_thread_us_per_call   phase "sandbox": main-thread CPU per engine.run of the Curity
      downscoping procedure, in process, one call at a time, ES256 signing excluded (measured apart:
      sandbox_main_thread_signing_us_per_call).
`;

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new RangeError(`${name} must be a number from ${min} to ${max} (got ${raw})`);
  return value;
}

function phasesFrom(env: NodeJS.ProcessEnv): ReadonlySet<Phase> {
  const names = env.BENCH_ONLY ? env.BENCH_ONLY.split(',').map((name) => name.trim()).filter(Boolean) : [...PHASES];
  const phases = new Set<Phase>();
  for (const name of names) {
    if (!(PHASES as readonly string[]).includes(name)) throw new RangeError(`BENCH_ONLY: unknown phase ${name} (phases: ${PHASES.join(', ')})`);
    phases.add(name as Phase);
  }
  if (env.BENCH_PEER === '0') phases.delete('peer');
  return phases;
}

function hostileVariantsFrom(env: NodeJS.ProcessEnv): readonly HostileVariant[] {
  const names = env.BENCH_HOSTILE ? env.BENCH_HOSTILE.split(',').map((name) => name.trim()).filter(Boolean) : [...HOSTILE_VARIANTS];
  const variants: HostileVariant[] = [];
  for (const name of names) {
    if (!(HOSTILE_VARIANTS as readonly string[]).includes(name)) throw new RangeError(`BENCH_HOSTILE: unknown procedure ${name} (procedures: ${HOSTILE_VARIANTS.join(', ')})`);
    if (!variants.includes(name as HostileVariant)) variants.push(name as HostileVariant);
  }
  return variants;
}

export function loadSettings(env: NodeJS.ProcessEnv): BenchSettings {
  const durationSeconds = number(env, 'BENCH_DURATION', 8, 1, 120);
  return {
    durationSeconds,
    rounds: Math.round(number(env, 'BENCH_ROUNDS', 4, 1, 20)),
    warmupSeconds: number(env, 'BENCH_WARMUP', 3, 0, 60),
    connections: Math.round(number(env, 'BENCH_CONNECTIONS', 32, 1, 512)),
    rate: Math.round(number(env, 'BENCH_RATE', 2000, 1, 100_000)),
    singleConnectionSeconds: number(env, 'BENCH_SINGLE_CONNECTION_DURATION', Math.min(5, durationSeconds), 1, 60),
    cryptoSeconds: number(env, 'BENCH_CRYPTO_DURATION', 3, 0.5, 60),
    sandboxSeconds: number(env, 'BENCH_SANDBOX_DURATION', 3, 0.5, 60),
    tokenPool: Math.round(number(env, 'BENCH_TOKEN_POOL', 256, 1, 10_000)),
    phases: phasesFrom(env),
    hostileVariants: hostileVariantsFrom(env),
    hostileRate: number(env, 'BENCH_HOSTILE_RATE', 10, 0.1, 1000),
    hostileMaxInFlight: Math.round(number(env, 'BENCH_HOSTILE_MAX_IN_FLIGHT', 20, 1, 1000)),
    hostileMaxRssMb: number(env, 'BENCH_HOSTILE_MAX_RSS_MB', 2048, 64, 65_536),
    profileDir: env.BENCH_PROFILE ? env.BENCH_PROFILE : null,
    maxLoad: env.BENCH_MAX_LOAD ? number(env, 'BENCH_MAX_LOAD', 1, 0.01, 100) : null,
    quietWaitSeconds: number(env, 'BENCH_QUIET_WAIT', 300, 0, 3600),
  };
}
