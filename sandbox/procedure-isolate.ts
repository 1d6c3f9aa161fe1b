/**
 * One warm isolate serving one procedure: its own heap and context, the prelude, the procedure's
 * top-level code already run. An isolate serves one call at a time; the three callbacks installed at
 * creation route to whichever call is current.
 *
 * Only strings and `ivm.Callback` functions go in; only the envelope string comes out. The host keeps
 * a `Reference` to the prelude's `run` function (a host-side handle; nothing of it enters the isolate).
 */
import { errorFields, errorMessage } from './error-fields.ts';
import ivm from 'isolated-vm';
import { handleInitialize, handleIssue, handleLog, startCallBudget } from './host-bridge.ts';
import type { CallState } from './host-bridge.ts';
import { classifyIsolateError, decodeEnvelope, failure, parseCompileMessage } from './outcome.ts';
import type { Failure } from './outcome.ts';
import { PRELUDE_CLOSURE, PRELUDE_FILENAME, PROCEDURE_FILENAME, preludeConfigJson } from './prelude-source.ts';
import type { ProcedureOutcome, SandboxLimits, UnrecoverableIsolateEvent } from './types.ts';
import type { SandboxEventLogger } from './event-logger.ts';

/** The prelude is trusted but still bounded, in case an isolate is starved of CPU at creation. */
const PRELUDE_TIMEOUT_MS = 2000;

export interface ProcedureIsolate {
  readonly procedureId: string;
  /** The pool slot it belongs to: one per (procedure, client) pair, so clients never share globals. */
  readonly slotKey: string;
  readonly sha256: string;
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  readonly run: ivm.Reference<(inputJson: string) => string>;
  /** The call the callbacks serve; null between calls. */
  current: CallState | null;
  calls: number;
  busy: boolean;
  /** Dispose instead of reusing when the current call ends (source change, eviction). */
  retired: boolean;
  lastUsedAt: number;
}

export interface IsolateSettings {
  limits: SandboxLimits;
  events: SandboxEventLogger;
  isClosed: () => boolean;
  /**
   * The process can no longer bound a call (see UnrecoverableSandboxEvent): a catastrophic isolate
   * error, or a script that did not stop when its isolate was disposed. It should be replaced.
   */
  onUnrecoverable: (event: UnrecoverableIsolateEvent) => void;
}

export type CreateResult = { ok: true; procedureIsolate: ProcedureIsolate } | { ok: false; outcome: Failure };

/**
 * After the wall deadline disposes an isolate, isolated-vm rejects the pending call at once unless
 * the script is stuck in code V8 cannot interrupt (or a garbage-collector-bound loop that stops
 * late). Past this grace (a disposal normally ends the call within milliseconds; a second leaves
 * room for a loaded machine, where a false alarm would cost a worker) the call is
 * answered as a timeout without waiting for it, its (procedure version, client) pair is suspended
 * at once so that no further call starts another runaway, and the process is reported as unable to
 * bound calls: the thread stays taken, and such scripts (a loop that keeps the garbage collector
 * busy) can take memory at a gigabyte a second.
 */
const TERMINATION_GRACE_MS = 1000;

interface DeadlineResult<T> {
  value?: T;
  error?: unknown;
  deadlineHit: boolean;
  /** The script did not stop within the grace after its isolate was disposed. */
  stuck: boolean;
}

/** Runs `task` under the host's wall-clock deadline; disposing the isolate is the only sure stop. */
function withWallDeadline<T>(isolate: ivm.Isolate, wallTimeMs: number, task: () => Promise<T>, onUnstoppable: () => void): Promise<DeadlineResult<T>> {
  return new Promise((resolve) => {
    let deadlineHit = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const deadlineTimer = setTimeout(() => {
      deadlineHit = true;
      if (!isolate.isDisposed) isolate.dispose();
      graceTimer = setTimeout(() => {
        onUnstoppable();
        resolve({ error: new Error('Script execution timed out.'), deadlineHit: true, stuck: true });
      }, TERMINATION_GRACE_MS);
    }, wallTimeMs);
    const settle = (result: DeadlineResult<T>) => {
      clearTimeout(deadlineTimer);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      resolve(result);
    };
    let pending: Promise<T>;
    try {
      pending = task();
    } catch (error) {
      settle({ error, deadlineHit, stuck: false });
      return;
    }
    pending.then(
      (value) => settle({ value, deadlineHit, stuck: false }),
      (error: unknown) => settle({ error, deadlineHit, stuck: false }),
    );
  });
}

export function disposeProcedureIsolate(procedureIsolate: ProcedureIsolate): void {
  procedureIsolate.current = null;
  if (!procedureIsolate.isolate.isDisposed) procedureIsolate.isolate.dispose();
}

/**
 * Builds an isolate for `source`: prelude first, then the procedure's top-level code, under the same
 * limits as a call. `state` receives any log lines the top-level code writes.
 */
