/**
 * The exchange client is a package of its own: its manifest says what npm needs to publish it, and
 * its sources import nothing but Node built-ins and each other (no server code, no dependency).
 */
import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/server.ts';

const CLIENT = path.join(REPO_ROOT, 'client');

describe('client package', () => {
  it('has a publishable manifest with no runtime dependencies', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(CLIENT, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      name: 'tokenproc-exchange-client',
      type: 'module',
      license: 'Apache-2.0',
      engines: { node: '>=20' },
      types: './dist/index.d.ts',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      files: expect.arrayContaining(['dist/', 'README.md', 'LICENSE']),
      scripts: expect.objectContaining({ prepack: expect.any(String) }),
    });
    expect(manifest.private).toBeUndefined();
    expect(manifest.dependencies).toBeUndefined();
    expect(fs.readFileSync(path.join(CLIENT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    expect(fs.existsSync(path.join(CLIENT, 'README.md'))).toBe(true);
  });

  it('imports only node: built-ins and its own modules', () => {
    const sources = fs.readdirSync(path.join(CLIENT, 'src')).filter((name) => name.endsWith('.ts'));
    expect(sources).toContain('index.ts');
    for (const name of sources) {
      const text = fs.readFileSync(path.join(CLIENT, 'src', name), 'utf8');
      const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
      for (const specifier of specifiers) expect(`${name}: ${specifier}`).toMatch(/: (node:[a-z/]+|\.\/[a-z-]+\.ts)$/);
    }
  });
});
