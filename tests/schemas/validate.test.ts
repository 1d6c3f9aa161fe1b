import { describe, expect, it } from '@jest/globals';
import {
  MAX_PROCEDURE_SOURCE_BYTES,
  SCHEMA_NAMES,
  isSchemaName,
  loadSchema,
  validateClientBody,
  validateConfigDocument,
  validateProcedureActivateBody,
  validateProcedureDryRunBody,
  validateProcedureUploadBody,
  validateTrustedIssuerBody,
} from '../../server/schemas/validate.ts';
import type { ValidationProblem } from '../../server/schemas/validate.ts';
import type { Result } from '../../server/oauth/errors.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** The client example of the interface contract (interfaces.md), with a real secret. */
const specClient = {
  client_id: 'orders-api-client',
  client_secret: 'myS3cret',
  token_endpoint_auth_method: 'client_secret_basic',
  jwks: null,
  grant_types: [TOKEN_EXCHANGE, 'client_credentials'],
  scope: 'invoicing trigger_invoicing',
  audiences: ['https://invoicing.example.com'],
  properties: { custom_token_exchange: 'true' },
  procedures: { 'oauth-token-oauth-token-exchange': 'orders-exchange' },
  access_token_ttl: 300,
  accept_unvalidated_tokens: false,
};

const publicEcKey = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' };

function problemOf<T>(result: Result<T, ValidationProblem>): ValidationProblem {
  if (result.ok) throw new Error('expected a validation problem');
  return result.error;
}

