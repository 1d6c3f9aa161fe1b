/**
 * Hostile procedures. Every case asserts the failure shape, that nothing of the host (paths, stack
 * frames) appears in the outcome, and is followed by a normal call that must still succeed.
 */
import { describe, expect, it } from '@jest/globals';
import type { FailureReason, ProcedureEngine, ProcedureOutcome } from '../../sandbox/types.ts';
import {
  TestHost,
  createSigningKey,
  fileProcedure,
  inlineProcedure,
  nowSeconds,
  recordingSink,
  testClient,
  tokenExchangeInput,
  engineForTests,
} from './test-host.ts';

const key = createSigningKey();
const DOWNSCOPE = fileProcedure('procedures/seeds/curity-downscope.js');
/** Room for ordinary calls on a loaded machine. */
const engine = engineForTests();
/** Where running out of time is the point: the default CPU limit, a wall deadline that never hits first. */
const tightEngine = engineForTests({ cpuTimeMs: 50, wallTimeMs: 5000 });
/** Generous CPU time so the memory bomb meets the heap limit first. */
const memoryEngine = engineForTests({ memoryMb: 16, cpuTimeMs: 5000, wallTimeMs: 10000 });

const client = () => testClient({ audiences: ['https://orders.example.com'], scope: 'read write' });
const input = () =>
  tokenExchangeInput(key, {
    client: client(),
    subject: { claims: { sub: 'alice', scope: 'read write', aud: 'https://orders.example.com', exp: nowSeconds() + 60 } },
    form: { scope: ['read'] },
  });

async function run(source: string, on: ProcedureEngine = engine, id?: string): Promise<ProcedureOutcome> {
  return on.run(inlineProcedure(source, id), input(), new TestHost(key, client()), { requestId: 'req-hostile', log: recordingSink().sink });
}

