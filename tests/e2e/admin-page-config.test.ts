/**
 * End to end: the configuration screens of the admin page (clients, trusted issuers, signing keys,
 * admin keys) against a real `tokenproc serve`, driven in headless Chromium. A client secret
 * generated in the browser is shown once and works at the token endpoint; rotation refuses the old
 * one; an edit made behind the page's back is answered 412, not overwritten; a trusted issuer's
 * JWKS (served by a loopback server here) is tested; signing keys rotate with pre-publication; a
 * secret typed in the page replaces the old one and is never shown back (a short one is refused in
 * the page); a named admin key deleted after typing its name no longer authenticates; a viewer key
 * sees no write buttons and a forced write shows the 403.
 * Needs Debian's chromium at /usr/bin/chromium (.ci/run installs it).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync } from 'node:fs';
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
const ADMIN_KEY = 'e2e-config-admin-key-0123456789abcdef012345';
const CLIENT_ID = 'e2e-service';
const FIXTURE_CLIENT = 'e2e-fixture-client';
const JWT_CLIENT = 'e2e-agent-jwt';
const ISSUER_ID = 'loopback-idp';
const LOOPBACK_KID = 'loopback-key-1';
const OWN_SECRET_CLIENT = 'e2e-own-secret';
const OWN_SECRET_BEFORE = 'e2e-own-secret-before-0123456789';
const OWN_SECRET_TYPED = 'typed-in-the-page: e2e own secret 42!';
const DOOMED_KEY = 'e2e-doomed-author';
const EXPECT_TIMEOUT_MS = 10_000;

describe('admin page configuration screens in headless Chromium', () => {
  let server: ServerProcess | undefined;
  let jwksServer: Server | undefined;
  let jwksOrigin = '';
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const foreignRequests: string[] = [];
  const consoleProblems: string[] = [];
  /** The client secrets the page showed, in order. */
  const secrets: string[] = [];
  let viewerKey = '';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install -y chromium); .ci/run does this.`);
    }
    await buildAdminWeb();
    server = await startServerProcess({ adminKey: ADMIN_KEY });
    await adminApi('PUT', `/clients/${FIXTURE_CLIENT}`, {
      client_id: FIXTURE_CLIENT,
      client_secret: 'e2e-fixture-secret-never-shown',
      grant_types: ['client_credentials'],
      scope: 'read',
    });

    // A relying party's key set, served on loopback for the trusted issuer's "Test this JWKS".
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: LOOPBACK_KID, alg: 'ES256', use: 'sig' }] });
    jwksServer = createServer((req, res) => {
      if (req.url === '/jwks.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      }
    });
    await new Promise<void>((resolveListen) => jwksServer?.listen(0, '127.0.0.1', resolveListen));
    jwksOrigin = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
    page = await context.newPage();
    page.setDefaultTimeout(EXPECT_TIMEOUT_MS);
    const origin = server.origin;
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== origin) foreignRequests.push(request.url());
    });
    page.on('console', (message) => {
      // 403, 404 and 412 answers are part of the flow; Chromium logs them as failed resources.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleProblems.push(message.text());
    });
    page.on('pageerror', (error) => consoleProblems.push(`page error: ${error.message}`));
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
    await new Promise<void>((resolveClose) => (jwksServer ? jwksServer.close(() => resolveClose()) : resolveClose()));
  }, 30_000);

  async function adminApi(method: string, path: string, body?: unknown, key = ADMIN_KEY): Promise<unknown> {
    if (!server) throw new Error('server not started');
    const response = await fetch(`${server.origin}/admin/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async function adminStatus(path: string, key = ADMIN_KEY): Promise<number> {
    const response = await fetch(`${server?.origin}/admin/api/v1${path}`, { headers: { authorization: `Bearer ${key}` } });
    await response.arrayBuffer();
    return response.status;
  }

  /** client_credentials at the token endpoint with HTTP Basic, as a client would ask. */
  async function clientCredentials(clientId: string, secret: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
    const response = await fetch(`${server?.origin}/oauth/v2/oauth-token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read' }).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
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

  /** Nothing sticks out sideways at 1024 px (the page scrolls vertically only). */
  async function fitsAt1024(): Promise<void> {
    await page.setViewportSize({ width: 1024, height: 800 });
    try {
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(1024);
      // Nor inside a table's sideways-scrolling box.
      const clipped = await page.evaluate(
        "[...document.querySelectorAll('.table-scroll')].filter((box) => box.scrollWidth > box.clientWidth + 1).map((box) => box.firstElementChild?.id ?? '?')",
      );
      expect(clipped).toEqual([]);
    } finally {
      await page.setViewportSize({ width: 1440, height: 1000 });
    }
  }

  async function signIn(key: string): Promise<void> {
    await page.goto(`${server?.origin}/admin/`);
    await page.locator('#admin-key').fill(key);
    await page.locator('#signin-submit').click();
    await page.locator('#procedures-table').waitFor();
  }

  it('creates a client with a secret generated in the page, shown once, that the token endpoint accepts', async () => {
    await step('create client', async () => {
      await signIn(ADMIN_KEY);
      await page.locator('#nav-clients').click();
      await page.locator('#clients-table tbody tr', { hasText: FIXTURE_CLIENT }).waitFor();
      await page.locator('.role-note[data-role="admin"]').waitFor();
      await page.locator('#client-new').click();
      await page.locator('#client-form').waitFor();
      await fitsAt1024();
      await page.locator('#client-id').fill(CLIENT_ID);
      await page.locator('#client-name').fill('E2E service');
      await page.locator('#client-grant-1').check();
      await page.locator('#client-scope').fill('read write');
      await page.locator('#client-audiences').fill('https://api.example.com');
      expect(await page.locator('#client-secret-generate').isChecked()).toBe(true);
      // The JSON view shows what Save sends, never a secret.
      expect(JSON.parse((await page.locator('#client-json').textContent()) ?? 'null')).toMatchObject({
        client_id: CLIENT_ID,
        grant_types: ['client_credentials'],
        scope: 'read write',
        audiences: ['https://api.example.com'],
      });
      await page.locator('#client-save').click();

      const once = page.locator('#client-secret-once');
      await once.waitFor();
      expect(await once.textContent()).toContain('Store it now');
      const secret = await page.locator('#client-secret-once-value').inputValue();
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      secrets.push(secret);
      await page.locator('#client-status[data-kind="ok"]', { hasText: `Client ${CLIENT_ID} created` }).waitFor();
      expect(page.url()).toContain(`#/clients/${CLIENT_ID}`);
      await page.locator('#client-secret-once-copy').click();
      await page.locator('#client-secret-once-copy-status', { hasText: 'Copied' }).waitFor();
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);

      const token = await clientCredentials(CLIENT_ID, secret);
      expect(token.status).toBe(200);
      expect(typeof token.body['access_token']).toBe('string');
    });
    await step('the secret is not shown again', async () => {
      await page.locator('#client-secret-once-done').click();
      expect(await page.locator('#client-secret-once').count()).toBe(0);
      await page.reload();
      await page.locator('#client-form').waitFor();
      expect(await page.locator('body').textContent()).not.toContain(secrets[0]);
      expect(await page.locator('#client-secret-keep').isChecked()).toBe(true);
    });
  });

  it('rotates the secret: the new one is shown once and the old one is refused', async () => {
    await step('rotate secret', async () => {
      await page.locator('#client-rotate-secret').click();
      await page.locator('#rotate-secret-dialog').waitFor();
      await page.locator('#rotate-secret-dialog-confirm').click();
      await page.locator('#client-status[data-kind="ok"]', { hasText: 'Rotated the secret' }).waitFor();
      const rotated = await page.locator('#client-secret-once-value').inputValue();
      expect(rotated).not.toBe(secrets[0]);
      secrets.push(rotated);
      expect((await clientCredentials(CLIENT_ID, secrets[0] ?? '')).status).toBe(401);
      expect((await clientCredentials(CLIENT_ID, rotated)).status).toBe(200);
      await page.locator('#client-secret-once-done').click();
    });
  });

  it('edits members of the client, keeping its secret', async () => {
    await step('edit client', async () => {
      await page.locator('#client-scope').fill('read write admin');
      await page.locator('#client-access-token-ttl').fill('600');
      await page.locator('#client-access-token-format').selectOption('opaque');
      await page.locator('#client-property-add').click();
      await page.locator('#client-properties .property-name').last().fill('tier');
      await page.locator('#client-properties .property-value').last().fill('gold');
      await page.locator('#client-save').click();
      await page.locator('#client-status[data-kind="ok"]', { hasText: `Saved ${CLIENT_ID}` }).waitFor();
      const stored = (await adminApi('GET', `/clients/${CLIENT_ID}`)) as Record<string, unknown>;
      expect(stored).toMatchObject({
        client_id: CLIENT_ID,
        name: 'E2E service',
        scope: 'read write admin',
        access_token_ttl: 600,
        access_token_format: 'opaque',
        properties: { tier: 'gold' },
        audiences: ['https://api.example.com'],
        has_secret: true,
      });
      expect((await clientCredentials(CLIENT_ID, secrets[1] ?? '')).status).toBe(200);
    });
  });

  it('answers 412 when the client changed since the page opened it, and overwrites nothing', async () => {
    await step('412', async () => {
      await page.locator('#client-form').waitFor();
      const { created_at: _c, updated_at: _u, has_secret: _h, ...current } = (await adminApi('GET', `/clients/${CLIENT_ID}`)) as Record<string, unknown>;
      await adminApi('PUT', `/clients/${CLIENT_ID}`, { ...current, name: 'Changed through the API' });
      await page.locator('#client-name').fill('Changed in the page');
      await page.locator('#client-save').click();
      await page.locator('#client-status[data-kind="error"]', { hasText: /someone changed this client since you opened it; reload/i }).waitFor();
      expect(((await adminApi('GET', `/clients/${CLIENT_ID}`)) as { name: string }).name).toBe('Changed through the API');
      await page.locator('#client-reload').click();
      await page.locator('#client-name[value="Changed through the API"]').waitFor();
    });
  });

  it('deletes the client after the id is typed in the confirmation', async () => {
    await step('delete client', async () => {
      await page.locator('#client-delete').click();
      await page.locator('#delete-client-dialog').waitFor();
      expect(await page.locator('#delete-client-dialog-confirm').isDisabled()).toBe(true);
      await page.locator('#delete-client-dialog-typed').fill(CLIENT_ID);
      await page.locator('#delete-client-dialog-confirm').click();
      await page.locator('#clients-flash[data-kind="ok"]', { hasText: `Client ${CLIENT_ID} deleted` }).waitFor();
      await page.locator('#clients-table tbody tr', { hasText: FIXTURE_CLIENT }).waitFor();
      expect(await page.locator(`#clients-table tbody tr[data-client="${CLIENT_ID}"]`).count()).toBe(0);
      expect(await adminStatus(`/clients/${CLIENT_ID}`)).toBe(404);
    });
  });

  it('creates a private_key_jwt client, its JWKS checked as JSON first', async () => {
    await step('private_key_jwt client', async () => {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'agent-key-1', alg: 'ES256', use: 'sig' };
      await page.locator('#client-new').click();
      await page.locator('#client-form').waitFor();
      await page.locator('#client-id').fill(JWT_CLIENT);
      await page.locator('#client-auth-method').selectOption('private_key_jwt');
      expect(await page.locator('#client-secret-box').isVisible()).toBe(false);
      await page.locator('#client-grant-1').check();
      await page.locator('#client-jwks').fill('{"keys": [');
      await page.locator('#client-save').click();
      await page.locator('#client-status[data-kind="error"]', { hasText: 'not valid JSON' }).waitFor();
      expect(await adminStatus(`/clients/${JWT_CLIENT}`)).toBe(404);
      await page.locator('#client-jwks').fill(JSON.stringify({ keys: [jwk] }));
      await page.locator('#client-save').click();
      await page.locator('#client-status[data-kind="ok"]', { hasText: `Client ${JWT_CLIENT} created` }).waitFor();
      expect(await page.locator('#client-secret-once').count()).toBe(0);
      expect(await adminApi('GET', `/clients/${JWT_CLIENT}`)).toMatchObject({
        token_endpoint_auth_method: 'private_key_jwt',
        has_secret: false,
        jwks: { keys: [{ kid: 'agent-key-1', kty: 'EC' }] },
      });
      await page.locator('#nav-clients').click();
      await page.locator(`#clients-table tbody tr[data-client="${JWT_CLIENT}"]`, { hasText: 'private_key_jwt' }).waitFor();
      await fitsAt1024();
    });
  });

  it('creates a trusted issuer after testing its JWKS', async () => {
    await step('trusted issuer', async () => {
      await page.locator('#nav-trusted-issuers').click();
      await page.locator('#issuer-new').click();
      await page.locator('#issuer-form').waitFor();
      await page.locator('#issuer-id').fill(ISSUER_ID);
      await page.locator('#issuer-issuer').fill('https://idp.example.com');
      await page.locator('#issuer-jwks-uri').fill(`${jwksOrigin}/missing.json`);
      await page.locator('#issuer-test-jwks').click();
      await page.locator('#issuer-test-status[data-kind="error"]', { hasText: 'HTTP 404' }).waitFor();

      await page.locator('#issuer-jwks-uri').fill(`${jwksOrigin}/jwks.json`);
      await page.locator('#issuer-test-jwks').click();
      await page.locator('#issuer-test-status[data-kind="ok"]', { hasText: 'Found 1 key' }).waitFor();
      const row = await page.locator('#issuer-test-keys tbody tr').first().textContent();
      expect(row).toContain(LOOPBACK_KID);
      expect(row).toContain('ES256');

      await page.locator('#issuer-alg-ES256').check();
      await page.locator('#issuer-save').click();
      await page.locator('#issuer-status[data-kind="ok"]', { hasText: `Trusted issuer ${ISSUER_ID} created` }).waitFor();
      await fitsAt1024();
      expect(await adminApi('GET', `/trusted-issuers/${ISSUER_ID}`)).toMatchObject({
        id: ISSUER_ID,
        issuer: 'https://idp.example.com',
        jwks_uri: `${jwksOrigin}/jwks.json`,
        allowed_algs: ['ES256'],
      });
      await page.locator('#nav-trusted-issuers').click();
      await page.locator(`#issuers-table tbody tr[data-issuer="${ISSUER_ID}"]`).waitFor();
    });
  });

  it('rotates the signing key: the new key is published at once and signs later', async () => {
    await step('signing keys', async () => {
      await page.locator('#nav-signing-keys').click();
      await page.locator('#signing-keys-table tbody tr .badge', { hasText: 'signing' }).waitFor();
      const before = await page.locator('#signing-keys-table tbody tr').count();
      await page.locator('#signing-keys-rotate').click();
      await page.locator('#rotate-keys-dialog').waitFor();
      expect(await page.locator('#rotate-keys-dialog').textContent()).toContain('published in the JWKS at once');
      expect(await page.locator('#rotate-keys-now').isChecked()).toBe(false);
      await page.locator('#rotate-keys-dialog-confirm').click();
      const status = page.locator('#signing-keys-status[data-kind="ok"]', { hasText: 'published; it signs from' });
      await status.waitFor();
      const kid = /New key (\S+) published/.exec((await status.textContent()) ?? '')?.[1] ?? '';
      expect(kid).not.toBe('');
      const row = page.locator(`#signing-keys-table tbody tr[data-kid="${kid}"]`);
      await row.waitFor();
      expect(await row.textContent()).toContain('published');
      expect(await row.locator('.badge', { hasText: /^signing$/ }).count()).toBe(0);
      expect(await page.locator('#signing-keys-table tbody tr').count()).toBe(before + 1);
      // Times carry their time zone.
      expect((await row.textContent()) ?? '').toMatch(/\d{1,2}:\d{2}:\d{2}(?:\s*[AP]M)?\s+(?:UTC|GMT[+-]?\d*|[A-Z]{3,5}|[+-]\d{1,2}(?::?\d{2})?)/);
      const jwks = (await (await fetch(`${server?.origin}/oauth/v2/oauth-anonymous/jwks`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.map((k) => k.kid)).toContain(kid);
      await fitsAt1024();
    });
  });

  it('sets a secret typed in the page: a short, empty or non-ASCII one is refused and nothing is saved', async () => {
    await step('own secret refused', async () => {
      await adminApi('PUT', `/clients/${OWN_SECRET_CLIENT}`, {
        client_id: OWN_SECRET_CLIENT,
        client_secret: OWN_SECRET_BEFORE,
        grant_types: ['client_credentials'],
        scope: 'read',
      });
      expect((await clientCredentials(OWN_SECRET_CLIENT, OWN_SECRET_BEFORE)).status).toBe(200);
      const stored = await adminApi('GET', `/clients/${OWN_SECRET_CLIENT}`);
      await page.locator('#nav-clients').click();
      await page.locator(`#clients-table a[href="#/clients/${OWN_SECRET_CLIENT}"]`).click();
      await page.locator('#client-form').waitFor();
      expect(await page.locator('#client-secret-keep').isChecked()).toBe(true);

      // Chosen but left empty.
      await page.locator('#client-secret-own').check();
      await page.locator('#client-save').click();
      const refused = page.locator('#client-status[data-kind="error"]', { hasText: 'The secret must be 8 to 512 printable ASCII characters.' });
      await refused.waitFor();
      // Typing picks the option by itself; 7 characters, then one outside printable ASCII.
      for (const bad of ['7-chars', 'sécret-with-an-accent']) {
        await page.locator('#client-secret-keep').check();
        await page.locator('#client-secret-own-value').fill(bad);
        expect(await page.locator('#client-secret-own').isChecked()).toBe(true);
        await page.locator('#client-status').evaluate((node) => (node.textContent = ''));
        await page.locator('#client-save').click();
        await refused.waitFor();
      }
      expect(await page.locator('#client-save').isDisabled()).toBe(false);
      expect(await adminApi('GET', `/clients/${OWN_SECRET_CLIENT}`)).toEqual(stored);
      expect((await clientCredentials(OWN_SECRET_CLIENT, OWN_SECRET_BEFORE)).status).toBe(200);
      expect((await clientCredentials(OWN_SECRET_CLIENT, '7-chars')).status).toBe(401);
    });
    await step('own secret saved', async () => {
      await page.locator('#client-secret-own-value').fill(OWN_SECRET_TYPED);
      // The JSON view leaves the secret out.
      expect(await page.locator('#client-json').textContent()).not.toContain(OWN_SECRET_TYPED);
      await page.locator('#client-save').click();
      await page.locator('#client-status[data-kind="ok"]', { hasText: `Saved ${OWN_SECRET_CLIENT}` }).waitFor();
      // A secret the admin typed is not shown back.
      expect(await page.locator('#client-secret-once').count()).toBe(0);
      expect(await page.locator('#client-secret-keep').isChecked()).toBe(true);
      expect(await page.locator('#client-secret-own-value').inputValue()).toBe('');

      const token = await clientCredentials(OWN_SECRET_CLIENT, OWN_SECRET_TYPED);
      expect(token.status).toBe(200);
      expect(typeof token.body['access_token']).toBe('string');
      expect((await clientCredentials(OWN_SECRET_CLIENT, OWN_SECRET_BEFORE)).status).toBe(401);
      expect(await adminApi('GET', `/clients/${OWN_SECRET_CLIENT}`)).toMatchObject({ client_id: OWN_SECRET_CLIENT, has_secret: true });

      await page.reload();
      await page.locator('#client-form').waitFor();
      expect(await page.locator('body').textContent()).not.toContain(OWN_SECRET_TYPED);
      const fieldValues = await page.evaluate("[...document.querySelectorAll('input, textarea')].map((field) => field.value)");
      expect(fieldValues).not.toContain(OWN_SECRET_TYPED);
      expect(await page.content()).not.toContain(OWN_SECRET_TYPED);
    });
  });

  it('deletes a named admin key after its name is typed; cancelling keeps it', async () => {
    const row = page.locator(`#admin-keys-table tbody tr[data-name="${DOOMED_KEY}"]`);
    const dialog = page.locator('#delete-admin-key-dialog');
    let doomedKey = '';
    await step('cancel admin key deletion', async () => {
      const created = (await adminApi('POST', '/admin-keys', { name: DOOMED_KEY, role: 'author' })) as { name: string; role: string; key: string };
      doomedKey = created.key;
      expect(created).toMatchObject({ name: DOOMED_KEY, role: 'author' });
      expect(await adminApi('GET', '/me', undefined, created.key)).toEqual({ actor: `admin-key:${DOOMED_KEY}`, role: 'author' });
      await page.locator('#nav-admin-keys').click();
      await row.filter({ hasText: 'author' }).waitFor();

      await page.locator(`#admin-key-delete-${DOOMED_KEY}`).click();
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain(`Delete the admin key ${DOOMED_KEY}?`);
      expect(await page.locator('#delete-admin-key-dialog-confirm').isDisabled()).toBe(true);
      await page.locator('#delete-admin-key-dialog-typed').fill(DOOMED_KEY.slice(0, -1));
      expect(await page.locator('#delete-admin-key-dialog-confirm').isDisabled()).toBe(true);
      await page.locator('#delete-admin-key-dialog-cancel').click();
      await dialog.waitFor({ state: 'detached' });
      expect(await row.count()).toBe(1);
      expect(await adminStatus('/me', created.key)).toBe(200);
      expect(await adminStatus(`/admin-keys/${DOOMED_KEY}`)).toBe(200);
    });
    await step('delete admin key', async () => {
      await page.locator(`#admin-key-delete-${DOOMED_KEY}`).click();
      await dialog.waitFor();
      await page.locator('#delete-admin-key-dialog-typed').fill(DOOMED_KEY);
      expect(await page.locator('#delete-admin-key-dialog-confirm').isDisabled()).toBe(false);
      await page.locator('#delete-admin-key-dialog-confirm').click();
      await page.locator('#admin-keys-status[data-kind="ok"]', { hasText: `Admin key ${DOOMED_KEY} deleted` }).waitFor();
      await row.waitFor({ state: 'detached' });
      expect(await adminStatus('/me', doomedKey)).toBe(401);
      expect(await adminStatus(`/admin-keys/${DOOMED_KEY}`)).toBe(404);
      const names = ((await adminApi('GET', '/admin-keys')) as { name: string }[]).map((k) => k.name);
      expect(names).not.toContain(DOOMED_KEY);
      await page.reload();
      await page.locator('#admin-key-form').waitFor();
      await page.locator('#admin-keys-table').waitFor();
      await page.waitForFunction("(document.querySelector('#admin-keys-status')?.textContent ?? 'Loading…') !== 'Loading…'");
      expect(await row.count()).toBe(0);
    });
  });

  it('creates a viewer admin key, shown once', async () => {
    await step('admin keys', async () => {
      await page.locator('#nav-admin-keys').click();
      await page.locator('#admin-key-form').waitFor();
      await page.locator('#admin-key-name').fill('e2e-viewer');
      await page.locator('#admin-key-role').selectOption('viewer');
      await page.locator('#admin-key-create').click();
      await page.locator('#admin-key-once-box').waitFor();
      expect(await page.locator('#admin-key-once-box').textContent()).toContain('Store it now');
      viewerKey = await page.locator('#admin-key-once-box-value').inputValue();
      expect(viewerKey.length).toBeGreaterThanOrEqual(40);
      await page.locator('#admin-keys-table tbody tr[data-name="e2e-viewer"]', { hasText: 'viewer' }).waitFor();
      await fitsAt1024();
    });
  });

  it('shows a viewer no write buttons, and the 403 of a forced write', async () => {
    await step('viewer', async () => {
      await page.locator('#signout').click();
      await signIn(viewerKey);
      await page.locator('#nav-clients').click();
      await page.locator('.role-note[data-role="viewer"]').waitFor();
      await page.locator('#clients-table tbody tr', { hasText: FIXTURE_CLIENT }).waitFor();
      expect(await page.locator('#client-new').isVisible()).toBe(false);

      await page.locator(`#clients-table a[href="#/clients/${FIXTURE_CLIENT}"]`).click();
      await page.locator('#client-form').waitFor();
      await page.locator('.role-note[data-role="viewer"]').waitFor();
      for (const id of ['#client-save', '#client-delete', '#client-rotate-secret', '#client-property-add']) {
        expect(await page.locator(id).isVisible()).toBe(false);
      }
      expect(await page.locator('#client-scope').isDisabled()).toBe(true);

      await page.locator('#nav-trusted-issuers').click();
      await page.locator(`#issuers-table tbody tr[data-issuer="${ISSUER_ID}"]`).waitFor();
      await page.locator('.role-note[data-role="viewer"]').waitFor();
      expect(await page.locator('#issuer-new').isVisible()).toBe(false);

      await page.locator('#nav-admin-keys').click();
      await page.locator('#admin-keys-status', { hasText: 'needs the admin role' }).waitFor();
      expect(await page.locator('#admin-key-form').isVisible()).toBe(false);

      await page.locator('#nav-signing-keys').click();
      await page.locator('#signing-keys-table tbody tr').first().waitFor();
      await page.locator('.role-note[data-role="viewer"]').waitFor();
      expect(await page.locator('#signing-keys-rotate').isVisible()).toBe(false);
      const visibleButtons = await page.locator('main button:visible').count();
      expect(visibleButtons).toBe(0);

      // Forced: the hidden button shown by hand; the server refuses and the page says so.
      await page.evaluate("document.querySelector('#signing-keys-rotate').removeAttribute('hidden')");
      await page.locator('#signing-keys-rotate').click();
      await page.locator('#rotate-keys-dialog-confirm').click();
      await page.locator('#signing-keys-status[data-kind="error"]', { hasText: 'insufficient_role' }).waitFor();
      expect(await page.locator('#signing-keys-status').textContent()).toContain('HTTP 403');
      const keys = (await adminApi('GET', '/signing-keys')) as unknown[];
      expect(keys.length).toBe(await page.locator('#signing-keys-table tbody tr').count());
    });
  });

  it('kept to its own origin without console errors', async () => {
    expect(foreignRequests).toEqual([]);
    expect(consoleProblems).toEqual([]);
  });
});
