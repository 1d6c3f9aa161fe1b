// @ts-check
import { h, dataTable, setStatus, prettyJson, formatTime } from '../dom.js';
import { configApi, describeError } from '../api.js';
import { canWrite, confirmInPage, currentCaller, roleNote, showWriteError } from './forms.js';

/** @import { SigningKey } from '../types.js' */

/**
 * The token signing keys: which signs now, which are published in the JWKS, and rotation.
 * @param {HTMLElement} app
 */
export function renderSigningKeys(app) {
  const status = h('p', { id: 'signing-keys-status', role: 'status', 'aria-live': 'polite', class: 'status' }, 'Loading…');
  const body = h('tbody');
  const rotate = h('button', { id: 'signing-keys-rotate', type: 'button', class: 'primary', hidden: true }, 'Rotate…');
  const note = h('div');
  app.replaceChildren(
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'section-head' }, h('h2', {}, 'Signing keys'), rotate),
      h(
        'p',
        { class: 'meta' },
        'The keys that sign issued tokens. Published keys are in the JWKS relying parties fetch; exactly one key signs at a time.',
      ),
      note,
      status,
      dataTable('signing-keys-table', 'Signing keys', ['Key id (kid)', 'Algorithm', 'State', 'Created', 'Signs from', 'Stops signing', 'Public key'], body),
    ),
  );

  const load = () =>
    configApi.listSigningKeys().then(
      (keys) => {
        body.replaceChildren(...[...keys].sort(newestFirst).map(keyRow));
        if (keys.length === 0) setStatus(status, 'info', 'No signing keys yet: the server creates one when it first signs.');
      },
      (error) => setStatus(status, 'error', describeError(error)),
    );

  currentCaller().then(
    (me) => {
      note.replaceChildren(roleNote(me));
      rotate.hidden = !canWrite(me);
    },
    (error) => setStatus(status, 'error', describeError(error)),
  );
  load().then(() => {
    if (status.dataset['kind'] !== 'error' && status.dataset['kind'] !== 'info') status.textContent = '';
  });

  rotate.addEventListener('click', () => {
    confirmInPage({
      id: 'rotate-keys-dialog',
      title: 'Rotate the signing key?',
      body: [
        'A new key is created and published in the JWKS at once, but signs only about 6 minutes later (longer than the JWKS’s 5-minute cache), so relying parties and other instances know it before they meet a token it signed. The current key signs until then.',
        'A retired key stays published until the tokens it signed have expired; keys no longer needed are pruned.',
      ],
      confirmLabel: 'Rotate',
      option: {
        id: 'rotate-keys-now',
        label: 'Switch now: sign with the new key at once',
        hint: 'For a key that must stop signing now (e.g. leaked). Relying parties with a cached JWKS may refuse new tokens until they fetch it again.',
      },
    }).then(({ confirmed, option }) => {
      if (!confirmed) return;
      rotate.disabled = true;
      setStatus(status, 'info', 'Rotating…');
      configApi.rotateSigningKeys(option).then(
        (rotation) => {
          rotate.disabled = false;
          const pruned = rotation.pruned.length > 0 ? ` Pruned: ${rotation.pruned.join(', ')}.` : '';
          setStatus(status, 'ok', `New key ${rotation.kid} published; it signs from ${formatTime(rotation.signs_from)}.${pruned}`);
          void load();
        },
        (error) => {
          rotate.disabled = false;
          showWriteError(status, error);
        },
      );
    });
  });
}

/** @param {SigningKey} a @param {SigningKey} b */
function newestFirst(a, b) {
  return Number(b.created_at) - Number(a.created_at);
}

/** @param {SigningKey} key */
function keyRow(key) {
  const now = Date.now() / 1000;
  const pending = !key.signing && key.retired_at === null && key.signs_from !== null && Number(key.signs_from) > now;
  const state = [
    key.signing ? h('span', { class: 'badge' }, 'signing') : null,
    key.published ? h('span', { class: 'badge muted-badge' }, 'published') : h('span', { class: 'meta' }, 'not published'),
    pending ? h('span', { class: 'badge pending-badge' }, 'next') : null,
  ];
  return h(
    'tr',
    { 'data-kid': key.kid, class: key.signing ? 'active' : '' },
    h('td', { class: 'kid' }, h('code', {}, key.kid)),
    h('td', {}, key.alg),
    h('td', {}, h('div', { class: 'row-actions' }, state)),
    h('td', { class: 'time' }, formatTime(key.created_at)),
    h('td', { class: 'time' }, formatTime(key.signs_from)),
    h('td', { class: 'time' }, formatTime(key.retired_at)),
    h('td', {}, h('details', {}, h('summary', {}, 'JWK'), h('pre', {}, prettyJson(key.public_jwk)))),
  );
}
