/**
 * End to end: the admin page at /admin/ of a real `tokenproc serve`, driven in headless Chromium.
 * Sign in, upload a procedure with a syntax error, see the error at its line, fix it, publish,
 * dry-run and read the decoded token, publish a second version after reading its diff and giving a
 * change note, roll back (cancelling once), filter and page the audit trail, search in the editor,
 * and see a viewer key's read-only page.
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
const DEPARTMENT_LINE = "  tokenData.department = 'sales';";
const PUBLISH_NOTE = 'Adds the department claim for the sales dashboards';
const ROLLBACK_NOTE = 'Roll back: the dashboards are not ready';

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

  /** Publish opens the confirmation dialog; confirms it (with a note when given). */
  async function publishAndConfirm(note = ''): Promise<void> {
    await page.locator('#publish').click();
    await page.locator('#change-dialog').waitFor();
    if (note) await page.locator('#change-note').fill(note);
    await page.locator('#change-confirm').click();
    await page.locator('#change-dialog').waitFor({ state: 'detached' });
  }

  async function activeVersion(): Promise<number> {
    return ((await adminApi('GET', `/procedures/${PROCEDURE_ID}`)) as { version: number }).version;
  }

  async function signInWith(key: string): Promise<void> {
    await page.locator('#admin-key').fill(key);
    await page.locator('#signin-submit').click();
    await page.locator('#nav').waitFor();
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
      // The dialog warns of the editor's own syntax error before anything is sent.
      await page.locator('#change-facts', { hasText: 'syntax error' }).waitFor();
      await page.locator('#change-confirm').click();
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
      // A first version is compared with nothing: every line is added.
      await page.locator('#change-facts', { hasText: 'first version' }).waitFor();
      expect(await page.locator('#change-diff tr.diff-add').count()).toBe(VERSION_1.trimEnd().split('\n').length);
      await page.locator('#change-confirm').click();
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
    await step('publish v2: the dialog shows the diff, and the note is kept', async () => {
      await replaceEditorText(VERSION_2);
      await page.locator('#publish').click();
      await page.locator('#change-dialog').waitFor();
      // The one added line, with its new line number (7), and nothing removed.
      const added = page.locator('#change-diff tr.diff-add');
      expect(await added.count()).toBe(1);
      expect(await added.locator('.diff-text').textContent()).toBe(DEPARTMENT_LINE);
      expect((await added.locator('.diff-num').allTextContents()).map((t) => t.trim())).toEqual(['', '7']);
      expect(await page.locator('#change-diff tr.diff-del').count()).toBe(0);
      await expect(page.locator('#change-diff tr.diff-hunk').textContent()).resolves.toBe('@@ -4,6 +4,7 @@');
      await expect(page.locator('#change-diff-summary').textContent()).resolves.toBe('1 line added, 0 removed.');
      expect(await page.locator('#change-dialog').textContent()).toContain('active version 1');
      await page.locator('#change-note').fill(PUBLISH_NOTE);
      await page.locator('#change-confirm').click();
      await page.locator('#publish-status[data-kind="ok"]', { hasText: 'Published version 2' }).waitFor();
      expect(await page.locator('#change-dialog').count()).toBe(0);
      await page.locator('#versions-table tr[data-version="2"] .version-note', { hasText: PUBLISH_NOTE }).waitFor();
      const stored = (await adminApi('GET', `/procedures/${PROCEDURE_ID}/versions`)) as Array<{ version: number; note: string | null }>;
      expect(stored.find((v) => v.version === 2)?.note).toBe(PUBLISH_NOTE);
      expect(stored.find((v) => v.version === 1)?.note ?? null).toBeNull();
      const claims = await dryRunClaims();
      expect(claims['department']).toBe('sales');
    });
    await step('the editor searches with Ctrl-F', async () => {
      await page.locator('#editor .cm-content').click();
      await page.keyboard.press('ControlOrMeta+F');
      const field = page.locator('#editor .cm-search input[name="search"]');
      await field.waitFor();
      // The search field has the focus (a string: the test's types have no DOM).
      await expect(page.evaluate('document.activeElement && document.activeElement.closest(".cm-search") && document.activeElement.name')).resolves.toBe('search');
      // Typed as a user does: the panel takes the query on key up.
      await page.keyboard.type('department');
      await page.keyboard.press('Enter');
      // Enter selects the next match, marked as the selected one.
      await expect(page.locator('#editor .cm-searchMatch-selected').textContent()).resolves.toBe('department');
      await page.keyboard.press('Escape');
      await page.locator('#editor .cm-search').waitFor({ state: 'detached' });
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
    await step('activating version 1 shows the diff; cancelling changes nothing', async () => {
      await page.locator('#activate-v1').click();
      await page.locator('#change-dialog').waitFor();
      const removed = page.locator('#change-diff tr.diff-del');
      expect(await removed.count()).toBe(1);
      expect(await removed.locator('.diff-text').textContent()).toBe(DEPARTMENT_LINE);
      expect((await removed.locator('.diff-num').allTextContents()).map((t) => t.trim())).toEqual(['7', '']);
      expect(await page.locator('#change-diff tr.diff-add').count()).toBe(0);
      // The version's own note is shown with it.
      expect(await page.locator('#change-facts').textContent()).toMatch(/Version 1 was published .+ by admin:/);
      await page.locator('#change-note').fill('not this time');
      await page.locator('#change-cancel').click();
      await page.locator('#change-dialog').waitFor({ state: 'detached' });
      await page.locator('#versions-status', { hasText: 'Nothing changed' }).waitFor();
      expect(await activeVersion()).toBe(2);
      await page.locator('#versions-table tr[data-version="2"] .badge', { hasText: 'active' }).waitFor();
      // Escape cancels too.
      await page.locator('#activate-v1').click();
      await page.locator('#change-dialog').waitFor();
      await page.keyboard.press('Escape');
      await page.locator('#change-dialog').waitFor({ state: 'detached' });
      expect(await activeVersion()).toBe(2);
    });
    await step('roll back with a note', async () => {
      await page.locator('#activate-v1').click();
      await page.locator('#change-dialog').waitFor();
      await page.locator('#change-note').fill(ROLLBACK_NOTE);
      await page.locator('#change-confirm').click();
      await page.locator('#versions-status[data-kind="ok"]', { hasText: 'Version 1 is now active' }).waitFor();
      await page.locator('#versions-table tr[data-version="1"] .badge', { hasText: 'active' }).waitFor();
      await page.locator('#publish-status', { hasText: 'Editor shows version 1' }).waitFor();
      expect(await editorText()).not.toContain('department');
      // Loading a version is not an edit: undo has nothing to take back; a typed edit it does.
      const loaded = await editorText();
      await page.locator('#editor .cm-content').click();
      await page.keyboard.press('ControlOrMeta+Z');
      expect(await editorText()).toBe(loaded);
      await page.keyboard.press('ControlOrMeta+End');
      await page.keyboard.type('// typed');
      await page.locator('#dirty-indicator').waitFor();
      await page.keyboard.press('ControlOrMeta+Z');
      expect(await editorText()).toBe(loaded);
      await page.locator('#dirty-indicator').waitFor({ state: 'hidden' });
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
      // The change notes, from the entries' details.
      await expect(page.locator('#audit-table tr[data-action="procedure.activate"] .audit-note').first().textContent()).resolves.toBe(ROLLBACK_NOTE);
      await expect(page.locator('#audit-table tr[data-action="procedure.upload"] .audit-note').first().textContent()).resolves.toBe(PUBLISH_NOTE);
    });
    await step('the procedure page links to its audit trail', async () => {
      await page.goto(`${server?.origin}/admin/#/procedures/${PROCEDURE_ID}`);
      await page.locator('#procedure-audit-link').click();
      await page.waitForURL(/#\/audit\?target_type=procedure&target_id=orders-exchange$/);
      await page.locator('#audit-table[aria-busy="false"]').waitFor();
      await expect(page.locator('#audit-target-type').inputValue()).resolves.toBe('procedure');
      await expect(page.locator('#audit-target-id').inputValue()).resolves.toBe(PROCEDURE_ID);
      await page.locator('#audit-table tbody tr').first().waitFor();
      const targets = await page.locator('#audit-table tbody tr').allTextContents();
      expect(targets).toHaveLength(3);
      for (const t of targets) expect(t).toContain(PROCEDURE_ID);
    });
    await step('filter by target id and page through with a small limit', async () => {
      // Another procedure's entry, which the filter must leave out.
      await adminApi('PUT', '/procedures/other-procedure', { flow: 'oauth-token-oauth-token-exchange', source: VERSION_1 });
      await page.goto(`${server?.origin}/admin/#/audit?limit=2`);
      await page.locator('#audit-table[aria-busy="false"] tbody tr').first().waitFor();
      await page.locator('#audit-target-id').fill(PROCEDURE_ID);
      await page.locator('#audit-apply').click();
      await page.waitForURL(/#\/audit\?target_id=orders-exchange&limit=2$/);
      await page.locator('#audit-filter-summary', { hasText: 'target id = orders-exchange' }).waitFor();
      await page.locator('#audit-table[aria-busy="false"]').waitFor();
      await page.locator('#audit-page', { hasText: 'Page 1' }).waitFor();
      const firstPage = page.locator('#audit-table tbody tr');
      await firstPage.first().waitFor();
      expect(await firstPage.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')))).toEqual(['procedure.activate', 'procedure.upload']);
      const firstIds = await firstPage.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
      expect(await page.locator('#audit-newer').isDisabled()).toBe(true);
      await page.locator('#audit-next').click();
      await page.locator('#audit-page', { hasText: 'Page 2' }).waitFor();
      const second = await page.locator('#audit-table tbody tr').allTextContents();
      expect(second).toHaveLength(1);
      expect(second[0]).toContain(PROCEDURE_ID);
      expect(second[0]).toMatch(/procedure\.upload/);
      expect(await page.locator('#audit-next').isDisabled()).toBe(true);
      await page.locator('#audit-newer').click();
      await page.locator('#audit-page', { hasText: 'Page 1' }).waitFor();
      await expect(page.locator('#audit-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')))).resolves.toEqual(firstIds);
      // The link reproduces the view.
      await page.goto(`${server?.origin}/admin/#/audit?target_id=other-procedure`);
      await page.locator('#audit-filter-summary', { hasText: 'target id = other-procedure' }).waitFor();
      await page.locator('#audit-table[aria-busy="false"] tbody tr', { hasText: 'other-procedure' }).first().waitFor();
      expect(await page.locator('#audit-table tbody tr').count()).toBe(1);
      await adminApi('DELETE', '/procedures/other-procedure');
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
      await publishAndConfirm();
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

  it('shows a viewer key the procedure without the buttons that change it', async () => {
    await step('viewer', async () => {
      const { key } = (await adminApi('POST', '/admin-keys', { name: 'e2e-viewer', role: 'viewer' })) as { key: string };
      await page.locator('#signout').click();
      await signInWith(key);
      await page.goto(`${server?.origin}/admin/#/procedures/${PROCEDURE_ID}`);
      await page.locator('#procedure-page[data-role="viewer"]').waitFor();
      await page.locator('#versions-table tr[data-version="2"]').waitFor();
      expect(await page.locator('#publish').isVisible()).toBe(false);
      expect(await page.locator('#delete-procedure').isVisible()).toBe(false);
      expect(await page.locator('#dryrun').isVisible()).toBe(false);
      expect(await page.locator('#procedure-file').count()).toBe(1);
      expect(await page.locator('[id^="activate-v"]').count()).toBe(0);
      expect(await page.locator('#readonly-notice').isVisible()).toBe(true);
      // Reading the history (and its notes) is what a viewer is for.
      await page.locator('#versions-table tr[data-version="2"] .version-note', { hasText: PUBLISH_NOTE }).waitFor();
      // Ctrl+S does not publish either.
      await page.locator('#editor .cm-content').click();
      await page.keyboard.press('ControlOrMeta+S');
      expect(await page.locator('#change-dialog').count()).toBe(0);
      // An admin key sees them again.
      await page.locator('#signout').click();
      await signInWith(ADMIN_KEY);
      await page.goto(`${server?.origin}/admin/#/procedures/${PROCEDURE_ID}`);
      await page.locator('#procedure-page[data-role="admin"]').waitFor();
      expect(await page.locator('#publish').isVisible()).toBe(true);
      expect(await page.locator('#delete-procedure').isVisible()).toBe(true);
      expect(await page.locator('#activate-v2').isVisible()).toBe(true);
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
