/**
 * The API procedures see: context getters and properties, token data, Java-style sets, client,
 * request, initialization and issuers, exceptionFactory, logger, secondsUntil and the issue limit.
 */
import { describe, expect, it } from '@jest/globals';
import type { ProcedureInput, ProcedureOutcome } from '../../sandbox/types.ts';
import {
  TOKEN_TYPE_ACCESS,
  TestHost,
  clientCredentialsInput,
  createSigningKey,
  inlineProcedure,
  nowSeconds,
  recordingEvents,
  recordingSink,
  testClient,
  tokenExchangeInput,
  RELAXED_LIMITS,
  engineForTests,
} from './test-host.ts';
import type { LogLine, TokenExchangeSpec } from './test-host.ts';

const key = createSigningKey();
const recorded = recordingEvents();
const engine = engineForTests(RELAXED_LIMITS, recorded.logger);

const client = () =>
  testClient({
    id: 'orders-api-client',
    name: 'Orders',
    properties: { custom_token_exchange: 'true', tier: 'gold' },
    audiences: ['https://a.example', 'https://b.example'],
    scope: 'read write admin',
  });

function exchangeInput(overrides: Partial<TokenExchangeSpec> = {}): ProcedureInput {
  return tokenExchangeInput(key, {
    client: client(),
    subject: { claims: { sub: 'alice', scope: 'read write', aud: 'https://a.example', exp: nowSeconds() + 100, may_act: { sub: 'svc', iss: 'https://idp' } } },
    form: { scope: ['read'], resource: ['https://a.example', 'https://b.example'], transaction_id: ['t-1'] },
    headers: { 'x-correlation-id': 'corr-9' },
    ...overrides,
  });
}

async function runSource(source: string, input: ProcedureInput = exchangeInput(), host = new TestHost(key, client())) {
  const { sink, lines } = recordingSink();
  const outcome = await engine.run(inlineProcedure(source), input, host, { requestId: 'req-api', log: sink });
  return { outcome, host, lines };
}

function body(outcome: ProcedureOutcome): Record<string, unknown> {
  if (outcome.kind !== 'response') throw new Error(`expected a response, got ${JSON.stringify(outcome)}`);
  return outcome.body;
}

