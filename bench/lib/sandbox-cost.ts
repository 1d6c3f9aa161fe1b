/**
 * What the sandbox costs per token exchange, measured in this process with the server's own parts:
 * the procedure engine (isolated-vm, same default limits), the token endpoint's issuance host
 * (IssuanceHost, ES256 signing) and its request views. One call at a time, after a warm-up.
 *
 * `runMs` is the whole engine.run call; `hostMs` the time spent in host services the procedure
 * called (getInitializedContext and issue(), which signs the token: work a server without a
 * sandbox does too); `sandboxMs` = runMs - hostMs is what the sandbox itself adds (input transfer,
 * isolate entry and exit, the script, result decoding).
 *
 * `mainThreadMicrosPerCall` (sandbox_main_thread_us_per_call) is the main thread's CPU during one
 * engine.run (process.threadCpuUsage around the call, so none of this harness's own work: building
 * the input, the request issuer), less the main-thread CPU inside the signer (ES256 signing, which
 * any token server pays; timed apart as `signingMicrosPerCall`). It includes: serialising the input,
 * taking an isolate from the pool, isolated-vm's async apply and its completion, both synchronous
 * host callbacks (getInitializedContext and issue(): the bridge's JSON parsing and checks, and the
 * host's work apart from the signature: claims, lifetimes, jti), decoding the result, and the
 * event-loop wake-ups between them (one call at a time, the main thread idles at every hand-off,
 * and each wake is charged to it as CPU). It excludes the isolate thread's own CPU (the script).
 *
 * The server exports no procedure-duration metric yet; a histogram
 * `tokenproc_procedure_duration_seconds` observed around engine.run would measure this in place.
 */
import { createProcedureEngine } from '../../sandbox/engine.ts';
import type { InitializeRequest, IssueRequest, ProcedureHost, ProcedureInput, ProcedureRef } from '../../sandbox/types.ts';
import { IssuanceHost } from '../../server/oauth/issuance.ts';
import { clientView, delegationOf, requestView } from '../../server/oauth/procedure-input.ts';
import { parseForm } from '../../server/http/form.ts';
import { EphemeralSigner } from '../../server/tokens/keys.ts';
import type { PublicJwk, TokenSigner } from '../../server/tokens/keys.ts';
import type { ClientRecord } from '../../server/store/types.ts';
import { mainThreadCpuSeconds } from './thread-cpu.ts';
import { ACCESS_TOKEN_TYPE, TOKEN_PATH, benchClientRecord } from './scenario.ts';
import type { BodyPool } from './scenario.ts';

export interface SandboxCost {
  calls: number;
  /** Calls that did not issue a token (e.g. the sandbox's time limit hit on a starved machine); not in the means. */
  failures: number;
  runMs: number;
  hostMs: number;
  sandboxMs: number;
  /** CPU of this process's main thread per call (the event loop's share; the isolate runs on its own thread). */
  mainThreadMs: number;
  /** Main-thread CPU during engine.run alone, signing excluded, µs per call (see the top of this file). */
  mainThreadMicrosPerCall: number;
  /** Main-thread CPU inside the signer during engine.run, µs per call (excluded from the above). */
  signingMicrosPerCall: number;
}

/** Microseconds of the calling thread's CPU (user + system) since `before`. */
function threadMicrosSince(before: NodeJS.CpuUsage): number {
  const spent = process.threadCpuUsage(before);
  return spent.user + spent.system;
}

/** Counts the main-thread CPU spent signing, so it can be taken out of the sandbox's share. */
class TimedSigner implements TokenSigner {
  signingMicros = 0;
  readonly inner: TokenSigner;
  constructor(inner: TokenSigner) {
    this.inner = inner;
  }
  get issuer(): string {
    return this.inner.issuer;
  }
  sign(header: Record<string, unknown>, payload: Record<string, unknown> | string) {
    const before = process.threadCpuUsage();
    try {
      return this.inner.sign(header, payload);
    } finally {
      this.signingMicros += threadMicrosSince(before);
    }
  }
  publicKeys(): readonly PublicJwk[] {
    return this.inner.publicKeys();
  }
}

