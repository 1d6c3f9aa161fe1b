// @ts-check
import { h, dataTable, setStatus, formatTime } from '../dom.js';
import { api, describeError } from '../api.js';

/** @import { AuditEntry } from '../types.js' */

const AUDIT_LIMIT = 200;

/**
 * Who changed what, when: newest first.
 * @param {HTMLElement} app
 */
export function renderAudit(app) {
  const status = h('p', { id: 'audit-status', role: 'status', class: 'status' }, 'Loading…');
  const tbody = h('tbody');
  const refresh = h('button', { id: 'audit-refresh', type: 'button' }, 'Refresh');
  app.replaceChildren(
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'section-head' }, h('h2', {}, 'Audit trail'), refresh),
      status,
      dataTable('audit-table', 'Audit trail', ['When', 'Actor', 'Action', 'Target', 'Version', 'Details'], tbody),
    ),
  );
  const load = () => {
    setStatus(status, 'info', 'Loading…');
    api.listAudit(AUDIT_LIMIT).then(
      (entries) => {
        status.textContent = entries.length === 0 ? 'No changes recorded yet.' : '';
        tbody.replaceChildren(...entries.map(row));
      },
      (error) => setStatus(status, 'error', describeError(error)),
    );
  };
  refresh.addEventListener('click', load);
  load();
}

/**
 * Procedure versions are numbers; other targets may record something else.
 * @param {string | number | null | undefined} version
 */
function v(version) {
  if (version === null || version === undefined || version === '') return '';
  return /^\d+$/.test(String(version)) ? `v${version}` : String(version);
}

/** @param {AuditEntry} e */
function row(e) {
  const versions = v(e.old_version) ? `${v(e.old_version)} → ${v(e.new_version)}` : v(e.new_version);
  const details = e.details === null || e.details === undefined ? '' : typeof e.details === 'string' ? e.details : JSON.stringify(e.details);
  return h(
    'tr',
    { 'data-action': e.action },
    h('td', { class: 'nowrap' }, formatTime(e.at)),
    h('td', {}, e.actor),
    h('td', {}, h('code', {}, e.action)),
    h('td', {}, `${e.target_type} `, h('code', {}, e.target_id)),
    h('td', { class: 'nowrap' }, versions),
    h('td', { class: 'details' }, details),
  );
}
