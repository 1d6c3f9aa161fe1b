import { describe, it, expect } from '@jest/globals';
import ivm from 'isolated-vm';
import * as jose from 'jose';
import { DatabaseSync } from 'node:sqlite';
describe('smoke', () => {
  it('loads', async () => {
    const i = new ivm.Isolate({ memoryLimit: 16 });
    const c = await i.createContext();
    expect(await c.eval('1+1')).toBe(2);
    const { privateKey } = await jose.generateKeyPair('ES256');
    expect(privateKey).toBeTruthy();
    expect(new DatabaseSync(':memory:')).toBeTruthy();
    expect(process.version.startsWith('v24')).toBe(true);
  });
});
