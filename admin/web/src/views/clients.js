// @ts-check
import { h, dataTable, setStatus, prettyJson, formatTime } from '../dom.js';
import { api, configApi, describeError, ApiError } from '../api.js';
import { FLOWS } from '../types.js';
import { procedureHref } from './procedures.js';
import {
  canWrite,
  confirmInPage,
  currentCaller,
  field,
  generateSecret,
  lines,
  makeReadOnly,
  parseJwks,
  roleNote,
  showWriteError,
  shownOnce,
} from './forms.js';

/** @import { Client, ClientDocument, Me, ProcedureSummary } from '../types.js' */

/** The members of the client schema (server/schemas/client.schema.json) this form edits. */
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
const GRANT_TYPES = [
  ['urn:ietf:params:oauth:grant-type:token-exchange', 'Token exchange (RFC 8693)'],
  ['client_credentials', 'Client credentials'],
  ['refresh_token', 'Refresh token'],
  ['urn:ietf:params:oauth:grant-type:jwt-bearer', 'JWT bearer (RFC 7523, ID-JAG)'],
];
/** Grant types as the list shows them (the full URN is the title). */
/** @type {Record<string, string>} */
const SHORT_GRANT = {
  'urn:ietf:params:oauth:grant-type:token-exchange': 'token-exchange',
  'urn:ietf:params:oauth:grant-type:jwt-bearer': 'jwt-bearer',
};
/** What GET adds to a client and a PUT does not take. */
const READ_ONLY = ['created_at', 'updated_at', 'has_secret'];
const CLIENT_ID_PATTERN = '(?!\\.{1,2}$)[A-Za-z0-9._~:\\-]{1,128}';

/**
 * What the next rendering shows first: a secret to show once, or a message (kept across the
 * hash change that follows a create or a delete).
 * @type {{ id: string | null, secret?: string, secretTitle?: string, message?: string } | null}
 */
let flash = null;

/** @param {string | null} id */
function takeFlash(id) {
  const found = flash && flash.id === id ? flash : null;
  flash = null;
  return found;
}

/** @param {string} id */
export function clientHref(id) {
  return `#/clients/${encodeURIComponent(id)}`;
}

/**
 * Clients: the list (#/clients), a new one (#/clients?new) or one to edit (#/clients/{id}).
 * @param {HTMLElement} app
 * @param {string | null} [id]
 * @param {URLSearchParams} [query]
 */
export function renderClients(app, id = null, query = new URLSearchParams()) {
  if (id !== null) renderClientForm(app, id);
  else if (query.has('new')) renderClientForm(app, null);
  else renderClientList(app);
}

/** @param {HTMLElement} app */
function renderClientList(app) {
  const clientsStatus = h('p', { id: 'clients-status', role: 'status', class: 'status' }, 'Loading…');
  const clientsBody = h('tbody');
  const newButton = h('a', { id: 'client-new', class: 'button primary', href: '#/clients?new', hidden: true }, 'New client');
  const note = h('div');
  const shown = takeFlash(null);
  const flashStatus = h('p', { id: 'clients-flash', role: 'status', class: 'status' });
  if (shown?.message) setStatus(flashStatus, 'ok', shown.message);
  app.replaceChildren(
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'section-head' }, h('h2', {}, 'Clients'), newButton),
      note,
      flashStatus,
      clientsStatus,
      dataTable('clients-table', 'Clients', ['Client id', 'Name', 'Authentication', 'Grant types', 'Scope', 'Audiences', 'Procedures', 'Properties', 'Updated'], clientsBody),
    ),
  );
  currentCaller().then(
    (me) => {
      note.replaceChildren(roleNote(me));
      newButton.hidden = !canWrite(me);
    },
    (error) => setStatus(clientsStatus, 'error', describeError(error)),
  );
  api.listClients().then(
    (clients) => {
      clientsStatus.textContent = clients.length === 0 ? 'No clients yet.' : '';
      clientsBody.replaceChildren(...clients.map(clientRow));
    },
    (error) => setStatus(clientsStatus, 'error', describeError(error)),
  );
}

/** @param {string[] | undefined | null} values */
function list(values) {
  return (values ?? []).map((v) => h('div', {}, h('code', {}, v)));
}

