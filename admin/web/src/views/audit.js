// @ts-check
// The audit trail: who changed what, when, and why (the change note), newest first. Filters are
// exact matches (combined) and live in the hash query, so a link reproduces the view, e.g.
// #/audit?target_type=procedure&target_id=orders-exchange. Pages follow the API's cursors;
// "Newer" goes back through the cursors already used.
import { h, dataTable, setStatus, formatTime } from '../dom.js';
import { procedureApi, describeError } from '../api.js';

/** @import { AuditEntry } from '../types.js' */

/** The query parameters the audit view reads, in the order a link writes them. */
export const AUDIT_FILTERS = /** @type {const} */ (['target_type', 'target_id', 'actor', 'action']);
const TARGET_TYPES = ['procedure', 'client', 'trusted_issuer', 'signing_key', 'admin_key'];
const ACTIONS = [
  'procedure.upload', 'procedure.activate', 'procedure.delete',
  'client.create', 'client.replace', 'client.delete',
  'trusted_issuer.put', 'trusted_issuer.delete',
  'signing_key.add', 'signing_key.prune',
  'admin_key.create', 'admin_key.delete', 'admin_key.set',
];
const PAGE_SIZES = [20, 50, 100, 200];
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;

/**
 * A link to the audit view with these filters (empty values are left out).
 * @param {Partial<Record<(typeof AUDIT_FILTERS)[number] | 'limit', string>>} filter
 */
export function auditHref(filter) {
  const query = new URLSearchParams();
  for (const name of [...AUDIT_FILTERS, 'limit']) {
    const value = filter[/** @type {(typeof AUDIT_FILTERS)[number] | 'limit'} */ (name)];
    if (value) query.set(name, value);
  }
  const text = query.toString();
  return text ? `#/audit?${text}` : '#/audit';
}

/**
 * @param {HTMLElement} app
 * @param {URLSearchParams} [query] the hash's query: the filters and `limit`
 */
export function renderAudit(app, query = new URLSearchParams()) {
  /** @type {Record<string, string>} */
  const filter = {};
  for (const name of AUDIT_FILTERS) {
    const value = query.get(name)?.trim();
    if (value) filter[name] = value.slice(0, 256);
  }
  const asked = Number(query.get('limit'));
  const limit = Number.isInteger(asked) && asked >= 1 && asked <= MAX_PAGE_SIZE ? asked : DEFAULT_PAGE_SIZE;

  const status = h('p', { id: 'audit-status', role: 'status', 'aria-live': 'polite', class: 'status' }, 'Loading…');
  const tbody = h('tbody');
  const refresh = h('button', { id: 'audit-refresh', type: 'button' }, 'Refresh');

  const targetType = h('select', { id: 'audit-target-type', name: 'target_type' },
    h('option', { value: '' }, 'any'),
    TARGET_TYPES.map((t) => h('option', { value: t }, t)));
  // A type the list does not know (a newer server's) still shows and filters.
  if (filter['target_type'] && !TARGET_TYPES.includes(filter['target_type'])) targetType.append(h('option', { value: filter['target_type'] }, filter['target_type']));
  targetType.value = filter['target_type'] ?? '';
  const targetId = h('input', { id: 'audit-target-id', name: 'target_id', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: 256, value: filter['target_id'] ?? '' });
  const actor = h('input', { id: 'audit-actor', name: 'actor', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: 256, placeholder: 'admin-key:name', value: filter['actor'] ?? '' });
  const action = h('input', { id: 'audit-action', name: 'action', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: 256, list: 'audit-actions', value: filter['action'] ?? '' });
  const pageSize = h('select', { id: 'audit-limit', name: 'limit' },
    [...new Set([...PAGE_SIZES, limit])].sort((a, b) => a - b).map((n) => h('option', { value: n }, String(n))));
  pageSize.value = String(limit);
  const clear = h('a', { id: 'audit-clear', href: '#/audit', class: 'button' }, 'Clear');
  const form = h(
    'form',
    { id: 'audit-filters', class: 'filter-form', 'aria-label': 'Filter the audit trail' },
    field('audit-target-type', 'Target type', targetType),
    field('audit-target-id', 'Target id', targetId),
    field('audit-actor', 'Actor', actor),
    field('audit-action', 'Action', action),
    field('audit-limit', 'Per page', pageSize),
    h('div', { class: 'filter-buttons' }, h('button', { id: 'audit-apply', type: 'submit', class: 'primary' }, 'Filter'), clear),
    h('datalist', { id: 'audit-actions' }, ACTIONS.map((a) => h('option', { value: a }))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = auditHref({
      target_type: targetType.value,
      target_id: targetId.value.trim(),
      actor: actor.value.trim(),
      action: action.value.trim(),
      limit: pageSize.value === String(DEFAULT_PAGE_SIZE) ? '' : pageSize.value,
    });
    // The same hash fires no hashchange: load again instead (the first page).
    if (location.hash === next) reload();
    else location.hash = next;
  });

  const newer = h('button', { id: 'audit-newer', type: 'button', disabled: true }, '← Newer');
  const older = h('button', { id: 'audit-next', type: 'button', disabled: true }, 'Next (older) →');
  const pageLabel = h('span', { id: 'audit-page', class: 'meta' });
  const filterSummary = h('p', { id: 'audit-filter-summary', class: 'meta' }, describeFilter(filter));

  app.replaceChildren(
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'section-head' }, h('h2', {}, 'Audit trail'), refresh),
      form,
      filterSummary,
      status,
      dataTable('audit-table', 'Audit trail', ['When', 'Actor', 'Action', 'Target', 'Version', 'Note', 'Details'], tbody),
      h('div', { class: 'pager' }, newer, pageLabel, older),
    ),
  );

  /** Cursors of the pages shown so far: the last is the current page's ('' is the first page). */
  let cursors = [''];
  /** @type {string | null} */
  let nextCursor = null;
  let loading = false;

  const table = tbody.closest('table') ?? tbody;
  const load = () => {
    loading = true;
    table.setAttribute('aria-busy', 'true');
    newer.disabled = true;
    older.disabled = true;
    setStatus(status, 'info', 'Loading…');
    const cursor = cursors.at(-1) ?? '';
    procedureApi.listAudit(filter, limit, cursor).then(
      (page) => {
        nextCursor = page.next_cursor;
        const first = cursors.length === 1;
        status.textContent = page.items.length > 0 ? '' : first ? (Object.keys(filter).length > 0 ? 'No entries match these filters.' : 'No changes recorded yet.') : 'No older entries.';
        tbody.replaceChildren(...page.items.map(row));
        pageLabel.textContent = `Page ${cursors.length}`;
      },
      (error) => setStatus(status, 'error', describeError(error)),
    ).finally(() => {
      loading = false;
      table.setAttribute('aria-busy', 'false');
      newer.disabled = cursors.length <= 1;
      older.disabled = nextCursor === null;
    });
  };
  const reload = () => {
    cursors = [''];
    nextCursor = null;
    load();
  };

  older.addEventListener('click', () => {
    if (loading || nextCursor === null) return;
    cursors = [...cursors, nextCursor];
    load();
  });
  newer.addEventListener('click', () => {
    if (loading || cursors.length <= 1) return;
    cursors = cursors.slice(0, -1);
    load();
  });
  refresh.addEventListener('click', () => {
    if (!loading) load();
  });
  load();
}

