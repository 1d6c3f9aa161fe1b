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
import { handleInitialize, handleIssue, handleLog } from './host-bridge.ts';
import type { CallState } from './host-bridge.ts';
import { classifyIsolateError, decodeEnvelope, failure, parseCompileMessage } from './outcome.ts';
import type { Failure } from './outcome.ts';
import { PRELUDE_CLOSURE, PRELUDE_FILENAME, PROCEDURE_FILENAME, preludeConfigJson } from './prelude-source.ts';
import type { ProcedureOutcome, SandboxLimits } from './types.ts';
import type { SandboxEventLogger } from './event-logger.ts';

/** The prelude is trusted but still bounded, in case an isolate is starved of CPU at creation. */
const PRELUDE_TIMEOUT_MS = 2000;

export interface ProcedureIsolate {
  readonly procedureId: string;
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
}

export type CreateResult = { ok: true; procedureIsolate: ProcedureIsolate } | { ok: false; outcome: Failure };

/** Runs `task` under the host's wall-clock deadline; disposing the isolate is the only sure stop. */
async function withWallDeadline<T>(isolate: ivm.Isolate, wallTimeMs: number, task: () => Promise<T>): Promise<{ value?: T; error?: unknown; deadlineHit: boolean }> {
  let deadlineHit = false;
  const timer = setTimeout(() => {
    deadlineHit = true;
    if (!isolate.isDisposed) isolate.dispose();
  }, wallTimeMs);
  try {
    return { value: await task(), deadlineHit };
  } catch (error) {
    return { error, deadlineHit };
  } finally {
    clearTimeout(timer);
  }
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

  const topLevel = await withWallDeadline(isolate, limits.wallTimeMs, () => script.run(context, { timeout: limits.cpuTimeMs }));
  if (!isolate.isDisposed) script.release();
  if ('error' in topLevel) return failWith(classifyIsolateError(topLevel.error, errorContext(topLevel.deadlineHit)));

  slot.current = null;
  const procedureIsolate: ProcedureIsolate = {
    procedureId,
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

/** One call of `result(context)` under the CPU timeout and the wall-clock deadline. */
export async function callProcedureIsolate(
  procedureIsolate: ProcedureIsolate,
  inputJson: string,
  state: CallState,
  label: string,
  settings: IsolateSettings,
): Promise<CallResult> {
  const { limits } = settings;
  procedureIsolate.current = state;
  procedureIsolate.calls += 1;
  const attempt = await withWallDeadline(procedureIsolate.isolate, limits.wallTimeMs, () =>
    procedureIsolate.run.apply(undefined, [inputJson], { timeout: limits.cpuTimeMs }),
  );
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
    return { outcome, reusable: false };
  }
  let outcome = decodeEnvelope(attempt.value, label, limits.maxResultBytes);
  if (state.issueLimitExceeded) {
    outcome = failure('issue_limit', label, `the procedure issued more than ${limits.maxIssueCalls} tokens in one call`);
  }
  return { outcome, reusable: !procedureIsolate.isolate.isDisposed };
}
