/**
 * Sandbox overhead: calls per second of the seed downscoping procedure through the engine (warm
 * isolates, signing stubbed to a constant so only the sandbox is measured) versus the same `result`
 * function run directly in Node on equivalent plain objects, in one run. For scale it also times
 * the least crypto a real exchange does (verify the subject token, sign the new one).
 *
 *   node --no-node-snapshot bench/sandbox.bench.ts     (Node 24: export PATH=node_modules/.bin:$PATH)
 *
 * Bounded: about TOTAL_MS of interleaved batches, plus warm-up.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createProcedureEngine } from '../sandbox/engine.ts';
import type { InitializedContextData, ProcedureHost, ProcedureInput, ProcedureRef } from '../sandbox/types.ts';
import { ok } from '../sandbox/protocol.ts';

const TOTAL_MS = 4000;
const BATCH_MS = 100;
const MAX_ROUNDS = 40;
const WARMUP_CALLS = 300;

const source = readFileSync(new URL('../procedures/seeds/curity-downscope.js', import.meta.url), 'utf8');
const procedure: ProcedureRef = { id: 'bench-downscope', source, sha256: '', filename: 'curity-downscope.js' };
const now = Math.floor(Date.now() / 1000);
const SUBJECT_VALUE = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
const STUB_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInNjb3BlIjoicmVhZCJ9.c3R1Yg';

const input: ProcedureInput = {
  flow: 'oauth-token-oauth-token-exchange',
  client: { id: 'orders-api-client', name: 'Orders', properties: {}, audiences: ['https://orders.example.com'], scope: 'read write' },
  request: {
    method: 'POST',
    path: '/oauth/v2/oauth-token',
    clientIpAddress: '127.0.0.1',
    formParameters: { grant_type: ['urn:ietf:params:oauth:grant-type:token-exchange'], scope: ['read'] },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  },
  subjectToken: {
    value: SUBJECT_VALUE,
    type: 'urn:ietf:params:oauth:token-type:access_token',
    claims: { sub: 'alice', iss: 'https://tokenproc.test', aud: 'https://orders.example.com', scope: 'read write', client_id: 'web', iat: now, exp: now + 300 },
    delegation: null,
  },
  actorToken: null,
  requestedScopes: ['read'],
  requestedAudiences: [],
  requestedTokenType: null,
  initialized: null,
};

function initializedFor(audiences: string[], scopes: string[]): InitializedContextData {
  return {
    contextId: 1,
    audiences,
    scopes,
    defaultAccessTokenData: { sub: 'alice', scope: scopes.join(' '), aud: audiences, iat: now, exp: now + 300 },
    defaultDelegationData: { id: 'd1', clientId: 'orders-api-client', scope: scopes.join(' '), claims: {} },
  };
}

const stubHost: ProcedureHost = {
  initialize: (request) => ok(initializedFor(request.audiences, request.scopes)),
  issue: () => ok({ token: STUB_TOKEN }),
};

interface Variant {
  label: string;
  /** Calls in flight at once. */
  concurrency: number;
  call: () => Promise<unknown> | unknown;
  calls: number;
  nanoseconds: bigint;
}

const variant = (label: string, concurrency: number, call: Variant['call']): Variant => ({ label, concurrency, call, calls: 0, nanoseconds: 0n });

/**
 * Runs the variants in interleaved rounds (a batch of each per round) so that the load of a shared
 * machine drifts over all of them alike and the ratios stay meaningful.
 */
async function measure(variants: Variant[]): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(TOTAL_MS) * 1_000_000n;
  for (let round = 0; round < MAX_ROUNDS && process.hrtime.bigint() < deadline; round++) {
    for (const v of variants) {
      const started = process.hrtime.bigint();
      const batchEnd = started + BigInt(BATCH_MS) * 1_000_000n;
      let calls = 0;
      const lane = async (): Promise<void> => {
        while (process.hrtime.bigint() < batchEnd) {
          calls++;
          await v.call();
        }
      };
      await Promise.all(Array.from({ length: v.concurrency }, lane));
      v.nanoseconds += process.hrtime.bigint() - started;
      v.calls += calls;
    }
  }
}

const perSecond = (v: Variant): number => v.calls / (Number(v.nanoseconds) / 1e9);

function print(v: Variant): void {
  const rate = perSecond(v);
  console.log(`${v.label.padEnd(44)} ${Math.round(rate).toString().padStart(9)} calls/s  ${(1e6 / rate).toFixed(1).padStart(8)} µs/call`);
}

