/**
 * Which path a (procedure version, client) pair's calls take.
 *
 * - Probation: a new version runs on its isolate's own thread (isolated-vm's async `apply`), where
 *   the wall-clock deadline can dispose it without stalling anyone else. Each call that ends
 *   cleanly and uses at most `promotionMaxMs` of CPU counts; any other call starts the count again.
 * - Promoted: after `probationCalls` such calls in a row, calls run on the calling thread
 *   (`applySync`, about a tenth of the hand-off cost) under the short `syncCallMs` limit.
 * - A promoted call that reaches that limit (or the heap limit) is a strike: the call is run again
 *   on the isolate's own thread and the pair goes back to probation. The third strike, or one whose
 *   stop came late (the thread was held for more than three times the limit plus 100 ms), demotes the pair to
 *   its own thread for as long as this process runs that version.
 *
 * State is per process and per version: a new version, or a restarted process, starts on probation.
 */
import type { SandboxEventLogger } from './event-logger.ts';
import type { FailureReason, ProcedureOutcome, SandboxLimits } from './types.ts';

type Phase = 'probation' | 'promoted' | 'demoted';

interface PathHealth {
  readonly sha256: string;
  readonly procedureId: string;
  phase: Phase;
  cleanCalls: number;
  strikes: number;
}

/** Strikes after which a pair stays on its own thread. */
export const MAX_STRIKES = 3;
/**
 * A stop later than this many times the synchronous limit, plus a margin for a loaded machine,
 * demotes at once: the limit did not hold (isolated-vm's termination can lag behind a script that
 * keeps the garbage collector busy).
 */
export const LATE_STOP_FACTOR = 3;
export const LATE_STOP_MARGIN_MS = 100;
/** Pairs remembered; past this the map starts again (every pair back on probation). */
const MAX_ENTRIES = 10_000;

/** Failures that are the script's own logic (it threw, returned nothing usable): they end promptly. */
const PROMPT_FAILURES: ReadonlySet<FailureReason> = new Set(['runtime_error', 'no_result', 'invalid_result', 'compile_error']);

export interface StrikeDetails {
  procedureId: string;
  requestId: string;
  /** How long the calling thread was held by the stopped call. */
  elapsedMs: number;
}

export class PathSelector {
  readonly #limits: SandboxLimits;
  readonly #events: SandboxEventLogger;
  readonly #entries = new Map<string, PathHealth>();

  constructor(limits: SandboxLimits, events: SandboxEventLogger) {
    this.#limits = limits;
    this.#events = events;
  }

  isPromoted(slotKey: string, sha256: string): boolean {
    const entry = this.#entries.get(slotKey);
    if (entry !== undefined && entry.sha256 === sha256) return entry.phase === 'promoted';
    // With no probation configured, a version is promoted from its first call.
    return this.#limits.probationCalls === 0 && this.#entry(slotKey, sha256, procedureIdOf(slotKey)).phase === 'promoted';
  }

  /** A call served on the isolate's own thread: counts towards promotion while on probation. */
  recordOwnThreadCall(slotKey: string, sha256: string, outcome: ProcedureOutcome, cpuMs: number): void {
    const entry = this.#entry(slotKey, sha256, procedureIdOf(slotKey));
    if (entry.phase !== 'probation') return;
    const prompt = outcome.kind !== 'failure' || PROMPT_FAILURES.has(outcome.reason);
    if (!prompt || !Number.isFinite(cpuMs) || cpuMs > this.#limits.promotionMaxMs) {
      entry.cleanCalls = 0;
      return;
    }
    entry.cleanCalls += 1;
    if (entry.cleanCalls >= this.#limits.probationCalls) entry.phase = 'promoted';
  }

  /** A promoted call was stopped at the synchronous limit or the heap limit. */
  recordStrike(slotKey: string, sha256: string, details: StrikeDetails): void {
    const entry = this.#entry(slotKey, sha256, details.procedureId);
    entry.strikes += 1;
    entry.cleanCalls = 0;
    const late = details.elapsedMs > this.#limits.syncCallMs * LATE_STOP_FACTOR + LATE_STOP_MARGIN_MS;
    entry.phase = late || entry.strikes >= MAX_STRIKES ? 'demoted' : 'probation';
    this.#events.warn(entry.phase === 'demoted' ? 'procedure demoted to its own thread' : 'procedure back on probation', {
      procedure_id: details.procedureId,
      request_id: details.requestId,
      held_ms: Math.round(details.elapsedMs * 10) / 10,
      sync_limit_ms: this.#limits.syncCallMs,
      strikes: entry.strikes,
    });
  }

  /** Forgets every pair of a procedure (it was deleted or replaced). */
  forget(procedureId: string): void {
    for (const [key, entry] of this.#entries) if (entry.procedureId === procedureId) this.#entries.delete(key);
  }

  stats(): { promoted: number; probation: number; demoted: number } {
    const counts = { promoted: 0, probation: 0, demoted: 0 };
    for (const entry of this.#entries.values()) counts[entry.phase] += 1;
    return counts;
  }

  #entry(slotKey: string, sha256: string, procedureId: string): PathHealth {
    const existing = this.#entries.get(slotKey);
    if (existing !== undefined && existing.sha256 === sha256) return existing;
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    const fresh: PathHealth = {
      sha256,
      procedureId,
      phase: this.#limits.probationCalls === 0 ? 'promoted' : 'probation',
      cleanCalls: 0,
      strikes: 0,
    };
    this.#entries.set(slotKey, fresh);
    return fresh;
  }
}

/** The procedure id part of a slot key (see pool.slotKeyOf). */
function procedureIdOf(slotKey: string): string {
  const end = slotKey.indexOf('\u0000');
  return end < 0 ? slotKey : slotKey.slice(0, end);
}
