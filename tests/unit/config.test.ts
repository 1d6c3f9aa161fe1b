import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../server/config.ts';
import { ensureAdminKey, hashAdminKey } from '../../server/configuration/admin-key.ts';
import { SqliteStore } from '../../server/store/sqlite.ts';

describe('loadConfig', () => {
  it('defaults to loopback on 8080 with an issuer that follows the port', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', issuer: 'http://localhost:8080', issuerFromPort: true });
    expect(loadConfig({ PORT: '9000' }).issuer).toBe('http://localhost:9000');
  });

  it('takes flags over environment variables', () => {
    const config = loadConfig({ PORT: '9000', TOKENPROC_ISSUER: 'https://a.example' }, { port: '9100', issuer: 'https://b.example/' });
    expect(config).toMatchObject({ port: 9100, issuer: 'https://b.example', issuerFromPort: false });
  });

  it('refuses an issuer with a query or fragment, and a bad port', () => {
    expect(() => loadConfig({ TOKENPROC_ISSUER: 'https://a.example/?x=1' })).toThrow(ConfigError);
    expect(() => loadConfig({ TOKENPROC_ISSUER: 'https://a.example/#f' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT must be an integer/);
  });

  it('requires https unless the issuer is on loopback (RFC 6749 §3.2)', () => {
    expect(() => loadConfig({ TOKENPROC_ISSUER: 'http://tokens.example.com' })).toThrow(/https/);
    expect(loadConfig({ TOKENPROC_ISSUER: 'http://tokens.example.com', TOKENPROC_ALLOW_HTTP_ISSUER: 'true' }).issuer).toBe('http://tokens.example.com');
    for (const issuer of ['http://127.0.0.1:8080', 'http://[::1]:8080', 'http://localhost', 'https://tokens.example.com']) {
      expect(loadConfig({ TOKENPROC_ISSUER: issuer }).issuer).toBe(issuer);
    }
  });
});

describe('signing algorithm', () => {
  it('defaults to ES256, takes RS256, refuses anything else', () => {
    expect(loadConfig({}).signingAlg).toBe('ES256');
    expect(loadConfig({ TOKENPROC_SIGNING_ALG: 'RS256' }).signingAlg).toBe('RS256');
    expect(() => loadConfig({ TOKENPROC_SIGNING_ALG: 'HS256' })).toThrow(/TOKENPROC_SIGNING_ALG/);
  });
});

describe('sandbox limits from the environment', () => {
  it('takes the isolate count per procedure (default 4) and refuses a count outside 1-64', () => {
    expect(loadConfig({}).sandbox.maxIsolatesPerProcedure).toBe(4);
    expect(loadConfig({ TOKENPROC_SANDBOX_ISOLATES: '1' }).sandbox.maxIsolatesPerProcedure).toBe(1);
    expect(() => loadConfig({ TOKENPROC_SANDBOX_ISOLATES: '0' })).toThrow(/TOKENPROC_SANDBOX_ISOLATES/);
    expect(() => loadConfig({ TOKENPROC_SANDBOX_ISOLATES: 'many' })).toThrow(/TOKENPROC_SANDBOX_ISOLATES/);
  });

  it('refuses a short admin key and reads the worker settings', () => {
    expect(() => loadConfig({ TOKENPROC_ADMIN_KEY: 'hunter2' })).toThrow(/at least 32 characters/);
    expect(loadConfig({ TOKENPROC_ADMIN_KEY: 'k'.repeat(32) }).adminKey).toBe('k'.repeat(32));
    expect(loadConfig({}).adminKey).toBeNull();
    expect(loadConfig({ TOKENPROC_WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({}, { workers: 'auto' }).workers).toBeGreaterThanOrEqual(1);
    expect(() => loadConfig({ TOKENPROC_WORKERS: '0' })).toThrow(/TOKENPROC_WORKERS/);
  });
});

describe('ensureAdminKey', () => {
  it('says when TOKENPROC_ADMIN_KEY replaced a different stored key, and generates one only when none is stored', async () => {
    const store = SqliteStore.openInMemory();
    try {
      const first = await ensureAdminKey(store, null);
      expect(first.generated).not.toBeNull();
      expect(first.replaced).toBe(false);
      expect(await ensureAdminKey(store, null)).toEqual({ generated: null, replaced: false });
      const configured = 'c'.repeat(40);
      expect(await ensureAdminKey(store, configured)).toEqual({ generated: null, replaced: true });
      expect(await store.getAdminKeyHash()).toBe(hashAdminKey(configured));
      expect(await ensureAdminKey(store, configured)).toEqual({ generated: null, replaced: false });
    } finally {
      await store.close();
    }
  });
});
