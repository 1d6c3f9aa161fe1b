/**
 * The engine around the procedures: compile diagnostics, error locations, the warm-isolate pool
 * (reuse, rebuild, eviction, isolation, concurrency), limits and the runtime check.
 */
import { describe, expect, it } from '@jest/globals';
import { loadDefaultProcedure } from '../../sandbox/default-procedures.ts';
import { createProcedureEngine, DEFAULT_SANDBOX_LIMITS, procedureLabel } from '../../sandbox/engine.ts';
import { procedureLogSink } from '../../sandbox/event-logger.ts';
import { createCallState, redactSecrets } from '../../sandbox/host-bridge.ts';
import { parseUntrustedObject } from '../../sandbox/json-guard.ts';
import { resolveSandboxLimits } from '../../sandbox/limits.ts';
import { IsolatePool } from '../../sandbox/pool.ts';
import { hasNoNodeSnapshotFlag } from '../../sandbox/runtime.ts';
import type { ProcedureEngine, ProcedureOutcome, ProcedureRef } from '../../sandbox/types.ts';
import {
  TestHost,
  createSigningKey,
  fileProcedure,
  inlineProcedure,
  nowSeconds,
  recordingEvents,
  recordingSink,
  testClient,
  tokenExchangeInput,
  RELAXED_LIMITS,
  engineForTests,
} from './test-host.ts';

const key = createSigningKey();
const recorded = recordingEvents();
// CPU limit low enough for the counter's timeout case, wall time relaxed for a loaded machine.
const engine = engineForTests({ maxIsolatesPerProcedure: 1, cpuTimeMs: 250, wallTimeMs: 5000 }, recorded.logger);

const client = () => testClient({ scope: 'read', audiences: [] });
const input = (form: Record<string, string[]> = {}) =>
  tokenExchangeInput(key, { client: client(), subject: { claims: { sub: 'alice', scope: 'read', exp: nowSeconds() + 60 } }, form });

function runOn(on: ProcedureEngine, procedure: ProcedureRef, form: Record<string, string[]> = {}): Promise<ProcedureOutcome> {
  return on.run(procedure, input(form), new TestHost(key, client()), { requestId: 'req-engine', log: recordingSink().sink });
}
const run = (procedure: ProcedureRef, form: Record<string, string[]> = {}) => runOn(engine, procedure, form);

describe('compile', () => {
  it('accepts the seed and default procedures', async () => {
    for (const procedure of [
      fileProcedure('procedures/seeds/curity-downscope.js'),
      fileProcedure('procedures/seeds/curity-transaction-id.js'),
      loadDefaultProcedure('oauth-token-oauth-token-exchange'),
      loadDefaultProcedure('oauth-token-client-credentials'),
    ]) {
      expect(await engine.compile(procedure.source, procedure.filename)).toEqual({ ok: true });
    }
  });

  it('names line and column of a syntax error', async () => {
    const result = await engine.compile('function result(context) {\n  var x = {a: ;\n  return x;\n}', 'broken.js');
    expect(result).toEqual({ ok: false, diagnostics: [{ line: 2, column: 15, message: "SyntaxError: Unexpected token ';'" }] });
  });

  it('flags a source without a result function', async () => {
    expect(await engine.compile('function other(context) { return {}; }')).toEqual({
      ok: false,
      diagnostics: [{ line: 1, column: 1, message: 'the procedure does not define function result(context)' }],
    });
    expect(await engine.compile('var result = function (context) { return {}; };')).toEqual({ ok: true });
    expect(await engine.compile('const result = (context) => ({});')).toEqual({ ok: true });
  });

  it('runs nothing', async () => {
    expect(await engine.compile('for (;;) {}\nfunction result() { return {}; }')).toEqual({ ok: true });
  });
});

describe('error locations', () => {
  it('names procedure, line and column of a runtime error, without host paths', async () => {
    const procedure: ProcedureRef = {
      id: 'located',
      source: 'function helper(claims) {\n  return claims.missing.value;\n}\nfunction result(context) {\n  return { v: helper({}) };\n}',
      sha256: '',
      filename: '/srv/authors/acme/procedures/located.js',
    };
    const outcome = await run(procedure);
    expect(outcome).toEqual({
      kind: 'failure',
      reason: 'runtime_error',
      message: "located.js:2:25: TypeError: Cannot read properties of undefined (reading 'value')",
      location: { line: 2, column: 25 },
    });
    const event = recorded.events.find((e) => e.meta['procedure_id'] === 'located');
    expect(event?.meta).toMatchObject({ reason: 'runtime_error', request_id: 'req-engine', line: 2, column: 25 });
  });

  it('locates errors in top-level code and compile errors at run time', async () => {
    expect(await run(inlineProcedure('var config = {};\nconfig.a.b = 1;\nfunction result() { return {}; }', 'top-level'))).toMatchObject({
      reason: 'runtime_error',
      message: expect.stringMatching(/^top-level:2:12: TypeError/),
      location: { line: 2, column: 12 },
    });
    expect(await run(inlineProcedure('function result() {\n  return {;\n}', 'syntax'))).toMatchObject({
      reason: 'compile_error',
      message: "syntax:2:11: SyntaxError: Unexpected token ';'",
      location: { line: 2, column: 11 },
    });
  });

  it('labels procedures by file base name or id', () => {
    expect(procedureLabel({ id: 'p1', filename: '/home/me/procs/exchange.js' })).toBe('exchange.js');
    expect(procedureLabel({ id: 'p1', filename: 'C:\\procs\\exchange.js' })).toBe('exchange.js');
    expect(procedureLabel({ id: 'p1' })).toBe('p1');
  });
});