/** The procedure input the token endpoint builds for one exchange request body. */
function exchangeInput(client: ClientRecord, body: string): ProcedureInput {
  const parsed = parseForm(body);
  if (!parsed.ok) throw new Error('unparseable bench body');
  const params = parsed.value;
  const token = params.get('subject_token')?.[0] ?? '';
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  const headers = { host: '127.0.0.1', 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), authorization: 'Basic x' };
  return {
    flow: 'oauth-token-oauth-token-exchange',
    client: clientView(client),
    request: requestView('POST', TOKEN_PATH, '127.0.0.1', params, headers),
    subjectToken: { value: token, type: ACCESS_TOKEN_TYPE, claims, delegation: delegationOf(claims) },
    actorToken: null,
    requestedScopes: (params.get('scope')?.[0] ?? '').split(' ').filter(Boolean),
    requestedAudiences: [],
    requestedTokenType: null,
    initialized: null,
  };
}

/** Times the host services a procedure calls, so they can be told apart from the sandbox. */
class TimedHost implements ProcedureHost {
  hostNs = 0n;
  readonly inner: IssuanceHost;
  constructor(inner: IssuanceHost) {
    this.inner = inner;
  }
  initialize(request: InitializeRequest) {
    const t0 = process.hrtime.bigint();
    try {
      return this.inner.initialize(request);
    } finally {
      this.hostNs += process.hrtime.bigint() - t0;
    }
  }
  issue(request: IssueRequest) {
    const t0 = process.hrtime.bigint();
    try {
      return this.inner.issue(request);
    } finally {
      this.hostNs += process.hrtime.bigint() - t0;
    }
  }
}

export async function measureSandboxCost(procedure: ProcedureRef, clientId: string, bodies: BodyPool, seconds: number, warmupCalls = 300): Promise<SandboxCost> {
  const engine = createProcedureEngine({ logger: { warn: () => undefined, error: () => undefined } });
  const signer = new TimedSigner(new EphemeralSigner('http://localhost'));
  const client = benchClientRecord(clientId);
  const policy = { signer, maxLifetimeSeconds: 86400, defaultTtlSeconds: 300, maxIssuedTokens: 8, now: Date.now };
  let runNs = 0n;
  let hostNs = 0n;
  let runMainMicros = 0;
  let signingMicros = 0;
  let calls = 0;
  let failures = 0;
  let lastFailure = '';
  let mainBefore = 0;
  let mainSeconds = 0;
  try {
    const once = async (): Promise<{ run: bigint; host: bigint; mainMicros: number; signingMicros: number } | null> => {
      const input = exchangeInput(client, bodies.next());
      const host = new TimedHost(new IssuanceHost(policy, client, input.subjectToken?.claims ?? null));
      const signedBefore = signer.signingMicros;
      const cpu0 = process.threadCpuUsage();
      const t0 = process.hrtime.bigint();
      const outcome = await engine.run(procedure, input, host, { requestId: 'bench', log: () => undefined });
      const run = process.hrtime.bigint() - t0;
      const mainMicros = threadMicrosSince(cpu0);
      if (outcome.kind !== 'response' || host.inner.issued.length !== 1) {
        failures += 1;
        lastFailure = JSON.stringify(outcome);
        return null;
      }
      return { run, host: host.hostNs, mainMicros, signingMicros: signer.signingMicros - signedBefore };
    };
    for (let i = 0; i < warmupCalls; i++) await once();
    mainBefore = mainThreadCpuSeconds(process.pid);
    const deadline = performance.now() + seconds * 1000;
    while (performance.now() < deadline) {
      const timed = await once();
      if (!timed) continue;
      runNs += timed.run;
      hostNs += timed.host;
      runMainMicros += timed.mainMicros;
      signingMicros += timed.signingMicros;
      calls += 1;
    }
    mainSeconds = mainThreadCpuSeconds(process.pid) - mainBefore;
  } finally {
    await engine.close();
  }
  if (calls === 0) throw new Error(`the procedure never issued a token: ${lastFailure}`);
  const runMs = Number(runNs) / 1e6 / calls;
  const hostMs = Number(hostNs) / 1e6 / calls;
  return {
    calls,
    failures,
    runMs,
    hostMs,
    sandboxMs: runMs - hostMs,
    mainThreadMs: (mainSeconds * 1000) / calls,
    mainThreadMicrosPerCall: (runMainMicros - signingMicros) / calls,
    signingMicrosPerCall: signingMicros / calls,
  };
}
