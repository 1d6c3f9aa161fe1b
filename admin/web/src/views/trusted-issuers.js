// @ts-check
import { h, dataTable, setStatus, prettyJson, formatTime } from '../dom.js';
import { api, configApi, describeError, ApiError } from '../api.js';
import { canWrite, confirmInPage, currentCaller, field, lines, makeReadOnly, parseJwks, roleNote, showWriteError } from './forms.js';

/** @import { Me, TrustedIssuer, TrustedIssuerDocument, JwksTestResult } from '../types.js' */

const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const READ_ONLY = ['created_at', 'updated_at'];
const ID_PATTERN = '(?!\\.{1,2}$)[A-Za-z0-9._~:\\-]{1,128}';

/** @type {{ id: string | null, message: string } | null} */
let flash = null;

/** @param {string | null} id */
function takeFlash(id) {
  const found = flash && flash.id === id ? flash : null;
  flash = null;
  return found;
}

/** @param {string} id */
export function trustedIssuerHref(id) {
  return `#/trusted-issuers/${encodeURIComponent(id)}`;
}

/**
 * Trusted issuers: the list (#/trusted-issuers), a new one (?new) or one to edit (/{id}).
 * @param {HTMLElement} app
 * @param {string | null} [id]
 * @param {URLSearchParams} [query]
 */
export function renderTrustedIssuers(app, id = null, query = new URLSearchParams()) {
  if (id !== null) renderIssuerForm(app, id);
  else if (query.has('new')) renderIssuerForm(app, null);
  else renderIssuerList(app);
}

/** @param {HTMLElement} app */
function renderIssuerList(app) {
  const status = h('p', { id: 'issuers-status', role: 'status', class: 'status' }, 'Loading…');
  const body = h('tbody');
  const newButton = h('a', { id: 'issuer-new', class: 'button primary', href: '#/trusted-issuers?new', hidden: true }, 'New trusted issuer');
  const note = h('div');
  const flashStatus = h('p', { id: 'issuers-flash', role: 'status', class: 'status' });
  const shown = takeFlash(null);
  if (shown) setStatus(flashStatus, 'ok', shown.message);
  app.replaceChildren(
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'section-head' }, h('h2', {}, 'Trusted issuers'), newButton),
      h('p', { class: 'meta' }, 'Foreign issuers whose JWTs are accepted as subject or actor tokens.'),
      note,
      flashStatus,
      status,
      dataTable('issuers-table', 'Trusted issuers', ['Id', 'Issuer', 'Keys', 'Algorithms', 'Audiences', 'Updated'], body),
    ),
  );
  currentCaller().then(
    (me) => {
      note.replaceChildren(roleNote(me));
      newButton.hidden = !canWrite(me);
    },
    (error) => setStatus(status, 'error', describeError(error)),
  );
  api.listTrustedIssuers().then(
    (issuers) => {
      status.textContent = issuers.length === 0 ? 'No trusted issuers.' : '';
      body.replaceChildren(...issuers.map(issuerRow));
    },
    (error) => setStatus(status, 'error', describeError(error)),
  );
}

/** @param {string[] | undefined | null} values */
function list(values) {
  return (values ?? []).map((v) => h('div', {}, h('code', {}, v)));
}

/** @param {TrustedIssuer & { updated_at?: number | string }} t */
function issuerRow(t) {
  return h(
    'tr',
    { 'data-issuer': t.id },
    h('td', {}, h('a', { href: trustedIssuerHref(t.id) }, h('code', {}, t.id))),
    h('td', {}, h('code', {}, t.issuer)),
    h('td', {}, t.jwks_uri ? h('code', {}, t.jwks_uri) : t.jwks ? 'inline JWKS' : ''),
    h('td', {}, t.allowed_algs && t.allowed_algs.length > 0 ? list(t.allowed_algs) : h('span', { class: 'meta' }, 'any asymmetric')),
    h('td', {}, list(t.audiences)),
    h('td', { class: 'time' }, formatTime(t.updated_at)),
  );
}

/**
 * @param {HTMLElement} app
 * @param {string | null} id
 */
