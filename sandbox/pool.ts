/**
 * Warm isolates, in one slot per (procedure, client) pair: a procedure never shares an isolate with
 * another procedure, nor one client's globals with another client. Each slot has at most
 * `maxIsolatesPerProcedure` isolates (one call each at a time, further calls wait in FIFO order).
 * An isolate lives as long as it stays healthy: it is rebuilt after a timeout or memory disposal,
 * when its heap stays more than half full, after `maxCallsPerIsolate` calls when that is set, or
 * when the procedure's source changes; idle ones are evicted.
 */
import { createProcedureIsolate, disposeProcedureIsolate, heapUseRatio } from './procedure-isolate.ts';
import type { IsolateSettings, ProcedureIsolate } from './procedure-isolate.ts';
import { createCallState } from './host-bridge.ts';
import type { CallState } from './host-bridge.ts';
import { failure } from './outcome.ts';
import type { Failure } from './outcome.ts';
import { fail, oauthError } from './protocol.ts';
import type { ProcedureHost } from './types.ts';

/** How often (in calls) an isolate's heap is looked at; reading it costs a few microseconds. */
const HEAP_CHECK_EVERY = 64;
/** An isolate whose live heap stays above this share of its limit is rebuilt between calls. */
const HEAP_REBUILD_RATIO = 0.5;

interface ProcedureSlot {
  /** `procedureId + NUL + clientId`. */
  readonly id: string;
  readonly procedureId: string;
  sha256: string;
  readonly isolates: Set<ProcedureIsolate>;
  /** Isolates being built for this slot. */
  creating: number;
  /** Of those, replacements built between calls (see release). */
  replacing: number;
  readonly waiters: Array<() => void>;
  /** What the last acquire asked for: a replacement for a worn-out isolate is built from it. */
  source: string;
  label: string;
}

/** Top-level code of a replacement being built between calls has no request to serve. */
const NO_ACTIVE_CALL = fail(oauthError('server_error', 'no active call'));
const NO_REQUEST_HOST: ProcedureHost = {
  initialize: () => NO_ACTIVE_CALL,
  issue: () => NO_ACTIVE_CALL,
};

export type Lease = { ok: true; procedureIsolate: ProcedureIsolate } | { ok: false; outcome: Failure };

export interface AcquireRequest {
  procedureId: string;
  /** The (procedure, client) pair's slot: see `slotKeyOf`. */
  slotKey: string;
  /** At most this many isolates for the slot, when fewer than maxIsolatesPerProcedure (an untrusted pair gets one). */
  maxIsolates?: number;
  source: string;
  sha256: string;
  label: string;
  state: CallState;
}

/** The slot of a (procedure, client) pair; NUL cannot occur in either id. */
export function slotKeyOf(procedureId: string, clientId: string): string {
  return `${procedureId}\u0000${clientId}`;
}

/** The client id part of a slot key. */
export function clientIdOf(slotKey: string): string {
  const start = slotKey.indexOf('\u0000');
  return start < 0 ? '' : slotKey.slice(start + 1);
}

