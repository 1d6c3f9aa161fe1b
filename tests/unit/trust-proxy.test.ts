/**
 * TOKENPROC_TRUST_PROXY: Express's `trust proxy` syntax, checked once at start. Every value
 * accepted is one Express compiles, and it decides the address requests are counted under (req.ip).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, parseTrustProxy, type TrustProxy } from '../../server/config.ts';

describe('TOKENPROC_TRUST_PROXY', () => {
  it('is unset by default: no proxy is trusted', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TOKENPROC_TRUST_PROXY: '' }).trustProxy).toBe(false);
    expect(loadConfig({ TOKENPROC_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
  });

  it('takes a hop count, or a list of addresses, CIDR ranges and named ranges', () => {
    expect(loadConfig({ TOKENPROC_TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TOKENPROC_TRUST_PROXY: ' 2 ' }).trustProxy).toBe(2);
    expect(loadConfig({ TOKENPROC_TRUST_PROXY: 'loopback' }).trustProxy).toEqual(['loopback']);
    expect(loadConfig({ TOKENPROC_TRUST_PROXY: '10.0.0.1, 10.0.0.0/8,fd00::/8 ,192.168.0.0/255.255.0.0,uniquelocal,linklocal,::1' }).trustProxy).toEqual([
      '10.0.0.1',
      '10.0.0.0/8',
      'fd00::/8',
      '192.168.0.0/255.255.0.0',
      'uniquelocal',
      'linklocal',
      '::1',
    ]);
  });

  it('gives Express only values it compiles', () => {
    for (const raw of ['0', '3', 'loopback', '10.0.0.0/8, 172.16.0.0/12', '192.168.1.0/255.255.255.0', '::ffff:10.0.0.0/104', '2001:db8::/32,127.0.0.1']) {
      const value = parseTrustProxy(raw);
      expect(() => express().set('trust proxy', value)).not.toThrow();
    }
  });

  it('refuses anything else at start, naming the variable and the bad entry', () => {
    const refused = [
      'true',
      'yes',
      'localhost',
      'Loopback',
      '10.0.0.0/33',
      '10.0.0.0/0',
      '::1/129',
      '10.0.0.1/abc',
      '10.0.0.0/',
      '192.168.0.0/255.0.255.0',
      'fe80::1%eth0',
      '10.0.0.1,',
      'loopback,,10.0.0.1',
      '33',
      '-1',
      '1.5',
    ];
    for (const raw of refused) {
      expect(() => loadConfig({ TOKENPROC_TRUST_PROXY: raw })).toThrow(ConfigError);
      expect(() => loadConfig({ TOKENPROC_TRUST_PROXY: raw })).toThrow(/TOKENPROC_TRUST_PROXY/);
    }
    expect(() => loadConfig({ TOKENPROC_TRUST_PROXY: '10.0.0.1, 10.0.0.0/33' })).toThrow(/"10\.0\.0\.0\/33" has a prefix length outside 1\.\.32/);
    expect(() => loadConfig({ TOKENPROC_TRUST_PROXY: 'true' })).toThrow(/any client could pick its own address/);
    // Express refuses these too; a bad value must not get as far as the first request.
    for (const raw of ['10.0.0.0/33', '10.0.0.0/0', 'localhost', '192.168.0.0/255.0.255.0']) {
      expect(() => express().set('trust proxy', raw)).toThrow();
    }
  });

  it('takes a --trust-proxy flag over the environment variable', () => {
    expect(loadConfig({ TOKENPROC_TRUST_PROXY: '2' }, { trustProxy: 'loopback' }).trustProxy).toEqual(['loopback']);
    expect(() => loadConfig({}, { trustProxy: 'nonsense' })).toThrow(/--trust-proxy/);
  });

  it('decides the client address Express reports (req.ip) from X-Forwarded-For', async () => {
    async function ipSeen(trustProxy: TrustProxy, forwardedFor: string): Promise<string> {
      const app = express();
      app.set('trust proxy', trustProxy);
      app.get('/', (req, res) => {
        res.send(req.ip);
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      try {
        const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: { 'x-forwarded-for': forwardedFor } });
        return await response.text();
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
    // The test client connects over loopback; X-Forwarded-For counts only from a trusted proxy.
    expect(await ipSeen(parseTrustProxy(undefined), '203.0.113.9')).toBe('127.0.0.1');
    expect(await ipSeen(parseTrustProxy('1'), '198.51.100.4, 203.0.113.9')).toBe('203.0.113.9');
    expect(await ipSeen(parseTrustProxy('2'), '198.51.100.4, 203.0.113.9')).toBe('198.51.100.4');
    expect(await ipSeen(parseTrustProxy('loopback'), '203.0.113.9')).toBe('203.0.113.9');
    expect(await ipSeen(parseTrustProxy('10.0.0.0/8'), '203.0.113.9')).toBe('127.0.0.1');
  });
});