describe('uninitialized token-exchange context', () => {
  it('answers every getter as a method and as a property', async () => {
    const { outcome } = await runSource(`
      function result(context) {
        var t = context.getPresentedSubjectToken();
        return {
          sameSubject: t === context.presentedSubjectToken,
          sameClient: context.client === context.getClient(),
          sameRequest: context.request === context.getRequest(),
          subjectValueMatches: context.getSubjectTokenValue() === context.subjectTokenValue,
          subjectValueIsJwt: context.getSubjectTokenValue().split('.').length === 3,
          subjectType: context.getSubjectTokenType(),
          subjectTypeProperty: context.subjectTokenType,
          actor: context.getPresentedActorToken(null),
          actorProperty: context.presentedActorToken,
          actorType: context.getActorTokenType(),
          actorValue: context.getActorTokenValue(),
          delegation: context.getPresentedSubjectTokenDelegation(),
          requestedTokenType: context.getRequestedTokenType(),
          requestedTokenTypeProperty: context.requestedTokenType,
          subjectAttributes: context.subjectAttributes(),
          contextAttributes: context.contextAttributes(),
          hasIssuers: typeof context.accessTokenIssuer !== 'undefined',
        };
      }`);
    expect(body(outcome)).toEqual({
      sameSubject: true,
      sameClient: true,
      sameRequest: true,
      subjectValueMatches: true,
      subjectValueIsJwt: true,
      subjectType: TOKEN_TYPE_ACCESS,
      subjectTypeProperty: TOKEN_TYPE_ACCESS,
      actor: null,
      actorProperty: null,
      actorType: null,
      actorValue: null,
      delegation: null,
      requestedTokenType: null,
      requestedTokenTypeProperty: null,
      subjectAttributes: { subject: 'alice' },
      contextAttributes: {},
      hasIssuers: false,
    });
  });

  it('gives token data as claims with Map methods that never serialise', async () => {
    const { outcome } = await runSource(`
      function result(context) {
        var t = context.getPresentedSubjectToken();
        var before = JSON.stringify(t);
        t.put('extra', 1);
        t.exp = 5;
        var removed = t.remove('aud');
        return {
          before: JSON.parse(before),
          sub: t.sub, subByGet: t.get('sub'), missing: t.get('nope'),
          hasSub: t.containsKey('sub'), hasAud: t.containsKey('aud'), removed: removed,
          mayActSub: t.get('may_act').get('sub'), mayActIss: t.may_act.iss,
          keys: Object.keys(t), keySet: t.keySet().toArray(), after: JSON.parse(JSON.stringify(t)),
          getEnumerable: Object.keys(t).indexOf('get') >= 0,
        };
      }`);
    const report = body(outcome);
    expect(report['before']).toEqual({ sub: 'alice', scope: 'read write', aud: 'https://a.example', exp: expect.any(Number), may_act: { sub: 'svc', iss: 'https://idp' } });
    expect(report).toMatchObject({
      sub: 'alice',
      subByGet: 'alice',
      missing: null,
      hasSub: true,
      hasAud: false,
      removed: 'https://a.example',
      mayActSub: 'svc',
      mayActIss: 'https://idp',
      keys: ['sub', 'scope', 'exp', 'may_act', 'extra'],
      keySet: ['sub', 'scope', 'exp', 'may_act', 'extra'],
      after: { sub: 'alice', scope: 'read write', exp: 5, may_act: { sub: 'svc', iss: 'https://idp' }, extra: 1 },
      getEnumerable: false,
    });
  });

  it('gives requested scopes and audiences as arrays that also answer Java Set calls', async () => {
    const { outcome } = await runSource(`
      function result(context) {
        var scopes = context.getRequestedScopes();
        var audiences = context.requestedAudiences;
        var seen = [];
        for (var it = audiences.iterator(); it.hasNext();) seen.push(it.next());
        return {
          isArray: Array.isArray(scopes), scopes: scopes, joined: audiences.join(' '),
          contains: audiences.contains('https://b.example'), containsNot: scopes.contains('write'),
          size: audiences.size(), empty: scopes.isEmpty(), seen: seen, copy: audiences.toArray(),
          looksLikeMap: typeof scopes.get === 'function', mapped: scopes.map(function (s) { return s.toUpperCase(); }),
        };
      }`);
    expect(body(outcome)).toEqual({
      isArray: true,
      scopes: ['read'],
      joined: 'https://a.example https://b.example',
      contains: true,
      containsNot: false,
      size: 2,
      empty: false,
      seen: ['https://a.example', 'https://b.example'],
      copy: ['https://a.example', 'https://b.example'],
      looksLikeMap: false,
      mapped: ['READ'],
    });
  });

  it('describes the client and the request', async () => {
    const { outcome } = await runSource(`
      function result(context) {
        var c = context.client, r = context.getRequest();
        return {
          id: c.id, getId: c.getId(), name: c.getName(), tier: c.properties['tier'], custom: c.properties.custom_token_exchange,
          audiences: c.audiences, audiencesAsString: c.audiencesAsString, scope: c.getScope(), audContains: c.audiences.contains('https://a.example'),
          scopeParam: r.getFormParameter('scope'), resources: r.getFormParameterValues('resource'), none: r.getFormParameter('absent'),
          noneValues: r.getFormParameterValues('absent'), header: r.getHeader('X-Correlation-ID'), noHeader: r.getHeader('authorization'),
          method: r.method, getMethod: r.getMethod(), path: r.path, ip: r.getClientIpAddress(), names: r.formParameterNames,
        };
      }`);
    expect(body(outcome)).toEqual({
      id: 'orders-api-client',
      getId: 'orders-api-client',
      name: 'Orders',
      tier: 'gold',
      custom: 'true',
      audiences: ['https://a.example', 'https://b.example'],
      audiencesAsString: 'https://a.example https://b.example',
      scope: 'read write admin',
      audContains: true,
      scopeParam: 'read',
      resources: ['https://a.example', 'https://b.example'],
      none: null,
      noneValues: [],
      header: 'corr-9',
      noHeader: null,
      method: 'POST',
      getMethod: 'POST',
      path: '/oauth/v2/oauth-token',
      ip: '127.0.0.1',
      names: ['scope', 'resource', 'transaction_id'],
    });
  });

  it('returns null token data for an unvalidated subject token but keeps its raw value', async () => {
    const input = exchangeInput({ subject: { claims: null, value: 'opaque-value-123', type: 'urn:example:opaque' } });
    const { outcome } = await runSource(
      `function result(context) {
        return { data: context.getPresentedSubjectToken(), value: context.getSubjectTokenValue(), type: context.subjectTokenType };
      }`,
      input,
    );
    expect(body(outcome)).toEqual({ data: null, value: 'opaque-value-123', type: 'urn:example:opaque' });
  });

  it('presents a validated actor token and its type', async () => {
    const input = exchangeInput({ actor: { claims: { sub: 'svc', iss: 'https://idp' }, type: 'urn:ietf:params:oauth:token-type:jwt' } });
    const { outcome } = await runSource(
      `function result(context) {
        var a = context.getPresentedActorToken();
        return { sub: a.get('sub'), iss: context.presentedActorToken.iss, type: context.getActorTokenType(), value: context.actorTokenValue.length > 20 };
      }`,
      input,
    );
    expect(body(outcome)).toEqual({ sub: 'svc', iss: 'https://idp', type: 'urn:ietf:params:oauth:token-type:jwt', value: true });
  });
});