const COUNTER = `
var calls = 0;
function result(context) {
  calls++;
  if (context.request.getFormParameter('loop')) { for (;;) {} }
  return { calls: calls, version: 1 };
}`;

describe('warm isolates', () => {
  it('keeps top-level state across calls and rebuilds the isolate after a timeout', async () => {
    const procedure = inlineProcedure(COUNTER, 'counter');
    expect(await run(procedure)).toEqual({ kind: 'response', body: { calls: 1, version: 1 } });
    expect(await run(procedure)).toEqual({ kind: 'response', body: { calls: 2, version: 1 } });
    expect(await run(procedure, { loop: ['1'] })).toMatchObject({ kind: 'failure', reason: 'timeout' });
    expect(await run(procedure)).toEqual({ kind: 'response', body: { calls: 1, version: 1 } });
  });

  it('rebuilds the isolate when the source changes', async () => {
    const first = inlineProcedure(COUNTER, 'changing');
    expect(await run(first)).toEqual({ kind: 'response', body: { calls: 1, version: 1 } });
    expect(await run(first)).toEqual({ kind: 'response', body: { calls: 2, version: 1 } });
    const second = inlineProcedure(COUNTER.replace('version: 1', 'version: 2'), 'changing');
    expect(await run(second)).toEqual({ kind: 'response', body: { calls: 1, version: 2 } });
    expect(engine.stats().isolates).toBeGreaterThanOrEqual(1);
  });

  it('drops isolates on evict', async () => {
    const procedure = inlineProcedure(COUNTER, 'evicted');
    await run(procedure);
    await run(procedure);
    const before = engine.stats();
    engine.evict('evicted');
    expect(engine.stats().isolates).toBe(before.isolates - 1);
    expect(await run(procedure)).toEqual({ kind: 'response', body: { calls: 1, version: 1 } });
  });

  it('rebuilds after maxCallsPerIsolate calls', async () => {
    const small = createProcedureEngine({ logger: recordingEvents().logger, limits: { ...RELAXED_LIMITS, maxCallsPerIsolate: 2, maxIsolatesPerProcedure: 1 } });
    try {
      const procedure = inlineProcedure(COUNTER, 'recycled');
      const counts: unknown[] = [];
      for (let i = 0; i < 5; i++) {
        const outcome = await runOn(small, procedure);
        counts.push(outcome.kind === 'response' ? outcome.body['calls'] : outcome);
      }
      expect(counts).toEqual([1, 2, 1, 2, 1]);
    } finally {
      await small.close();
    }
  });

  it('disposes the isolate at the wall-clock deadline even when the CPU limit is higher', async () => {
    const walled = createProcedureEngine({ logger: recordingEvents().logger, limits: { cpuTimeMs: 10_000, wallTimeMs: 400 } });
    try {
      const outcome = await runOn(walled, inlineProcedure('function result() { for (;;) {} }'));
      expect(outcome).toMatchObject({ kind: 'failure', reason: 'timeout', message: expect.stringContaining('wall-clock') });
      expect(await runOn(walled, inlineProcedure('function result() { return { ok: true }; }'))).toEqual({ kind: 'response', body: { ok: true } });
    } finally {
      await walled.close();
    }
  });

  it('evicts idle isolates', async () => {
    const limits = resolveSandboxLimits({ idleEvictMs: 60_000 });
    const events = recordingEvents().logger;
    const pool = new IsolatePool({ limits, events, isClosed: () => false, onUnrecoverable: () => undefined });
    try {
      const state = createCallState({ procedureId: 'idle', requestId: 'r', host: new TestHost(key, client()), log: () => {}, limits, events, secrets: [] });
      const lease = await pool.acquire({ procedureId: 'idle', slotKey: 'idle', source: COUNTER, sha256: 'h1', label: 'idle', state });
      if (!lease.ok) throw new Error('no lease');
      pool.release(lease.procedureIsolate, true);
      pool.sweep(Date.now());
      expect(pool.stats()).toEqual({ isolates: 1, procedures: 1 });
      pool.sweep(Date.now() + 60_001);
      expect(pool.stats()).toEqual({ isolates: 0, procedures: 0 });
      expect(lease.procedureIsolate.isolate.isDisposed).toBe(true);
    } finally {
      pool.close();
    }
  });
});

