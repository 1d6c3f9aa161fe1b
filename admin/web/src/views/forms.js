// @ts-check
// Shared pieces of the configuration screens (clients, trusted issuers, signing keys, admin
// keys): the signed-in key's role, a confirmation dialog in the page, "shown once" secrets with a
// copy button, small form fields, and error messages for 403 and 412.
import { h, setStatus } from '../dom.js';
import { ApiError, configApi, describeError } from '../api.js';

/** @import { Me } from '../types.js' */

/**
 * Who is signed in. An older server without GET /me answers 404: the page then shows every
 * button and lets the server refuse what the key may not do.
 * @returns {Promise<Me | null>}
 */
export async function currentCaller() {
  try {
    return await configApi.me();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/**
 * True when the caller may change the configuration screens' resources (role admin), or when
 * the role is unknown (the server decides).
 * @param {Me | null} me
 */
export function canWrite(me) {
  return me === null || me.role === 'admin';
}

/**
 * A line naming the signed-in key and what it may do here.
 * @param {Me | null} me
 */
export function roleNote(me) {
  if (me === null) return h('p', { class: 'meta role-note' });
  const text = canWrite(me)
    ? `Signed in as ${me.actor} (role ${me.role}).`
    : `Signed in as ${me.actor} (role ${me.role}): read only here; changes need the admin role.`;
  return h('p', { class: 'meta role-note', 'data-role': me.role }, text);
}

/**
 * An error of a write, with the 403 and 412 answers spelt out.
 * @param {unknown} error
 * @param {string} [what] the resource, for the 412 message ("client", "trusted issuer")
 */
export function describeWriteError(error, what = 'resource') {
  if (error instanceof ApiError && error.status === 403) {
    return `Not allowed: your admin key's role may not do this (${error.code}${error.description ? `: ${error.description}` : ''}, HTTP 403).`;
  }
  if (error instanceof ApiError && error.status === 412) {
    return `Someone changed this ${what} since you opened it; reload to see their version (nothing was saved).`;
  }
  return describeError(error);
}

/**
 * Shows an error of a write in a status line.
 * @param {HTMLElement} status
 * @param {unknown} error
 * @param {string} [what]
 */
export function showWriteError(status, error, what) {
  setStatus(status, 'error', describeWriteError(error, what));
  if (error instanceof ApiError) status.dataset['code'] = error.code;
}

/**
 * A confirmation in the page (a modal <dialog>, not window.confirm). With `typeToConfirm` the
 * confirm button stays disabled until that text is typed; with `option` a checkbox is offered and
 * its state answered.
 * @param {{ id: string, title: string, body: (Node | string)[], confirmLabel: string,
 *   danger?: boolean, typeToConfirm?: string, option?: { id: string, label: string, hint?: string } }} options
 * @returns {Promise<{ confirmed: boolean, option: boolean }>}
 */
export function confirmInPage(options) {
  return new Promise((resolve) => {
    const typed = options.typeToConfirm
      ? h('input', { id: `${options.id}-typed`, autocomplete: 'off', spellcheck: 'false' })
      : null;
    const checkbox = options.option ? h('input', { id: options.option.id, type: 'checkbox' }) : null;
    const confirm = h(
      'button',
      { id: `${options.id}-confirm`, type: 'submit', class: options.danger ? 'danger' : 'primary', disabled: typed !== null },
      options.confirmLabel,
    );
    const cancel = h('button', { id: `${options.id}-cancel`, type: 'button' }, 'Cancel');
    const form = h(
      'form',
      { method: 'dialog' },
      h('h3', { id: `${options.id}-title` }, options.title),
      options.body.map((part) => (typeof part === 'string' ? h('p', {}, part) : part)),
      typed && options.typeToConfirm
        ? [h('label', { for: typed.id }, 'Type ', h('code', {}, options.typeToConfirm), ' to confirm'), typed]
        : null,
      checkbox && options.option
        ? [
            h('div', { class: 'check' }, checkbox, h('label', { for: checkbox.id }, options.option.label)),
            options.option.hint ? h('p', { class: 'meta option-hint' }, options.option.hint) : null,
          ]
        : null,
      h('div', { class: 'row-actions dialog-actions' }, confirm, cancel),
    );
    const dialog = h('dialog', { id: options.id, class: 'confirm-dialog', 'aria-labelledby': `${options.id}-title` }, form);
    let answered = false;
    /** @param {boolean} confirmed */
    const finish = (confirmed) => {
      if (answered) return;
      answered = true;
      const option = checkbox?.checked ?? false;
      dialog.close();
      dialog.remove();
      resolve({ confirmed, option });
    };
    typed?.addEventListener('input', () => {
      confirm.disabled = typed.value !== options.typeToConfirm;
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!confirm.disabled) finish(true);
    });
    cancel.addEventListener('click', () => finish(false));
    dialog.addEventListener('cancel', () => finish(false));
    document.body.append(dialog);
    dialog.showModal();
    (typed ?? cancel).focus();
  });
}

/**
 * A secret or key shown once: the value, a copy button and the warning that it is not shown
 * again. "I have stored it" removes it from the page.
 * @param {{ id: string, title: string, value: string, note: string }} options
 */
export function shownOnce({ id, title, value, note }) {
  const output = h('input', { id: `${id}-value`, class: 'secret-value', readonly: true, value, 'aria-label': title, spellcheck: 'false' });
  const copyStatus = h('span', { id: `${id}-copy-status`, class: 'meta', role: 'status' });
  const copy = h('button', { id: `${id}-copy`, type: 'button' }, 'Copy');
  copy.addEventListener('click', () => {
    output.select();
    navigator.clipboard.writeText(value).then(
      () => {
        copyStatus.textContent = 'Copied.';
      },
      () => {
        copyStatus.textContent = 'The browser refused the clipboard: select the text and copy it.';
      },
    );
  });
  const done = h('button', { id: `${id}-done`, type: 'button' }, 'I have stored it');
  const box = h(
    'div',
    { id, class: 'shown-once', role: 'alert' },
    h('h4', {}, title),
    h('p', {}, h('strong', {}, 'Store it now: '), note),
    h('div', { class: 'secret-row' }, output, copy, done, copyStatus),
  );
  done.addEventListener('click', () => box.remove());
  return box;
}

/** 256 random bits as base64url (43 characters), from the browser's CSPRNG. */
export function generateSecret() {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A labelled field with an optional hint under it.
 * @param {string} label
 * @param {HTMLElement} control it must have an id
 * @param {string} [hint]
 */
export function field(label, control, hint) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    hint ? h('small', { class: 'hint', id: `${control.id}-hint` }, hint) : null,
  );
}

/**
 * Lines of a textarea, trimmed, without the empty ones.
 * @param {string} text
 */
export function lines(text) {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/**
 * Parses a JWK Set typed by hand: JSON, an object with a non-empty `keys` array.
 * @param {string} text
 * @returns {{ ok: true, jwks: { keys: unknown[] } } | { ok: false, problem: string }}
 */
export function parseJwks(text) {
  /** @type {unknown} */
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `The JWKS is not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, problem: 'The JWKS must be a JSON object: {"keys": [...]}' };
  }
  const keys = /** @type {Record<string, unknown>} */ (parsed)['keys'];
  if (!Array.isArray(keys) || keys.length === 0) return { ok: false, problem: 'The JWKS needs a non-empty "keys" array' };
  return { ok: true, jwks: { keys } };
}

/**
 * Disables every control of a form for a read-only caller (buttons are hidden elsewhere).
 * @param {HTMLElement} form
 */
export function makeReadOnly(form) {
  for (const control of form.querySelectorAll('input, select, textarea')) {
    if (control instanceof HTMLInputElement || control instanceof HTMLSelectElement || control instanceof HTMLTextAreaElement) {
      control.disabled = true;
    }
  }
}
