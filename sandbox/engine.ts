/**
 * The procedure engine: runs admin-supplied token procedures in isolated-vm with Curity's API.
 * The server, the CLI runner and the admin dry-run all go through `createProcedureEngine`.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { compileProcedure } from './compile.ts';
import { defaultSandboxEventLogger } from './event-logger.ts';
import type { SandboxEventLogger } from './event-logger.ts';
import { createCallState } from './host-bridge.ts';
import { serializeProcedureInput } from './input-json.ts';
import { resolveSandboxLimits } from './limits.ts';
import { clientIdOf, IsolatePool, slotKeyOf } from './pool.ts';
import { callProcedureIsolate, callProcedureIsolateSync } from './procedure-isolate.ts';
import { failure } from './outcome.ts';
import type { CallState } from './host-bridge.ts';
import { FIRST_SUSPENSION_MS, PathSelector } from './path-selector.ts';
import { assertSandboxRuntime } from './runtime.ts';
import type {
  ProcedureEngine,
  ProcedureHost,
  ProcedureInput,
  ProcedureOutcome,
  ProcedureRef,
  RunOptions,
  SandboxLimits,
  ProcedureSuspension,
  UnrecoverableIsolateEvent,
  UnrecoverableSandboxEvent,
} from './types.ts';

export { DEFAULT_SANDBOX_LIMITS } from './limits.ts';
export { assertSandboxRuntime } from './runtime.ts';
export type { SandboxEventLogger } from './event-logger.ts';

const MAX_REMEMBERED_HASHES = 10_000;

export interface ProcedureEngineOptions {
  limits?: Partial<SandboxLimits>;
  /** Engine events (limit breaches, host service failures); defaults to JSON lines on stdout. */
  logger?: SandboxEventLogger;
  /**
   * Called when this process can no longer bound a call: a script isolated-vm could not stop, or a
   * catastrophic isolate failure. The server replaces the process (see server/cluster); the engine
   * keeps answering meanwhile.
   */
  onUnrecoverable?: (event: UnrecoverableSandboxEvent) => void;
  /** Called when this engine suspends a (procedure version, client) pair, to share it (see suspend()). */
  onSuspended?: (suspension: ProcedureSuspension) => void;
}

/** What diagnostics call a procedure: the file's base name when known (never a host path), else its id. */
export function procedureLabel(procedure: Pick<ProcedureRef, 'id' | 'filename'>): string {
  if (procedure.filename) {
    const name = basename(procedure.filename.replace(/\\/g, '/'));
    if (name.length > 0) return name;
  }
  return procedure.id;
}

const NAMESPACE_SEPARATOR = '\u0001';

/** The id the engine keys a procedure by: its namespace, when it has one, keeps it apart. */
function engineIdOf(procedure: ProcedureRef): string {
  return procedure.namespace === undefined ? procedure.id : `${procedure.namespace}${NAMESPACE_SEPARATOR}${procedure.id}`;
}

interface KnownProcedure {
  readonly source: string;
  readonly filename: string | undefined;
  readonly sha256: string;
  readonly label: string;
}

function presentedTokenValues(input: ProcedureInput): string[] {
  const values: string[] = [];
  if (input.subjectToken) values.push(input.subjectToken.value);
  if (input.actorToken) values.push(input.actorToken.value);
  return values;
}

