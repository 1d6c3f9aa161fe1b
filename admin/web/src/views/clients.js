// @ts-check
import { h, dataTable, setStatus, prettyJson } from '../dom.js';
import { api, describeError } from '../api.js';
import { procedureHref } from './procedures.js';

/** @import { Client, TrustedIssuer } from '../types.js' */

/**
 * Clients (no secrets are ever returned) and trusted issuers.
 * @param {HTMLElement} app
 */
export function renderClients(app) {
  const clientsStatus = h('p', { id: 'clients-status', role: 'status', class: 'status' }, 'Loading…');
  const clientsBody = h('tbody');
  const issuersStatus = h('p', { id: 'issuers-status', role: 'status', class: 'status' }, 'Loading…');
  const issuersBody = h('tbody');
  app.replaceChildren(
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Clients'),
      clientsStatus,
      dataTable('clients-table', 'Clients', ['Client id', 'Name', 'Authentication', 'Grant types', 'Scope', 'Audiences', 'Procedures', 'Properties'], clientsBody),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Trusted issuers'),
      issuersStatus,
      dataTable('issuers-table', 'Trusted issuers', ['Id', 'Issuer', 'Keys', 'Algorithms', 'Audiences'], issuersBody),
    ),
  );

  api.listClients().then(
    (clients) => {
      clientsStatus.textContent = clients.length === 0 ? 'No clients yet.' : '';
      clientsBody.replaceChildren(...clients.map(clientRow));
    },
    (error) => setStatus(clientsStatus, 'error', describeError(error)),
  );
  api.listTrustedIssuers().then(
    (issuers) => {
      issuersStatus.textContent = issuers.length === 0 ? 'No trusted issuers.' : '';
      issuersBody.replaceChildren(...issuers.map(issuerRow));
    },
    (error) => setStatus(issuersStatus, 'error', describeError(error)),
  );
}

/** @param {string[] | undefined} values */
function list(values) {
  return (values ?? []).map((v) => h('div', {}, h('code', {}, v)));
}

/** @param {Client} c */
function clientRow(c) {
  const procedures = Object.entries(c.procedures ?? {}).map(([flow, id]) =>
    h('div', {}, h('a', { href: procedureHref(id) }, id), ' ', h('small', {}, `(${flow})`)),
  );
  const properties = c.properties && Object.keys(c.properties).length > 0 ? h('pre', {}, prettyJson(c.properties)) : '';
  return h(
    'tr',
    {},
    h('td', {}, h('code', {}, c.client_id)),
    h('td', {}, c.name ?? ''),
    h('td', {}, c.token_endpoint_auth_method ?? (c.jwks ? 'private_key_jwt' : '')),
    h('td', {}, list(c.grant_types)),
    h('td', {}, list(c.scope ? c.scope.split(' ').filter(Boolean) : [])),
    h('td', {}, list(c.audiences)),
    h('td', {}, procedures),
    h('td', {}, properties),
  );
}

/** @param {TrustedIssuer} t */
function issuerRow(t) {
  return h(
    'tr',
    {},
    h('td', {}, h('code', {}, t.id)),
    h('td', {}, h('code', {}, t.issuer)),
    h('td', {}, t.jwks_uri ? h('code', {}, t.jwks_uri) : t.jwks ? 'inline JWKS' : ''),
    h('td', {}, list(t.allowed_algs)),
    h('td', {}, list(t.audiences)),
  );
}