function renderIssuerForm(app, id) {
  const status = h('p', { id: 'issuer-status', role: 'status', class: 'status' }, 'Loading…');
  app.replaceChildren(h('section', { class: 'card' }, h('h2', {}, id === null ? 'New trusted issuer' : `Trusted issuer ${id}`), status));
  const shown = takeFlash(id);
  Promise.all([currentCaller(), id === null ? Promise.resolve({ issuer: null, etag: null }) : configApi.getTrustedIssuer(id)]).then(
    ([me, { issuer, etag }]) => app.replaceChildren(issuerForm({ app, me, issuer, etag, message: shown?.message ?? '' })),
    (error) => {
      const missing = error instanceof ApiError && error.status === 404;
      setStatus(status, 'error', missing ? `There is no trusted issuer ${id}.` : describeError(error));
      status.after(h('p', {}, h('a', { href: '#/trusted-issuers' }, 'Back to the trusted issuers')));
    },
  );
}

/**
 * @param {{ app: HTMLElement, me: Me | null, issuer: TrustedIssuerDocument | null, etag: string | null, message: string }} options
 */
function issuerForm({ app, me, issuer, etag, message }) {
  const isNew = issuer === null;
  const writable = canWrite(me);
  const status = h('p', { id: 'issuer-status', role: 'status', 'aria-live': 'polite', class: 'status' });
  if (message) setStatus(status, 'ok', message);

  const idInput = h('input', { id: 'issuer-id', required: true, value: issuer?.id ?? '', readonly: !isNew, spellcheck: 'false', autocomplete: 'off' });
  const issuerInput = h('input', { id: 'issuer-issuer', type: 'url', required: true, value: issuer?.issuer ?? '', spellcheck: 'false', class: 'wide', placeholder: 'https://idp.example.com' });
  const inline = Boolean(issuer?.jwks) && !issuer?.jwks_uri;
  const byUri = h('input', { id: 'issuer-keys-uri', type: 'radio', name: 'issuer-keys', value: 'uri', checked: !inline });
  const byJwks = h('input', { id: 'issuer-keys-inline', type: 'radio', name: 'issuer-keys', value: 'inline', checked: inline });
  const uriInput = h('input', { id: 'issuer-jwks-uri', type: 'url', value: issuer?.jwks_uri ?? '', spellcheck: 'false', class: 'wide', placeholder: 'https://idp.example.com/.well-known/jwks.json' });
  const jwksInput = h('textarea', { id: 'issuer-jwks', rows: 8, spellcheck: 'false', placeholder: '{"keys": [...]}' });
  jwksInput.value = issuer?.jwks ? prettyJson(issuer.jwks) : '';
  const uriBox = h('div', { class: 'subfield' }, field('JWKS URI', uriInput, 'Fetched by the server, cached, and fetched again for an unknown kid (at most once a minute).'));
  const jwksBox = h('div', { class: 'subfield' }, field('JWKS', jwksInput, 'Public keys only: {"keys": [...]}'));
  const showKeys = () => {
    uriBox.hidden = !byUri.checked;
    jwksBox.hidden = !byJwks.checked;
  };
  byUri.addEventListener('change', showKeys);
  byJwks.addEventListener('change', showKeys);
  showKeys();

  const test = h('button', { id: 'issuer-test-jwks', type: 'button' }, 'Test this JWKS');
  const testStatus = h('p', { id: 'issuer-test-status', role: 'status', class: 'status' });
  const testKeys = h('tbody');
  const testTable = h('div', { id: 'issuer-test-result', hidden: true }, dataTable('issuer-test-keys', 'Keys found', ['kid', 'kty', 'alg', 'use'], testKeys));

  const algs = new Set(issuer?.allowed_algs ?? []);
  const algBoxes = ALGS.map((alg) => {
    const box = h('input', { id: `issuer-alg-${alg}`, type: 'checkbox', value: alg, checked: algs.has(alg) });
    return { box, row: h('span', { class: 'check inline' }, box, h('label', { for: box.id }, alg)) };
  });
  const audiencesInput = h('textarea', { id: 'issuer-audiences', rows: 3, spellcheck: 'false' });
  audiencesInput.value = (issuer?.audiences ?? []).join('\n');

  const save = h('button', { id: 'issuer-save', type: 'submit', class: 'primary', hidden: !writable }, isNew ? 'Create trusted issuer' : 'Save changes');
  const remove = h('button', { id: 'issuer-delete', type: 'button', class: 'danger', hidden: !writable || isNew }, 'Delete trusted issuer…');
  const reload = h('button', { id: 'issuer-reload', type: 'button', hidden: true }, 'Reload');
  reload.addEventListener('click', () => renderIssuerForm(app, issuer?.id ?? null));

  const form = h(
    'form',
    { id: 'issuer-form', class: 'config-form', novalidate: true, 'aria-label': isNew ? 'New trusted issuer' : `Trusted issuer ${issuer?.id}` },
    h(
      'div',
      { class: 'form-grid' },
      h(
        'fieldset',
        {},
        h('legend', {}, 'Issuer and keys'),
        field('Id', idInput, isNew ? 'Letters, digits and . _ ~ : - (at most 128); names it in the API. It cannot be changed later.' : 'The id cannot be changed.'),
        field('Issuer (iss)', issuerInput, 'Exactly as it appears in the tokens’ iss claim.'),
        h(
          'div',
          { class: 'field', role: 'radiogroup', 'aria-label': 'Where the keys come from' },
          h('span', { class: 'label' }, 'Keys'),
          h('div', { class: 'check' }, byUri, h('label', { for: byUri.id }, 'From a JWKS URI')),
          h('div', { class: 'check' }, byJwks, h('label', { for: byJwks.id }, 'A JWKS given here')),
        ),
        uriBox,
        jwksBox,
        h('div', { class: 'row-actions' }, test),
        testStatus,
        testTable,
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Restrictions'),
        h(
          'div',
          { class: 'field', role: 'group', 'aria-labelledby': 'issuer-algs-label' },
          h('span', { id: 'issuer-algs-label', class: 'label' }, 'Allowed algorithms'),
          h('div', { class: 'checks' }, algBoxes.map((a) => a.row)),
          h('small', { class: 'hint' }, 'None chosen: any asymmetric algorithm (never none, never HMAC).'),
        ),
        field('Audiences', audiencesInput, 'One per line; empty: no audience restriction of its own.'),
      ),
    ),
    h('div', { class: 'row-actions actions' }, save, remove, reload),
    status,
  );

  /** @returns {{ ok: true, keys: { jwks_uri: string } | { jwks: { keys: unknown[] } } } | { ok: false, problem: string, focus: HTMLElement }} */
  const keySource = () => {
    if (byUri.checked) {
      const uri = uriInput.value.trim();
      if (!/^https?:\/\/\S+$/.test(uri)) return { ok: false, problem: 'The JWKS URI must be an absolute http(s) URI.', focus: uriInput };
      return { ok: true, keys: { jwks_uri: uri } };
    }
    const parsed = parseJwks(jwksInput.value);
    if (!parsed.ok) return { ok: false, problem: parsed.problem, focus: jwksInput };
    return { ok: true, keys: { jwks: parsed.jwks } };
  };

  test.addEventListener('click', () => {
    const source = keySource();
    testTable.hidden = true;
    if (!source.ok) {
      setStatus(testStatus, 'error', source.problem);
      source.focus.focus();
      return;
    }
    test.disabled = true;
    setStatus(testStatus, 'info', 'Testing…');
    configApi.testJwks(source.keys).then(
      /** @param {JwksTestResult} result */
      (result) => {
        test.disabled = false;
        if (!result.ok) {
          setStatus(testStatus, 'error', `Not usable: ${result.problem}`);
          return;
        }
        setStatus(testStatus, 'ok', `Found ${result.keys.length} key${result.keys.length === 1 ? '' : 's'}.`);
        testKeys.replaceChildren(
          ...result.keys.map((k) =>
            h('tr', {}, h('td', {}, h('code', {}, k.kid ?? '')), h('td', {}, k.kty ?? ''), h('td', {}, k.alg ?? ''), h('td', {}, k.use ?? '')),
          ),
        );
        testTable.hidden = false;
      },
      (error) => {
        test.disabled = false;
        showWriteError(testStatus, error);
      },
    );
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const id = idInput.value.trim();
    if (!new RegExp(`^${ID_PATTERN}$`).test(id)) {
      setStatus(status, 'error', 'The id must be 1 to 128 characters from A-Z a-z 0-9 . _ ~ : -');
      idInput.focus();
      return;
    }
    const iss = issuerInput.value.trim();
    if (!/^https?:\/\/\S+$/.test(iss)) {
      setStatus(status, 'error', 'The issuer must be an absolute http(s) URI.');
      issuerInput.focus();
      return;
    }
    const source = keySource();
    if (!source.ok) {
      setStatus(status, 'error', source.problem);
      source.focus.focus();
      return;
    }
    /** @type {Record<string, unknown>} */
    const body = {};
    if (issuer) for (const [key, value] of Object.entries(issuer)) if (!READ_ONLY.includes(key) && value !== null) body[key] = value;
    body['id'] = id;
    body['issuer'] = iss;
    delete body['jwks_uri'];
    delete body['jwks'];
    Object.assign(body, source.keys);
    const allowed = algBoxes.filter((a) => a.box.checked).map((a) => a.box.value);
    if (allowed.length > 0) body['allowed_algs'] = allowed;
    else delete body['allowed_algs'];
    const audiences = lines(audiencesInput.value);
    if (audiences.length > 0) body['audiences'] = audiences;
    else delete body['audiences'];
    save.disabled = true;
    setStatus(status, 'info', 'Saving…');
    const write = async () => {
      if (isNew) {
        const exists = await configApi.getTrustedIssuer(id).then(
          () => true,
          (error) => {
            if (error instanceof ApiError && error.status === 404) return false;
            throw error;
          },
        );
        if (exists) throw new Error(`a trusted issuer ${id} exists already; open it to edit it`);
      }
      return configApi.putTrustedIssuer(id, body, etag);
    };
    write().then(
      () => {
        flash = { id, message: isNew ? `Trusted issuer ${id} created.` : `Saved ${id}.` };
        if (isNew) location.hash = trustedIssuerHref(id);
        else renderIssuerForm(app, id);
      },
      (error) => {
        save.disabled = false;
        showWriteError(status, error, 'trusted issuer');
        if (error instanceof ApiError && error.status === 412) reload.hidden = false;
      },
    );
  });

  remove.addEventListener('click', () => {
    if (!issuer) return;
    const id = issuer.id;
    confirmInPage({
      id: 'delete-issuer-dialog',
      title: `Delete the trusted issuer ${id}?`,
      body: ['Its tokens are refused from now on, as subject and as actor tokens.'],
      confirmLabel: 'Delete trusted issuer',
      danger: true,
      typeToConfirm: id,
    }).then(({ confirmed }) => {
      if (!confirmed) return;
      remove.disabled = true;
      configApi.deleteTrustedIssuer(id, etag).then(
        () => {
          flash = { id: null, message: `Trusted issuer ${id} deleted.` };
          location.hash = '#/trusted-issuers';
        },
        (error) => {
          remove.disabled = false;
          showWriteError(status, error, 'trusted issuer');
          if (error instanceof ApiError && error.status === 412) reload.hidden = false;
        },
      );
    });
  });

  if (!writable) {
    makeReadOnly(form);
    // Testing reads nothing stored and changes nothing, but the API counts it as a write.
    test.hidden = true;
  }
  const meta = issuer ? h('p', { class: 'meta' }, `Created ${formatTime(issuer.created_at)}; last changed ${formatTime(issuer.updated_at)}.`) : null;
  return h(
    'section',
    { class: 'card' },
    h('p', {}, h('a', { href: '#/trusted-issuers' }, '← All trusted issuers')),
    h('h2', {}, isNew ? 'New trusted issuer' : `Trusted issuer ${issuer?.id}`),
    roleNote(me),
    meta,
    form,
  );
}
