/**
 * What the sandbox cost pass (issue 7) changed, held to the same guarantees: per-call objects built
 * without defineProperty still never reach a planted prototype setter; each presented token value
 * and claims set crosses once and the procedure still sees every copy; a worn-out isolate is
 * replaced between calls.
 */
import { describe, expect, it } from '@jest/globals';
import { createProcedureEngine } from '../../sandbox/engine.ts';
import { MAX_JSON_DEPTH, parseUntrustedObject } from '../../sandbox/json-guard.ts';
import { ACTOR_TOKEN_REF, SUBJECT_TOKEN_REF, serializeProcedureInput } from '../../sandbox/input-json.ts';
import type { ProcedureEngine, ProcedureInput, ProcedureOutcome } from '../../sandbox/types.ts';
import {
  RELAXED_LIMITS,
  TestHost,
  createSigningKey,
  inlineProcedure,
  nowSeconds,
  recordingEvents,
  recordingSink,
  testClient,
  tokenExchangeInput,
  engineForTests,
} from './test-host.ts';

const key = createSigningKey();
const engine = engineForTests();

const client = () => testClient({ audiences: ['https://orders.example.com'], scope: 'read write', properties: { tier: 'gold' } });
const SUBJECT_CLAIMS = { sub: 'alice', scope: 'read write', jti: 'j-1', client_id: 'web', acr: 'pwd', amr: ['pwd', 'otp'], nested: { a: [1, { b: 2 }] } };

/** A delegated exchange as the server builds it: tokens in the form, delegations carrying the claims. */
function delegatedInput(): ProcedureInput {
  const input = tokenExchangeInput(key, {
    client: client(),
    subject: { claims: SUBJECT_CLAIMS },
    actor: { claims: { sub: 'svc', client_id: 'svc-client' } },
    form: { grant_type: ['urn:ietf:params:oauth:grant-type:token-exchange'], scope: ['read'] },
  });
  const subject = input.subjectToken!;
  const actor = input.actorToken!;
  input.request.formParameters = { subject_token: [subject.value], scope: ['read'], actor_token: [actor.value], grant_type: ['x'] };
  subject.delegation = { id: 'j-1', clientId: 'web', scope: 'read write', claims: { ...subject.claims } };
  actor.delegation = { id: '', clientId: 'svc-client', scope: '', claims: { ...actor.claims } };
  return input;
}

function run(source: string, input: ProcedureInput, on: ProcedureEngine = engine): Promise<ProcedureOutcome> {
  return on.run(inlineProcedure(source), input, new TestHost(key, client()), { requestId: 'req-cost', log: recordingSink().sink });
}

describe('per-call objects built without defineProperty', () => {
  it('never call setters planted on Object.prototype or Array.prototype', async () => {
    const outcome = await run(
      `
      var hits = 0;
      var names = ['sub', 'scope', 'jti', 'amr', 'nested', 'a', 'b', '0', '1', 'id', 'clientId', 'claims', 'name',
        'properties', 'tier', 'audiences', 'audiencesAsString', 'subject', 'acr'];
      names.forEach(function (name) {
        [Object.prototype, Array.prototype].forEach(function (proto) {
          Object.defineProperty(proto, name, { __proto__: null, set: function () { hits++; }, get: function () { return 'planted'; }, configurable: true });
        });
      });
      function result(context) {
        var t = context.getPresentedSubjectToken();
        var d = context.getPresentedSubjectTokenDelegation();
        var c = context.client;
        var s = context.subjectAttributes();
        var x = context.contextAttributes();
        var scopes = context.getRequestedScopes().toArray();
        var keys = t.keySet();
        var full = context.getInitializedContext(s, x, [], ['read']);
        var issued = full.delegationIssuer.issue({ claims: { sub: 'bob' } });
        return JSON.parse(JSON.stringify({
          hits: hits,
          sub: t.sub, amr: [t.amr[0], t.amr[1]], b: t.nested.a[1].b, get: t.get('jti'),
          delegation: [d.id, d.clientId, d.getClaims().sub, d.claims.amr[1]],
          client: [c.id, c.properties.tier, c.audiences[0], c.audiencesAsString, c.getScope()],
          subject: s.subject, acr: x.acr, scopes: [scopes[0], scopes.length], keys: keys.size(),
          issued: issued.getClaims().sub,
        }));
      }`,
      delegatedInput(),
    );
    expect(outcome).toEqual({
      kind: 'response',
      body: {
        hits: 0,
        sub: 'alice',
        amr: ['pwd', 'otp'],
        b: 2,
        get: 'j-1',
        delegation: ['j-1', 'web', 'alice', 'otp'],
        client: [client().id, 'gold', 'https://orders.example.com', 'https://orders.example.com', 'read write'],
        subject: 'alice',
        acr: 'pwd',
        scopes: ['read', 1],
        keys: Object.keys(SUBJECT_CLAIMS).length,
        issued: 'bob',
      },
    });
  });

  it('keeps the Java-style and Map-style methods on what it builds', async () => {
    const outcome = await run(
      `function result(context) {
        var t = context.getPresentedSubjectToken();
        var list = t.amr;
        var copy = list.toArray();
        return {
          contains: list.contains('otp'), size: list.size(), isList: Array.isArray(list), copyIsPlain: Object.getPrototypeOf(copy) === Array.prototype,
          put: t.put('sub', 'bob'), now: t.get('sub'), has: t.containsKey('scope'), tokenProto: Object.getPrototypeOf(Object.getPrototypeOf(t)) === Object.prototype,
          json: JSON.parse(JSON.stringify(context.getPresentedSubjectTokenDelegation())).claims.sub,
        };
      }`,
      delegatedInput(),
    );
    expect(outcome).toEqual({
      kind: 'response',
      body: { contains: true, size: 2, isList: true, copyIsPlain: true, put: 'alice', now: 'bob', has: true, tokenProto: true, json: 'alice' },
    });
  });
});

