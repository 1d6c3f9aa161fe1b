/**
 * End to end: the admin page at /admin/ of a real `tokenproc serve`, driven in headless Chromium.
 * Sign in, upload a procedure with a syntax error, see the error at its line, fix it, publish,
 * dry-run and read the decoded token, publish a second version, roll back, read the audit trail.
 * Needs Debian's chromium at /usr/bin/chromium (.ci/run installs it).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildAdminWeb } from '../../admin/web/build.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef0123456789';
const PROCEDURE_ID = 'orders-exchange';
const EXPECT_TIMEOUT_MS = 10_000;

// Line 4 has the syntax error (an unclosed call).
const BROKEN_SOURCE = `function result(context) {
  var tokenData = context.getPresentedSubjectToken();
  var delegation = context.getPresentedSubjectTokenDelegation();
  var scopes = context.request.getFormParameter('scope').split(' ';
  return {};
}
`;

function procedureSource(extraClaim: string): string {
  return `function result(context) {
  var tokenData = context.getPresentedSubjectToken();
  var delegation = context.getPresentedSubjectTokenDelegation();
  var scopes = context.request.getFormParameter('scope').split(' ');
  var fullContext = context.getInitializedContext(
    context.subjectAttributes(), context.contextAttributes(), tokenData.get('aud'), scopes);
${extraClaim}  logger.info('exchanging for {}', tokenData.sub);
  var accessToken = fullContext.getDefaultAccessTokenJwtIssuer().issue(tokenData, delegation);
  return {
    access_token: accessToken,
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: 'bearer',
    scope: scopes.join(' '),
    expires_in: secondsUntil(tokenData.exp)
  };
}
`;
}
const VERSION_1 = procedureSource('');
const VERSION_2 = procedureSource("  tokenData.department = 'sales';\n");

describe('admin web page in headless Chromium', () => {
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const artifacts = mkdtempSync(join(tmpdir(), 'tokenproc-e2e-shots-'));
  const foreignRequests: string[] = [];
  const consoleProblems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install -y chromium); .ci/run does this.`);
    }
    await buildAdminWeb();
    server = await startServerProcess({ adminKey: ADMIN_KEY });
    await adminApi('PUT', '/clients/orders-api-client', {
      client_id: 'orders-api-client',
      client_secret: 'e2e-client-secret-never-shown',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
      scope: 'invoicing trigger_invoicing',
      audiences: ['orders-api-client', 'https://invoicing.example.com'],
      procedures: {},
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.setDefaultTimeout(EXPECT_TIMEOUT_MS);
    const origin = server.origin;
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== origin) foreignRequests.push(request.url());
    });
    page.on('console', (message) => {
      // 401 and 422 answers are part of the flow; Chromium logs them as failed resources.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleProblems.push(message.text());
    });
    page.on('pageerror', (error) => consoleProblems.push(`page error: ${error.message}`));
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
    rmSync(artifacts, { recursive: true, force: true });
  }, 30_000);

  async function adminApi(method: string, path: string, body?: unknown): Promise<unknown> {
    if (!server) throw new Error('server not started');
    const response = await fetch(`${server.origin}/admin/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** Runs one step; on failure saves a screenshot and the server output next to the error. */
  async function step(name: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      const keep = mkdtempSync(join(tmpdir(), 'tokenproc-e2e-failure-'));
      const shot = join(keep, `${name.replace(/\W+/g, '-')}.png`);
      await page.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`${name}: ${message}\nscreenshot: ${shot}\n--- server output ---\n${server?.output().slice(-4000) ?? ''}`);
    }
  }

  /** Replaces the editor's whole text the way a user does: select all, then type or paste. */
  async function replaceEditorText(text: string): Promise<void> {
    await page.locator('#editor .cm-content').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText(text);
  }

  async function editorText(): Promise<string> {
    const lines = await page.locator('#editor .cm-content .cm-line').allTextContents();
    return lines.join('\n');
  }

  async function dryRunClaims(): Promise<Record<string, unknown>> {
    // The click sets the status to "info" at once; the answer turns it to ok or error.
    await page.locator('#dryrun-run').click();
    await page.locator('#dryrun-status[data-kind="ok"], #dryrun-status[data-kind="error"]').waitFor();
    const status = await page.locator('#dryrun-status').textContent();
    if (!status?.includes('HTTP 200')) {
      throw new Error(`dry-run did not succeed: ${status} ${await page.locator('#dryrun-result').textContent()}`);
    }
    const claims = await page.locator('#dryrun-issued .token-claims').first().textContent();
    return JSON.parse(claims ?? 'null') as Record<string, unknown>;
  }

  it('signs in with the admin key, refusing a wrong one', async () => {
    await step('sign in', async () => {
      const response = await page.goto(`${server?.origin}/admin/`);
      expect(response?.status()).toBe(200);
      await page.locator('#admin-key').fill('not-the-admin-key');
      await page.locator('#signin-submit').click();
      await page.locator('#signin-status[data-kind="error"]', { hasText: 'not accepted' }).waitFor();
      expect(await page.locator('#nav').isVisible()).toBe(false);

      await page.locator('#admin-key').fill(ADMIN_KEY);
      await page.locator('#signin-submit').click();
      await page.locator('#procedures-table').waitFor();
      expect(await page.locator('#nav').isVisible()).toBe(true);
      const stored = await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length }));
      expect(stored).toEqual({ session: 1, local: 0 });
    });
  });

  it('lists clients without their secrets', async () => {
    await step('clients', async () => {
      await page.locator('#nav-clients').click();
      await page.locator('#clients-table tbody tr', { hasText: 'orders-api-client' }).waitFor();
      expect(await page.locator('body').textContent()).not.toContain('e2e-client-secret-never-shown');
    });
  });

  it('shows the compile error of an uploaded procedure at its line, and stores nothing', async () => {
    await step('upload broken', async () => {
      await page.locator('#nav-procedures').click();
      await page.locator('#new-procedure-id').fill(PROCEDURE_ID);
      await page.locator('#new-procedure-flow').selectOption('oauth-token-oauth-token-exchange');
      await page.locator('#new-procedure-open').click();
      await page.locator('#editor .cm-content', { hasText: 'function result' }).waitFor();

      await page.locator('#procedure-file').setInputFiles({ name: 'broken.js', mimeType: 'text/javascript', buffer: Buffer.from(BROKEN_SOURCE) });
      await page.locator('#editor .cm-content', { hasText: "split(' ';" }).waitFor();
      await page.locator('#publish').click();
      await page.locator('#publish-status[data-kind="error"]', { hasText: 'Not published' }).waitFor();
      const errors = await page.locator('#compile-errors li').allTextContents();
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]).toMatch(/^Line 4, column \d+: /);
      // The server's error is marked in the editor on line 4 (and its gutter marker is there).
      await page.locator('#editor .cm-line').nth(3).locator('.cm-lintRange-error').first().waitFor();
      expect(await page.locator('#editor .cm-gutter-lint .cm-lint-marker-error').count()).toBeGreaterThan(0);
      await expect(page.locator('#versions-status').textContent()).resolves.toContain('Not published yet');
    });
  });

  it('publishes the fixed procedure and dry-runs it, showing the decoded token', async () => {
    await step('fix and publish', async () => {
      await replaceEditorText(VERSION_1);
      await page.locator('#publish').click();
      await page.locator('#publish-status[data-kind="ok"]', { hasText: 'Published version 1' }).waitFor();
      expect(await page.locator('#compile-errors li').count()).toBe(0);
      await page.locator('#versions-table tr[data-version="1"] .badge', { hasText: 'active' }).waitFor();
      const stored = (await adminApi('GET', `/procedures/${PROCEDURE_ID}`)) as { version: number; source: string };
      expect(stored.version).toBe(1);
      expect(stored.source).toBe(VERSION_1);
    });
    await step('dry-run v1', async () => {
      await page.locator('#dryrun-params').fill('scope=invoicing');
      const claims = await dryRunClaims();
      expect(claims['sub']).toBe('alice');
      expect(claims['scope']).toBe('invoicing');
      expect(claims).not.toHaveProperty('department');
      const logs = await page.locator('#dryrun-logs li').allTextContents();
      expect(logs.join('\n')).toContain('exchanging for alice');
      await page.screenshot({ path: join(artifacts, 'dry-run.png'), fullPage: true });
    });
  });

  it('publishes a second version, then rolls back to the first', async () => {
    await step('publish v2', async () => {
      await replaceEditorText(VERSION_2);
      await page.locator('#publish').click();
      await page.locator('#publish-status[data-kind="ok"]', { hasText: 'Published version 2' }).waitFor();
      const claims = await dryRunClaims();
      expect(claims['department']).toBe('sales');
    });
    await step('usable at 1024 px: the versions table is not clipped', async () => {
      await page.setViewportSize({ width: 1024, height: 800 });
      try {
        const button = page.locator('#activate-v1');
        await button.scrollIntoViewIfNeeded();
        const box = await button.boundingBox();
        expect(box).not.toBeNull();
        expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(1024);
        expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1024);
      } finally {
        await page.setViewportSize({ width: 1400, height: 1000 });
      }
    });
    await step('times carry their time zone', async () => {
      const created = await page.locator('#versions-table tbody tr[data-version="1"]').textContent();
      // timeStyle "long" ends the time with the zone's name or offset (UTC, GMT+1, PST...).
      expect(created ?? '').toMatch(/\d{1,2}:\d{2}:\d{2}(?:\s*[AP]M)?\s+(?:UTC|GMT[+-]?\d*|[A-Z]{3,5}|[+-]\d{1,2}(?::?\d{2})?)/);
    });
    await step('roll back', async () => {
      await page.locator('#activate-v1').click();
      await page.locator('#versions-status[data-kind="ok"]', { hasText: 'Version 1 is now active' }).waitFor();
      await page.locator('#versions-table tr[data-version="1"] .badge', { hasText: 'active' }).waitFor();
      await page.locator('#publish-status', { hasText: 'Editor shows version 1' }).waitFor();
      expect(await editorText()).not.toContain('department');
      const stored = (await adminApi('GET', `/procedures/${PROCEDURE_ID}`)) as { version: number };
      expect(stored.version).toBe(1);
      const claims = await dryRunClaims();
      expect(claims).not.toHaveProperty('department');
    });
  });

  it('shows the changes in the audit trail', async () => {
    await step('audit', async () => {
      await page.locator('#nav-audit').click();
      const rows = page.locator('#audit-table tbody tr', { hasText: PROCEDURE_ID });
      await rows.first().waitFor();
      const texts = await rows.allTextContents();
      // Two publishes and one activation of this procedure, newest first.
      expect(texts.length).toBeGreaterThanOrEqual(3);
      expect(texts.some((t) => /v2\s*→\s*v1/.test(t))).toBe(true);
      expect(await page.locator('body').textContent()).not.toContain(ADMIN_KEY);
    });
  });

  it("publishes a procedure with what `tokenproc check` finds, listed and marked in the editor", async () => {
    await step('publish with lint warnings', async () => {
      await page.locator('#nav-procedures').click();
      await page.locator('#new-procedure-id').fill('linted-exchange');
      await page.locator('#new-procedure-flow').selectOption('oauth-token-oauth-token-exchange');
      await page.locator('#new-procedure-open').click();
      await page.locator('#editor .cm-content', { hasText: 'function result' }).waitFor();
      await replaceEditorText(VERSION_1.replace('context.getPresentedSubjectToken()', 'context.getPresentedSubjectTokens()'));
      await page.locator('#publish').click();
      await page.locator('#publish-status[data-kind="warning"]', { hasText: 'Published version 1' }).waitFor();
      const warnings = await page.locator('#lint-warnings li').allTextContents();
      expect(warnings).toEqual([
        'Line 2, column 27: the context has no method `getPresentedSubjectTokens`: did you mean getPresentedSubjectToken? [unknown-api]',
      ]);
      await page.locator('#editor .cm-line').nth(1).locator('.cm-lintRange-warning').first().waitFor();
    });
  });

  it('lists the clients that use a procedure, and dry-runs as the first of them by default', async () => {
    await step('used by', async () => {
      // What GET adds (times, has_secret) is not part of a PUT body.
      const { created_at: _created, updated_at: _updated, has_secret: _hasSecret, ...client } = (await adminApi('GET', '/clients/orders-api-client')) as Record<string, unknown>;
      await adminApi('PUT', '/clients/orders-api-client', { ...client, procedures: { 'oauth-token-oauth-token-exchange': PROCEDURE_ID } });
      await page.goto(`${server?.origin}/admin/#/procedures/${PROCEDURE_ID}`);
      await page.locator('#procedure-clients li[data-client="orders-api-client"]', { hasText: 'oauth-token-oauth-token-exchange' }).waitFor();
      expect(await page.locator('#dryrun-client').inputValue()).toBe('orders-api-client');
      await page.goto(`${server?.origin}/admin/#/procedures/linted-exchange`);
      await page.locator('#procedure-clients li', { hasText: 'No client uses this procedure yet.' }).waitFor();
      expect(await page.locator('#dryrun-client').inputValue()).toBe('');
    });
  });

  it('signs out, forgets the key, and kept to its own origin without console errors', async () => {
    await step('sign out', async () => {
      await page.locator('#signout').click();
      await page.locator('#signin-form').waitFor();
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      expect(foreignRequests).toEqual([]);
      expect(consoleProblems).toEqual([]);
    });
  });
});
