/**
 * The admin page's static serving (admin/web/serve.ts) over real HTTP: redirects, a fresh CSP
 * nonce per page load, security headers, fall-through for the API, and a clear 503 when the page
 * was not built. The build goes to a temp directory so it never races the browser test.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { buildAdminWeb } from '../../admin/web/build.ts';
import { adminWebRouter, CSP_NONCE_PLACEHOLDER } from '../../admin/web/serve.ts';

describe('adminWebRouter', () => {
  const builtDir = mkdtempSync(join(tmpdir(), 'tokenproc-web-built-'));
  const emptyDir = mkdtempSync(join(tmpdir(), 'tokenproc-web-empty-'));
  let server: http.Server;
  let origin = '';

  beforeAll(async () => {
    await buildAdminWeb({ outDir: builtDir });
    const app = express();
    app.use('/admin', adminWebRouter({ root: builtDir }));
    app.use('/unbuilt', adminWebRouter({ root: emptyDir }));
    app.use((_req, res) => {
      res.status(404).json({ error: 'not_found' });
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 30_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(builtDir, { recursive: true, force: true });
    rmSync(emptyDir, { recursive: true, force: true });
  });

  const get = (path: string) => fetch(`${origin}${path}`, { redirect: 'manual' });

  it('redirects /admin to /admin/ so relative asset URLs resolve', async () => {
    const response = await get('/admin?x=1');
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe('/admin/?x=1');
  });

  it('serves index.html with a fresh nonce in both the CSP and the page', async () => {
    const nonces: string[] = [];
    for (const path of ['/admin/', '/admin/index.html']) {
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1] ?? '';
      expect(nonce).toMatch(/^[A-Za-z0-9+/=]{16,}$/);
      const html = await response.text();
      expect(html).toContain(`<meta name="csp-nonce" content="${nonce}">`);
      expect(html).not.toContain(CSP_NONCE_PLACEHOLDER);
      // No inline script, and nothing loaded from another origin.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
      nonces.push(nonce);
    }
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  it('serves the bundles with nosniff and revalidation, and nothing from elsewhere in the CSS', async () => {
    const script = await get('/admin/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    expect(script.headers.get('cache-control')).toBe('no-cache');
    expect((await script.text()).length).toBeGreaterThan(1000);
    const style = await get('/admin/app.css');
    expect(style.headers.get('content-type')).toMatch(/^text\/css/);
    const css = await style.text();
    expect(css).not.toMatch(/@import|url\(\s*['"]?(?:https?:)?\/\//);
    expect(readFileSync(join(builtDir, 'app.css'), 'utf8')).toBe(css);
  });

  it('leaves the admin API, other methods and unknown files to the next handler', async () => {
    for (const path of ['/admin/api/v1/procedures', '/admin/api', '/admin/nope.js']) {
      const response = await get(path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: 'not_found' });
    }
    const post = await fetch(`${origin}/admin/`, { method: 'POST' });
    expect(post.status).toBe(404);
  });

  it('answers 503 with the build command when the page was not built', async () => {
    const response = await get('/unbuilt/');
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('node admin/web/build.ts');
  });
});