export class IsolatePool {
  readonly #settings: IsolateSettings;
  readonly #slots = new Map<string, ProcedureSlot>();
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  constructor(settings: IsolateSettings) {
    this.#settings = settings;
    const { idleEvictMs } = settings.limits;
    this.#sweeper = setInterval(() => this.sweep(Date.now()), Math.max(1000, Math.min(idleEvictMs, 60_000)));
    this.#sweeper.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async acquire(request: AcquireRequest): Promise<Lease> {
    const { procedureId, slotKey, sha256 } = request;
    for (;;) {
      if (this.#closed) return { ok: false, outcome: failure('runtime_error', request.label, 'the sandbox engine is closed') };
      const slot = this.#slotFor(slotKey, procedureId);
      slot.source = request.source;
      slot.label = request.label;
      if (slot.sha256 !== sha256) {
        // A new source: old isolates finish their current call and are then disposed.
        for (const procedureIsolate of slot.isolates) this.#retire(slot, procedureIsolate);
        slot.sha256 = sha256;
      }
      for (const procedureIsolate of slot.isolates) {
        if (!procedureIsolate.busy && !procedureIsolate.retired && procedureIsolate.sha256 === sha256) {
          procedureIsolate.busy = true;
          return { ok: true, procedureIsolate };
        }
      }
      // A replacement already on its way is ready sooner than a new build: wait for it, one waiter each.
      const replacementComing = slot.replacing > slot.waiters.length;
      const maxIsolates = Math.min(request.maxIsolates ?? Number.POSITIVE_INFINITY, this.#settings.limits.maxIsolatesPerProcedure);
      if (!replacementComing && this.#liveCount(slot) + slot.creating < maxIsolates) {
        slot.creating += 1;
        let created;
        try {
          created = await createProcedureIsolate(procedureId, slotKey, request.source, sha256, request.label, request.state, this.#settings);
        } finally {
          slot.creating -= 1;
        }
        if (!created.ok) {
          this.#wakeOne(slot);
          return created;
        }
        const procedureIsolate = created.procedureIsolate;
        procedureIsolate.busy = true;
        if (this.#closed || this.#slots.get(slotKey) !== slot || slot.sha256 !== sha256) procedureIsolate.retired = true;
        slot.isolates.add(procedureIsolate);
        return { ok: true, procedureIsolate };
      }
      await new Promise<void>((resolve) => slot.waiters.push(resolve));
    }
  }

  /**
   * Returns an isolate after a call; `reusable` false disposes it (timeout, memory, disposal). An
   * isolate that served `maxCallsPerIsolate` calls is disposed and its replacement built now, off
   * the request path, so no request waits for the rebuild unless it arrives during it.
   * `state` is the call just served: the replacement's top-level log lines go to its sink.
   */
  release(procedureIsolate: ProcedureIsolate, reusable: boolean, state?: CallState): void {
    procedureIsolate.busy = false;
    procedureIsolate.lastUsedAt = Date.now();
    const slot = this.#slots.get(procedureIsolate.slotKey);
    const owned = slot !== undefined && slot.isolates.has(procedureIsolate);
    const healthy = reusable && owned && !this.#closed && !procedureIsolate.retired && !procedureIsolate.isolate.isDisposed;
    const { maxCallsPerIsolate, memoryMb } = this.#settings.limits;
    const wornOut =
      healthy &&
      ((maxCallsPerIsolate > 0 && procedureIsolate.calls >= maxCallsPerIsolate) ||
        (procedureIsolate.calls % HEAP_CHECK_EVERY === 0 && heapUseRatio(procedureIsolate, memoryMb) > HEAP_REBUILD_RATIO));
    if (!healthy || wornOut) {
      if (slot !== undefined) slot.isolates.delete(procedureIsolate);
      disposeProcedureIsolate(procedureIsolate);
    }
    if (slot === undefined) return;
    if (healthy && wornOut && state !== undefined && slot.sha256 === procedureIsolate.sha256) this.#buildReplacement(slot, state);
    this.#wakeOne(slot);
  }

  /** Drops a procedure's isolates, for every client: idle ones now, busy ones when their call ends. */
  evict(procedureId: string): void {
    for (const [key, slot] of this.#slots) {
      if (slot.procedureId !== procedureId) continue;
      for (const procedureIsolate of slot.isolates) this.#retire(slot, procedureIsolate);
      this.#slots.delete(key);
      this.#wakeAll(slot);
    }
  }

  /** Disposes isolates idle since before `now - idleEvictMs`. */
  sweep(now: number): void {
    for (const [id, slot] of this.#slots) {
      for (const procedureIsolate of slot.isolates) {
        if (!procedureIsolate.busy && now - procedureIsolate.lastUsedAt >= this.#settings.limits.idleEvictMs) {
          this.#retire(slot, procedureIsolate);
        }
      }
      if (slot.isolates.size === 0 && slot.creating === 0 && slot.waiters.length === 0) this.#slots.delete(id);
    }
  }

  /** Live isolates, and the procedures that have at least one (whatever the client). */
  stats(): { isolates: number; procedures: number } {
    let isolates = 0;
    const procedures = new Set<string>();
    for (const slot of this.#slots.values()) {
      const live = this.#liveCount(slot);
      isolates += live;
      if (live > 0) procedures.add(slot.procedureId);
    }
    return { isolates, procedures: procedures.size };
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const slot of this.#slots.values()) {
      for (const procedureIsolate of slot.isolates) {
        procedureIsolate.retired = true;
        disposeProcedureIsolate(procedureIsolate);
      }
      slot.isolates.clear();
      this.#wakeAll(slot);
    }
    this.#slots.clear();
  }

  /** Builds an isolate for the slot in the background; a request arriving meanwhile waits for it. */
  #buildReplacement(slot: ProcedureSlot, lastCall: CallState): void {
    if (this.#liveCount(slot) + slot.creating >= this.#settings.limits.maxIsolatesPerProcedure) return;
    const { sha256, source, label } = slot;
    const state = createCallState({
      procedureId: slot.procedureId,
      requestId: lastCall.requestId,
      host: NO_REQUEST_HOST,
      log: lastCall.log,
      limits: lastCall.limits,
      events: lastCall.events,
      secrets: [...lastCall.secrets],
    });
    slot.creating += 1;
    slot.replacing += 1;
    void createProcedureIsolate(slot.procedureId, slot.id, source, sha256, label, state, this.#settings)
      .then(
        (created) => {
          if (!created.ok) return;
          const procedureIsolate = created.procedureIsolate;
          if (this.#closed || this.#slots.get(slot.id) !== slot || slot.sha256 !== sha256) disposeProcedureIsolate(procedureIsolate);
          else slot.isolates.add(procedureIsolate);
        },
        (error: unknown) => {
          this.#settings.events.error('procedure isolate rebuild failed', { procedureId: slot.procedureId, error: String(error) });
        },
      )
      .finally(() => {
        slot.creating -= 1;
        slot.replacing -= 1;
        // A failed build is retried by the next request, on its own path, which reports the failure.
        this.#wakeOne(slot);
      });
  }

  #slotFor(slotKey: string, procedureId: string): ProcedureSlot {
    let slot = this.#slots.get(slotKey);
    if (slot === undefined) {
      slot = { id: slotKey, procedureId, sha256: '', isolates: new Set(), creating: 0, replacing: 0, waiters: [], source: '', label: procedureId };
      this.#slots.set(slotKey, slot);
    }
    return slot;
  }

  #liveCount(slot: ProcedureSlot): number {
    let live = 0;
    for (const procedureIsolate of slot.isolates) if (!procedureIsolate.isolate.isDisposed) live += 1;
    return live;
  }

  #retire(slot: ProcedureSlot, procedureIsolate: ProcedureIsolate): void {
    procedureIsolate.retired = true;
    if (!procedureIsolate.busy) {
      slot.isolates.delete(procedureIsolate);
      disposeProcedureIsolate(procedureIsolate);
    }
  }

  #wakeOne(slot: ProcedureSlot): void {
    slot.waiters.shift()?.();
  }

  #wakeAll(slot: ProcedureSlot): void {
    for (const wake of slot.waiters.splice(0)) wake();
  }
}