describe('input written once per token', () => {
  it('sends each token value and claims set once, marked where the copies were', () => {
    const input = delegatedInput();
    const json = serializeProcedureInput(input);
    expect(json.split(input.subjectToken!.value)).toHaveLength(2);
    expect(json.split(input.actorToken!.value)).toHaveLength(2);
    const sent = JSON.parse(json) as Record<string, Record<string, unknown>>;
    expect(sent['request']!['formParameters']).toEqual({ subject_token: SUBJECT_TOKEN_REF, scope: ['read'], actor_token: ACTOR_TOKEN_REF, grant_type: ['x'] });
    expect(Object.keys(sent['request']!['formParameters'] as object)).toEqual(['subject_token', 'scope', 'actor_token', 'grant_type']);
    expect((sent['subjectToken']!['delegation'] as Record<string, unknown>)['claims']).toBe(SUBJECT_TOKEN_REF);
    expect((sent['actorToken']!['delegation'] as Record<string, unknown>)['claims']).toBe(ACTOR_TOKEN_REF);
    // The caller's input is left as it was.
    expect(input.request.formParameters['subject_token']).toEqual([input.subjectToken!.value]);
  });

  it('sends differing copies as they are', () => {
    const input = delegatedInput();
    input.request.formParameters['subject_token'] = ['something-else'];
    input.request.formParameters['actor_token'] = [input.actorToken!.value, 'second'];
    input.subjectToken!.delegation!.claims = { ...SUBJECT_CLAIMS, sub: 'mallory' };
    input.actorToken!.delegation!.claims = { client_id: 'svc-client', sub: 'svc' };
    expect(JSON.parse(serializeProcedureInput(input))).toEqual(JSON.parse(JSON.stringify(input)));
    const plain = tokenExchangeInput(key, { client: client(), subject: { claims: null } });
    expect(serializeProcedureInput(plain)).toBe(JSON.stringify(plain));
  });

  it('shows the procedure every copy, in the order the form had', async () => {
    const input = delegatedInput();
    const outcome = await run(
      `function result(context) {
        var r = context.request;
        return {
          subjectForm: r.getFormParameter('subject_token') === context.getSubjectTokenValue(),
          actorForm: r.getFormParameterValues('actor_token').toArray().join() === context.getActorTokenValue(),
          names: r.getFormParameterNames().toArray(),
          subjectClaims: JSON.stringify(context.getPresentedSubjectTokenDelegation().getClaims()) === JSON.stringify(context.getPresentedSubjectToken()),
          actorClaims: context.getPresentedActorTokenDelegation().getClaims().client_id,
          separate: context.getPresentedSubjectTokenDelegation().getClaims() !== context.getPresentedSubjectToken(),
        };
      }`,
      input,
    );
    expect(outcome).toEqual({
      kind: 'response',
      body: { subjectForm: true, actorForm: true, names: ['subject_token', 'scope', 'actor_token', 'grant_type'], subjectClaims: true, actorClaims: 'svc-client', separate: true },
    });
  });
});