describe('getInitializedContext and issuers', () => {
  it('accepts audiences and scopes as arrays, sets, strings or null', async () => {
    const { outcome, host } = await runSource(`
      function result(context) {
        context.getInitializedContext(null, undefined, context.getRequestedAudiences(), 'read  write');
        context.getInitializedContext({ subject: 'bob' }, { acr: 'mfa' }, 'https://a.example', new Set(['read']));
        context.getInitializedContext(context.subjectAttributes(), context.contextAttributes(), null, ['write', null, 'read']);
        return {};
      }`);
    body(outcome);
    expect(host.initializeCalls).toEqual([
      { audiences: ['https://a.example', 'https://b.example'], scopes: ['read', 'write'], subjectAttributes: {}, contextAttributes: {} },
      { audiences: ['https://a.example'], scopes: ['read'], subjectAttributes: { subject: 'bob' }, contextAttributes: { acr: 'mfa' } },
      { audiences: [], scopes: ['write', 'read'], subjectAttributes: { subject: 'alice' }, contextAttributes: {} },
    ]);
  });

  it('gives the initialized context defaults, issuers and delegations', async () => {
    const { outcome, host } = await runSource(`
      function result(context) {
        var full = context.getInitializedContext(context.subjectAttributes(), context.contextAttributes(), ['https://b.example'], ['read']);
        var a = full.getDefaultAccessTokenData(), b = full.getDefaultAccessTokenData();
        a.custom = 'x';
        var delegation = full.delegationIssuer.issue(full.getDefaultDelegationData());
        var token = full.accessTokenIssuer.issue(a, delegation);
        var jwt = full.jwtIssuer.issue(null, null);
        return {
          fresh: a !== b && b.custom === undefined,
          // accessTokenIssuer issues the client's format, getDefaultAccessTokenJwtIssuer() always a JWT: two issuers, each one object.
          sameIssuer:
            full.accessTokenIssuer === full.getAccessTokenIssuer() &&
            full.getDefaultAccessTokenJwtIssuer() === full.defaultAccessTokenJwtIssuer &&
            full.accessTokenIssuer !== full.getDefaultAccessTokenJwtIssuer() &&
            full.getJwtIssuer() === full.getDefaultJwtIssuer(),
          delegationId: delegation.getId(), delegationClient: delegation.clientId,
          token: token, jwt: jwt, client: full.client.id, subject: full.presentedSubjectToken.sub,
          attributes: full.subjectAttributes(),
        };
      }`);
    const report = body(outcome);
    expect(report).toMatchObject({ fresh: true, sameIssuer: true, delegationClient: 'orders-api-client', client: 'orders-api-client', subject: 'alice', attributes: { subject: 'alice' } });
    expect(report['delegationId']).toMatch(/^delegation-\d+$/);
    expect(host.issued.map((issued) => issued.kind)).toEqual(['access_token', 'jwt']);
    expect(report['token']).toBe(host.issued[0]!.token);
    expect(report['jwt']).toBe(host.issued[1]!.token);
    expect(host.issued[0]!.claims).toMatchObject({ sub: 'alice', custom: 'x', aud: ['https://b.example'], scope: 'read' });
    expect(host.issueCalls[0]!.delegation).toMatchObject({ id: report['delegationId'], clientId: 'orders-api-client' });
    // issue(null) takes the default access token data.
    expect(host.issued[1]!.claims).toMatchObject({ sub: 'alice', client_id: 'orders-api-client' });
  });

  it('throws host refusals into the script as catchable OAuth exceptions', async () => {
    const { outcome } = await runSource(`
      function result(context) {
        try {
          context.getInitializedContext(null, null, ['https://evil.example'], ['read']);
        } catch (e) {
          return { name: e.name, error: e.error, message: e.message, isError: e instanceof Error };
        }
        return { name: 'none' };
      }`);
    expect(body(outcome)).toEqual({
      name: 'BadRequestException',
      error: 'invalid_target',
      message: 'audience https://evil.example is not allowed for the client',
      isError: true,
    });
  });

  it('turns an uncaught host refusal into the OAuth error', async () => {
    const { outcome } = await runSource(`function result(context) { context.getInitializedContext(null, null, [], ['delete']); return {}; }`);
    expect(outcome).toEqual({ kind: 'oauth_error', error: 'invalid_scope', description: 'scope delete is not allowed for the client', status: 400 });
  });

  it('reports a throwing host as server_error without host details', async () => {
    const host = new TestHost(key, client());
    host.throwOnNextCall = true;
    const before = recorded.events.length;
    const { outcome } = await runSource(`function result(context) { context.getInitializedContext(null, null, [], ['read']); return {}; }`, exchangeInput(), host);
    expect(outcome).toEqual({ kind: 'oauth_error', error: 'server_error', description: 'internal error', status: 500 });
    const event = recorded.events.slice(before).find((e) => e.message === 'procedure host service failed');
    expect(event?.meta).toMatchObject({ operation: 'initialize', request_id: 'req-api' });
  });

  it('fails the call when a procedure issues more tokens than allowed, even if it catches the refusal', async () => {
    const { outcome, host } = await runSource(`
      function result(context) {
        var full = context.getInitializedContext(null, null, [], ['read']);
        var issued = 0;
        for (var i = 0; i < 20; i++) {
          try { full.accessTokenIssuer.issue(full.getDefaultAccessTokenData(), null); issued++; } catch (e) { }
        }
        return { issued: issued };
      }`);
    expect(outcome).toMatchObject({ kind: 'failure', reason: 'issue_limit' });
    expect(host.issued).toHaveLength(8);
  });
});

