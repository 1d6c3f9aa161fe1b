/**
 * A ProcedureHost for sandbox tests that behaves like the server would: it validates the scopes and
 * audiences `getInitializedContext` asks for against a client, records every call, and signs issued
 * tokens with a real ES256 key (compact JWS via node:crypto), so tokens are real and decodable.
 * Also input builders and recording log sinks.
 */
import { afterAll, beforeAll } from '@jest/globals';
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type {
  InitializeRequest,
  InitializedContextData,
  IssueRequest,
  LogLevel,
  ProcedureClientView,
  ProcedureEngine,
  ProcedureInput,
  ProcedureLogSink,
  ProcedureRef,
  SandboxLimits,
} from '../../sandbox/types.ts';
import type { SandboxEventLogger } from '../../sandbox/event-logger.ts';
import { createProcedureEngine } from '../../sandbox/engine.ts';
import { fail, ok, oauthError, type OAuthError, type Result } from '../../sandbox/protocol.ts';

export const TOKEN_TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ID = 'urn:ietf:params:oauth:token-type:id_token';
export const ISSUER = 'https://tokenproc.test';

/**
 * Limits for tests that do not test limits: the machine is shared and loaded, and isolated-vm's
 * timeout counts wall time while the isolate runs, so ordinary calls get room to spare.
 */
export const RELAXED_LIMITS = { cpuTimeMs: 2000, wallTimeMs: 5000 } as const;

// The test host signs every kind (refresh tokens too): the sandbox tests look at what crosses, not at token formats.
const TYP_BY_KIND = { access_token: 'at+jwt', jwt: 'JWT', id_token: 'JWT', refresh_token: 'JWT', id_jag: 'oauth-id-jag+jwt', txn_token: 'txntoken+jwt' } as const;

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  kid: string;
}

export function createSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, kid: randomBytes(8).toString('hex') };
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

export function signJwt(key: SigningKey, claims: Record<string, unknown>, typ = 'at+jwt'): string {
  const header = base64url(JSON.stringify({ alg: 'ES256', typ, kid: key.kid }));
  const payload = base64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${base64url(signature)}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  verified: boolean;
}

export function decodeJwt(token: string, key: SigningKey): DecodedJwt {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const verified = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key: key.publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>,
    verified,
  };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface TestClient extends ProcedureClientView {
  accessTokenTtl: number;
}

export function testClient(overrides: Partial<TestClient> = {}): TestClient {
  return {
    id: 'orders-api-client',
    name: 'Orders API',
    properties: {},
    audiences: ['https://invoicing.example.com'],
    scope: 'invoicing trigger_invoicing',
    accessTokenTtl: 300,
    ...overrides,
  };
}

interface ContextRecord {
  audiences: string[];
  scopes: string[];
  sub: string;
}

export interface IssuedToken {
  kind: IssueRequest['kind'];
  token: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Validates and signs like the token endpoint: scopes within the client's, audiences within its list. */
export class TestHost {
  readonly key: SigningKey;
  readonly client: TestClient;
  readonly initializeCalls: InitializeRequest[] = [];
  readonly issueCalls: IssueRequest[] = [];
  readonly issued: IssuedToken[] = [];
  readonly #contexts = new Map<number, ContextRecord>();
  #nextContextId = 1;
  /** Set to make the next host call throw, as a broken host would. */
  throwOnNextCall = false;

  constructor(key: SigningKey, client: TestClient) {
    this.key = key;
    this.client = client;
  }

  initialize(request: InitializeRequest): Result<InitializedContextData, OAuthError> {
    this.initializeCalls.push(request);
    this.#maybeThrow();
    const clientScopes = this.client.scope.split(' ').filter(Boolean);
    const badScope = request.scopes.find((scope) => !clientScopes.includes(scope));
    if (badScope !== undefined) return fail(oauthError('invalid_scope', `scope ${badScope} is not allowed for the client`));
    const badAudience = request.audiences.find((audience) => !this.client.audiences.includes(audience));
    if (this.client.audiences.length > 0 && badAudience !== undefined) {
      return fail(oauthError('invalid_target', `audience ${badAudience} is not allowed for the client`));
    }
    const subject = request.subjectAttributes['subject'];
    return ok(this.context(request.audiences, request.scopes, typeof subject === 'string' ? subject : this.client.id));
  }