describe('concurrency and isolation', () => {
  const BUSY = (name: string) => `
    var owner = '${name}';
    globalThis.sharedName = owner;
    function result() {
      var spin = 0;
      for (var i = 0; i < 200000; i++) spin += i % 7;
      return { owner: owner, seen: globalThis.sharedName, spin: spin > 0 };
    }`;

  it('runs two procedures at once; neither sees the other\u2019s globals', async () => {
    const [a, b] = await Promise.all([run(inlineProcedure(BUSY('a'), 'busy-a')), run(inlineProcedure(BUSY('b'), 'busy-b'))]);
    expect(a).toEqual({ kind: 'response', body: { owner: 'a', seen: 'a', spin: true } });
    expect(b).toEqual({ kind: 'response', body: { owner: 'b', seen: 'b', spin: true } });
  });

  it('serves more concurrent calls of one procedure than it has isolates', async () => {
    const two = createProcedureEngine({ logger: recordingEvents().logger, limits: { ...RELAXED_LIMITS, maxIsolatesPerProcedure: 2 } });
    try {
      const procedure = inlineProcedure(BUSY('hot'), 'hot');
      // A pair runs one call at a time until it has answered cleanly once (see path-selector.ts).
      expect((await runOn(two, procedure)).kind).toBe('response');
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => runOn(two, procedure)));
      expect(outcomes.every((outcome) => outcome.kind === 'response')).toBe(true);
      expect(two.stats()).toMatchObject({ isolates: 2, procedures: 1 });
    } finally {
      await two.close();
    }
  });

  it('refuses to run after close and frees every isolate', async () => {
    const closing = createProcedureEngine({ logger: recordingEvents().logger, limits: RELAXED_LIMITS });
    await runOn(closing, inlineProcedure('function result() { return {}; }'));
    expect(closing.stats().isolates).toBe(1);
    await closing.close();
    expect(closing.stats()).toMatchObject({ isolates: 0, procedures: 0 });
    await expect(runOn(closing, inlineProcedure('function result() { return {}; }'))).rejects.toThrow('closed');
  });
});

describe('configuration', () => {
  it('validates limits and keeps safe defaults', () => {
    expect(resolveSandboxLimits()).toEqual(DEFAULT_SANDBOX_LIMITS);
    expect(resolveSandboxLimits({ cpuTimeMs: 20 }).cpuTimeMs).toBe(20);
    expect(() => resolveSandboxLimits({ memoryMb: 4 })).toThrow(RangeError);
    expect(() => resolveSandboxLimits({ cpuTimeMs: 1.5 })).toThrow(RangeError);
    expect(DEFAULT_SANDBOX_LIMITS).toMatchObject({ cpuTimeMs: 100, wallTimeMs: 1000, memoryMb: 32, maxResultBytes: 65536, maxIssueCalls: 8 });
  });

  it('requires --no-node-snapshot, from the command line or NODE_OPTIONS', () => {
    expect(hasNoNodeSnapshotFlag(['--no-node-snapshot'], '')).toBe(true);
    expect(hasNoNodeSnapshotFlag([], '--max-old-space-size=512 --no-node-snapshot')).toBe(true);
    expect(hasNoNodeSnapshotFlag(['--inspect'], '')).toBe(false);
  });

  it('parses isolate JSON without __proto__ keys (even escaped) and with bounded nesting', () => {
    const parsed = parseUntrustedObject('{"a":1,"\\u005f_proto__":{"admin":true},"b":{"__proto__":{"x":1},"c":2}}');
    expect(parsed).toEqual({ a: 1, b: { c: 2 } });
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(parsed!['b'])).toBe(Object.prototype);
    expect(parseUntrustedObject('[1]')).toBeNull();
    expect(parseUntrustedObject('{"a":' + '['.repeat(40) + ']'.repeat(40) + '}')).toBeNull();
    expect(parseUntrustedObject('{"a":' + '['.repeat(20) + ']'.repeat(20) + '}')).not.toBeNull();
  });

  it('redacts presented and issued tokens and anything JWT-shaped from log lines', () => {
    expect(redactSecrets('opaque-token-value-1 and eyJhbGciOi.eyJzdWIi.sig', ['opaque-token-value-1'])).toBe('[redacted] and [redacted]');
    expect(redactSecrets('short ab', ['ab'])).toBe('short ab');
  });

  it('writes procedure log lines into a winston-style logger with both ids', () => {
    const written: Array<[string, string, unknown]> = [];
    const logger = {
      debug: (message: string, meta: unknown) => written.push(['debug', message, meta]),
      info: (message: string, meta: unknown) => written.push(['info', message, meta]),
      warn: (message: string, meta: unknown) => written.push(['warn', message, meta]),
      error: (message: string, meta: unknown) => written.push(['error', message, meta]),
    };
    procedureLogSink(logger as never, 'proc-1', 'req-9')('warn', 'hello');
    expect(written).toEqual([['warn', 'hello', { source: 'procedure', procedure_id: 'proc-1', request_id: 'req-9' }]]);
  });
});
