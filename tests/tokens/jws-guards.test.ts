import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeBase64urlStrict, isKeyUsableFor, normalizedTyp, parseCompactJws } from '../../server/tokens/jws-guards.ts';
import { MAX_JSON_DEPTH, parseStrictJson } from '../../server/tokens/strict-json.ts';
import { b64url, ecKey, rsaKey } from './helpers.ts';

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses when names are unique', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }).filter((value) => !JSON.stringify(value).includes('"__proto__"')), (value) => {
        const text = JSON.stringify(value);
        expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses duplicate names, also when spelled with escapes or nested', () => {
    expect(parseStrictJson('{"a":1,"a":2}')).toEqual({ ok: false, problem: 'duplicate_member' });
    expect(parseStrictJson('{"a":1,"\\u0061":2}')).toEqual({ ok: false, problem: 'duplicate_member' });
    expect(parseStrictJson('{"x":[{"b":1,"b":1}]}')).toEqual({ ok: false, problem: 'duplicate_member' });
    expect(parseStrictJson('{"a":{"a":1}}')).toEqual({ ok: true, value: { a: { a: 1 } } });
  });

  it('refuses malformed text, __proto__ members and deep nesting', () => {
    for (const text of ['', '{', '{"a":1,}', '[1,]', '{"a" 1}', '01', '1.', '"\\x"', '"a\u0001"', 'tru', '{} {}', '\ufeff{}', 'NaN']) {
      expect(parseStrictJson(text)).toEqual({ ok: false, problem: 'malformed' });
    }
    expect(parseStrictJson('{"__proto__":{"admin":true}}')).toEqual({ ok: false, problem: 'forbidden_member' });
    const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect(parseStrictJson(deep(MAX_JSON_DEPTH)).ok).toBe(true);
    expect(parseStrictJson(deep(MAX_JSON_DEPTH + 1))).toEqual({ ok: false, problem: 'too_deep' });
  });
});

describe('decodeBase64urlStrict', () => {
  it('round-trips any bytes through their canonical encoding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const decoded = decodeBase64urlStrict(Buffer.from(bytes).toString('base64url'));
        expect(decoded && Buffer.from(decoded).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses padding, the base64 alphabet, impossible lengths and stray bits', () => {
    for (const text of ['YQ==', 'a+b/', 'abcde', 'YR', 'YW J']) expect(decodeBase64urlStrict(text)).toBeNull();
    expect(decodeBase64urlStrict('YQ')).toEqual(new Uint8Array([0x61]));
  });
});

describe('parseCompactJws', () => {
  const allowed = new Set(['ES256', 'RS256']);
  const payload = b64url('{"iss":"x"}');

  it('sorts shapes into not a JWT, encrypted and malformed', () => {
    expect(parseCompactJws('opaque', 100, allowed)).toEqual({ ok: false, problem: 'not_jwt' });
    expect(parseCompactJws('a.b', 100, allowed)).toEqual({ ok: false, problem: 'not_jwt' });
    expect(parseCompactJws('a.b.c.d.e', 100, allowed)).toEqual({ ok: false, problem: 'encrypted' });
    expect(parseCompactJws(`${b64url('{"alg":"ES256","enc":"A256GCM"}')}.${payload}.c2ln`, 1000, allowed)).toEqual({ ok: false, problem: 'encrypted' });
    expect(parseCompactJws(`${b64url('{"alg":"ES256","kid":3}')}.${payload}.c2ln`, 1000, allowed)).toEqual({ ok: false, problem: 'malformed' });
    const invalidUtf8 = Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url');
    expect(parseCompactJws(`${b64url('{"alg":"ES256"}')}.${invalidUtf8}.c2ln`, 1000, allowed)).toEqual({ ok: false, problem: 'malformed' });
  });

  it('checks the byte size before anything else', () => {
    expect(parseCompactJws('é'.repeat(51), 100, allowed)).toEqual({ ok: false, problem: 'too_large' });
    expect(parseCompactJws('é'.repeat(50), 100, allowed)).toEqual({ ok: false, problem: 'not_jwt' });
  });

  it('refuses algorithms outside the allowlist even when the list is misconfigured with HMAC', () => {
    const withHmac = new Set(['HS256', 'ES256']);
    expect(parseCompactJws(`${b64url('{"alg":"HS256"}')}.${payload}.c2ln`, 1000, withHmac)).toEqual({ ok: false, problem: 'disallowed_alg' });
    expect(parseCompactJws(`${b64url('{"alg":"PS256"}')}.${payload}.c2ln`, 1000, allowed)).toEqual({ ok: false, problem: 'disallowed_alg' });
    expect(parseCompactJws(`${b64url('{"typ":"JWT"}')}.${payload}.c2ln`, 1000, allowed)).toEqual({ ok: false, problem: 'disallowed_alg' });
  });
});

describe('isKeyUsableFor', () => {
  const ec = ecKey('e').publicJwk;
  const rsa = rsaKey('r', 'RS256', false).publicJwk;

  it('matches key type and curve to the algorithm, so public keys never serve HMAC', () => {
    expect(isKeyUsableFor(ec, 'ES256')).toBe(true);
    expect(isKeyUsableFor(ec, 'ES384')).toBe(false);
    expect(isKeyUsableFor(rsa, 'RS256')).toBe(true);
    expect(isKeyUsableFor(rsa, 'PS512')).toBe(true);
    expect(isKeyUsableFor(rsa, 'ES256')).toBe(false);
    for (const alg of ['HS256', 'HS512', 'none']) {
      expect(isKeyUsableFor(rsa, alg)).toBe(false);
      expect(isKeyUsableFor(ec, alg)).toBe(false);
      expect(isKeyUsableFor({ kty: 'oct', k: 'c2VjcmV0' }, alg)).toBe(false);
    }
  });

  it('honours the key alg, use and key_ops, and refuses private material', () => {
    expect(isKeyUsableFor(ec, 'ES256')).toBe(true);
    expect(isKeyUsableFor({ ...rsa, alg: 'RS256' }, 'PS256')).toBe(false);
    expect(isKeyUsableFor({ ...ec, use: 'enc' }, 'ES256')).toBe(false);
    expect(isKeyUsableFor({ ...ec, key_ops: ['encrypt'] }, 'ES256')).toBe(false);
    expect(isKeyUsableFor({ ...ec, key_ops: ['verify'] }, 'ES256')).toBe(true);
    expect(isKeyUsableFor({ ...ec, d: 'AAAA' }, 'ES256')).toBe(false);
  });
});

describe('normalizedTyp', () => {
  it('lower-cases and drops the application/ prefix', () => {
    expect(normalizedTyp({ typ: 'application/AT+JWT' })).toBe('at+jwt');
    expect(normalizedTyp({ typ: 'JWT' })).toBe('jwt');
    expect(normalizedTyp({})).toBeUndefined();
    expect(normalizedTyp({ typ: ['at+jwt'] })).toBeNull();
  });
});
