import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  JWT_PATTERN,
  PARTIAL_SECRET_LINE,
  REDACTED,
  SECRET_WINDOW,
  createSecretMatcher,
  redactLogLine,
  stripToBase64url,
} from '../../sandbox/log-redaction.ts';

const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/** An RS256-signed-looking JWT of about 600 characters with random claims and signature. */
function realisticJwt(): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: randomBytes(8).toString('hex') }));
  const payload = b64url(
    JSON.stringify({
      iss: 'https://login.example.com/oauth/v2/oauth-anonymous',
      sub: 'alice',
      aud: 'https://orders.example.com',
      scope: 'read write',
      iat: 1767225600,
      exp: 1767229200,
      jti: randomUUID(),
      client_id: 'orders-client',
      nonce: randomBytes(12).toString('base64url'),
    }),
  );
  return `${header}.${payload}.${randomBytes(256).toString('base64url')}`;
}

const token = realisticJwt();
const opaque = `_0.AQABAAEAAAB${randomBytes(48).toString('base64url')}`;
const secrets = [token, opaque];
const reverse = (text: string): string => text.split('').reverse().join('');

describe('redactLogLine', () => {
  it('uses a realistic token', () => {
    expect(token.length).toBeGreaterThan(550);
    expect(token.split('.')).toHaveLength(3);
  });

  it('replaces exact occurrences of a secret and keeps the rest of the line', () => {
    expect(redactLogLine(`subject ${token}`, secrets)).toBe(`subject ${REDACTED}`);
    expect(redactLogLine(`opaque=${opaque}; again ${opaque}!`, secrets)).toBe(`opaque=${REDACTED}; again ${REDACTED}!`);
    expect(redactLogLine(JSON.stringify({ token }), secrets)).toBe(`{"token":"${REDACTED}"}`);
  });

  it('replaces JWT-looking strings that are not among the secrets', () => {
    const other = realisticJwt();
    expect(redactLogLine(`other ${other} end`, secrets)).toBe(`other ${REDACTED} end`);
    expect(redactLogLine('jwt-looking eyJhbGciOi.eyJzdWIiOiJ4In0.c2ln here', [])).toBe(`jwt-looking ${REDACTED} here`);
    // Same results as redactSecrets in host-bridge.ts for the cases its tests pin.
    expect(redactLogLine('opaque-token-value-1 and eyJhbGciOi.eyJzdWIi.sig', ['opaque-token-value-1'])).toBe(
      `${REDACTED} and ${REDACTED}`,
    );
    expect(redactLogLine('short ab', ['ab'])).toBe('short ab');
  });

  it('leaves JWT_PATTERN usable again after use', () => {
    expect(redactLogLine(`a ${token}`, [])).toBe(`a ${REDACTED}`);
    expect(JWT_PATTERN.lastIndex).toBe(0);
    expect(redactLogLine(`b ${token}`, [])).toBe(`b ${REDACTED}`);
  });

  it.each([
    ['split on dots joined with " . "', token.split('.').join(' . ')],
    ['single characters joined with spaces', token.split('').join(' ')],
    ['single characters joined with commas', token.split('').join(',')],
    ['pairs joined with newlines', token.match(/.{1,2}/gs)!.join('\n')],
    ['reversed', reverse(token)],
    ['reversed and spaced', reverse(token).split('').join(' ')],
    ['the signature alone', token.split('.')[2]!],
    ['a 40-character slice in a sentence', `the token starts ${token.slice(200, 240)} and so on`],
    ['the opaque token spaced out', `opaque ${opaque.split('').join(' ')}`],
    ['JSON of the characters joined with newlines', JSON.stringify({ token: token.split('').join('\n') })],
    ['JSON of the characters joined with quotes and tabs', JSON.stringify([token.split('').join('"\t')])],
    ['unicode escapes', [...token].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')],
    ['exact token next to its reversed copy', `${token} ${reverse(token)}`],
  ])('replaces the whole line when it holds the token %s', (_name, line) => {
    expect(redactLogLine(line, secrets)).toBe(PARTIAL_SECRET_LINE);
  });

  it('replaces each line of a token logged in halves', () => {
    const half = Math.floor(token.length / 2);
    const lines = [`part 1: ${token.slice(0, half)}`, `part 2: ${token.slice(half)}`];
    expect(lines.map((line) => redactLogLine(line, secrets))).toEqual([PARTIAL_SECRET_LINE, PARTIAL_SECRET_LINE]);
  });

  it(`catches runs of ${SECRET_WINDOW} characters of a secret but not shorter ones`, () => {
    const start = token.length - 100;
    expect(redactLogLine(token.slice(start, start + SECRET_WINDOW), secrets)).toBe(PARTIAL_SECRET_LINE);
    expect(redactLogLine(reverse(token.slice(start, start + SECRET_WINDOW)), secrets)).toBe(PARTIAL_SECRET_LINE);
    const short = token.slice(start, start + SECRET_WINDOW - 1);
    expect(redactLogLine(short, secrets)).toBe(short);
  });

  it('compares case-sensitively', () => {
    // A signature piece with letters in it, changed only in case.
    const piece = token.split('.')[2]!.slice(0, 40);
    const swapped = [...piece].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
    expect(swapped).not.toBe(piece);
    expect(createSecretMatcher(secrets).containsPart(piece)).toBe(true);
    expect(createSecretMatcher([piece]).containsPart(swapped)).toBe(false);
  });

  it('leaves ordinary log lines alone', () => {
    const lines = [
      'Exchanging the subject token for a downscoped access token',
      `request ${randomUUID()} for client orders-client took 12 ms`,
      'issued at 2026-01-01T00:00:00.000Z, expires at 2026-01-01T01:00:00Z',
      'user id u-7f3a9c',
      'scope: read write openid profile email offline_access',
      'calling https://orders.example.com/api/v1/orders?customer=alice&limit=50#top',
      'sub=alice aud=https://orders.example.com scope=read write client_id=orders-client',
      JSON.stringify({ sub: 'alice', scope: 'read write', exp: 1767229200, jti: randomUUID() }),
      'audience list: ["https://orders.example.com","https://invoices.example.com"]',
      'C:\\new\\table\\file.txt and a \\u00e9 escape',
      '',
    ];
    for (const line of lines) expect(redactLogLine(line, secrets)).toBe(line);
  });

  it('redacts a secret shorter than the window only where it occurs exactly', () => {
    const short = 'k9Qx2_vB7m'; // 10 characters: exact matching applies, runs do not
    expect(redactLogLine(`key ${short} used`, [short])).toBe(`key ${REDACTED} used`);
    expect(redactLogLine(short.split('').join(' '), [short])).toBe(short.split('').join(' '));
    expect(redactLogLine('tiny 1234567 secret', ['1234567'])).toBe('tiny 1234567 secret');
  });

  it('redacts against a list that grows during the call', () => {
    const issued: string[] = [token];
    // Random, unlike a second JWT from the same issuer, whose header and claims share runs with the first.
    const later = randomBytes(300).toString('base64url');
    const line = `issued ${later.split('').join(' ')}`;
    expect(redactLogLine(line, issued)).toBe(line);
    issued.push(later);
    expect(redactLogLine(line, issued)).toBe(PARTIAL_SECRET_LINE);
    expect(redactLogLine(token.split('').join(' '), issued)).toBe(PARTIAL_SECRET_LINE);
  });

  it('handles lines of the largest size', () => {
    const filler = 'lorem ipsum dolor sit amet '.repeat(10000).slice(0, 256 * 1024);
    expect(redactLogLine(filler, secrets)).toBe(filler);
    const hidden = `${filler.slice(0, -200)}${token.slice(300, 320).split('').join(' ')}`;
    expect(redactLogLine(hidden, secrets)).toBe(PARTIAL_SECRET_LINE);
    const reversedOpaque = `${reverse(opaque.slice(10, 30))}${filler.slice(20)}`;
    expect(redactLogLine(reversedOpaque, secrets)).toBe(PARTIAL_SECRET_LINE);
    const noise = randomBytes(150 * 1024).toString('base64url');
    expect(redactLogLine(noise, secrets)).toBe(noise);
  });
});

describe('stripToBase64url', () => {
  it('keeps base64url characters in order and treats escapes as what they encode', () => {
    expect(stripToBase64url('a.b c,d\n"e\'f_-')).toBe('abcdef_-');
    expect(stripToBase64url('a\\nb\\tc\\\\nd')).toBe('abcnd');
    expect(stripToBase64url('\\u0065\\u0079\\x4a')).toBe('eyJ');
  });
});

describe('createSecretMatcher', () => {
  it('reports parts of secrets independently of redaction', () => {
    const matcher = createSecretMatcher(secrets);
    expect(matcher.containsPart(token.slice(50, 50 + SECRET_WINDOW))).toBe(true);
    expect(matcher.containsPart('nothing to see here')).toBe(false);
    expect(matcher.redact(token.split('.').join(' . '))).toBe(PARTIAL_SECRET_LINE);
    expect(createSecretMatcher([]).redact('plain')).toBe('plain');
  });

  it('redacts any way of putting separators between the characters of a secret', () => {
    const separator = fc.array(fc.constantFrom(' ', '.', ',', '\n', '"', "'", '\t', ':', '/'), { maxLength: 3 }).map((s) => s.join(''));
    const secret = fc.constantFrom(token, opaque);
    const text = fc.constantFrom('', 'token: ', 'log ', '{"t":"');
    fc.assert(
      fc.property(secret, text, text, fc.infiniteStream(separator), (value, before, after, separators) => {
        const chars = [...value];
        const spread = chars.map((c, i) => (i === 0 ? c : `${separators.next().value}${c}`)).join('');
        const redacted = redactLogLine(`${before}${spread}${after}`, secrets);
        // Either the token stood there whole and was replaced in place, or the whole line went.
        if (redacted !== PARTIAL_SECRET_LINE) {
          expect(spread).toBe(value);
          expect(redacted).toBe(`${before}${REDACTED}${after}`);
        }
        expect(stripToBase64url(redacted)).not.toContain(stripToBase64url(value).slice(0, SECRET_WINDOW));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves lines made of ordinary words, ids and dates alone', () => {
    const word = fc.oneof(
      fc.constantFrom('the', 'token', 'client', 'scope', 'read', 'write', 'openid', 'exchange', 'for', 'alice', 'orders', 'denied'),
      fc.uuid(),
      fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.integer({ min: 0, max: 1e9 }).map(String),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 30 }), fc.constantFrom(' ', ', ', '; '), (words, glue) => {
        const line = words.join(glue);
        expect(redactLogLine(line, secrets)).toBe(line);
      }),
      { numRuns: 300 },
    );
  });
});
