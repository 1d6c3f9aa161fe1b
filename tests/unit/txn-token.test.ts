/**
 * Transaction tokens and "meant for the caller", unit by unit: the Txn-Token claims the host builds
 * whatever a procedure's data says (server/oauth/txn-token.ts), the act/may_act/cnf guard
 * (server/oauth/delegation-claims.ts), TOKENPROC_TRUST_DOMAIN, and `tokenproc run` tokens made from
 * claims (meant for the client whatever their aud; the seed procedures run that way).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, trustDomainFrom } from '../../server/config.ts';
import { checkTxnRequestShape, subjectScopeOf, TOKEN_TYPE_SELF_SIGNED, TOKEN_TYPE_TXN_TOKEN, txnRequestObjects, TxnIssuance } from '../../server/oauth/txn-token.ts';
import { delegationClaimsDerived } from '../../server/oauth/delegation-claims.ts';
import { createLocalRunner, type LocalRunner } from '../../server/runtime/local-runner.ts';
import type { ClientRecord } from '../../server/store/types.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const NOW = 1_800_000_000;
const AT_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

function issuance(subject: Record<string, unknown>, type = AT_TYPE, extra: Partial<ConstructorParameters<typeof TxnIssuance>[0]> = {}): TxnIssuance {
  return new TxnIssuance({
    trustDomain: 'td.example',
    subject,
    subjectTokenType: type,
    subjectTokenValue: 'eyJsubject.token.value',
    subjectScopes: ['a', 'b'],
    requestContext: null,
    requestDetails: null,
    clientIpAddress: '198.51.100.7',
    ...extra,
  });
}

describe('TxnIssuance', () => {
  it('sets aud, txn, req_wl and the scope itself, and caps exp at 300 s', () => {
    const built = issuance({ sub: 'alice' }).claims({ sub: 'alice', aud: 'x', txn: 't', req_wl: 'w', exp: NOW + 9999, extra: 1 }, ['a'], 'gw', NOW, 86400);
    if (!built.ok) throw new Error(built.error.description);
    expect(built.value).toMatchObject({ aud: 'td.example', req_wl: 'gw', scope: 'a', exp: NOW + 300, extra: 1 });
    expect(built.value.txn).not.toBe('t');
  });

  it('refuses an empty scope or one wider than the subject\'s', () => {
    expect(issuance({ sub: 'alice' }).claims({ sub: 'alice' }, [], 'gw', NOW, 86400)).toMatchObject({ ok: false, error: { error: 'invalid_scope' } });
    expect(issuance({ sub: 'alice' }).claims({ sub: 'alice' }, ['c'], 'gw', NOW, 86400)).toMatchObject({ ok: false, error: { error: 'invalid_scope' } });
  });

  it('a replacement keeps txn, sub and tctx; another sub or tctx is refused', () => {
    const replaced = issuance({ sub: 'alice', txn: 'txn-1', tctx: { order: 1 }, rctx: { req_ip: '1.2.3.4' } }, TOKEN_TYPE_TXN_TOKEN);
    const kept = replaced.claims({}, ['a'], 'payments', NOW, 86400);
    expect(kept).toMatchObject({ ok: true, value: { txn: 'txn-1', sub: 'alice', tctx: { order: 1 }, req_wl: 'payments' } });
    expect(replaced.claims({ sub: 'bob' }, ['a'], 'p', NOW, 86400)).toMatchObject({ ok: false });
    expect(replaced.claims({ tctx: { order: 2 } }, ['a'], 'p', NOW, 86400)).toMatchObject({ ok: false });
    expect(replaced.defaultData(['a'], NOW)).toMatchObject({ sub: 'alice', tctx: { order: 1 }, rctx: { req_ip: '1.2.3.4' } });
  });

  it('the default data copies request_details into tctx and request_context into rctx with the caller\'s req_ip', () => {
    const fresh = issuance({ sub: 'alice' }, AT_TYPE, { requestDetails: { order_id: 'o-1' }, requestContext: { authn: 'face', req_ip: 'forged' } });
    expect(fresh.defaultData(['a'], NOW)).toEqual({ sub: 'alice', scope: 'a', exp: NOW + 300, tctx: { order_id: 'o-1' }, rctx: { authn: 'face', req_ip: '198.51.100.7' } });
  });

  it('refuses tctx or rctx that is not an object, and a token that would carry the subject token', () => {
    expect(issuance({ sub: 'alice' }).claims({ sub: 'alice', tctx: 'x' }, ['a'], 'gw', NOW, 86400)).toMatchObject({ ok: false });
    expect(issuance({ sub: 'alice' }).claims({ sub: 'alice', rctx: { t: 'eyJsubject.token.value' } }, ['a'], 'gw', NOW, 86400)).toMatchObject({ ok: false });
  });
});

describe('Txn-Token request checks', () => {
  const params = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([k, v]) => [k, [v]]));
  it('parses request_context and request_details as JSON objects only', () => {
    expect(txnRequestObjects(params({ request_details: '{"a":1}' }))).toEqual({ ok: true, value: { requestContext: null, requestDetails: { a: 1 } } });
    for (const bad of ['[1]', '1', '"s"', 'null', '{', '{"a":1,"a":2}', `{"a":"${'x'.repeat(9000)}"}`]) {
      expect(txnRequestObjects(params({ request_context: bad })).ok).toBe(false);
    }
  });

  it('needs scope, the trust domain as audience, and no actor', () => {
    const base = { requestedTokenType: TOKEN_TYPE_TXN_TOKEN, subjectTokenType: AT_TYPE, actorToken: null, scopes: ['a'], targets: [] };
    expect(checkTxnRequestShape(base, 'td').ok).toBe(true);
    expect(checkTxnRequestShape({ ...base, scopes: [] }, 'td')).toMatchObject({ ok: false, error: { error: 'invalid_request' } });
    expect(checkTxnRequestShape({ ...base, targets: ['other'] }, 'td')).toMatchObject({ ok: false, error: { error: 'invalid_target' } });
    expect(checkTxnRequestShape({ ...base, actorToken: 'x' }, 'td').ok).toBe(false);
    expect(checkTxnRequestShape({ ...base, requestedTokenType: null, subjectTokenType: TOKEN_TYPE_SELF_SIGNED }, 'td').ok).toBe(false);
  });

  it('a subject without scope has an unknown scope, unless it is self-signed (then the client\'s)', () => {
    const client = { scope: 'x y' } as ClientRecord;
    expect(subjectScopeOf({ sub: 'a' }, AT_TYPE, client)).toBeNull();
    expect(subjectScopeOf({ sub: 'a', scope: 'p q' }, AT_TYPE, client)).toEqual(['p', 'q']);
    expect(subjectScopeOf({ sub: 'a' }, TOKEN_TYPE_SELF_SIGNED, client)).toEqual(['x', 'y']);
  });
});

describe('act, may_act and cnf only as the presented tokens carry them', () => {
  const subject = { sub: 'alice', act: { sub: 'gw' }, may_act: { sub: 'svc' }, cnf: { jkt: 'k' } };
  const actor = { sub: 'svc', client_id: 'svc-client', iss: 'https://idp' };
  it('accepts the subject\'s own values and the actor on top of the subject\'s chain', () => {
    expect(delegationClaimsDerived({ act: { sub: 'gw' }, cnf: { jkt: 'k' }, may_act: { sub: 'svc' } }, subject, null).ok).toBe(true);
    expect(delegationClaimsDerived({ act: { sub: 'svc', client_id: 'svc-client', act: { sub: 'gw' } } }, subject, actor).ok).toBe(true);
  });
  it('refuses anything else', () => {
    expect(delegationClaimsDerived({ act: { sub: 'admin' } }, subject, null).ok).toBe(false);
    expect(delegationClaimsDerived({ act: { sub: 'svc' } }, subject, actor).ok).toBe(false);
    expect(delegationClaimsDerived({ act: { sub: 'svc', role: 'x', act: { sub: 'gw' } } }, subject, actor).ok).toBe(false);
    expect(delegationClaimsDerived({ cnf: { jkt: 'other' } }, subject, null).ok).toBe(false);
    expect(delegationClaimsDerived({ may_act: { sub: 'x' } }, { sub: 'alice' }, null).ok).toBe(false);
    expect(delegationClaimsDerived({ act: { sub: 'x' } }, null, null).ok).toBe(false);
  });
});

describe('TOKENPROC_TRUST_DOMAIN', () => {
  it('defaults to the issuer and follows it; a set value is kept; whitespace is refused', () => {
    expect(trustDomainFrom(undefined, 'https://as.example')).toEqual({ trustDomain: 'https://as.example', trustDomainFromIssuer: true });
    expect(loadConfig({ TOKENPROC_ISSUER: 'https://as.example', TOKENPROC_TRUST_DOMAIN: 'trust-domain.example' }).trustDomain).toBe('trust-domain.example');
    expect(loadConfig({ TOKENPROC_ISSUER: 'https://as.example' }).trustDomain).toBe('https://as.example');
    expect(() => trustDomainFrom('two words', 'https://as.example')).toThrow(ConfigError);
  });
});

describe('tokenproc run: tokens made from claims are meant for the client whatever their aud', () => {
  let runner: LocalRunner;
  beforeAll(() => {
    runner = createLocalRunner();
  });
  afterAll(async () => {
    await runner.close();
  });

  it('runs the downscoping seed with a subject addressed to an API', async () => {
    const file = path.join(ROOT, 'procedures/seeds/curity-downscope.js');
    const result = await runner.run({
      flow: 'oauth-token-oauth-token-exchange',
      procedure: { id: 'seed', source: readFileSync(file, 'utf8'), filename: file },
      subjectClaims: { sub: 'alice', aud: 'api', scope: 'read write' },
      params: [['scope', 'read']],
    });
    expect(result.status).toBe(200);
    expect(result.issued[0]?.claims).toMatchObject({ sub: 'alice', aud: 'api', scope: 'read' });
  });

  it('still validates a real token given as subject_token', async () => {
    const file = path.join(ROOT, 'procedures/seeds/curity-downscope.js');
    const result = await runner.run({
      flow: 'oauth-token-oauth-token-exchange',
      procedure: { id: 'seed', source: readFileSync(file, 'utf8'), filename: file },
      subjectToken: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln',
      params: [['scope', 'read']],
    });
    expect(result.status).toBe(400);
  });
});