export function createProcedureEngine(options: ProcedureEngineOptions = {}): ProcedureEngine {
  assertSandboxRuntime();
  const limits = resolveSandboxLimits(options.limits);
  const events = options.logger ?? defaultSandboxEventLogger();
  let closed = false;
  const paths = new PathSelector(limits, events);
  /**
   * A script isolated-vm could not stop gets its (procedure version, client) pair suspended for the
   * longest time, here and (through onSuspended) in every worker, before the process is replaced:
   * otherwise each replacement would run it again.
   */
  const onUnrecoverable = (event: UnrecoverableIsolateEvent): void => {
    const now = Date.now();
    if (paths.suspendedUntil(event.slotKey, event.sha256, now) <= now + FIRST_SUSPENSION_MS) {
      const until = paths.suspendForGood(event.slotKey, event.sha256, now);
      const clientId = clientIdOf(event.slotKey);
      events.warn('procedure suspended: the sandbox could not stop it', { procedure_id: event.procedureId, client_id: clientId, until: new Date(until).toISOString() });
      // A namespaced run (a dry run) is nobody else's business: its suspension stays here.
      if (!event.slotKey.includes(NAMESPACE_SEPARATOR)) options.onSuspended?.({ procedureId: event.procedureId, clientId, sha256: event.sha256, until });
    }
    options.onUnrecoverable?.({ reason: event.reason, procedureId: event.procedureId, detail: event.detail });
  };
  const settings = { limits, events, isClosed: () => closed, onUnrecoverable };
  const pool = new IsolatePool(settings);
  const known = new Map<string, KnownProcedure>();

  /**
   * Hashed here rather than trusting ProcedureRef.sha256, so a stale hash can never run old code;
   * remembered per id so a hot procedure is compared (usually the same string), not rehashed, and
   * its label is not rebuilt on every call.
   */
  function knownProcedure(procedure: ProcedureRef): KnownProcedure {
    const entry = known.get(engineIdOf(procedure));
    if (entry !== undefined && entry.source === procedure.source && entry.filename === procedure.filename) return entry;
    const sha256 =
      entry !== undefined && entry.source === procedure.source ? entry.sha256 : createHash('sha256').update(procedure.source).digest('hex');
    if (known.size >= MAX_REMEMBERED_HASHES) known.clear();
    const fresh = { source: procedure.source, filename: procedure.filename, sha256, label: procedureLabel(procedure) };
    known.set(engineIdOf(procedure), fresh);
    return fresh;
  }

  function callState(procedure: ProcedureRef, input: ProcedureInput, host: ProcedureHost, runOptions: RunOptions): CallState {
    return createCallState({
      procedureId: procedure.id,
      requestId: runOptions.requestId,
      host,
      log: runOptions.log,
      limits,
      events,
      secrets: presentedTokenValues(input),
    });
  }

  /** What one call needs besides its state: the pair's slot, the version, the serialised input. */
  interface CallPlan {
    procedure: ProcedureRef;
    input: ProcedureInput;
    host: ProcedureHost;
    runOptions: RunOptions;
    label: string;
    sha256: string;
    slotKey: string;
    inputJson: string;
  }

  /**
   * A pair that has not yet answered cleanly, or failed on a limit lately, runs one call at a time:
   * a hostile procedure gets one runaway isolate, not one per concurrent request.
   */
  function acquireFor(plan: CallPlan, state: CallState) {
    const { procedure, slotKey, sha256, label } = plan;
    const maxIsolates = paths.trusted(slotKey, sha256) ? undefined : 1;
    return pool.acquire({ procedureId: procedure.id, slotKey, source: procedure.source, sha256, label, state, maxIsolates });
  }

  /** The promoted path; null when the call was stopped at the synchronous limit and must run again. */
  async function runPromoted(plan: CallPlan): Promise<ProcedureOutcome | null> {
    const state = callState(plan.procedure, plan.input, plan.host, plan.runOptions);
    const lease = await acquireFor(plan, state);
    if (!lease.ok) return lease.outcome;
    // Nothing else runs on this thread until the call returns: acquire and release bracket it.
    const result = callProcedureIsolateSync(lease.procedureIsolate, plan.inputJson, state, plan.label, settings);
    pool.release(lease.procedureIsolate, result.reusable, state);
    const memoryStop = result.outcome.kind === 'failure' && result.outcome.reason === 'memory_limit';
    if (!result.overran && !memoryStop) return result.outcome;
    paths.recordStop(plan.slotKey, plan.sha256, {
      procedureId: plan.procedure.id,
      requestId: plan.runOptions.requestId,
      elapsedMs: result.elapsedMs,
      scriptCpuMs: result.scriptCpuMs,
      hostBudgetExceeded: result.budgetExceeded,
    });
    // Only what the second attempt issues may be answered.
    plan.host.reset?.();
    return result.overran ? null : result.outcome;
  }

  /** The isolate's own thread: probation, demoted pairs, and promoted calls run again. */
  async function runOnOwnThread(plan: CallPlan): Promise<ProcedureOutcome> {
    const state = callState(plan.procedure, plan.input, plan.host, plan.runOptions);
    const lease = await acquireFor(plan, state);
    if (!lease.ok) return lease.outcome;
    let reusable = false;
    try {
      const result = await callProcedureIsolate(lease.procedureIsolate, plan.inputJson, state, plan.label, settings);
      reusable = result.reusable;
      const suspended = paths.recordOwnThreadCall(plan.slotKey, plan.sha256, result.outcome, result.cpuMs);
      if (suspended > 0) {
        const clientId = plan.input.client.id;
        events.warn('procedure suspended after repeated limit failures', { procedure_id: plan.procedure.id, client_id: clientId, until: new Date(suspended).toISOString() });
        if (plan.procedure.namespace === undefined) options.onSuspended?.({ procedureId: plan.procedure.id, clientId, sha256: plan.sha256, until: suspended });
      }
      return result.outcome;
    } finally {
      pool.release(lease.procedureIsolate, reusable, state);
    }
  }

  async function run(procedure: ProcedureRef, input: ProcedureInput, host: ProcedureHost, runOptions: RunOptions): Promise<ProcedureOutcome> {
    if (closed) throw new Error('the procedure engine is closed');
    const { label, sha256 } = knownProcedure(procedure);
    const slotKey = slotKeyOf(engineIdOf(procedure), input.client.id);
    const suspendedUntil = paths.suspendedUntil(slotKey, sha256, Date.now());
    if (suspendedUntil > 0) {
      // Not logged per call: the suspension was logged when it began.
      return failure('suspended', label, `the procedure kept failing on its limits and is suspended until ${new Date(suspendedUntil).toISOString()}`);
    }
    const plan: CallPlan = { procedure, input, host, runOptions, label, sha256, slotKey, inputJson: serializeProcedureInput(input) };
    const outcome = (paths.isPromoted(slotKey, sha256) ? await runPromoted(plan) : null) ?? (await runOnOwnThread(plan));

    if (outcome.kind === 'failure') {
      events.warn('token procedure failed', {
        procedure_id: procedure.id,
        request_id: runOptions.requestId,
        reason: outcome.reason,
        detail: outcome.message,
        line: outcome.location?.line ?? null,
        column: outcome.location?.column ?? null,
      });
    }
    return outcome;
  }

  return {
    compile: (source, _filename) => compileProcedure(source, limits.memoryMb),
    run,
    evict: (procedureId) => {
      known.delete(procedureId);
      pool.evict(procedureId);
      paths.forget(procedureId);
    },
    stats: () => ({ ...pool.stats(), ...paths.stats() }),
    suspend: (suspension) => paths.applySuspension(slotKeyOf(suspension.procedureId, suspension.clientId), suspension.sha256, suspension.until),
    close: async () => {
      closed = true;
      pool.close();
    },
  };
}
