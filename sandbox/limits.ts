import type { SandboxLimits } from './types.ts';

/**
 * Safe defaults for small scripts.
 *
 * Paths (see path-selector.ts): a new procedure version serves its first 20 calls per client on
 * its isolate's own thread; if each ended cleanly within 5 ms of CPU it is promoted to run on the
 * calling thread, where a call costs a fraction of the hand-off and is stopped at 20 ms (then run
 * again on its own thread under the full limits). 20 ms leaves room for preemption on a loaded
 * machine; a promoted procedure that really runs that long is sent back, and demoted for good on
 * the third time.
 *
 * Up to four isolates per procedure and client on the own-thread path: an isolate waits while the
 * main thread serves its host calls, so with only two a hot procedure left the main thread idle
 * ~12% of the time at saturation (bench/RESULTS.md). Isolates are created only when calls overlap,
 * and idle ones are evicted. They are not rebuilt after a number of calls (0), only when their heap
 * stays over half full: a new isolate needs a few hundred calls before its JIT settles.
 */
export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  cpuTimeMs: 100,
  wallTimeMs: 1000,
  memoryMb: 32,
  maxResultBytes: 64 * 1024,
  maxIssueCalls: 8,
  maxLogLinesPerCall: 20,
  maxLogLineLength: 2048,
  maxCallsPerIsolate: 0,
  syncCallMs: 20,
  probationCalls: 20,
  promotionMaxMs: 5,
  idleEvictMs: 5 * 60 * 1000,
  maxIsolatesPerProcedure: 4,
});

/** isolated-vm refuses heaps below 8 MiB. */
const MINIMUM: Readonly<SandboxLimits> = {
  cpuTimeMs: 1,
  wallTimeMs: 1,
  memoryMb: 8,
  maxResultBytes: 256,
  maxIssueCalls: 0,
  maxLogLinesPerCall: 0,
  maxLogLineLength: 16,
  maxCallsPerIsolate: 0,
  syncCallMs: 1,
  probationCalls: 0,
  promotionMaxMs: 0,
  idleEvictMs: 1,
  maxIsolatesPerProcedure: 1,
};

/** Merges overrides into the defaults; every limit must be a whole number at or above its minimum. */
export function resolveSandboxLimits(overrides: Partial<SandboxLimits> = {}): SandboxLimits {
  const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS };
  for (const key of Object.keys(DEFAULT_SANDBOX_LIMITS) as Array<keyof SandboxLimits>) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < MINIMUM[key]) {
      throw new RangeError(`sandbox limit ${key} must be an integer >= ${MINIMUM[key]}, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}