/** @param {Client & { updated_at?: number | string }} c */
function clientRow(c) {
  const procedures = Object.entries(c.procedures ?? {}).map(([flow, id]) =>
    h('div', {}, h('a', { href: procedureHref(id) }, id), ' ', h('small', {}, `(${flow})`)),
  );
  const properties = c.properties && Object.keys(c.properties).length > 0 ? h('pre', {}, prettyJson(c.properties)) : '';
  return h(
    'tr',
    { 'data-client': c.client_id },
    h('td', {}, h('a', { href: clientHref(c.client_id) }, h('code', {}, c.client_id))),
    h('td', {}, c.name ?? ''),
    h('td', {}, c.token_endpoint_auth_method ?? (c.jwks ? 'private_key_jwt' : '')),
    h('td', {}, (c.grant_types ?? []).map((g) => h('div', {}, h('code', { title: g }, SHORT_GRANT[g] ?? g)))),
    h('td', {}, list(c.scope ? c.scope.split(' ').filter(Boolean) : [])),
    h('td', {}, list(c.audiences)),
    h('td', {}, procedures),
    h('td', {}, properties),
    h('td', { class: 'time' }, formatTime(c.updated_at)),
  );
}

/**
 * The form of one client, new (`id` null) or existing.
 * @param {HTMLElement} app
 * @param {string | null} id
 */
function renderClientForm(app, id) {
  const isNew = id === null;
  const status = h('p', { id: 'client-status', role: 'status', 'aria-live': 'polite', class: 'status' }, 'Loading…');
  app.replaceChildren(h('section', { class: 'card' }, h('h2', {}, isNew ? 'New client' : `Client ${id}`), status));
  const shown = takeFlash(id);
  Promise.all([
    currentCaller(),
    isNew ? Promise.resolve({ client: null, etag: null }) : configApi.getClient(id),
    api.listProcedures().catch(() => /** @type {ProcedureSummary[]} */ ([])),
  ]).then(
    ([me, { client, etag }, procedures]) => {
      app.replaceChildren(clientForm({ app, me, client, etag, procedures, shown }));
    },
    (error) => {
      const missing = error instanceof ApiError && error.status === 404;
      setStatus(status, 'error', missing ? `There is no client ${id}.` : describeError(error));
      status.after(h('p', {}, h('a', { href: '#/clients' }, 'Back to the clients')));
    },
  );
}

/**
 * @param {{ app: HTMLElement, me: Me | null, client: ClientDocument | null, etag: string | null,
 *   procedures: ProcedureSummary[], shown: ReturnType<typeof takeFlash> }} options
 */
