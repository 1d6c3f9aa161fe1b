/**
 * Which path a (procedure version, client) pair's calls take.
 *
 * - Probation: a new version runs on its isolate's own thread (isolated-vm's async `apply`), where
 *   the wall-clock deadline can dispose it without stalling anyone else. Each call that ends
 *   cleanly and uses at most `promotionMaxMs` of CPU counts; any other call starts the count again.
 * - Promoted: after `probationCalls` such calls in a row, calls run on the calling thread
 *   (`applySync`, about a tenth of the hand-off cost) under the short `syncCallMs` limit.
 * - A promoted call that reaches that limit (or the heap limit) is run again on the isolate's own
 *   thread. It is a strike, and the pair goes back to probation, unless the script itself used
 *   under half the limit in CPU (the thread was preempted on a loaded machine: no fault of its own). The third strike, or one whose
 *   stop came late (the thread was held for more than three times the limit plus 100 ms), demotes the pair to
 *   its own thread for as long as this process runs that version.
 *
 * - Suspension: a pair whose calls fail on a limit (timeout, heap) three times within a minute is
 *   not run for 30 s (then 60 s, 120 s... up to 15 min while its trial calls keep failing): its
 *   calls fail at once, so a hostile procedure cannot keep the sandbox's threads and memory busy.
 *   Suspensions reach the other worker processes of the server through the supervisor.
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
  /** When recent calls failed on a limit (timeout, heap), epoch ms, oldest first. */
  limitFailures: number[];
  /** It has answered cleanly at least once. */
  everClean: boolean;
  /** Calls fail at once until then (epoch ms); 0 when not suspended. */
  suspendedUntil: number;
  suspensions: number;
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
/** This many limit failures within LIMIT_FAILURE_WINDOW_MS suspend a pair. */
export const SUSPEND_AFTER_FAILURES = 3;
export const LIMIT_FAILURE_WINDOW_MS = 60_000;
/** The first suspension lasts this long; each further one doubles it, up to MAX_SUSPENSION_MS. */
export const FIRST_SUSPENSION_MS = 30_000;
export const MAX_SUSPENSION_MS = 15 * 60_000;
/** Failures that cost a thread its whole limit: what a hostile procedure repeats to harm others. */
const LIMIT_FAILURES: ReadonlySet<FailureReason> = new Set(['timeout', 'memory_limit']);

/** Pairs remembered; past this the map starts again (every pair back on probation). */
const MAX_ENTRIES = 10_000;

/** Failures that are the script's own logic (it threw, returned nothing usable): they end promptly. */
const PROMPT_FAILURES: ReadonlySet<FailureReason> = new Set(['runtime_error', 'no_result', 'invalid_result', 'compile_error']);

export interface StopDetails {
  procedureId: string;
  requestId: string;
  /** How long the calling thread was held by the stopped call. */
  elapsedMs: number;
  /** CPU time the script used in the stopped call (NaN when unknown). */
  scriptCpuMs: number;
  /** The call was stopped because host callbacks were refused past its budget. */
  hostBudgetExceeded: boolean;
}

/**
 * A stop whose script used less than this share of the limit in CPU was the machine's doing (the
 * thread was preempted while the wall-clock limit ran): the call is still run again, but it is no
 * strike against the procedure.
 */
export const PREEMPTED_CPU_SHARE = 0.5;

export class PathSelector {
  readonly #limits: SandboxLimits;
  readonly #events: SandboxEventLogger;
  readonly #entries = new Map<string, PathHealth>();
  #preemptedStops = 0;

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

  /**
   * Whether the pair may run several calls at once: it has answered cleanly before and has not
   * failed on a limit within the last window.
   */
  trusted(slotKey: string, sha256: string, now = Date.now()): boolean {
    const entry = this.#entries.get(slotKey);
    if (entry === undefined || entry.sha256 !== sha256) return false;
    if (entry.phase === 'promoted') return true;
    const last = entry.limitFailures[entry.limitFailures.length - 1];
    return entry.everClean && entry.suspendedUntil === 0 && (last === undefined || last <= now - LIMIT_FAILURE_WINDOW_MS);
  }

  /** Epoch ms until which the pair is suspended, or 0. */
  suspendedUntil(slotKey: string, sha256: string, now: number): number {
    const entry = this.#entries.get(slotKey);
    return entry !== undefined && entry.sha256 === sha256 && entry.suspendedUntil > now ? entry.suspendedUntil : 0;
  }

