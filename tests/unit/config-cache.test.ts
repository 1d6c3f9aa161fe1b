/**
 * The configuration cache reloads with a fixed number of store queries, however many procedures
 * there are (it used to make one more query per procedure, on every instance, at every change).
 */
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { ConfigCache } from '../../server/runtime/config-cache.ts';
import { SqliteStore } from '../../server/store/sqlite.ts';
import type { Store } from '../../server/store/types.ts';

describe('ConfigCache', () => {
  it('reloads every active procedure in one query', async () => {
    const store = SqliteStore.openInMemory();
    try {
      for (let i = 0; i < 12; i++) {
        const source = `function result() { return { n: ${i} }; }`;
        await store.putProcedureVersion(
          { id: `p-${String(i).padStart(2, '0')}`, flow: 'oauth-token-client-credentials', source, sha256: createHash('sha256').update(source).digest('hex') },
          'test',
        );
      }
      const calls: string[] = [];
      const counting = new Proxy(store, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.push(String(property));
            return Reflect.apply(value, target, args) as unknown;
          };
        },
      }) as Store;
      const cache = new ConfigCache(counting);
      await cache.refresh();
      expect(cache.snapshot.procedures.size).toBe(12);
      expect(cache.snapshot.procedures.get('p-07')?.source).toBe('function result() { return { n: 7 }; }');
      expect(calls.sort()).toEqual(['listActiveProcedures', 'listClients', 'listTrustedIssuers', 'revision']);
      // Nothing changed: one revision check, no reload.
      calls.length = 0;
      await cache.refresh();
      expect(calls).toEqual(['revision']);
    } finally {
      await store.close();
    }
  });
});
