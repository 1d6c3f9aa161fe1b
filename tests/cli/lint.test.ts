import { describe, it, expect } from '@jest/globals';
import { lintProcedure } from '../../server/cli/authoring/lint.ts';
import type { LintFinding } from '../../server/cli/authoring/lint.ts';
import { editDistance, nearestName } from '../../server/cli/authoring/suggest.ts';

const rules = (findings: LintFinding[]) => findings.map((f) => f.rule);

const GOOD = `function result(context) {
  var tokenData = context.getPresentedSubjectToken();
  var delegation = context.getPresentedSubjectTokenDelegation();
  var scopes = context.request.getFormParameter('scope').split(' ');
  var full = context.getInitializedContext(context.subjectAttributes(), context.contextAttributes(), tokenData.get('aud'), scopes);
  var date = new Date();
  tokenData.exp = Math.floor(date.getTime() / 1000) + 300;
  logger.info('issuing for {}', tokenData.sub);
  var token = full.getDefaultAccessTokenJwtIssuer().issue(tokenData, delegation);
  return { access_token: token, token_type: 'bearer', expires_in: secondsUntil(tokenData.exp) };
}
`;

describe('lintProcedure', () => {
  it('accepts a correct procedure', () => {
    expect(lintProcedure(GOOD)).toEqual([]);
  });

  it('flags a missing result function as an error at 1:1', () => {
    const findings = lintProcedure('function results(context) { return {}; }\n');
    expect(findings).toEqual([expect.objectContaining({ rule: 'missing-result', severity: 'error', line: 1, column: 1 })]);
  });

  it('flags a result that is not a function', () => {
    const findings = lintProcedure('var result = 42;\n');
    expect(findings[0]).toMatchObject({ rule: 'missing-result', line: 1, column: 5 });
    expect(findings[0]?.message).toContain('not a function');
  });

  it('accepts result defined as a function expression or arrow', () => {
    expect(lintProcedure('var result = function (c) { return {}; };')).toEqual([]);
    expect(lintProcedure('const result = (c) => ({ a: 1 });')).toEqual([]);
  });

  it('flags a result without any return value, ignoring returns of nested functions', () => {
    const source = `function result(context) {
  var f = function () { return 1; };
  if (f()) { return; }
  ({ access_token: 'x' });
}`;
    const findings = lintProcedure(source);
    expect(findings).toEqual([expect.objectContaining({ rule: 'result-without-return', severity: 'error', line: 1, column: 10 })]);
  });

  it("warns when exp is set from getTime() without dividing by 1000 (as Curity's tutorial does)", () => {
    const source = `function result(context) {
  var tokenData = context.getPresentedSubjectToken();
  var date = new Date();
  date.setDate(date.getDate() + 1);
  tokenData.exp = Math.round(date.getTime());
  return {};
}`;
    const findings = lintProcedure(source);
    expect(findings).toEqual([expect.objectContaining({ rule: 'exp-in-milliseconds', severity: 'warning', line: 5, column: 13 })]);
  });

  it('warns for Date.now(), object literal exp and one level of variable indirection', () => {
    const source = `function result(context) {
  var ms = Date.now() + 60000;
  var data = { exp: Date.now() + 3600 * 1000 };
  data.exp = ms;
  data['exp'] = new Date().getTime();
  return data;
}`;
    const found = lintProcedure(source).filter((f) => f.rule === 'exp-in-milliseconds');
    expect(found.map((f) => f.line)).toEqual([3, 4, 5]);
  });

  it('does not warn when the milliseconds are divided into seconds', () => {
    const source = `function result(context) {
  var d = {};
  d.exp = Math.round(Date.now() / 1000) + 60;
  d.exp = Math.floor(new Date().getTime() * 0.001);
  var s = Math.floor(Date.now() / 1e3);
  d.exp = s + 5;
  return d;
}`;
    expect(rules(lintProcedure(source))).toEqual([]);
  });

  it('warns when the token returned by issue() is discarded', () => {
    const source = `function result(context) {
  var full = context.getInitializedContext(null, null, [], []);
  full.getDefaultAccessTokenJwtIssuer().issue(full.getDefaultAccessTokenData(), null);
  return { token_type: 'bearer' };
}`;
    expect(lintProcedure(source)).toEqual([expect.objectContaining({ rule: 'unused-issue', severity: 'warning', line: 3, column: 41 })]);
  });

  it('flags an unknown context method with the nearest name', () => {
    const source = `function result(ctx) {
  var t = ctx.getPresentedSubjectTokens();
  return { t: t };
}`;
    const [finding] = lintProcedure(source);
    expect(finding).toMatchObject({ rule: 'unknown-api', severity: 'error', line: 2, column: 15 });
    expect(finding?.message).toBe('the context has no method `getPresentedSubjectTokens`: did you mean getPresentedSubjectToken?');
  });

  it('follows the API through variables, getters and chained calls', () => {
    const source = `function result(context) {
  var full = context.getInitializedContext(null, null, [], []);
  var issuer = full.accessTokenIssuer;
  var req = context.getRequest();
  req.getFormParam('scope');
  context.client.getID();
  full.getDefaultAccesTokenData();
  issuer.isue({}, null);
  logger.warning('x');
  throw exceptionFactory.badRequest('invalid_scope', 'no');
  return {};
}`;
    const messages = lintProcedure(source).map((f) => `${f.line}:${f.message}`);
    expect(messages).toEqual([
      '5:context.request has no method `getFormParam`: did you mean getFormParameter?',
      '6:context.client has no method `getID`: did you mean getId?',
      '7:the initialized context has no method `getDefaultAccesTokenData`: did you mean getDefaultAccessTokenData?',
      '8:a token issuer has no method `isue`: did you mean issue?',
      '9:logger has no method `warning`: did you mean warn?',
      '10:exceptionFactory has no method `badRequest`: did you mean badRequestException?',
    ]);
  });

  it('checks context methods against the flow when given', () => {
    const source = 'function result(context) { return { t: context.getDefaultAccessTokenData() }; }';
    expect(lintProcedure(source, { flow: 'oauth-token-client-credentials' })).toEqual([]);
    expect(lintProcedure(source, { flow: null })).toEqual([]);
    expect(rules(lintProcedure(source, { flow: 'oauth-token-oauth-token-exchange' }))).toEqual(['unknown-api']);
  });

  it('does not treat a local variable that shadows a global as the API', () => {
    const source = `function result(context) {
  var logger = { whatever: function () {} };
  logger.whatever();
  return {};
}`;
    expect(lintProcedure(source)).toEqual([]);
  });

  it('flags calls to undefined names, with a suggestion, and Java interop', () => {
    const source = `function result(context) {
  var b = Java.type('java.util.Base64');
  return { expires_in: secondsUntill(1) };
}`;
    const findings = lintProcedure(source);
    expect(findings.map((f) => [f.rule, f.line, f.column])).toEqual([
      ['unknown-global', 2, 11],
      ['unknown-global', 3, 24],
    ]);
    expect(findings[0]?.message).toContain('Java interop');
    expect(findings[1]?.message).toContain('did you mean secondsUntil?');
  });

  it('flags Java interop at any depth, and not when only probed with typeof', () => {
    const source = `function result(context) {
  var claims = new Packages.org.jose4j.jwt.JwtClaims();
  var Base64 = Java.type('java.util.Base64');
  var javaLang = Packages.java.lang;
  if (typeof Java !== 'undefined') { logger.info('Nashorn'); }
  return { claims: claims, b: Base64, j: javaLang };
}`;
    const findings = lintProcedure(source);
    expect(findings.map((f) => [f.rule, f.line, f.column])).toEqual([
      ['unknown-global', 2, 20],
      ['unknown-global', 3, 16],
      ['unknown-global', 4, 18],
    ]);
    expect(findings.every((f) => f.message.includes('Java interop'))).toBe(true);
  });

  it('flags calls on undefined names however deep the member chain', () => {
    const findings = lintProcedure('function result(context) { return { a: jose.util.decode(1) }; }');
    expect(findings.map((f) => [f.rule, f.message])).toEqual([['unknown-global', '`jose` is not defined']]);
  });

  it('flags reads of members the API lacks, with the nearest name', () => {
    const source = `function result(context) {
  var value = context.subjectTokenValu;
  var id = context.client.clientId;
  var full = context.getInitializedContext(null, null, [], []);
  var issuer = full.accessTokenIssuer.issuer;
  var fine = [context.client.id, context.presentedSubjectToken, context?.requestedScopes, context.getClient, context.constructor];
  return { value: value, id: id, issuer: issuer, fine: fine };
}`;
    const findings = lintProcedure(source);
    expect(findings.map((f) => [f.rule, f.line, f.column])).toEqual([
      ['unknown-property', 2, 23],
      ['unknown-property', 3, 27],
      ['unknown-property', 5, 39],
    ]);
    expect(findings[0]?.message).toBe('the context has no member `subjectTokenValu` (it reads as undefined): did you mean subjectTokenValue?');
    expect(findings[1]?.message).toContain('context.client has no member `clientId`');
  });

  it('does not flag members the script sets itself, writes, deletes or typeof probes', () => {
    const source = `function result(context) {
  context.mine = 1;
  var a = context.mine;
  if (typeof context.futureMember === 'function') { a = 2; }
  delete context.other;
  return { a: a, s: context.toString() };
}`;
    expect(lintProcedure(source)).toEqual([]);
  });

  it('reports a parse error with its location instead of throwing', () => {
    const [finding] = lintProcedure('function result(context) {\n  return {\n}');
    expect(finding).toMatchObject({ rule: 'parse', severity: 'error', line: 3, column: 2 });
  });
});

describe('nearestName', () => {
  it('measures edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('suggests only plausible typos', () => {
    expect(nearestName('getClientID', ['getClient', 'getRequest'])).toBe('getClient');
    expect(nearestName('GETCLIENT', ['getClient'])).toBe('getClient');
    expect(nearestName('launchMissiles', ['getClient', 'getRequest'])).toBeNull();
  });
});

describe('lintProcedure: result assigned at the top level', () => {
  it('accepts result assigned to the global, and still checks its returns', () => {
    expect(lintProcedure('globalThis.result = function (c) { return {}; };')).toEqual([]);
    expect(lintProcedure('result = function (c) { return {}; };')).toEqual([]);
    expect(rules(lintProcedure('this.result = function (c) { c.getClient(); };'))).toEqual(['result-without-return']);
  });
});

describe('lintProcedure: variables that are not always an API object', () => {
  it('does not check calls on a variable that is sometimes something else', () => {
    const source = `function result(context) {
  var r = context.request;
  if (!r.getFormParameter('x')) { r = { custom: function () { return 1; } }; }
  r.custom();
  return {};
}`;
    expect(lintProcedure(source)).toEqual([]);
  });
});
