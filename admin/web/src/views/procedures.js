// @ts-check
import { h, dataTable, setStatus, formatTime, shortHash } from '../dom.js';
import { api, describeError } from '../api.js';
import { FLOWS } from '../types.js';

/** @import { ProcedureSummary } from '../types.js' */

/** @param {string} id @param {string} [flow] */
export function procedureHref(id, flow) {
  return `#/procedures/${encodeURIComponent(id)}${flow ? `?flow=${encodeURIComponent(flow)}` : ''}`;
}

/**
 * The list of procedures and a form to start a new one.
 * @param {HTMLElement} app
 */
export function renderProcedures(app) {
  const status = h('p', { id: 'procedures-status', role: 'status', class: 'status' }, 'Loading…');
  const tbody = h('tbody');
  const table = dataTable('procedures-table', 'Procedures', ['Id', 'Flow', 'Active', 'Latest', 'SHA-256', 'Updated'], tbody);

  const idInput = h('input', { id: 'new-procedure-id', name: 'id', required: true, pattern: '[A-Za-z0-9._\\-]{1,128}', title: 'Letters, digits, dots, dashes and underscores (at most 128)' });
  const flowSelect = h('select', { id: 'new-procedure-flow', name: 'flow' }, FLOWS.map((f) => h('option', { value: f }, f)));
  const form = h(
    'form',
    { id: 'new-procedure-form', class: 'inline-form', 'aria-label': 'New procedure' },
    h('label', { for: 'new-procedure-id' }, 'New procedure id'),
    idInput,
    h('label', { for: 'new-procedure-flow' }, 'Flow'),
    flowSelect,
    h('button', { id: 'new-procedure-open', type: 'submit' }, 'Open in editor'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (form.reportValidity()) location.hash = procedureHref(idInput.value.trim(), flowSelect.value);
  });

  app.replaceChildren(
    h('section', { class: 'card' }, h('h2', {}, 'Procedures'), status, table),
    h('section', { class: 'card' }, h('h3', {}, 'Start a procedure'), form),
  );

  api.listProcedures().then(
    (procedures) => {
      status.textContent = procedures.length === 0 ? 'No procedures yet.' : '';
      tbody.replaceChildren(...sortById(procedures).map(row));
    },
    (error) => setStatus(status, 'error', describeError(error)),
  );
}

/** @param {ProcedureSummary[]} procedures */
function sortById(procedures) {
  return [...procedures].sort((a, b) => a.id.localeCompare(b.id));
}

/** @param {ProcedureSummary} p */
function row(p) {
  return h(
    'tr',
    {},
    h('td', {}, h('a', { href: procedureHref(p.id) }, p.id)),
    h('td', {}, h('code', {}, p.flow)),
    h('td', {}, p.active_version === null ? '—' : `v${p.active_version}`),
    h('td', {}, `v${p.latest_version}`),
    h('td', {}, h('code', { title: p.sha256 }, shortHash(p.sha256))),
    h('td', {}, formatTime(p.updated_at)),
  );
}
