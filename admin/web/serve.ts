/**
 * What the server needs to serve the admin web page at /admin/: the directory of the built
 * files, the security headers, and an express router that serves them.
 * Mount: `app.use('/admin', adminWebRouter())` (it leaves /admin/api/... to the API router).
 */
import express from 'express';
import type { Request, Response, NextFunction, Router } from 'express';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Placeholder in index.html that each response replaces with a fresh nonce. */
export const CSP_NONCE_PLACEHOLDER = '__TOKENPROC_CSP_NONCE__';

/** Absolute path of the built page (admin/web/dist). */
export function adminWebRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'dist');
}

/**
 * The page's Content-Security-Policy: its own script, stylesheet and icon only; API calls to its
 * own origin only; no inline script at all. Inline *style elements* need the nonce: CodeMirror
 * injects its theme as a <style> element carrying it. Style *attributes* are allowed because
 * CodeMirror sets a few (tab-size); they cannot run script or carry selectors.
 */
export function adminWebCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    // CodeMirror draws its lint markers and squiggles as data: SVG images.
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers for every file of the page except index.html, which adds its own CSP. */
export const ADMIN_WEB_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // Files are not content-hashed: revalidate every time (the ETag keeps that cheap).
  'Cache-Control': 'no-cache',
};

export interface AdminWebRouterOptions {
  /** Directory of the built page; defaults to adminWebRoot(). */
  root?: string;
}

/**
 * Serves the built page. `/admin` redirects to `/admin/` (the page uses relative URLs);
 * `/admin/` and `/admin/index.html` get index.html with a fresh CSP nonce; `/admin/api/...`,
 * other methods and unknown files fall through to the next handler; if the page was not built,
 * answers 503 saying how to build it.
 */
export function adminWebRouter(options: AdminWebRouterOptions = {}): Router {
  const root = options.root ?? adminWebRoot();
  const router = express.Router();
  const serveFiles = express.static(root, {
    index: false,
    redirect: false,
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders: (res: Response) => setHeaders(res, ADMIN_WEB_HEADERS),
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === '/api' || req.path.startsWith('/api/')) return next();
    const pathname = req.originalUrl.split('?', 1)[0] ?? '';
    if (req.path === '/' && !pathname.endsWith('/')) {
      return res.redirect(301, `${req.baseUrl}/${req.originalUrl.slice(pathname.length)}`);
    }
    if (req.path !== '/' && req.path !== '/index.html') return serveFiles(req, res, next);
    sendIndex(root, res).catch(next);
  });
  return router;
}

async function sendIndex(root: string, res: Response): Promise<void> {
  const indexPath = join(root, 'index.html');
  if (!existsSync(indexPath)) {
    res.status(503).type('text/plain').send('The admin page is not built. Run: node admin/web/build.ts\n');
    return;
  }
  const nonce = randomBytes(18).toString('base64');
  const html = (await readFile(indexPath, 'utf8')).replaceAll(CSP_NONCE_PLACEHOLDER, nonce);
  setHeaders(res, ADMIN_WEB_HEADERS);
  res.setHeader('Content-Security-Policy', adminWebCsp(nonce));
  // A nonce must never be reused, so this response is never cached.
  res.setHeader('Cache-Control', 'no-store');
  res.type('html').send(html);
}

function setHeaders(res: Response, headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}