function clientForm({ app, me, client, etag, procedures, shown }) {
  const isNew = client === null;
  const writable = canWrite(me);
  const status = h('p', { id: 'client-status', role: 'status', 'aria-live': 'polite', class: 'status' });
  if (shown?.message) setStatus(status, 'ok', shown.message);
  const once = h('div', { id: 'client-once' });
  if (shown?.secret) {
    once.append(
      shownOnce({
        id: 'client-secret-once',
        title: shown.secretTitle ?? 'Client secret',
        value: shown.secret,
        note: 'this is the only time the secret is shown. The server keeps only its hash; if it is lost, rotate it.',
      }),
    );
  }

  // Identity and authentication.
  const idInput = h('input', {
    id: 'client-id',
    name: 'client_id',
    required: true,
    pattern: CLIENT_ID_PATTERN,
    title: '1 to 128 characters from A-Z a-z 0-9 . _ ~ : -',
    value: client?.client_id ?? '',
    readonly: !isNew,
    spellcheck: 'false',
    autocomplete: 'off',
  });
  const nameInput = h('input', { id: 'client-name', name: 'name', maxlength: 200, value: client?.name ?? '' });
  const method = client?.token_endpoint_auth_method ?? (client?.jwks ? 'private_key_jwt' : 'client_secret_basic');
  const methodSelect = h(
    'select',
    { id: 'client-auth-method', name: 'token_endpoint_auth_method' },
    AUTH_METHODS.map((m) => h('option', { value: m, selected: m === method }, m)),
  );

  // The secret: write-only, so the choices are to keep it, generate one here, or type one.
  const hasSecret = client?.has_secret === true;
  /** @param {string} value @param {string} label @param {boolean} checked */
  const secretChoice = (value, label, checked) =>
    h(
      'div',
      { class: 'check' },
      h('input', { id: `client-secret-${value}`, type: 'radio', name: 'secret-choice', value, checked }),
      h('label', { for: `client-secret-${value}` }, label),
    );
  const ownSecret = h('input', {
    id: 'client-secret-own-value',
    type: 'password',
    autocomplete: 'new-password',
    minlength: 8,
    maxlength: 512,
    spellcheck: 'false',
    'aria-label': 'Your secret',
  });
  ownSecret.addEventListener('input', () => {
    const own = secretBox.querySelector('#client-secret-own');
    if (own instanceof HTMLInputElement) own.checked = true;
  });
  const rotate = h('button', { id: 'client-rotate-secret', type: 'button', hidden: !writable || isNew || !hasSecret }, 'Rotate secret now');
  const secretBox = h(
    'fieldset',
    { id: 'client-secret-box', class: 'subfield' },
    h('legend', {}, 'Client secret'),
    hasSecret ? secretChoice('keep', 'Keep the current secret', true) : null,
    secretChoice('generate', 'Generate a strong secret in this browser (256 bits), shown once after saving', !hasSecret),
    secretChoice('own', 'Set this secret:', false),
    ownSecret,
    h('small', { class: 'hint' }, 'Write-only: the server stores a hash and never shows it again.'),
    h('div', { class: 'row-actions' }, rotate),
  );
  const jwksInput = h('textarea', {
    id: 'client-jwks',
    name: 'jwks',
    rows: 8,
    spellcheck: 'false',
    placeholder: '{"keys": [{"kty": "EC", "crv": "P-256", "x": "…", "y": "…", "kid": "…"}]}',
  });
  jwksInput.value = client?.jwks ? prettyJson(client.jwks) : '';
  const jwksProblem = h('p', { id: 'client-jwks-problem', class: 'status', role: 'status' });
  const jwksBox = h(
    'div',
    { id: 'client-jwks-box', class: 'subfield' },
    field('JWKS (public keys for private_key_jwt)', jwksInput, 'A JSON Web Key Set: {"keys": [...]}, public keys only.'),
    jwksProblem,
  );
  const showAuth = () => {
    const jwt = methodSelect.value === 'private_key_jwt';
    jwksBox.hidden = !jwt;
    secretBox.hidden = jwt;
  };
  methodSelect.addEventListener('change', showAuth);
  jwksInput.addEventListener('input', () => {
    const parsed = jwksInput.value.trim() ? parseJwks(jwksInput.value) : null;
    if (parsed && !parsed.ok) setStatus(jwksProblem, 'error', parsed.problem);
    else jwksProblem.textContent = '';
  });
  showAuth();

  // Grants, scope and audiences.
  const grants = new Set(client?.grant_types ?? []);
  const grantBoxes = GRANT_TYPES.map(([value, label], i) => {
    const box = h('input', { id: `client-grant-${i}`, type: 'checkbox', name: 'grant_types', value, checked: grants.has(value ?? '') });
    return { box, row: h('div', { class: 'check' }, box, h('label', { for: box.id }, label, ' ', h('small', { class: 'meta' }, value))) };
  });
  const scopeInput = h('input', { id: 'client-scope', name: 'scope', value: client?.scope ?? '', spellcheck: 'false', class: 'wide' });
  const audiencesInput = h('textarea', { id: 'client-audiences', name: 'audiences', rows: 3, spellcheck: 'false' });
  audiencesInput.value = (client?.audiences ?? []).join('\n');
  const acceptedInput = h('textarea', { id: 'client-accepted-audiences', name: 'accepted_audiences', rows: 2, spellcheck: 'false' });
  acceptedInput.value = (client?.accepted_audiences ?? []).join('\n');

  // Tokens.
  const ttlInput = h('input', { id: 'client-access-token-ttl', type: 'number', min: 1, max: 86400, step: 1, value: client?.access_token_ttl ?? 300 });
  const formatSelect = h(
    'select',
    { id: 'client-access-token-format', name: 'access_token_format' },
    [
      ['', 'default (jwt)'],
      ['jwt', 'jwt: signed JWT (RFC 9068)'],
      ['opaque', 'opaque: random reference, resolved by introspection'],
    ].map(([value, label]) => h('option', { value, selected: (client?.access_token_format ?? '') === value }, label)),
  );
  const refreshInput = h('input', {
    id: 'client-refresh-token-ttl',
    type: 'number',
    min: 1,
    max: 2678400,
    step: 1,
    placeholder: '86400',
    value: client?.refresh_token_ttl ?? '',
  });
  const unvalidated = h('input', { id: 'client-accept-unvalidated', type: 'checkbox', checked: client?.accept_unvalidated_tokens === true });

  // Procedures per flow: the ones stored for that flow, or the built-in default.
  const procedureSelects = FLOWS.map((flow) => {
    const current = client?.procedures?.[flow] ?? '';
    const ids = procedures.filter((p) => p.flow === flow).map((p) => p.id);
    if (current && !ids.includes(current)) ids.push(current);
    const select = h(
      'select',
      { id: `client-procedure-${flow}`, 'data-flow': flow },
      h('option', { value: '' }, '(built-in default)'),
      ids.sort().map((pid) => h('option', { value: pid, selected: pid === current }, pid)),
    );
    return { flow, select };
  });

  // Properties: name and value rows.
  const propertyRows = h('div', { id: 'client-properties', class: 'property-rows' });
  /** @param {string} name @param {string} value */
  const addProperty = (name, value) => {
    const n = propertyRows.children.length;
    const nameBox = h('input', { class: 'property-name', value: name, maxlength: 128, 'aria-label': `Property ${n + 1} name`, spellcheck: 'false' });
    const valueBox = h('input', { class: 'property-value', value, maxlength: 4096, 'aria-label': `Property ${n + 1} value`, spellcheck: 'false' });
    const remove = h('button', { type: 'button', class: 'write', 'aria-label': `Remove property ${n + 1}`, hidden: !writable }, 'Remove');
    const row = h('div', { class: 'property-row' }, nameBox, valueBox, remove);
    remove.addEventListener('click', () => {
      row.remove();
      updateJson();
    });
    propertyRows.append(row);
  };
  for (const [name, value] of Object.entries(client?.properties ?? {})) addProperty(name, value);
  const addPropertyButton = h('button', { id: 'client-property-add', type: 'button', hidden: !writable }, 'Add property');
  addPropertyButton.addEventListener('click', () => {
    addProperty('', '');
    const last = propertyRows.lastElementChild?.querySelector('input');
    if (last instanceof HTMLInputElement) last.focus();
  });

  const json = h('pre', { id: 'client-json' });
  const save = h('button', { id: 'client-save', type: 'submit', class: 'primary', hidden: !writable }, isNew ? 'Create client' : 'Save changes');
  const remove = h('button', { id: 'client-delete', type: 'button', class: 'danger', hidden: !writable || isNew }, 'Delete client…');
  const reload = h('button', { id: 'client-reload', type: 'button', hidden: true }, 'Reload');

  const form = h(
    'form',
    { id: 'client-form', class: 'config-form', 'aria-label': isNew ? 'New client' : `Client ${client?.client_id}`, novalidate: true },
    h(
      'div',
      { class: 'form-grid' },
      h(
        'fieldset',
        {},
        h('legend', {}, 'Identity and authentication'),
        field('Client id', idInput, isNew ? 'Letters, digits and . _ ~ : - (at most 128). It cannot be changed later.' : 'The id cannot be changed.'),
        field('Name', nameInput, 'Shown to admins only; optional.'),
        field('Token endpoint authentication', methodSelect),
        secretBox,
        jwksBox,
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Grants, scope and audiences'),
        h('div', { class: 'field', role: 'group', 'aria-labelledby': 'client-grants-label' }, h('span', { id: 'client-grants-label', class: 'label' }, 'Grant types (at least one)'), grantBoxes.map((g) => g.row)),
        field('Scope', scopeInput, 'Space-separated scope tokens the client may obtain.'),
        field('Audiences', audiencesInput, 'One per line: the audiences the client may ask tokens for.'),
        field('Accepted audiences', acceptedInput, "One per line: values that, in a presented token's aud, mark it as meant for this client (besides its id)."),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Tokens'),
        field('Access token lifetime (seconds)', ttlInput, '1 to 86400; default 300.'),
        field('Access token format', formatSelect),
        field('Refresh token lifetime (seconds)', refreshInput, 'Empty: 86400. Refresh tokens are issued only with the refresh_token grant.'),
        h(
          'div',
          { class: 'check' },
          unvalidated,
          h('label', { for: unvalidated.id }, 'Accept unvalidated tokens'),
        ),
        h('small', { class: 'hint' }, 'Lets procedures read subject tokens whose signature cannot be checked. Leave off unless you know why.'),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Procedures per flow'),
        procedureSelects.map(({ flow, select }) => field(flow, select)),
        h('small', { class: 'hint' }, 'Only procedures stored for that flow are offered.'),
      ),
      h(
        'fieldset',
        { class: 'span-all' },
        h('legend', {}, 'Properties'),
        h('small', { class: 'hint' }, 'Custom strings procedures read as context.client.properties.'),
        propertyRows,
        addPropertyButton,
      ),
    ),
    h('details', { class: 'json-view' }, h('summary', {}, writable ? 'JSON of this client (as Save sends it, secret left out)' : 'JSON of this client'), json),
    h('div', { class: 'row-actions actions' }, save, remove, reload),
    status,
  );

  /**
   * The PUT body from the form; `secret` is put in as client_secret when given.
   * @param {string | null} secret
   * @returns {{ ok: true, body: Record<string, unknown> } | { ok: false, problem: string, focus: HTMLElement }}
   */
  const collect = (secret) => {
    /** @type {Record<string, unknown>} */
    const body = {};
    if (client) {
      for (const [key, value] of Object.entries(client)) if (!READ_ONLY.includes(key)) body[key] = value;
    }
    const clientId = idInput.value.trim();
    if (!new RegExp(`^${CLIENT_ID_PATTERN}$`).test(clientId)) {
      return { ok: false, problem: 'The client id must be 1 to 128 characters from A-Z a-z 0-9 . _ ~ : -', focus: idInput };
    }
    body['client_id'] = clientId;
    const name = nameInput.value.trim();
    if (name) body['name'] = name;
    else delete body['name'];
    body['token_endpoint_auth_method'] = methodSelect.value;
    delete body['client_secret'];
    if (methodSelect.value === 'private_key_jwt') {
      const parsed = parseJwks(jwksInput.value);
      if (!parsed.ok) return { ok: false, problem: parsed.problem, focus: jwksInput };
      body['jwks'] = parsed.jwks;
    } else {
      body['jwks'] = null;
      if (secret !== null) body['client_secret'] = secret;
    }
    const grantTypes = grantBoxes.filter((g) => g.box.checked).map((g) => g.box.value);
    if (grantTypes.length === 0) {
      const first = grantBoxes[0];
      return { ok: false, problem: 'Choose at least one grant type.', focus: first ? first.box : idInput };
    }
    body['grant_types'] = grantTypes;
    body['scope'] = scopeInput.value.trim().split(/\s+/).filter(Boolean).join(' ');
    body['audiences'] = lines(audiencesInput.value);
    const accepted = lines(acceptedInput.value);
    if (accepted.length > 0) body['accepted_audiences'] = accepted;
    else delete body['accepted_audiences'];
    /** @type {Record<string, string>} */
    const properties = {};
    for (const row of propertyRows.children) {
      const [nameBox, valueBox] = row.querySelectorAll('input');
      if (!nameBox || !valueBox) continue;
      const key = nameBox.value.trim();
      if (!key && !valueBox.value) continue;
      if (!key) return { ok: false, problem: 'A property needs a name.', focus: nameBox };
      if (key in properties) return { ok: false, problem: `The property ${key} is given twice.`, focus: nameBox };
      properties[key] = valueBox.value;
    }
    body['properties'] = properties;
    /** @type {Record<string, string>} */
    const chosen = {};
    for (const { flow, select } of procedureSelects) if (select.value) chosen[flow] = select.value;
    body['procedures'] = chosen;
    const ttl = Number(ttlInput.value);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86400) {
      return { ok: false, problem: 'The access token lifetime must be a whole number of seconds, 1 to 86400.', focus: ttlInput };
    }
    body['access_token_ttl'] = ttl;
    if (formatSelect.value) body['access_token_format'] = formatSelect.value;
    else delete body['access_token_format'];
    if (refreshInput.value.trim()) {
      const refresh = Number(refreshInput.value);
      if (!Number.isInteger(refresh) || refresh < 1 || refresh > 2678400) {
        return { ok: false, problem: 'The refresh token lifetime must be a whole number of seconds, 1 to 2678400.', focus: refreshInput };
      }
      body['refresh_token_ttl'] = refresh;
    } else delete body['refresh_token_ttl'];
    body['accept_unvalidated_tokens'] = unvalidated.checked;
    return { ok: true, body };
  };

  const updateJson = () => {
    const collected = collect(null);
    json.textContent = collected.ok ? prettyJson(collected.body) : `(${collected.problem})`;
  };
  form.addEventListener('input', updateJson);
  form.addEventListener('change', updateJson);
  updateJson();

  /** @returns {string} the chosen radio of the secret box */
  const secretMode = () => {
    const checked = secretBox.querySelector('input[name="secret-choice"]:checked');
    return checked instanceof HTMLInputElement ? checked.value : 'generate';
  };
  const showReload = () => {
    reload.hidden = false;
  };
  reload.addEventListener('click', () => renderClientForm(app, client?.client_id ?? null));

  /** Writes, then shows the stored client again (its ETag changed). */
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const mode = methodSelect.value === 'private_key_jwt' ? 'none' : secretMode();
    let secret = null;
    if (mode === 'generate') secret = generateSecret();
    else if (mode === 'own') {
      secret = ownSecret.value;
      if (secret.length < 8 || secret.length > 512 || !/^[\x20-\x7E]+$/.test(secret)) {
        setStatus(status, 'error', 'The secret must be 8 to 512 printable ASCII characters.');
        ownSecret.focus();
        return;
      }
    }
    const collected = collect(secret);
    if (!collected.ok) {
      setStatus(status, 'error', collected.problem);
      collected.focus.focus();
      return;
    }
    const clientId = String(collected.body['client_id']);
    save.disabled = true;
    setStatus(status, 'info', 'Saving…');
    const write = async () => {
      if (isNew) {
        // A PUT would replace an existing client of that id: look first.
        const exists = await configApi.getClient(clientId).then(
          () => true,
          (error) => {
            if (error instanceof ApiError && error.status === 404) return false;
            throw error;
          },
        );
        if (exists) throw new Error(`a client ${clientId} exists already; open it to edit it`);
      }
      return configApi.putClient(clientId, collected.body, etag);
    };
    write().then(
      (stored) => {
        const shownSecret = secret !== null && mode === 'generate' ? secret : (stored.client_secret ?? null);
        flash = {
          id: clientId,
          message: isNew ? `Client ${clientId} created.` : `Saved ${clientId}.`,
          ...(shownSecret ? { secret: shownSecret, secretTitle: 'The new client secret' } : {}),
        };
        if (isNew) location.hash = clientHref(clientId);
        else renderClientForm(app, clientId);
      },
      (error) => {
        save.disabled = false;
        showWriteError(status, error, 'client');
        if (error instanceof ApiError && error.status === 412) showReload();
      },
    );
  });

  rotate.addEventListener('click', () => {
    if (!client) return;
    const clientId = client.client_id;
    confirmInPage({
      id: 'rotate-secret-dialog',
      title: `Rotate the secret of ${clientId}?`,
      body: ['The server generates a new secret and shows it once. The current secret stops working at once: update the client before it next asks for a token.'],
      confirmLabel: 'Rotate secret',
    }).then(({ confirmed }) => {
      if (!confirmed) return;
      rotate.disabled = true;
      setStatus(status, 'info', 'Rotating…');
      configApi.rotateClientSecret(clientId, etag).then(
        (rotated) => {
          flash = { id: clientId, message: `Rotated the secret of ${clientId}; the old one no longer works.`, secret: rotated.client_secret, secretTitle: 'The rotated client secret' };
          renderClientForm(app, clientId);
        },
        (error) => {
          rotate.disabled = false;
          showWriteError(status, error, 'client');
          if (error instanceof ApiError && error.status === 412) showReload();
        },
      );
    });
  });

  remove.addEventListener('click', () => {
    if (!client) return;
    const clientId = client.client_id;
    confirmInPage({
      id: 'delete-client-dialog',
      title: `Delete the client ${clientId}?`,
      body: ['It can no longer obtain tokens. Tokens already issued stay valid until they expire.'],
      confirmLabel: 'Delete client',
      danger: true,
      typeToConfirm: clientId,
    }).then(({ confirmed }) => {
      if (!confirmed) return;
      remove.disabled = true;
      configApi.deleteClient(clientId, etag).then(
        () => {
          flash = { id: null, message: `Client ${clientId} deleted.` };
          location.hash = '#/clients';
        },
        (error) => {
          remove.disabled = false;
          showWriteError(status, error, 'client');
          if (error instanceof ApiError && error.status === 412) showReload();
        },
      );
    });
  });

  if (!writable) {
    makeReadOnly(form);
    secretBox.replaceChildren(
      h('legend', {}, 'Client secret'),
      h('p', { class: 'meta' }, hasSecret ? 'Set (write-only: never shown).' : 'None.'),
    );
  }
  const meta = client
    ? h('p', { class: 'meta' }, `Created ${formatTime(client.created_at)}; last changed ${formatTime(client.updated_at)}.`)
    : null;
  return h(
    'section',
    { class: 'card' },
    h('p', {}, h('a', { href: '#/clients' }, '← All clients')),
    h('h2', {}, isNew ? 'New client' : `Client ${client?.client_id}`),
    roleNote(me),
    meta,
    once,
    form,
  );
}