/**
 * @param {string} id
 * @param {string} label
 * @param {HTMLElement} control
 */
function field(id, label, control) {
  return h('div', { class: 'filter-field' }, h('label', { for: id }, label), control);
}

/** @param {Record<string, string>} filter */
function describeFilter(filter) {
  const parts = AUDIT_FILTERS.flatMap((name) => (filter[name] ? [`${name.replace('_', ' ')} = ${filter[name]}`] : []));
  return parts.length === 0 ? 'All entries, newest first.' : `Entries where ${parts.join(' and ')}, newest first.`;
}

/**
 * Procedure versions are numbers; other targets may record something else.
 * @param {string | number | null | undefined} version
 */
function v(version) {
  if (version === null || version === undefined || version === '') return '';
  return /^\d+$/.test(String(version)) ? `v${version}` : String(version);
}

/**
 * The change note of an entry (in its details) and the other details, one `name: value` line each.
 * @param {unknown} details
 * @returns {{ note: string, rest: Array<[string, string]> }}
 */
function splitDetails(details) {
  if (details === null || details === undefined) return { note: '', rest: [] };
  if (typeof details !== 'object' || Array.isArray(details)) return { note: '', rest: [['', typeof details === 'string' ? details : JSON.stringify(details)]] };
  const { note, ...rest } = /** @type {Record<string, unknown>} */ (details);
  return {
    note: typeof note === 'string' ? note : '',
    rest: Object.entries(rest).map(([name, value]) => [name, Array.isArray(value) ? value.map(String).join(', ') : typeof value === 'string' ? value : JSON.stringify(value)]),
  };
}

/** Long hashes shortened (the whole value stays in the title). */
const LONG_HEX = /^[0-9a-f]{24,}$/i;

/** @param {Array<[string, string]>} rest */
function detailLines(rest) {
  return rest.map(([name, value]) => {
    const shown = LONG_HEX.test(value) ? `${value.slice(0, 12)}…` : value;
    return h('div', { title: value }, name ? h('span', { class: 'meta' }, `${name}: `) : '', shown === '' ? '(none)' : shown);
  });
}

/** @param {AuditEntry} e */
function row(e) {
  const versions = v(e.old_version) ? `${v(e.old_version)} → ${v(e.new_version)}` : v(e.new_version);
  const { note, rest } = splitDetails(e.details);
  const target = e.target_type === 'procedure' ? h('a', { href: `#/procedures/${encodeURIComponent(e.target_id)}`, title: 'Open the procedure' }, e.target_id) : h('code', {}, e.target_id);
  return h(
    'tr',
    { 'data-action': e.action, 'data-id': e.id },
    h('td', { class: 'audit-when' }, formatTime(e.at)),
    h('td', {}, h('a', { href: auditHref({ actor: e.actor }), title: `Only changes by ${e.actor}` }, e.actor)),
    h('td', {}, h('code', {}, e.action)),
    h('td', {}, h('a', { href: auditHref({ target_type: e.target_type, target_id: e.target_id }), class: 'meta', title: `Only changes of ${e.target_type} ${e.target_id}` }, e.target_type), ' ', target),
    h('td', { class: 'nowrap' }, versions),
    h('td', { class: 'audit-note' }, note),
    h('td', { class: 'details' }, ...detailLines(rest)),
  );
}