  /**
   * A call served on the isolate's own thread: counts towards promotion while on probation. Returns
   * the end of a suspension it started (epoch ms), or 0: a pair whose calls keep failing on a limit
   * is suspended, so a hostile procedure cannot keep isolated-vm's threads and the heap busy.
   */
  recordOwnThreadCall(slotKey: string, sha256: string, outcome: ProcedureOutcome, cpuMs: number, now = Date.now()): number {
    const entry = this.#entry(slotKey, sha256, procedureIdOf(slotKey));
    if (outcome.kind === 'failure' && LIMIT_FAILURES.has(outcome.reason)) {
      // Calls already running when the pair was suspended end during the suspension: not new evidence.
      if (entry.suspendedUntil > now) return 0;
      const failures = entry.limitFailures.filter((at) => at > now - LIMIT_FAILURE_WINDOW_MS);
      failures.push(now);
      entry.limitFailures = failures;
      // Right after a suspension one failure is enough: the trial call failed again.
      if (failures.length >= SUSPEND_AFTER_FAILURES || entry.suspendedUntil > 0) {
        // (suspendedUntil > 0 here means the suspension has ended and this was its trial call.)
        const length = Math.min(MAX_SUSPENSION_MS, FIRST_SUSPENSION_MS * 2 ** entry.suspensions);
        entry.suspensions += 1;
        entry.suspendedUntil = now + length;
        entry.limitFailures = [];
        entry.cleanCalls = 0;
        return entry.suspendedUntil;
      }
    } else if (outcome.kind !== 'failure') {
      // A clean answer after a suspension ends the back-off.
      entry.suspendedUntil = 0;
      entry.everClean = true;
    }
    if (entry.phase !== 'probation') return 0;
    const prompt = outcome.kind !== 'failure' || PROMPT_FAILURES.has(outcome.reason);
    if (!prompt || !Number.isFinite(cpuMs) || cpuMs > this.#limits.promotionMaxMs) {
      entry.cleanCalls = 0;
      return 0;
    }
    entry.cleanCalls += 1;
    if (entry.cleanCalls >= this.#limits.probationCalls) entry.phase = 'promoted';
    return 0;
  }

  /** A script that could not be stopped: suspended for the longest time at once. Returns its end. */
  suspendForGood(slotKey: string, sha256: string, now: number): number {
    const entry = this.#entry(slotKey, sha256, procedureIdOf(slotKey));
    entry.suspensions = Math.max(entry.suspensions + 1, Math.ceil(Math.log2(MAX_SUSPENSION_MS / FIRST_SUSPENSION_MS)) + 1);
    entry.suspendedUntil = now + MAX_SUSPENSION_MS;
    entry.limitFailures = [];
    entry.cleanCalls = 0;
    if (entry.phase === 'promoted') entry.phase = 'demoted';
    return entry.suspendedUntil;
  }

  /** A suspension decided elsewhere (another worker of the same server). */
  applySuspension(slotKey: string, sha256: string, until: number): void {
    const entry = this.#entry(slotKey, sha256, procedureIdOf(slotKey));
    if (until <= entry.suspendedUntil) return;
    entry.suspendedUntil = until;
    entry.suspensions = Math.max(entry.suspensions, 1);
    entry.limitFailures = [];
  }

  /** A promoted call was stopped at the synchronous limit or the heap limit. */
  recordStop(slotKey: string, sha256: string, details: StopDetails): void {
    const preempted =
      !details.hostBudgetExceeded && Number.isFinite(details.scriptCpuMs) && details.scriptCpuMs < this.#limits.syncCallMs * PREEMPTED_CPU_SHARE;
    if (preempted) {
      this.#preemptedStops += 1;
      return;
    }
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

  stats(now = Date.now()): { promoted: number; probation: number; demoted: number; preemptedStops: number; suspended: number } {
    const counts = { promoted: 0, probation: 0, demoted: 0, preemptedStops: this.#preemptedStops, suspended: 0 };
    for (const entry of this.#entries.values()) {
      counts[entry.phase] += 1;
      if (entry.suspendedUntil > now) counts.suspended += 1;
    }
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
      limitFailures: [],
      everClean: false,
      suspendedUntil: 0,
      suspensions: 0,
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
