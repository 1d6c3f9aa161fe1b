// @ts-check
import { h, dataTable, setStatus, formatTime } from '../dom.js';
import { configApi, describeError } from '../api.js';
import { canWrite, confirmInPage, currentCaller, field, roleNote, showWriteError, shownOnce } from './forms.js';

/** @import { AdminKey, Me } from '../types.js' */

const ROLES = [
  ['viewer', 'viewer: reads everything except the admin keys'],
  ['author', 'author: also uploads, activates, dry-runs and deletes procedures'],
  ['admin', 'admin: everything, including clients, issuers, signing and admin keys'],
];
const NAME_PATTERN = '(?!\\.{1,2}$)[A-Za-z0-9._~:\\-]{1,128}';

/**
 * Named admin keys: list, create (the key is shown once), delete. Only the admin role manages
 * them; the API refuses every other role, reads included.
 * @param {HTMLElement} app
 */
export function renderAdminKeys(app) {
  const status = h('p', { id: 'admin-keys-status', role: 'status', 'aria-live': 'polite', class: 'status' }, 'Loading…');
  const body = h('tbody');
  const note = h('div');
  const once = h('div', { id: 'admin-key-once' });
  const nameInput = h('input', { id: 'admin-key-name', required: true, pattern: NAME_PATTERN, maxlength: 128, spellcheck: 'false', autocomplete: 'off' });
  const roleSelect = h('select', { id: 'admin-key-role' }, ROLES.map(([value, label]) => h('option', { value }, label)));
  const create = h('button', { id: 'admin-key-create', type: 'submit', class: 'primary' }, 'Create key');
  const form = h(
    'form',
    { id: 'admin-key-form', class: 'inline-form', 'aria-label': 'New admin key', hidden: true },
    field('Name', nameInput),
    field('Role', roleSelect),
    create,
  );
  const createCard = h('section', { class: 'card', hidden: true }, h('h3', {}, 'New admin key'), form, once);
  app.replaceChildren(
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Admin keys'),
      h(
        'p',
        { class: 'meta' },
        'Named keys for the admin API and this page, each with a role. A key is shown once, when it is created; the server keeps only its hash. The main key (TOKENPROC_ADMIN_KEY) is not listed.',
      ),
      note,
      status,
      dataTable('admin-keys-table', 'Admin keys', ['Name', 'Role', 'Created', ''], body),
    ),
    createCard,
  );

  /** @type {Me | null} */
  let me = null;
  const load = () =>
    configApi.listAdminKeys().then(
      (keys) => {
        if (status.dataset['kind'] !== 'ok') status.textContent = keys.length === 0 ? 'No named admin keys yet.' : '';
        body.replaceChildren(...keys.map((key) => keyRow(key, canWrite(me), remove)));
      },
      (error) => showWriteError(status, error),
    );

  /** @param {AdminKey} key */
  const remove = (key) => {
    confirmInPage({
      id: 'delete-admin-key-dialog',
      title: `Delete the admin key ${key.name}?`,
      body: [`Anyone using it (role ${key.role}) is refused from now on${me && me.actor === `admin-key:${key.name}` ? ', including you: this page signs out' : ''}.`],
      confirmLabel: 'Delete key',
      danger: true,
      typeToConfirm: key.name,
    }).then(({ confirmed }) => {
      if (!confirmed) return;
      configApi.deleteAdminKey(key.name).then(
        () => {
          setStatus(status, 'ok', `Admin key ${key.name} deleted.`);
          void load();
        },
        (error) => showWriteError(status, error, 'admin key'),
      );
    });
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!new RegExp(`^${NAME_PATTERN}$`).test(name)) {
      setStatus(status, 'error', 'The name must be 1 to 128 characters from A-Z a-z 0-9 . _ ~ : -');
      nameInput.focus();
      return;
    }
    create.disabled = true;
    configApi.createAdminKey({ name, role: roleSelect.value }).then(
      (created) => {
        create.disabled = false;
        nameInput.value = '';
        setStatus(status, 'ok', `Admin key ${created.name} created with role ${created.role}.`);
        once.replaceChildren(
          shownOnce({
            id: 'admin-key-once-box',
            title: `The key ${created.name} (${created.role})`,
            value: created.key,
            note: 'this is the only time the key is shown; the server keeps only its hash. If it is lost, delete it and create another.',
          }),
        );
        void load();
      },
      (error) => {
        create.disabled = false;
        showWriteError(status, error, 'admin key');
      },
    );
  });

  currentCaller().then(
    (caller) => {
      me = caller;
      note.replaceChildren(roleNote(me));
      if (me !== null && me.role !== 'admin') {
        setStatus(status, 'info', `Managing admin keys needs the admin role; this key has the role ${me.role}.`);
        return;
      }
      form.hidden = false;
      createCard.hidden = false;
      void load();
    },
    (error) => setStatus(status, 'error', describeError(error)),
  );
}

/**
 * @param {AdminKey} key
 * @param {boolean} writable
 * @param {(key: AdminKey) => void} remove
 */
function keyRow(key, writable, remove) {
  const button = h('button', { type: 'button', class: 'danger', id: `admin-key-delete-${key.name}`, hidden: !writable }, 'Delete…');
  button.addEventListener('click', () => remove(key));
  return h(
    'tr',
    { 'data-name': key.name },
    h('td', {}, h('code', {}, key.name)),
    h('td', {}, key.role),
    h('td', { class: 'nowrap' }, formatTime(key.created_at)),
    h('td', {}, h('div', { class: 'row-actions' }, button)),
  );
}