export async function createProcedureIsolate(
  procedureId: string,
  slotKey: string,
  source: string,
  sha256: string,
  label: string,
  state: CallState,
  settings: IsolateSettings,
): Promise<CreateResult> {
  const { limits, events } = settings;
  const isolate = new ivm.Isolate({
    memoryLimit: limits.memoryMb,
    onCatastrophicError: (message) => {
      events.error('procedure isolate failed catastrophically', { procedureId, message });
      settings.onUnrecoverable({ reason: 'catastrophic_error', procedureId, slotKey, sha256, detail: message });
    },
  });
  // The callbacks close over this slot, not over a call: the current call is set per run.
  const slot: { current: CallState | null } = { current: state };
  const callbacks = [
    new ivm.Callback((payload: unknown) => handleInitialize(slot.current, payload)),
    new ivm.Callback((payload: unknown) => handleIssue(slot.current, payload)),
    new ivm.Callback((level: unknown, message: unknown) => handleLog(slot.current, level, message)),
  ];
  const failWith = (outcome: Failure): CreateResult => {
    slot.current = null;
    if (!isolate.isDisposed) isolate.dispose();
    return { ok: false, outcome };
  };
  const errorContext = (deadlineHit: boolean) => ({
    label,
    wallDeadlineHit: deadlineHit,
    wallTimeMs: limits.wallTimeMs,
    cpuTimeMs: limits.cpuTimeMs,
    engineClosed: settings.isClosed(),
  });

  let context: ivm.Context;
  let run: ivm.Reference<(inputJson: string) => string>;
  try {
    context = await isolate.createContext();
    run = await context.evalClosure(PRELUDE_CLOSURE, [...callbacks, preludeConfigJson(limits)], {
      filename: PRELUDE_FILENAME,
      timeout: PRELUDE_TIMEOUT_MS,
      result: { reference: true },
    });
  } catch (error) {
    events.error('procedure prelude failed', { procedureId, error: errorMessage(error) });
    return failWith(failure('runtime_error', label, 'the sandbox could not be prepared'));
  }

  let script: ivm.Script;
  try {
    script = await isolate.compileScript(source, { filename: PROCEDURE_FILENAME });
  } catch (error) {
    const fields = errorFields(error);
    if (fields?.name === 'SyntaxError') {
      const { text, location } = parseCompileMessage(fields.message);
      return failWith(failure('compile_error', label, `SyntaxError: ${text}`, location));
    }
    return failWith(classifyIsolateError(error, errorContext(false)));
  }

  state.budgetExceeded = false;
  startCallBudget(state, limits.wallTimeMs);
  const topLevel = await withWallDeadline(
    isolate,
    limits.wallTimeMs,
    () => script.run(context, { timeout: limits.cpuTimeMs }),
    () => settings.onUnrecoverable(unrecoverableEvent('termination_failed', procedureId, slotKey, sha256, 'the script did not stop when its isolate was disposed')),
  );
  if (!isolate.isDisposed) script.release();
  if ('error' in topLevel) return failWith(classifyIsolateError(topLevel.error, errorContext(topLevel.deadlineHit)));

  slot.current = null;
  const procedureIsolate: ProcedureIsolate = {
    procedureId,
    slotKey,
    sha256,
    isolate,
    context,
    run,
    get current() {
      return slot.current;
    },
    set current(value: CallState | null) {
      slot.current = value;
    },
    calls: 0,
    busy: false,
    retired: false,
    lastUsedAt: Date.now(),
  };
  return { ok: true, procedureIsolate };
}

export interface CallResult {
  outcome: ProcedureOutcome;
  /** False when the isolate was terminated or disposed and must not serve again. */
  reusable: boolean;
}

export interface AsyncCallResult extends CallResult {
  /** CPU time the script used in this call (isolated-vm's per-isolate counter), ms; NaN if unknown. */
  cpuMs: number;
}

export interface SyncCallResult extends CallResult {
  /** Time the calling thread was held, ms. */
  elapsedMs: number;
  /** The call reached the synchronous limit (in the script or through host callbacks) and was stopped. */
  overran: boolean;
  /**
   * For a call that overran: the CPU time the script itself used, ms (NaN if unknown). Far below the
   * limit means the thread was preempted (a loaded machine), not that the script was slow.
   */
  scriptCpuMs: number;
  /** The overrun came from host callbacks refused past the budget. */
  budgetExceeded: boolean;
}

function unrecoverableEvent(
  reason: UnrecoverableIsolateEvent['reason'],
  procedureId: string,
  slotKey: string,
  sha256: string,
  detail: string,
): UnrecoverableIsolateEvent {
  return { reason, procedureId, slotKey, sha256, detail };
}

function cpuTimeOf(isolate: ivm.Isolate): bigint | null {
  try {
    return isolate.isDisposed ? null : isolate.cpuTime;
  } catch {
    return null;
  }
}

function finishedOutcome(envelope: unknown, state: CallState, label: string, limits: SandboxLimits, budgetMs: number): ProcedureOutcome {
  if (state.budgetExceeded) {
    return failure('timeout', label, `the procedure and the host work it asked for ran longer than ${budgetMs} ms`);
  }
  const outcome = decodeEnvelope(envelope, label, limits.maxResultBytes);
  if (state.issueLimitExceeded) {
    return failure('issue_limit', label, `the procedure issued more than ${limits.maxIssueCalls} tokens in one call`);
  }
  return outcome;
}