describe('client_credentials context', () => {
  it('arrives initialized with the same API', async () => {
    const host = new TestHost(key, client());
    const input = clientCredentialsInput(host, ['read', 'write']);
    const { outcome } = await runSource(
      `function result(context) {
        var data = context.getDefaultAccessTokenData();
        return {
          scope: data.scope, sub: data.get('sub'), requested: context.getRequestedScopes(), client: context.client.id,
          subjectToken: context.getPresentedSubjectToken(), hasInit: typeof context.getInitializedContext,
          token: context.getDefaultAccessTokenJwtIssuer().issue(data, context.getDefaultDelegationData()).length > 0,
        };
      }`,
      input,
      host,
    );
    expect(body(outcome)).toEqual({
      scope: 'read write',
      sub: 'orders-api-client',
      requested: ['read', 'write'],
      client: 'orders-api-client',
      subjectToken: null,
      hasInit: 'undefined',
      token: true,
    });
    expect(host.issued[0]!.claims).toMatchObject({ scope: 'read write', sub: 'orders-api-client' });
  });
});

describe('exceptionFactory', () => {
  const cases: Array<[string, string, number, string]> = [
    ['badRequestException()', 'invalid_request', 400, ''],
    ["badRequestException('Missing thing')", 'invalid_request', 400, 'Missing thing'],
    ["badRequestException('invalid_target', 'Resource parameter is invalid or unknown.')", 'invalid_target', 400, 'Resource parameter is invalid or unknown.'],
    // Only the server speaks for client authentication: a procedure's invalid_client is no 401.
    ["badRequestException('invalid_client', 'no')", 'invalid_request', 400, 'invalid_client: no'],
    ["badRequestException('ERROR_CODE', 'custom')", 'invalid_request', 400, 'ERROR_CODE: custom'],
    ["forbiddenException('not you')", 'access_denied', 403, 'not you'],
    ["unauthorizedException('who')", 'unauthorized_client', 400, 'who'],
    ["internalServerException('broken')", 'server_error', 500, 'broken'],
    ["notFoundException('gone')", 'invalid_request', 400, 'gone'],
    ['badRequestException(\'say "hi" \\\\ caf\\u00e9\')', 'invalid_request', 400, 'say ?hi? ? caf?'],
  ];
  it.each(cases)('%s → %s', async (call, error, status, description) => {
    const { outcome } = await runSource(`function result() { throw exceptionFactory.${call}; }`);
    expect(outcome).toEqual({ kind: 'oauth_error', error, status, description });
  });

  it('bounds long descriptions', async () => {
    const { outcome } = await runSource(`function result() { throw exceptionFactory.badRequestException('x'.repeat(5000)); }`);
    expect(outcome.kind === 'oauth_error' && outcome.description.length).toBeLessThanOrEqual(300);
  });
});