describe('untrusted JSON depth check', () => {
  const nested = (containers: number) => '{"a":'.repeat(containers - 1) + '{}' + '}'.repeat(containers - 1);

  it('accepts exactly the allowed nesting, with or without the walk', () => {
    expect(parseUntrustedObject(nested(MAX_JSON_DEPTH))).not.toBeNull();
    expect(parseUntrustedObject(nested(MAX_JSON_DEPTH + 1))).toBeNull();
    // Brackets inside strings raise the count so the walk runs, and the walk agrees.
    const padded = (containers: number) => nested(containers).replace('{}', `{"s":"${'{['.repeat(40)}"}`);
    expect(parseUntrustedObject(padded(MAX_JSON_DEPTH))).not.toBeNull();
    expect(parseUntrustedObject(padded(MAX_JSON_DEPTH + 1))).toBeNull();
  });

  it('accepts many shallow objects', () => {
    const wide = JSON.stringify({ list: Array.from({ length: 100 }, (_, i) => ({ i, tags: [String(i)] })) });
    expect(parseUntrustedObject(wide)).toEqual(JSON.parse(wide));
  });
});

describe('isolate replacement', () => {
  it('builds the replacement of a worn-out isolate before the next call arrives', async () => {
    const small = createProcedureEngine({ logger: recordingEvents().logger, limits: { ...RELAXED_LIMITS, maxCallsPerIsolate: 2, maxIsolatesPerProcedure: 1 } });
    try {
      const procedure = inlineProcedure('var calls = 0; logger.info("top level ran"); function result() { calls++; return { calls: calls }; }');
      const input = tokenExchangeInput(key, { client: client(), subject: { claims: { sub: 'alice', exp: nowSeconds() + 60 } } });
      const call = (sink = recordingSink()) => small.run(procedure, input, new TestHost(key, client()), { requestId: 'req-replace', log: sink.sink });
      expect(await call()).toEqual({ kind: 'response', body: { calls: 1 } });
      const wearing = recordingSink();
      expect(await call(wearing)).toEqual({ kind: 'response', body: { calls: 2 } });
      // The worn-out isolate is gone; its replacement appears without another call (bounded wait).
      for (let i = 0; i < 200 && small.stats().isolates === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(small.stats()).toMatchObject({ isolates: 1, procedures: 1 });
      expect(wearing.lines.map((line) => line.message)).toContain('top level ran');
      expect(await call()).toEqual({ kind: 'response', body: { calls: 1 } });
    } finally {
      await small.close();
    }
  });

  it('has a call that arrives during the rebuild wait for the replacement rather than build another', async () => {
    const pair = createProcedureEngine({ logger: recordingEvents().logger, limits: { ...RELAXED_LIMITS, maxCallsPerIsolate: 2, maxIsolatesPerProcedure: 2 } });
    try {
      const procedure = inlineProcedure('var calls = 0; function result() { calls++; return { calls: calls }; }');
      const input = tokenExchangeInput(key, { client: client(), subject: { claims: { sub: 'alice' } } });
      const counts: unknown[] = [];
      for (let i = 0; i < 6; i++) {
        const outcome = await pair.run(procedure, input, new TestHost(key, client()), { requestId: 'req-wait', log: recordingSink().sink });
        counts.push(outcome.kind === 'response' ? outcome.body['calls'] : outcome);
        expect(pair.stats().isolates).toBeLessThanOrEqual(1);
      }
      expect(counts).toEqual([1, 2, 1, 2, 1, 2]);
    } finally {
      await pair.close();
    }
  });

  it('drops a replacement that finishes after its procedure was evicted or the engine closed', async () => {
    const small = createProcedureEngine({ logger: recordingEvents().logger, limits: { ...RELAXED_LIMITS, maxCallsPerIsolate: 1, maxIsolatesPerProcedure: 1 } });
    const procedure = inlineProcedure('function result() { return { ok: true }; }', 'evicted-while-rebuilding');
    const input = tokenExchangeInput(key, { client: client(), subject: { claims: { sub: 'alice' } } });
    const call = () => small.run(procedure, input, new TestHost(key, client()), { requestId: 'req-evict', log: recordingSink().sink });
    try {
      expect(await call()).toEqual({ kind: 'response', body: { ok: true } });
      small.evict(procedure.id);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(small.stats()).toMatchObject({ isolates: 0, procedures: 0 });
      expect(await call()).toEqual({ kind: 'response', body: { ok: true } });
    } finally {
      await small.close();
    }
    expect(small.stats()).toMatchObject({ isolates: 0, procedures: 0 });
  });
});
