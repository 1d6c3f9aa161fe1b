import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildLocalRunInput, parseFlow, parseNow, parseParam } from '../../server/cli/authoring/run-input.ts';
import { diagnosticText, formatClaims, formatRunHuman, runExitCode, runReport } from '../../server/cli/authoring/run-format.ts';
import { formatLocatedMessage, sourceFrame } from '../../server/cli/authoring/source-frame.ts';
import { CliError } from '../../server/cli/exit-codes.ts';
import type { LocalRunResult } from '../../server/cli/authoring/local-run.ts';

const NOW_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z

describe('run flags → LocalRunInput', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tokenproc-cli-run-'));
    writeFileSync(path.join(dir, 'proc.js'), 'function result(context) { return {}; }\n');
    writeFileSync(path.join(dir, 'client.json'), '{"client_id": "orders", "scope": "invoicing"}');
    writeFileSync(path.join(dir, 'subject.jwt'), '  eyJhbGciOiJFUzI1NiJ9.e30.sig\n');
    writeFileSync(path.join(dir, 'bad.json'), '[1, 2]');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads inline values and @files', () => {
    const input = buildLocalRunInput(
      'proc.js',
      {
        client: '@client.json',
        subjectToken: '@subject.jwt',
        actorClaims: '{"sub": "svc"}',
        param: ['scope=invoicing', 'transaction_id=a=b', 'audience='],
        flow: 'token-exchange',
        now: '2026-01-01T00:00:00Z',
      },
      dir,
    );
    expect(input).toEqual({
      flow: 'oauth-token-oauth-token-exchange',
      procedure: { id: 'proc', source: 'function result(context) { return {}; }\n', filename: 'proc.js' },
      client: { client_id: 'orders', scope: 'invoicing' },
      subjectToken: 'eyJhbGciOiJFUzI1NiJ9.e30.sig',
      actorClaims: { sub: 'svc' },
      params: [
        ['scope', 'invoicing'],
        ['transaction_id', 'a=b'],
        ['audience', ''],
      ],
      now: NOW_MS,
    });
  });

  it('refuses bad flags with usage errors (exit 2) that name the flag', () => {
    const attempt = (flags: Parameters<typeof buildLocalRunInput>[1], file = 'proc.js') => () => buildLocalRunInput(file, flags, dir);
    expect(attempt({}, 'missing.js')).toThrow(new CliError('missing.js: cannot read procedure: no such file'));
    expect(attempt({ client: '@nope.json' })).toThrow('--client: cannot read nope.json: no such file');
    expect(attempt({ client: '@bad.json' })).toThrow('--client: expected a JSON object');
    // The admin API's client schema: a typo is an error naming the member, with the likely one.
    expect(attempt({ client: '{"scopes": "invoicing"}' })).toThrow('--client: "scopes" is not allowed: did you mean "scope"?');
    expect(attempt({ client: '{"audiences": "https://x.example"}' })).toThrow(/^--client: "audiences" /);
    expect(attempt({ client: '{"scope": "invoicing", "audiences": ["https://x.example"], "properties": {"k": "v"}}' })).not.toThrow();
    expect(attempt({ subjectClaims: '{sub: 1}' })).toThrow(/^--subject-claims: not valid JSON/);
    expect(attempt({ subjectClaims: '{}', subjectToken: 'x' })).toThrow('give either --subject-token or --subject-claims, not both');
    expect(attempt({ flow: 'password' })).toThrow(/^unknown flow "password"/);
    try {
      attempt({ flow: 'password' })();
    } catch (err) {
      expect((err as CliError).exitCode).toBe(2);
    }
  });

  it('parses flows, params and clocks', () => {
    expect(parseFlow(undefined)).toBe('oauth-token-oauth-token-exchange');
    expect(parseFlow('client-credentials')).toBe('oauth-token-client-credentials');
    expect(parseFlow('oauth-token-client-credentials')).toBe('oauth-token-client-credentials');
    expect(parseParam('k=v=w')).toEqual(['k', 'v=w']);
    expect(() => parseParam('=v')).toThrow(CliError);
    expect(() => parseParam('novalue')).toThrow(CliError);
    expect(parseNow('1767225600')).toBe(NOW_MS);
    expect(parseNow(String(NOW_MS))).toBe(NOW_MS);
    expect(() => parseNow('tomorrow')).toThrow(CliError);
  });
});

const issued: LocalRunResult = {
  status: 200,
  body: { access_token: 'eyJ.a.b', token_type: 'bearer', expires_in: 300, scope: 'invoicing' },
  issued: [
    {
      kind: 'access_token',
      token: 'eyJ.a.b',
      header: { alg: 'ES256', typ: 'at+jwt', kid: 'k1' },
      claims: { sub: 'alice', scope: 'invoicing', iat: 1_767_225_600, exp: 1_767_225_900 },
    },
  ],
  logs: [{ level: 'info', message: 'downscoping for alice' }],
  diagnostic: null,
};

