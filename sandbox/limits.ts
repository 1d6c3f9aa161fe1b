import type { SandboxLimits } from './types.ts';

/**
 * Safe defaults for small scripts. Up to four isolates per procedure: an isolate waits while the main
 * thread serves its host calls (getInitializedContext, issue), so with only two a hot procedure left
 * the main thread idle ~12% of the time at saturation; four served 4-39% more exchanges per second
 * in every one of four alternating pairs (bench/RESULTS.md). Isolates are created only when calls
 * overlap, and idle ones are evicted.
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
  syncCallMs: 10,
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
