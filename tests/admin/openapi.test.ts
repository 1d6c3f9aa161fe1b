/**
 * GET /admin/api/v1/openapi.json: public, OpenAPI 3.1, describes every route the admin router
 * mounts (walked from the router itself) and nothing it does not, embeds the published JSON
 * Schemas unchanged, every `$ref` in it resolves, and a real OpenAPI validator accepts it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Router } from 'express';
import { createAdminRouter } from '../../admin/api/router.ts';
import type { Runtime } from '../../server/runtime/runtime.ts';
import { loadSchema, SCHEMA_NAMES } from '../../server/schemas/validate.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Validator } from '@seriousme/openapi-schema-validator';

let server: TestServer;
let document: Record<string, unknown>;

beforeAll(async () => {
  server = await startTestServer();
  const response = await fetch(`${server.origin}/admin/api/v1/openapi.json`);
  expect(response.status).toBe(200);
  document = (await response.json()) as Record<string, unknown>;
});

afterAll(async () => {
  await server?.stop();
});

interface RouterLayer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
}

/** "METHOD /path" for every route mounted under `router`, with Express `:param` spelled `{param}`. */
function mountedRoutes(router: { stack?: RouterLayer[] }, prefix = ''): string[] {
  const found: string[] = [];
  for (const layer of router.stack ?? []) {
    if (layer.route) {
      const path = `${prefix}${String(layer.route.path)}`.replace(/\/$/, '') || '/';
      for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    } else if (layer.handle?.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      found.push(...mountedRoutes(layer.handle, `${prefix}${mount}`));
    }
  }
  return found;
}

function documentedRoutes(): string[] {
  const paths = document['paths'] as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
}

/** Resolves a `$ref` against the document: a local pointer, or a schema `$id` (with an optional fragment) embedded in it. */
function resolves(reference: string): boolean {
  const [base, fragment = ''] = reference.split('#');
  let target: unknown = document;
  if (base) {
    const schemas = (document['components'] as Record<string, Record<string, Record<string, unknown>>>)['schemas'] ?? {};
    target = Object.values(schemas).find((schema) => schema['$id'] === base);
  }
  for (const segment of fragment.split('/').filter(Boolean)) {
    if (target === null || typeof target !== 'object') return false;
    target = (target as Record<string, unknown>)[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return target !== undefined;
}

/** Every `$ref`, made absolute: a fragment-only one inside an embedded schema is relative to that schema's `$id`. */
function references(value: unknown, base = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => references(item, base));
  if (value === null || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  const here = typeof record['$id'] === 'string' ? record['$id'] : base;
  return Object.entries(record).flatMap(([name, member]) =>
    name === '$ref' && typeof member === 'string' ? [member.startsWith('#') ? `${here}${member}` : member] : references(member, here),
  );
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document to a real OpenAPI validator (the 3.1 meta-schema, references resolved)', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // The validator does find faults: a document without its required `info` is refused.
    const broken: Record<string, unknown> = structuredClone(document);
    delete broken['info'];
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('is OpenAPI 3.1 and needs no key', () => {
    expect(document['openapi']).toBe('3.1.0');
    expect(document).toHaveProperty('paths');
  });

  it('describes every mounted route, and only those', () => {
    // The router is only walked, never called: a runtime with nothing behind it will do.
    const fakeRuntime = { store: {}, engine: {}, cache: { snapshot: { revision: -1 } }, logger: {}, metrics: null } as unknown as Runtime;
    const mounted = mountedRoutes(createAdminRouter(fakeRuntime) as Router & { stack?: RouterLayer[] });
    expect(mounted.length).toBeGreaterThan(20);
    expect([...new Set(mounted)].sort()).toEqual(documentedRoutes().sort());
  });

  it('embeds the published JSON Schemas with references into the document, and every $ref resolves', () => {
    const schemas = (document['components'] as Record<string, Record<string, Record<string, unknown>>>)['schemas'] ?? {};
    for (const name of SCHEMA_NAMES) {
      const published = loadSchema(name);
      expect(schemas[name]?.['title']).toBe(published['title']);
      expect(schemas[name]?.['required']).toEqual(published['required']);
      expect(Object.keys((schemas[name]?.['properties'] as object | undefined) ?? {})).toEqual(Object.keys((published['properties'] as object | undefined) ?? {}));
      expect(schemas[name]).not.toHaveProperty('$id');
    }
    expect(JSON.stringify(schemas['client'])).toContain('"$ref":"#/components/schemas/definitions/$defs/resource_id"');
    const all = references(document);
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter((reference) => !resolves(reference))).toEqual([]);
  });

  it('documents 401, 403 and the error shape on authenticated operations, 412 where If-Match applies', () => {
    const paths = document['paths'] as Record<string, Record<string, { responses: Record<string, unknown>; parameters: Array<{ name: string }> }>>;
    const put = paths['/clients/{clientId}']?.['put'];
    expect(Object.keys(put?.responses ?? {})).toEqual(expect.arrayContaining(['200', '201', '400', '401', '403', '412', '415']));
    expect(put?.parameters.map((p) => p.name)).toContain('If-Match');
    expect(paths['/clients']?.['get']?.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['limit', 'cursor']));
  });

  it('documents the platform admin routes with their roles, merge-patch bodies and the 405 answer', () => {
    type Operation = { 'x-tokenproc-role'?: string; requestBody?: { required: boolean; content: Record<string, unknown> }; parameters: Array<{ name: string }> };
    const paths = document['paths'] as Record<string, Record<string, Operation>>;
    const roles = Object.fromEntries(
      [
        ['get', '/me'],
        ['get', '/signing-keys'],
        ['post', '/signing-keys/rotate'],
        ['post', '/trusted-issuers/test-jwks'],
        ['patch', '/clients/{clientId}'],
        ['patch', '/trusted-issuers/{id}'],
      ].map(([method = '', path = '']) => [`${method} ${path}`, paths[path]?.[method]?.['x-tokenproc-role']]),
    );
    expect(roles).toEqual({
      'get /me': 'viewer',
      'get /signing-keys': 'viewer',
      'post /signing-keys/rotate': 'admin',
      'post /trusted-issuers/test-jwks': 'admin',
      'patch /clients/{clientId}': 'admin',
      'patch /trusted-issuers/{id}': 'admin',
    });
    const patch = paths['/clients/{clientId}']?.['patch'];
    expect(Object.keys(patch?.requestBody?.content ?? {})).toEqual(['application/merge-patch+json', 'application/json']);
    expect(patch?.parameters.map((p) => p.name)).toContain('If-Match');
    expect(paths['/signing-keys/rotate']?.['post']?.requestBody?.required).toBe(false);
    const responses = (document['components'] as Record<string, Record<string, unknown>>)['responses'] ?? {};
    expect(responses).toHaveProperty('error405');
    const schemas = (document['components'] as Record<string, Record<string, Record<string, unknown>>>)['schemas'] ?? {};
    expect(JSON.stringify(schemas['procedure-upload'])).toContain('"note":{"$ref":"#/components/schemas/definitions/$defs/change_note"');
  });
});