  /** An initialized context as the server prepares it (client_credentials, or after initialize). */
  context(audiences: string[], scopes: string[], sub: string): InitializedContextData {
    const contextId = this.#nextContextId++;
    this.#contexts.set(contextId, { audiences, scopes, sub });
    const iat = nowSeconds();
    return {
      contextId,
      audiences,
      scopes,
      defaultAccessTokenData: {
        sub,
        client_id: this.client.id,
        scope: scopes.join(' '),
        aud: audiences,
        iss: ISSUER,
        iat,
        exp: iat + this.client.accessTokenTtl,
      },
      defaultDelegationData: { id: `delegation-${contextId}`, clientId: this.client.id, scope: scopes.join(' '), claims: {} },
    };
  }

  issue(request: IssueRequest): Result<{ token: string }, OAuthError> {
    this.issueCalls.push(request);
    this.#maybeThrow();
    const context = this.#contexts.get(request.contextId);
    if (context === undefined) return fail(oauthError('server_error', 'unknown context'));
    const iat = nowSeconds();
    const maxExp = iat + this.client.accessTokenTtl;
    const requestedExp = request.data['exp'];
    const claims: Record<string, unknown> = {
      ...request.data,
      iss: ISSUER,
      aud: context.audiences,
      scope: context.scopes.join(' '),
      iat,
      exp: typeof requestedExp === 'number' && Number.isFinite(requestedExp) ? Math.min(requestedExp, maxExp) : maxExp,
      jti: randomBytes(16).toString('base64url'),
    };
    const token = signJwt(this.key, claims, TYP_BY_KIND[request.kind]);
    const decoded = decodeJwt(token, this.key);
    this.issued.push({ kind: request.kind, token, header: decoded.header, claims: decoded.claims });
    return ok({ token });
  }

  /** How often the engine asked to forget an attempt's tokens (a call re-run after the synchronous limit). */
  resets = 0;

  reset(): void {
    this.resets += 1;
    this.issued.length = 0;
  }

  #maybeThrow(): void {
    if (this.throwOnNextCall) {
      this.throwOnNextCall = false;
      throw new Error('host exploded at /srv/tokenproc/server/secret-path.ts');
    }
  }
}

export interface PresentedTokenSpec {
  claims: Record<string, unknown> | null;
  type?: string;
  value?: string;
}

export interface TokenExchangeSpec {
  client: TestClient;
  subject: PresentedTokenSpec;
  actor?: PresentedTokenSpec;
  form?: Record<string, string[]>;
  requestedScopes?: string[];
  requestedAudiences?: string[];
  requestedTokenType?: string | null;
  headers?: Record<string, string>;
}

function presented(key: SigningKey, spec: PresentedTokenSpec) {
  return {
    value: spec.value ?? signJwt(key, spec.claims ?? { sub: 'unvalidated' }),
    type: spec.type ?? TOKEN_TYPE_ACCESS,
    claims: spec.claims,
    delegation: null,
  };
}

function clientView(client: TestClient): ProcedureClientView {
  return { id: client.id, name: client.name, properties: client.properties, audiences: client.audiences, scope: client.scope };
}

/** A token-exchange input as the server builds it: requested scopes and audiences parsed from the form. */
export function tokenExchangeInput(key: SigningKey, spec: TokenExchangeSpec): ProcedureInput {
  const form = spec.form ?? {};
  const requestedScopes = spec.requestedScopes ?? (form['scope']?.[0] ?? '').split(' ').filter(Boolean);
  const requestedAudiences = spec.requestedAudiences ?? [...(form['audience'] ?? []), ...(form['resource'] ?? [])];
  return {
    flow: 'oauth-token-oauth-token-exchange',
    client: clientView(spec.client),
    request: {
      method: 'POST',
      path: '/oauth/v2/oauth-token',
      clientIpAddress: '127.0.0.1',
      formParameters: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...spec.headers },
    },
    subjectToken: presented(key, spec.subject),
    actorToken: spec.actor ? presented(key, spec.actor) : null,
    requestedScopes,
    requestedAudiences,
    requestedTokenType: spec.requestedTokenType ?? null,
    initialized: null,
  };
}

/** A client_credentials input: the context arrives initialized. */
export function clientCredentialsInput(host: TestHost, scopes: string[], audiences: string[] = host.client.audiences): ProcedureInput {
  return {
    flow: 'oauth-token-client-credentials',
    client: clientView(host.client),
    request: {
      method: 'POST',
      path: '/oauth/v2/oauth-token',
      clientIpAddress: '127.0.0.1',
      formParameters: { grant_type: ['client_credentials'], scope: [scopes.join(' ')] },
      headers: {},
    },
    subjectToken: null,
    actorToken: null,
    requestedScopes: scopes,
    requestedAudiences: [],
    requestedTokenType: null,
    initialized: host.context(audiences, scopes, host.client.id),
  };
}