/** One call of `result(context)` on the isolate's own thread, under the CPU timeout and the wall-clock deadline. */
export async function callProcedureIsolate(
  procedureIsolate: ProcedureIsolate,
  inputJson: string,
  state: CallState,
  label: string,
  settings: IsolateSettings,
): Promise<AsyncCallResult> {
  const { limits } = settings;
  procedureIsolate.current = state;
  procedureIsolate.calls += 1;
  startCallBudget(state, limits.wallTimeMs);
  const cpuBefore = cpuTimeOf(procedureIsolate.isolate);
  const attempt = await withWallDeadline(
    procedureIsolate.isolate,
    limits.wallTimeMs,
    () => procedureIsolate.run.apply(undefined, [inputJson], { timeout: limits.cpuTimeMs }),
    () =>
      settings.onUnrecoverable(
        unrecoverableEvent('termination_failed', procedureIsolate.procedureId, procedureIsolate.slotKey, procedureIsolate.sha256, 'the script did not stop when its isolate was disposed'),
      ),
  );
  const cpuAfter = cpuTimeOf(procedureIsolate.isolate);
  const cpuMs = cpuBefore !== null && cpuAfter !== null ? Number(cpuAfter - cpuBefore) / 1e6 : Number.NaN;
  procedureIsolate.current = null;
  if ('error' in attempt) {
    const outcome = classifyIsolateError(attempt.error, {
      label,
      wallDeadlineHit: attempt.deadlineHit,
      wallTimeMs: limits.wallTimeMs,
      cpuTimeMs: limits.cpuTimeMs,
      engineClosed: settings.isClosed(),
    });
    // A terminated isolate may hold half-updated procedure state: never reuse it.
    return { outcome, reusable: false, cpuMs };
  }
  const outcome = finishedOutcome(attempt.value, state, label, limits, limits.wallTimeMs);
  return { outcome, reusable: !procedureIsolate.isolate.isDisposed && !state.budgetExceeded, cpuMs };
}

/**
 * One call on the calling thread (`applySync`): no hand-off to the isolate's thread and back, and
 * host callbacks are plain function calls. Only promoted procedures come here, under the short
 * synchronous limit; a call that reaches it is reported as `overran` for the engine to run again
 * on the isolate's own thread.
 */
export function callProcedureIsolateSync(
  procedureIsolate: ProcedureIsolate,
  inputJson: string,
  state: CallState,
  label: string,
  settings: IsolateSettings,
): SyncCallResult {
  const { limits } = settings;
  procedureIsolate.current = state;
  procedureIsolate.calls += 1;
  startCallBudget(state, limits.syncCallMs);
  // Read before every call (about 1 µs) so that an overrun can be told apart from preemption.
  const cpuBefore = cpuTimeOf(procedureIsolate.isolate);
  const started = performance.now();
  let envelope: unknown;
  let thrown: { error: unknown } | null = null;
  try {
    envelope = procedureIsolate.run.applySync(undefined, [inputJson], { timeout: limits.syncCallMs });
  } catch (error) {
    thrown = { error };
  }
  const elapsedMs = performance.now() - started;
  procedureIsolate.current = null;
  const scriptCpu = (): number => {
    const cpuAfter = cpuTimeOf(procedureIsolate.isolate);
    return cpuBefore !== null && cpuAfter !== null ? Number(cpuAfter - cpuBefore) / 1e6 : Number.NaN;
  };
  if (thrown !== null) {
    const outcome = classifyIsolateError(thrown.error, {
      label,
      wallDeadlineHit: false,
      wallTimeMs: limits.wallTimeMs,
      cpuTimeMs: limits.syncCallMs,
      engineClosed: settings.isClosed(),
    });
    const overran = outcome.kind === 'failure' && outcome.reason === 'timeout';
    return { outcome, reusable: false, elapsedMs, overran, scriptCpuMs: overran ? scriptCpu() : Number.NaN, budgetExceeded: state.budgetExceeded };
  }
  const overran = state.budgetExceeded;
  const outcome = finishedOutcome(envelope, state, label, limits, limits.syncCallMs);
  return {
    outcome,
    reusable: !procedureIsolate.isolate.isDisposed && !overran,
    elapsedMs,
    overran,
    scriptCpuMs: overran ? scriptCpu() : Number.NaN,
    budgetExceeded: state.budgetExceeded,
  };
}

/** Share of the isolate's heap limit in use; the pool rebuilds an isolate whose heap stays full. */
export function heapUseRatio(procedureIsolate: ProcedureIsolate, memoryMb: number): number {
  try {
    const stats = procedureIsolate.isolate.getHeapStatisticsSync();
    return (stats.used_heap_size + stats.externally_allocated_size) / (memoryMb * 1024 * 1024);
  } catch {
    return 1;
  }
}
