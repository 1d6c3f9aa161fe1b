// @ts-check
import { h, setStatus } from '../dom.js';
import { api, describeError } from '../api.js';
import { setAdminKey } from '../session.js';

/**
 * The sign-in form. The key is checked against the API before it is kept.
 * @param {HTMLElement} app
 * @param {{ notice: string, onSignedIn: () => void }} options
 */
export function renderSignIn(app, { notice, onSignedIn }) {
  const keyInput = h('input', {
    id: 'admin-key',
    name: 'admin-key',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    spellcheck: 'false',
  });
  const status = h('p', { id: 'signin-status', role: 'status', 'aria-live': 'polite', class: 'status' });
  if (notice) setStatus(status, 'error', notice);
  const submit = h('button', { id: 'signin-submit', type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { id: 'signin-form', class: 'card signin', 'aria-labelledby': 'signin-heading' },
    h('h2', { id: 'signin-heading' }, 'Sign in'),
    h('p', {}, 'Enter the admin key. It is kept in this tab only and sent as a Bearer token to the admin API.'),
    h('label', { for: 'admin-key' }, 'Admin key'),
    keyInput,
    submit,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (!key) return;
    submit.disabled = true;
    setStatus(status, 'info', 'Checking the key…');
    api.verifyKey(key).then(
      () => {
        setAdminKey(key);
        onSignedIn();
      },
      (error) => {
        submit.disabled = false;
        setStatus(status, 'error', describeError(error));
        keyInput.select();
      },
    );
  });
  app.replaceChildren(form);
  keyInput.focus();
}