// ---- The same function directly in Node, on plain objects shaped like the sandbox's --------------
interface DirectGlobals {
  exceptionFactory: { badRequestException: (code: string, message: string) => Error };
  secondsUntil: (epochSeconds: number) => number;
  logger: Record<string, () => void>;
}
const loadResult = new Function('exceptionFactory', 'secondsUntil', 'logger', `${source}\nreturn result;`) as (
  ...globals: DirectGlobals[keyof DirectGlobals][]
) => (context: unknown) => Record<string, unknown>;
const directResult = loadResult(
  { badRequestException: (code: string, message: string) => Object.assign(new Error(message), { error: code }) },
  (epochSeconds: number) => Math.round(epochSeconds - Date.now() / 1000),
  { info: () => {}, debug: () => {}, warn: () => {}, error: () => {} },
);

function directContext(from: ProcedureInput): unknown {
  const claims = { ...from.subjectToken!.claims } as Record<string, unknown>;
  Object.defineProperty(claims, 'get', { value: (name: string) => claims[name] ?? null });
  const form = from.request.formParameters;
  const request = { getFormParameter: (name: string) => form[name]?.[0] ?? null };
  return {
    getPresentedSubjectToken: () => claims,
    getPresentedSubjectTokenDelegation: () => null,
    request,
    subjectAttributes: () => ({ subject: claims['sub'] }),
    contextAttributes: () => ({}),
    getInitializedContext: (_s: unknown, _c: unknown, audiences: unknown, scopes: string[]) => {
      const initialized = initializedFor(typeof audiences === 'string' ? [audiences] : (audiences as string[]), scopes);
      return {
        getDefaultAccessTokenJwtIssuer: () => ({
          issue: (data: unknown) => {
            JSON.stringify({ kind: 'access_token', contextId: initialized.contextId, data });
            return STUB_TOKEN;
          },
        }),
      };
    },
  };
}

// ---- The crypto of a real exchange, for scale ------------------------------------------------------
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingInput = Buffer.from(`${SUBJECT_VALUE.split('.').slice(0, 2).join('.')}`);
const subjectSignature = sign('sha256', signingInput, { key: privateKey, dsaEncoding: 'ieee-p1363' });

async function main(): Promise<void> {
  const engine = createProcedureEngine({
    logger: { warn: (message, meta) => console.error(message, meta), error: (message, meta) => console.error(message, meta) },
  });
  const runOptions = { requestId: 'bench', log: () => {} };
  try {
    const first = await engine.run(procedure, input, stubHost, runOptions);
    if (first.kind !== 'response') throw new Error(`benchmark procedure failed: ${JSON.stringify(first)}`);
    for (let i = 0; i < WARMUP_CALLS; i++) {
      await engine.run(procedure, input, stubHost, runOptions);
      directResult(directContext(input));
    }
    console.log(`sandbox benchmark: seed curity-downscope.js, Node ${process.version}, ${os.loadavg()[0]!.toFixed(1)} load on ${os.availableParallelism()} cores\n`);
    const direct = variant('direct in Node (same result function)', 1, () => directResult(directContext(input)));
    const single = variant('sandbox, 1 call in flight', 1, () => engine.run(procedure, input, stubHost, runOptions));
    const pair = variant('sandbox, 2 calls in flight (2 isolates)', 2, () => engine.run(procedure, input, stubHost, runOptions));
    const signing = variant('ES256 verify subject + sign new token', 1, () => {
      verify('sha256', signingInput, { key: publicKey, dsaEncoding: 'ieee-p1363' }, subjectSignature);
      sign('sha256', signingInput, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    });
    await measure([direct, single, pair, signing]);
    for (const v of [direct, single, pair, signing]) print(v);
    const sandboxed = perSecond(single);
    const parallel = perSecond(pair);
    const crypto = perSecond(signing);
    const directRate = perSecond(direct);
    const sandboxMicros = 1e6 / sandboxed;
    const overheadMicros = sandboxMicros - 1e6 / directRate;
    const cryptoMicros = 1e6 / crypto;
    console.log('');
    console.log(`direct / sandbox ratio:          ${(directRate / sandboxed).toFixed(1)}x (the sandbox adds ${overheadMicros.toFixed(1)} µs per call)`);
    console.log(`2 in flight / 1 in flight:       ${(parallel / sandboxed).toFixed(2)}x`);
    console.log(
      `sandbox share of sandbox + crypto alone: ${((100 * sandboxMicros) / (sandboxMicros + cryptoMicros)).toFixed(1)} % ` +
        '(an upper bound on its share of a full token-exchange request, which also parses HTTP, authenticates the client, and more)',
    );
  } finally {
    await engine.close();
  }
}

await main();