describe('logger and secondsUntil', () => {
  const messages = (lines: LogLine[]) => lines.map((line) => `${line.level} ${line.message}`);

  it('fills {} placeholders, renders objects as JSON and maps levels', async () => {
    const { lines } = await runSource(`
      function result(context) {
        logger.info('client {} asked for {}', context.client.id, context.getRequestedScopes());
        logger.debug('data {}', { a: 1, b: [true, null] });
        logger.trace('trace {} {}', 'only-one');
        logger.warn('count {}', 3, 'ignored');
        logger.error('failed {}', 'op', new TypeError('boom'));
        console.log('plain', 'console');
        logger.info(context.getPresentedSubjectToken().get('scope'));
        return {};
      }`);
    expect(messages(lines)).toEqual([
      'info client orders-api-client asked for ["read"]',
      'debug data {"a":1,"b":[true,null]}',
      'debug trace only-one {}',
      'warn count 3',
      'error failed op TypeError: boom',
      'info plain',
      'info read write',
    ]);
  });

  it('keeps at most maxLogLinesPerCall lines per call, truncates long ones and redacts tokens', async () => {
    const { lines, outcome } = await runSource(`
      var calls = 0;
      function result(context) {
        calls++;
        logger.info('subject {}', context.getSubjectTokenValue());
        logger.info('jwt-looking eyJhbGciOi.eyJzdWIiOiJ4In0.c2ln here');
        logger.info('x'.repeat(10000));
        for (var i = 0; i < 50; i++) logger.debug('line {}', i);
        return { calls: calls };
      }`);
    body(outcome);
    expect(lines).toHaveLength(21);
    expect(lines[0]!.message).toBe('subject [redacted]');
    expect(lines[1]!.message).toBe('jwt-looking [redacted] here');
    expect(lines[2]!.message.length).toBeLessThanOrEqual(2048 + 3);
    expect(lines[20]).toEqual({ level: 'warn', message: 'log limit of 20 lines per call reached; further lines are dropped' });
  });

  it('counts seconds until an epoch time, negative once it passed', async () => {
    const now = nowSeconds();
    const { outcome } = await runSource(`function result() { return { ahead: secondsUntil(${now + 100}), behind: secondsUntil(${now - 30}) }; }`);
    const report = body(outcome);
    expect(report['ahead']).toBeGreaterThanOrEqual(98);
    expect(report['ahead']).toBeLessThanOrEqual(101);
    expect(report['behind']).toBeGreaterThanOrEqual(-32);
    expect(report['behind']).toBeLessThanOrEqual(-29);
  });
});