describe('validateClientBody', () => {
  it('accepts the spec client unchanged', () => {
    expect(validateClientBody(specClient)).toEqual({ ok: true, value: specClient });
  });

  it('fills defaults into a copy, leaving the body alone', () => {
    const body = { client_id: 'front_end', grant_types: ['client_credentials'] };
    const result = validateClientBody(body);
    expect(result).toEqual({
      ok: true,
      value: {
        client_id: 'front_end',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_basic',
        jwks: null,
        scope: '',
        audiences: [],
        properties: {},
        procedures: {},
        access_token_ttl: 300,
        accept_unvalidated_tokens: false,
      },
    });
    expect(body).toEqual({ client_id: 'front_end', grant_types: ['client_credentials'] });
  });

  it('accepts a private_key_jwt client with public keys', () => {
    const body = { ...specClient, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [publicEcKey] } };
    delete (body as Partial<typeof body>).client_secret;
    expect(validateClientBody(body).ok).toBe(true);
  });

  const cases: Array<[string, unknown, string]> = [
    ['a body that is not an object', 'client', ''],
    ['a missing client_id', { grant_types: ['client_credentials'] }, '/client_id'],
    ['a client_id outside the allowed characters', { ...specClient, client_id: 'orders api' }, '/client_id'],
    ['a client_id of only dots', { ...specClient, client_id: '..' }, '/client_id'],
    ['an unknown member', { ...specClient, redirect_uris: [] }, '/redirect_uris'],
    ['a short client_secret', { ...specClient, client_secret: 'short' }, '/client_secret'],
    ['a client_secret with a control character', { ...specClient, client_secret: 'abcdefgh\n' }, '/client_secret'],
    ['an unknown auth method', { ...specClient, token_endpoint_auth_method: 'none' }, '/token_endpoint_auth_method'],
    ['a missing grant_types', { client_id: 'a' }, '/grant_types'],
    ['an empty grant_types', { ...specClient, grant_types: [] }, '/grant_types'],
    ['an unsupported grant type', { ...specClient, grant_types: ['client_credentials', 'password'] }, '/grant_types/1'],
    ['a repeated grant type', { ...specClient, grant_types: ['client_credentials', 'client_credentials'] }, '/grant_types'],
    ['a scope with a double space', { ...specClient, scope: 'invoicing  billing' }, '/scope'],
    ['a scope with a quote', { ...specClient, scope: 'in"voicing' }, '/scope'],
    ['a non-string audience', { ...specClient, audiences: ['https://a.example', 5] }, '/audiences/1'],
    ['a non-string property', { ...specClient, properties: { custom_token_exchange: true } }, '/properties/custom_token_exchange'],
    ['an unknown flow in procedures', { ...specClient, procedures: { 'oauth-authorize': 'p' } }, '/procedures/oauth-authorize'],
    ['a bad procedure id', { ...specClient, procedures: { 'oauth-token-client-credentials': 'a/b' } }, '/procedures/oauth-token-client-credentials'],
    ['a zero access_token_ttl', { ...specClient, access_token_ttl: 0 }, '/access_token_ttl'],
    ['an access_token_ttl over a day', { ...specClient, access_token_ttl: 86401 }, '/access_token_ttl'],
    ['a fractional access_token_ttl', { ...specClient, access_token_ttl: 1.5 }, '/access_token_ttl'],
    ['a string accept_unvalidated_tokens', { ...specClient, accept_unvalidated_tokens: 'false' }, '/accept_unvalidated_tokens'],
    ['private_key_jwt without jwks', { ...specClient, client_secret: undefined, token_endpoint_auth_method: 'private_key_jwt' }, '/jwks'],
    ['private_key_jwt with a secret', { ...specClient, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [publicEcKey] } }, '/client_secret'],
    ['jwks on a secret client', { ...specClient, jwks: { keys: [publicEcKey] } }, '/jwks'],
    ['a private key in jwks', { ...specClient, client_secret: undefined, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...publicEcKey, d: 'secret' }] } }, '/jwks/keys/0'],
    ['a symmetric key in jwks', { ...specClient, client_secret: undefined, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, '/jwks/keys/0'],
    ['a symmetric key type in jwks', { ...specClient, client_secret: undefined, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'oct' }] } }, '/jwks/keys/0/kty'],
  ];

  it.each(cases)('refuses %s, naming the field', (_label, body, field) => {
    // undefined members are dropped, as JSON would.
    const problem = problemOf(validateClientBody(JSON.parse(JSON.stringify(body)) as unknown));
    expect(problem.field).toBe(field);
    expect(problem.message.length).toBeGreaterThan(0);
  });

  it('explains the private_key_jwt rules and never echoes the secret', () => {
    const problem = problemOf(validateClientBody({ ...specClient, client_secret: 'abc\u0001defgh-very-secret' }));
    expect(problem).toEqual({ field: '/client_secret', message: 'must be 8 to 512 printable ASCII characters' });
    const noJwks = problemOf(validateClientBody({ client_id: 'a', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt' }));
    expect(noJwks.message).toMatch(/private_key_jwt/);
  });
});

describe('validateTrustedIssuerBody', () => {
  it('accepts jwks_uri or jwks, with optional algorithms and audiences', () => {
    const withUri = { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks' };
    expect(validateTrustedIssuerBody(withUri)).toEqual({ ok: true, value: withUri });
    const withJwks = { id: 'partner', issuer: 'http://127.0.0.1:9000', jwks: { keys: [publicEcKey] }, allowed_algs: ['ES256', 'EdDSA'], audiences: ['orders-api-client'] };
    expect(validateTrustedIssuerBody(withJwks)).toEqual({ ok: true, value: withJwks });
  });

  const cases: Array<[string, unknown, string]> = [
    ['a missing issuer', { jwks_uri: 'https://idp.example.com/jwks' }, '/issuer'],
    ['a non-http issuer', { issuer: 'urn:idp', jwks_uri: 'https://idp.example.com/jwks' }, '/issuer'],
    ['neither jwks_uri nor jwks', { issuer: 'https://idp.example.com' }, '/jwks_uri'],
    ['both jwks_uri and jwks', { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks', jwks: { keys: [publicEcKey] } }, '/jwks'],
    ['an HMAC algorithm', { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks', allowed_algs: ['HS256'] }, '/allowed_algs/0'],
    ['"none" as algorithm', { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks', allowed_algs: ['none'] }, '/allowed_algs/0'],
    ['an empty allowed_algs', { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks', allowed_algs: [] }, '/allowed_algs'],
    ['an empty audience', { issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks', audiences: [''] }, '/audiences/0'],
    ['an empty key set', { issuer: 'https://idp.example.com', jwks: { keys: [] } }, '/jwks/keys'],
  ];

  it.each(cases)('refuses %s, naming the field', (_label, body, field) => {
    expect(problemOf(validateTrustedIssuerBody(body)).field).toBe(field);
  });
});

describe('procedure bodies', () => {
  it('accepts an upload and an activation', () => {
    const upload = { flow: 'oauth-token-client-credentials', source: 'function result(context) { return {}; }' };
    expect(validateProcedureUploadBody(upload)).toEqual({ ok: true, value: upload });
    expect(validateProcedureActivateBody({ version: 3 })).toEqual({ ok: true, value: { version: 3 } });
  });

  it('refuses a bad upload, naming the field', () => {
    expect(problemOf(validateProcedureUploadBody({ flow: 'oauth-authorize', source: 'x' })).field).toBe('/flow');
    expect(problemOf(validateProcedureUploadBody({ flow: 'oauth-token-client-credentials' })).field).toBe('/source');
    expect(problemOf(validateProcedureUploadBody({ flow: 'oauth-token-client-credentials', source: '' })).field).toBe('/source');
  });

  it('limits the source to 256 KiB of UTF-8', () => {
    const flow = 'oauth-token-oauth-token-exchange';
    expect(validateProcedureUploadBody({ flow, source: 'a'.repeat(MAX_PROCEDURE_SOURCE_BYTES) }).ok).toBe(true);
    expect(problemOf(validateProcedureUploadBody({ flow, source: 'a'.repeat(MAX_PROCEDURE_SOURCE_BYTES + 1) })).field).toBe('/source');
    // Under the limit in characters, over it in bytes.
    const wide = 'é'.repeat(MAX_PROCEDURE_SOURCE_BYTES / 2 + 1);
    expect(problemOf(validateProcedureUploadBody({ flow, source: wide }))).toEqual({ field: '/source', message: 'must be at most 262144 bytes of UTF-8' });
  });

  it('refuses a version that is not a positive integer', () => {
    for (const version of [0, -1, 1.5, '2', null]) {
      expect(problemOf(validateProcedureActivateBody({ version })).field).toBe('/version');
    }
    expect(problemOf(validateProcedureActivateBody({})).field).toBe('/version');
  });
});

describe('validateConfigDocument', () => {
  const { client_secret: _secret, ...exportedClient } = specClient;
  const document = {
    version: 1,
    clients: [exportedClient],
    procedures: [{ id: 'orders-exchange', flow: 'oauth-token-oauth-token-exchange', source: 'function result(context) { return {}; }' }],
    trusted_issuers: [{ id: 'corporate-idp', issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks' }],
  };

  it('accepts an export document and defaults missing lists', () => {
    expect(validateConfigDocument(document)).toEqual({ ok: true, value: document });
    expect(validateConfigDocument({ version: 1 })).toEqual({ ok: true, value: { version: 1, clients: [], procedures: [], trusted_issuers: [] } });
  });

  const cases: Array<[string, unknown, string]> = [
    ['another version', { ...document, version: 2 }, '/version'],
    ['a client secret', { ...document, clients: [specClient] }, '/clients/0/client_secret'],
    ['an invalid client', { ...document, clients: [{ ...exportedClient, scope: 'a  b' }] }, '/clients/0/scope'],
    ['a procedure without flow', { ...document, procedures: [{ id: 'p', source: 'x' }] }, '/procedures/0/flow'],
    ['a trusted issuer without id', { ...document, trusted_issuers: [{ issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/jwks' }] }, '/trusted_issuers/0/id'],
    ['a duplicate client id', { ...document, clients: [exportedClient, exportedClient] }, '/clients/1/client_id'],
    ['a duplicate procedure id', { ...document, procedures: [document.procedures[0], document.procedures[0]] }, '/procedures/1/id'],
    ['a duplicate trusted issuer id', { ...document, trusted_issuers: [document.trusted_issuers[0], document.trusted_issuers[0]] }, '/trusted_issuers/1/id'],
    ['an oversized source', { ...document, procedures: [{ id: 'p', flow: 'oauth-token-client-credentials', source: '€'.repeat(100_000) }] }, '/procedures/0/source'],
  ];

  it.each(cases)('refuses %s, naming the field', (_label, body, field) => {
    expect(problemOf(validateConfigDocument(body)).field).toBe(field);
  });
});

describe('validateProcedureDryRunBody', () => {
  it('accepts what tokenproc run takes', () => {
    const body = {
      flow: 'oauth-token-oauth-token-exchange',
      source: 'function result(c) { return {}; }',
      client: { scope: 'a b' },
      subject_claims: { sub: 'alice' },
      params: { scope: 'a', resource: ['https://x.example', 'https://y.example'] },
    };
    expect(validateProcedureDryRunBody(body)).toEqual({ ok: true, value: body });
    expect(validateProcedureDryRunBody({ version: 2 }).ok).toBe(true);
  });

  it.each([
    [{ version: 0 }, '/version'],
    [{ source: 'x', version: 1 }, '/version'],
    [{ flow: 'password' }, '/flow'],
    [{ params: { scope: 3 } }, '/params/scope'],
    [{ subject_claims: 'alice' }, '/subject_claims'],
    [{ extra: true }, '/extra'],
  ])('refuses %j, naming %s', (body, field) => {
    expect(problemOf(validateProcedureDryRunBody(body)).field).toBe(field);
  });
});

describe('published schemas', () => {
  it('loads every schema by name as a fresh draft 2020-12 document', () => {
    for (const name of SCHEMA_NAMES) {
      const schema = loadSchema(name);
      expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema['$id']).toBe(`urn:tokenproc:schema:${name}`);
    }
    const first = loadSchema('client');
    first['title'] = 'changed';
    expect(loadSchema('client')['title']).toBe('tokenproc client');
  });

  it('knows its schema names', () => {
    expect(isSchemaName('trusted-issuer')).toBe(true);
    expect(isSchemaName('../package')).toBe(false);
  });
});
