/**
 * Cursor pagination of the admin API's lists, black-box: the bare array without paging
 * parameters, `{items, next_cursor}` with them; every record once across pages, also when records
 * are inserted between pages; bad limits and cursors are 400.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clientBody, startTestServer, type TestServer } from '../helpers/server.ts';
import { CC_FLOW, markingProcedure } from './support.ts';

let server: TestServer;

interface Page {
  items: Array<Record<string, unknown>>;
  next_cursor: string | null;
}

async function page(urlPath: string): Promise<Page> {
  const result = await server.admin('GET', urlPath);
  expect(result.status).toBe(200);
  expect(Object.keys(result.body).sort()).toEqual(['items', 'next_cursor']);
  return result.body as unknown as Page;
}

/** Follows next_cursor from the first page; answers every item's `key` member in order. */
async function walk(list: string, limit: number, key: string, between?: (pageNumber: number) => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = '';
  for (let n = 0; cursor !== null && n < 50; n++) {
    // An empty cursor asks for the first page (audit's `limit` alone keeps its older array answer).
    const current: Page = await page(`/${list}?limit=${limit}&cursor=${encodeURIComponent(cursor)}`);
    seen.push(...current.items.map((item) => String(item[key])));
    cursor = current.next_cursor;
    await between?.(n);
  }
  return seen;
}

beforeAll(async () => {
  server = await startTestServer();
  for (const id of ['c-3', 'c-1', 'c-5', 'c-2', 'c-4']) {
    expect((await server.admin('PUT', `/clients/${id}`, clientBody({ client_secret: 'a-long-enough-secret-1234' }))).status).toBe(201);
  }
  for (const id of ['p-2', 'p-1', 'p-3']) await server.admin('PUT', `/procedures/${id}`, { flow: CC_FLOW, source: markingProcedure(1) });
  for (const id of ['i-2', 'i-1']) await server.admin('PUT', `/trusted-issuers/${id}`, { issuer: `https://${id}.example.com`, jwks_uri: `https://${id}.example.com/jwks` });
  for (const name of ['k-2', 'k-1', 'k-3']) await server.admin('POST', '/admin-keys', { name, role: 'viewer' });
});

afterAll(async () => {
  await server?.stop();
});

describe('list shapes', () => {
  it('keeps the bare array without limit and cursor', async () => {
    for (const list of ['clients', 'procedures', 'trusted-issuers', 'admin-keys', 'audit']) {
      const result = await server.admin('GET', `/${list}`);
      expect(Array.isArray(result.body)).toBe(true);
    }
  });

  it('answers {items, next_cursor} with limit, the last page with next_cursor null', async () => {
    const first = await page('/clients?limit=2');
    expect(first.items.map((c) => c.client_id)).toEqual(['c-1', 'c-2']);
    expect(first.items[0]).not.toHaveProperty('client_secret_hash');
    expect(first.next_cursor).toEqual(expect.any(String));
    const all = await page('/clients?limit=5');
    expect(all.items).toHaveLength(5);
    expect(all.next_cursor).toBeNull();
    expect((await page('/clients?cursor=')).items).toHaveLength(5);
  });

  it('keeps the array for audit?limit= and before= (older than cursors; the admin page uses it)', async () => {
    const result = await server.admin('GET', '/audit?limit=2');
    expect(Array.isArray(result.body)).toBe(true);
    expect(result.body).toHaveLength(2);
  });
});

describe('walking pages', () => {
  it('visits every record once on every list', async () => {
    expect(await walk('clients', 2, 'client_id')).toEqual(['c-1', 'c-2', 'c-3', 'c-4', 'c-5']);
    expect(await walk('procedures', 2, 'id')).toEqual(['p-1', 'p-2', 'p-3']);
    expect(await walk('trusted-issuers', 1, 'id')).toEqual(['i-1', 'i-2']);
    expect(await walk('admin-keys', 2, 'name')).toEqual(['k-1', 'k-2', 'k-3']);
    const audit = (await server.admin('GET', '/audit?limit=1000')).body as unknown as Array<{ id: number }>;
    expect(await walk('audit', 4, 'id')).toEqual(audit.map((e) => String(e.id)));
  });

  it('is stable under inserts between pages', async () => {
    const seen = await walk('clients', 2, 'client_id', async (n) => {
      // Before the cursor (must not shift the next page) and after it (must be seen).
      if (n === 0) {
        await server.admin('PUT', '/clients/c-0', clientBody({ client_secret: 'a-long-enough-secret-1234' }));
        await server.admin('PUT', '/clients/c-6', clientBody({ client_secret: 'a-long-enough-secret-1234' }));
      }
    });
    expect(seen).toEqual(['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6']);
  });
});

describe('bad paging parameters', () => {
  it.each([
    ['/clients?limit=0', 'limit'],
    ['/clients?limit=-1', 'limit'],
    ['/clients?limit=abc', 'limit'],
    ['/clients?limit=1.5', 'limit'],
    ['/clients?limit=100000', 'limit'],
    ['/clients?limit=1&limit=2', 'limit'],
    ['/clients?cursor=not-a-cursor', 'cursor'],
    ['/procedures?cursor=%%%', 'cursor'],
    ['/audit?cursor=xyz', 'cursor'],
    ['/audit?cursor=&before=3', 'before'],
  ])('%s is 400 naming %s', async (urlPath, field) => {
    const result = await server.admin('GET', urlPath);
    expect(result.status).toBe(400);
    expect(result.body).toMatchObject({ error: 'invalid_request', field });
  });

  it('refuses a cursor of another list', async () => {
    const { next_cursor } = await page('/clients?limit=1');
    const result = await server.admin('GET', `/procedures?cursor=${encodeURIComponent(next_cursor ?? '')}`);
    expect(result.status).toBe(400);
  });
});