/** The refresh flow's input as the refresh grant prepares it: an initialized context and the presented token's data. */
export function refreshInput(host: TestHost, scopes: string[]): ProcedureInput {
  const initialized = host.context(host.client.audiences, scopes, 'alice');
  const familyEnd = nowSeconds() + 3600;
  const data = { sub: 'alice', scope: scopes.join(' '), client_id: host.client.id, iat: nowSeconds(), exp: familyEnd, groups: ['a'] };
  return {
    flow: 'oauth-token-refresh',
    client: clientView(host.client),
    request: {
      method: 'POST',
      path: '/oauth/v2/oauth-token',
      clientIpAddress: '127.0.0.1',
      formParameters: { grant_type: ['refresh_token'] },
      headers: {},
    },
    subjectToken: null,
    actorToken: null,
    requestedScopes: [],
    requestedAudiences: [],
    requestedTokenType: null,
    initialized: { ...initialized, defaultRefreshTokenData: { ...initialized.defaultAccessTokenData, exp: familyEnd }, defaultIdTokenData: null },
    refresh: { data, delegation: { id: 'family-1', clientId: host.client.id, scope: data.scope, claims: data } },
  };
}

/** The jwt-bearer flow's input as the grant prepares it: an initialized context and the validated assertion's claims. */
export function jwtAssertionInput(host: TestHost, scopes: string[]): ProcedureInput {
  const claims = { iss: 'https://idp.example.com', sub: 'alice', aud: 'https://tokenproc.example', client_id: host.client.id, scope: scopes.join(' '), jti: 'a-1', iat: nowSeconds(), exp: nowSeconds() + 300, amr: ['mfa'] };
  return {
    flow: 'oauth-token-jwt-assertion',
    client: clientView(host.client),
    request: {
      method: 'POST',
      path: '/oauth/v2/oauth-token',
      clientIpAddress: '127.0.0.1',
      formParameters: { grant_type: ['urn:ietf:params:oauth:grant-type:jwt-bearer'], scope: [scopes.join(' ')] },
      headers: {},
    },
    subjectToken: null,
    actorToken: null,
    requestedScopes: scopes,
    requestedAudiences: [],
    requestedTokenType: null,
    initialized: host.context(host.client.audiences, scopes, 'alice'),
    assertion: { claims },
  };
}

export interface LogLine {
  level: LogLevel;
  message: string;
}

export function recordingSink(): { sink: ProcedureLogSink; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { sink: (level, message) => lines.push({ level, message }), lines };
}

export interface EngineEvent {
  level: 'warn' | 'error';
  message: string;
  meta: Record<string, unknown>;
}

export function recordingEvents(): { logger: SandboxEventLogger; events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  return {
    logger: {
      warn: (message, meta) => events.push({ level: 'warn', message, meta }),
      error: (message, meta) => events.push({ level: 'error', message, meta }),
    },
    events,
  };
}

let inlineCounter = 0;

/** A ProcedureRef for inline source; each call gets a fresh id unless one is given. */
export function inlineProcedure(source: string, id = `inline-${++inlineCounter}`): ProcedureRef {
  return { id, source, sha256: '' };
}

export function fileProcedure(path: string, id = path): ProcedureRef {
  const url = new URL(`../../${path}`, import.meta.url);
  return { id, source: readFileSync(url, 'utf8'), sha256: '', filename: path };
}

/**
 * The engine a test file shares: created before its tests and closed after them. Calls go to that
 * engine, so the file can declare it at the top (while jest collects tests, none exists yet).
 */
export function engineForTests(limits: Partial<SandboxLimits> = RELAXED_LIMITS, logger: SandboxEventLogger = recordingEvents().logger): ProcedureEngine {
  let engine: ProcedureEngine | null = null;
  beforeAll(() => {
    engine = createProcedureEngine({ logger, limits });
  });
  afterAll(async () => {
    await engine?.close();
  });
  const current = (): ProcedureEngine => {
    if (engine === null) throw new Error('the test engine exists only while the tests run');
    return engine;
  };
  return {
    compile: (source, filename) => current().compile(source, filename),
    run: (procedure, input, host, options) => current().run(procedure, input, host, options),
    evict: (procedureId) => current().evict(procedureId),
    stats: () => current().stats(),
    suspend: (suspension) => current().suspend(suspension),
    close: () => current().close(),
  };
}