describe('run output', () => {
  it('prints logs, status, body and each token with dates and offsets', () => {
    const text = formatRunHuman(issued, { file: 'proc.js', source: '', procedureId: 'proc', nowMs: NOW_MS });
    expect(text).toBe(
      [
        'log info  downscoping for alice',
        '',
        'HTTP 200',
        '',
        'response body:',
        '  {',
        '    "access_token": "eyJ.a.b",',
        '    "token_type": "bearer",',
        '    "expires_in": 300,',
        '    "scope": "invoicing"',
        '  }',
        '',
        'issued access_token #1',
        '  header:',
        '    {',
        '      "alg": "ES256",',
        '      "typ": "at+jwt",',
        '      "kid": "k1"',
        '    }',
        '  claims:',
        '    {',
        '      "sub": "alice",',
        '      "scope": "invoicing",',
        '      "iat": 1767225600,  # 2026-01-01T00:00:00Z (now)',
        '      "exp": 1767225900  # 2026-01-01T00:05:00Z (now+300s)',
        '    }',
        '',
      ].join('\n'),
    );
    expect(runExitCode(issued)).toBe(0);
  });

  it('flags a millisecond exp as such', () => {
    expect(formatClaims({ exp: NOW_MS + 86_400_000 }, NOW_MS)).toContain('milliseconds?');
  });

  it('prints an OAuth error with the procedure location and source line', () => {
    const failed: LocalRunResult = {
      status: 500,
      body: { error: 'server_error', error_description: 'The token procedure failed' },
      issued: [],
      logs: [],
      diagnostic: { reason: 'runtime_error', message: 'proc:2:11: TypeError: x is not a function', line: 2, column: 11 },
    };
    const source = 'function result(context) {\n  return x();\n}\n';
    const text = formatRunHuman(failed, { file: 'proc.js', source, procedureId: 'proc', nowMs: NOW_MS });
    expect(text.startsWith(
      [
        'HTTP 500 server_error: The token procedure failed',
        'proc.js:2:11: error: runtime_error: TypeError: x is not a function',
        '  2 |   return x();',
        '    |           ^',
      ].join('\n'),
    )).toBe(true);
    expect(runExitCode(failed)).toBe(1);
    expect(runExitCode({ ...failed, diagnostic: { reason: 'compile_error', message: 'm', line: 1, column: 1 } })).toBe(2);
  });

  it('drops the engine\'s own location prefix from diagnostic messages', () => {
    const d = { reason: 'runtime_error', message: 'TypeError: x', line: null, column: null };
    expect(diagnosticText(d, ['proc', 'proc.js'])).toBe('TypeError: x');
    expect(diagnosticText({ ...d, message: 'proc: no result' }, ['proc', 'proc.js'])).toBe('no result');
    expect(diagnosticText({ ...d, message: 'proc.js:3:4: TypeError: x', line: 3, column: 4 }, ['proc', 'proc.js'])).toBe('TypeError: x');
  });

  it('gives a JSON document with the decoded tokens', () => {
    expect(runReport(issued)).toEqual({
      status: 200,
      body: issued.body,
      tokens: [{ kind: 'access_token', token: 'eyJ.a.b', header: issued.issued[0]?.header, claims: issued.issued[0]?.claims }],
      logs: issued.logs,
      diagnostic: null,
      corrections: [],
    });
  });

  it("shows the server's corrections of the response as a note, and in the JSON document", () => {
    const corrected: LocalRunResult = {
      ...issued,
      corrections: [
        { member: 'scope', returned: 'invoicing trigger_invoicing', sent: 'invoicing' },
        { member: 'issued_token_type', returned: null, sent: 'urn:ietf:params:oauth:token-type:access_token' },
      ],
    };
    const text = formatRunHuman(corrected, { file: 'p.js', source: '', procedureId: 'p', nowMs: NOW_MS });
    expect(text).toContain(
      [
        'HTTP 200',
        "note: the server corrected the procedure's response to match the issued token (the server logs a warning):",
        '  scope              returned "invoicing trigger_invoicing", sent "invoicing"',
        '  issued_token_type  returned (absent), sent "urn:ietf:params:oauth:token-type:access_token"',
        '',
      ].join('\n'),
    );
    expect(runReport(corrected).corrections).toEqual(corrected.corrections);
    expect(formatRunHuman(issued, { file: 'p.js', source: '', procedureId: 'p', nowMs: NOW_MS })).not.toContain('note:');
  });

  it('formats located messages like a compiler', () => {
    expect(sourceFrame('a\n\tb = c;', 2, 6)).toBe('  2 |  b = c;\n    |      ^');
    expect(formatLocatedMessage({ file: 'f.js', line: 9, column: 1, severity: 'warning', message: 'm' }, 'x')).toBe('f.js:9:1: warning: m');
    expect(formatLocatedMessage({ file: 'f.js', line: null, column: null, severity: 'error', message: 'm' }, 'x')).toBe('f.js: error: m');
  });
});