const HOST_TRACES = /\/(work|srv)\/|node_modules|file:\/\/|\bat \S+ \(|\n\s*at /;

function expectNoHostLeak(outcome: ProcedureOutcome): void {
  expect(JSON.stringify(outcome)).not.toMatch(HOST_TRACES);
}

function expectFailure(outcome: ProcedureOutcome, reason: FailureReason, messagePart?: string): void {
  expect(outcome).toMatchObject({ kind: 'failure', reason });
  if (messagePart !== undefined && outcome.kind === 'failure') expect(outcome.message).toContain(messagePart);
  expectNoHostLeak(outcome);
}

/** The engine keeps serving: a normal procedure still issues a token. */
async function expectStillServing(on: ProcedureEngine = engine): Promise<void> {
  const host = new TestHost(key, client());
  const outcome = await on.run(DOWNSCOPE, input(), host, { requestId: 'req-normal', log: recordingSink().sink });
  expect(outcome.kind).toBe('response');
  expect(host.issued).toHaveLength(1);
}

describe('hostile procedures', () => {
  it('infinite loop → timeout', async () => {
    expectFailure(await run('function result() { for (;;) {} }', tightEngine), 'timeout', 'CPU time limit');
    await expectStillServing(tightEngine);
  });

  it('infinite loop inside a getter of the returned object → timeout', async () => {
    expectFailure(await run('function result() { return { get access_token() { for (;;) {} } }; }', tightEngine), 'timeout');
    expectFailure(await run('function result() { return { toJSON: function () { while (true) {} } }; }', tightEngine), 'timeout');
    await expectStillServing(tightEngine);
  });

  it('infinite microtask chain → timeout', async () => {
    expectFailure(await run('function result() { Promise.resolve().then(function l() { Promise.resolve().then(l); }); return {}; }', tightEngine), 'timeout');
    await expectStillServing(tightEngine);
  });

  it('memory bomb → memory_limit', async () => {
    // Chunks below the builtin length cap: the heap limit, not the cap, is what stops this one.
    expectFailure(await run('function result() { var a = []; for (;;) a.push(new Array(1e5).fill(1)); }', memoryEngine), 'memory_limit');
    await expectStillServing(memoryEngine);
  });

  // V8 runs these natively without checking for termination: unguarded, fill and from crashed the
  // process (SIGSEGV) and sort/indexOf/reverse held the thread for seconds past any limit.
  it.each([
    'new Array(1e8).fill(0)',
    'Array.from({ length: 1e8 })',
    'Array.from({ length: 1e8 }, function () { return 1; })',
    'var a = []; a.length = 1e8; a.sort()',
    'new Array(1e8).indexOf(1)',
    'new Array(1e8).reverse()',
    'Array.prototype.lastIndexOf.call({ length: 4294967295 }, 1)',
    'new Array(1e8).join("x")',
    'new Uint8Array(3e7).fill(1).sort()',
    '"x".padStart(2 ** 28)',
    '"abc".repeat(1e8)',
  ])('non-interruptible builtin %s → refused before it runs', async (bomb) => {
    const outcome = await run(`function result() { ${bomb}; return {}; }`, tightEngine);
    expectFailure(outcome, 'runtime_error', 'is refused in token procedures');
    await expectStillServing(tightEngine);
  });

  it('builtins stay usable at ordinary sizes', async () => {
    const outcome = await run(
      `function result() {
        var a = new Array(1000).fill(1); var b = Array.from({ length: 10 }, function (_, i) { return i; });
        return { n: a.length + b.indexOf(9) + [3, 1, 2].sort().join('').length + 'ab'.repeat(3).length + 'x'.padStart(4).length,
                 isArray: Array.isArray(a) && a instanceof Array && a.constructor === Array };
      }`,
      tightEngine,
    );
    expect(outcome).toEqual({ kind: 'response', body: { n: 1000 + 9 + 3 + 6 + 4, isArray: true } });
  });

  it('WebAssembly, shared memory, weak references and finalizers are not there', async () => {
    expectFailure(await run('function result() { return { m: new WebAssembly.Memory({ initial: 60000 }) }; }'), 'runtime_error', 'WebAssembly is not defined');
    const probe = await run(`function result() {
      return { w: typeof WebAssembly, s: typeof SharedArrayBuffer, a: typeof Atomics, f: typeof FinalizationRegistry, r: typeof WeakRef,
               g: typeof globalThis.WebAssembly, names: Object.getOwnPropertyNames(globalThis).filter(function (n) { return /Wasm|WebAssembly|Atomics|Shared|WeakRef|Finalization/.test(n); }) };
    }`);
    expect(probe).toEqual({ kind: 'response', body: { w: 'undefined', s: 'undefined', a: 'undefined', f: 'undefined', r: 'undefined', g: 'undefined', names: [] } });
    await expectStillServing();
  });

  it('giant result → result_too_large', async () => {
    expectFailure(await run("function result() { return { access_token: 'x'.repeat(70000) }; }"), 'result_too_large');
    // Multi-byte characters count as bytes, not characters.
    expectFailure(await run("function result() { return { access_token: '\\u00e9'.repeat(40000) }; }"), 'result_too_large');
    await expectStillServing();
  });

  it.each([
    ['42', 'threw a non-Error value: 42'],
    ["'plain string'", 'threw a non-Error value: plain string'],
    ['null', 'threw a non-Error value: null'],
    ['undefined', 'threw a non-Error value: undefined'],
    ["{ error: 'invalid_grant', status: 400 }", 'threw a non-Error value: {"error":"invalid_grant","status":400}'],
    ["Object.create(null)", 'threw a non-Error value: {}'],
  ])('throw %s → runtime_error, never an OAuth error', async (value, message) => {
    const outcome = await run(`function result() { throw ${value}; }`);
    expectFailure(outcome, 'runtime_error', message);
    await expectStillServing();
  });

  it('a thrown object whose getters loop → timeout', async () => {
    expectFailure(await run('function result() { var e = new Error("x"); Object.defineProperty(e, "message", { get: function () { for (;;) {} } }); throw e; }', tightEngine), 'timeout');
    await expectStillServing(tightEngine);
  });

  it('deep recursion → runtime_error with the location', async () => {
    const outcome = await run('function down(n) {\n  return down(n + 1) + 1;\n}\nfunction result() { return { n: down(0) }; }');
    expectFailure(outcome, 'runtime_error', 'RangeError: Maximum call stack size exceeded');
    expect(outcome.kind === 'failure' && outcome.location?.line).toBe(2);
    await expectStillServing();
  });

  it('prototype tricks find no process, require or host object', async () => {
    const outcome = await run(`function result(context) {
      function attempt(fn) { try { var v = fn(); return v === undefined ? 'undefined' : typeof v; } catch (e) { return e.name + ': ' + e.message; } }
      return {
        viaThis: attempt(function () { return this.constructor.constructor('return process')(); }),
        viaContext: attempt(function () { return context.constructor.constructor('return process')(); }),
        viaLogger: attempt(function () { return logger.info.constructor('return typeof require === "undefined" ? undefined : require')(); }),
        viaFactory: attempt(function () { return exceptionFactory.badRequestException.constructor('return globalThis.process')(); }),
        viaIssuerProto: attempt(function () { return Object.getPrototypeOf(context.getRequest().getHeader).constructor('return this.require')(); }),
        viaError: attempt(function () { return exceptionFactory.badRequestException('x').constructor.constructor('return process.mainModule')(); }),
        importMeta: attempt(function () { return Function('return typeof import.meta')(); }),
      };
    }`);
    expect(outcome).toEqual({
      kind: 'response',
      body: {
        viaThis: 'ReferenceError: process is not defined',
        viaContext: 'ReferenceError: process is not defined',
        viaLogger: 'undefined',
        viaFactory: 'undefined',
        viaIssuerProto: 'undefined',
        viaError: 'ReferenceError: process is not defined',
        importMeta: expect.stringContaining('SyntaxError'),
      },
    });
    await expectStillServing();
  });

  it('stack-trace call sites hand out no prelude functions or receivers', async () => {
    const outcome = await run(`function result(context) {
      var seen = [];
      Error.prepareStackTrace = function (error, sites) {
        sites.forEach(function (site) {
          if (site.getFileName() !== 'procedure.js') seen.push([site.getFileName(), typeof site.getFunction(), typeof site.getThis()]);
        });
        return 'stack';
      };
      var full = context.getInitializedContext(null, null, [], ['read']);
      var data = full.getDefaultAccessTokenData();
      Object.defineProperty(data, 'probe', { enumerable: true, get: function () { new Error('probe').stack; return 1; } });
      full.accessTokenIssuer.issue(data, null);
      return { seen: seen };
    }`);
    expect(outcome.kind).toBe('response');
    const seen = outcome.kind === 'response' ? (outcome.body['seen'] as Array<[string, string, string]>) : [];
    expect(seen.length).toBeGreaterThan(0);
    for (const [, fn, receiver] of seen) {
      expect(fn).toBe('undefined');
      expect(receiver).toBe('undefined');
    }
    await expectStillServing();
  });

  it('exposes no host callbacks or extra globals', async () => {
    const outcome = await run(`function result() {
      var standard = ${JSON.stringify(STANDARD_GLOBALS)};
      return { extra: Object.getOwnPropertyNames(globalThis).filter(function (n) { return standard.indexOf(n) < 0; }).sort() };
    }`);
    expect(outcome).toEqual({ kind: 'response', body: { extra: ['console', 'exceptionFactory', 'logger', 'result', 'secondsUntil'] } });
  });

  it('a script that returns nothing, a Promise or a non-object', async () => {
    expectFailure(await run('function result(context) { context.getClient(); }'), 'no_result');
    expectFailure(await run('async function result() { return {}; }'), 'invalid_result', 'Promise');
    expectFailure(await run("function result() { return 'token'; }"), 'invalid_result', 'not string');
    expectFailure(await run('function result() { return [1, 2]; }'), 'invalid_result', 'not an array');
    expectFailure(await run('function result() { return null; }'), 'invalid_result', 'not null');
    expectFailure(await run('function result() { var o = {}; o.self = o; return o; }'), 'invalid_result', 'not JSON');
    expectFailure(await run('var result = 42;'), 'runtime_error', 'does not define function result');
    await expectStillServing();
  });

  it('__proto__ keys and deep nesting never reach the host', async () => {
    const host = new TestHost(key, client());
    const outcome = await engine.run(
      inlineProcedure(`function result(context) {
        var full = context.getInitializedContext(null, null, [], ['read']);
        var data = JSON.parse('{"sub":"alice","__proto__":{"admin":true}}');
        full.accessTokenIssuer.issue(data, null);
        return JSON.parse('{"access_token":"t","__proto__":{"polluted":true}}');
      }`),
      input(),
      host,
      { requestId: 'req-proto', log: recordingSink().sink },
    );
    expect(outcome).toEqual({ kind: 'response', body: { access_token: 't' } });
    if (outcome.kind === 'response') expect(Object.getPrototypeOf(outcome.body)).toBe(Object.prototype);
    expect(Object.keys(host.issueCalls[0]!.data)).toEqual(['sub']);
    expect(Object.getPrototypeOf(host.issueCalls[0]!.data)).toBe(Object.prototype);
    expectFailure(await run('function result() { var o = {}; for (var i = 0; i < 100; i++) o = { next: o }; return o; }'), 'invalid_result', 'nested');
    await expectStillServing();
  });

  it('replacing JSON, Reflect and prototypes breaks neither the envelope nor the context', async () => {
    const outcome = await run(`
      JSON.stringify = function () { return '"forged"'; };
      JSON.parse = function () { return { forged: true }; };
      Reflect.apply = function () { throw new Error('hijacked'); };
      Object.defineProperty = function () { throw new Error('hijacked'); };
      Object.keys = function () { return ['forged']; };
      Array.prototype.push = function () { throw new Error('hijacked'); };
      Object.prototype.toJSON = undefined;
      Object.defineProperty.call = null;
      Function.prototype.call = function () { throw new Error('hijacked'); };
      Function.prototype.apply = function () { throw new Error('hijacked'); };
      Array.isArray = function () { return false; };
      String.fromCharCode = function () { return 'Z'; };
      function result(context) {
        var t = context.getPresentedSubjectToken();
        var full = context.getInitializedContext(context.subjectAttributes(), null, 'https://orders.example.com', 'read');
        var token = full.getDefaultAccessTokenJwtIssuer().issue(t, null);
        return { sub: t.get('sub'), header: context.request.getHeader('CONTENT-TYPE'), token: token.length > 0 };
      }`);
    expect(outcome).toEqual({ kind: 'response', body: { sub: 'alice', header: 'application/x-www-form-urlencoded', token: true } });
    await expectStillServing();
  });

  it('accessors planted on Object.prototype neither break the context nor forge host answers', async () => {
    const host = new TestHost(key, client());
    const outcome = await engine.run(
      inlineProcedure(`
        Object.defineProperty(Object.prototype, 'get', { get: function () { return function () { return 'planted'; }; }, configurable: true });
        Object.prototype.set = function () {};
        Object.prototype.initialized = { contextId: 999, audiences: [], scopes: ['admin'], defaultAccessTokenData: {}, defaultDelegationData: {} };
        Object.prototype.token = 'forged-token';
        function result(context) {
          var t = context.getPresentedSubjectToken();
          var refused = 'no';
          try { context.getInitializedContext(null, null, [], ['admin']); } catch (e) { refused = e.error; }
          var full = context.getInitializedContext(null, null, [], ['read']);
          return { sub: t.sub, refused: refused, token: full.accessTokenIssuer.issue(t, null) === 'forged-token' };
        }`),
      input(),
      host,
      { requestId: 'req-planted', log: recordingSink().sink },
    );
    expect(outcome).toEqual({ kind: 'response', body: { sub: 'alice', refused: 'invalid_scope', token: false } });
    expect(host.issued).toHaveLength(1);
    await expectStillServing();
  });

  it('keeps one procedure\u2019s globals and prototype changes away from another', async () => {
    const polluter = `
      var counter = 0;
      globalThis.secretOfA = 'a-secret';
      Object.prototype.polluted = 'yes';
      Array.prototype.includes = function () { return true; };
      function result() { counter++; return { counter: counter }; }`;
    const observer = `function result() {
      return { secret: typeof secretOfA, polluted: ({}).polluted === undefined, includes: [1].includes(2) };
    }`;
    expect(await run(polluter, engine, 'procedure-a')).toEqual({ kind: 'response', body: { counter: 1 } });
    expect(await run(polluter, engine, 'procedure-a')).toEqual({ kind: 'response', body: { counter: 2 } });
    expect(await run(observer, engine, 'procedure-b')).toEqual({ kind: 'response', body: { secret: 'undefined', polluted: true, includes: false } });
    await expectStillServing();
  });
});

/** ECMAScript globals of a fresh V8 context in isolated-vm, minus what the prelude removes. */
const STANDARD_GLOBALS = [
  'Object', 'Function', 'Array', 'Number', 'parseFloat', 'parseInt', 'Infinity', 'NaN', 'undefined', 'Boolean', 'String', 'Symbol',
  'Date', 'Promise', 'RegExp', 'Error', 'AggregateError', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError',
  'URIError', 'globalThis', 'JSON', 'Math', 'Intl', 'ArrayBuffer', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'BigUint64Array', 'BigInt64Array', 'Uint8ClampedArray', 'Float32Array', 'Float64Array', 'DataView',
  'Map', 'BigInt', 'Set', 'Iterator', 'WeakMap', 'WeakSet', 'Proxy', 'Reflect', 'decodeURI', 'decodeURIComponent',
  'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'eval', 'isFinite', 'isNaN', 'SuppressedError', 'DisposableStack',
  'AsyncDisposableStack', 'Float16Array',
];
