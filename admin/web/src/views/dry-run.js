// @ts-check
// The dry-run panel: runs the editor's current text against a sample request on the server
// (nothing is stored) and shows the response, the decoded issued tokens and the procedure's logs.
import { h, replaceChildren, setStatus, prettyJson, formatTime } from '../dom.js';
import { api, ApiError, describeError } from '../api.js';

/** @import { Client, DryRunRequest, DryRunResult, FormParams, IssuedToken, CompileError } from '../types.js' */

/**
 * Claims of a sample subject token. The server signs them as a token it issued to the chosen
 * client, filling in iss, aud, iat, exp and jti unless given here.
 */
const SAMPLE_SUBJECT_CLAIMS = { sub: 'alice', scope: 'invoicing trigger_invoicing' };

/**
 * Parses "name=value" lines; a repeated name gives a list, as in a form post.
 * @param {string} text
 * @returns {FormParams}
 */
export function parseParams(text) {
  /** @type {FormParams} */
  const params = {};
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`parameters, line ${index + 1}: expected name=value`);
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const existing = params[name];
    params[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  });
  return params;
}

/**
 * @param {string} label
 * @param {string} text
 * @returns {Record<string, unknown> | undefined}
 */
function parseClaims(label, text) {
  if (!text.trim()) return undefined;
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${label} are not valid JSON: ${error instanceof Error ? error.message : ''}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${label} must be a JSON object`);
  return /** @type {Record<string, unknown>} */ (value);
}

/**
 * @param {{ procedureId: string, getFlow: () => string, getSource: () => string,
 *   onCompileErrors: (errors: CompileError[]) => void }} options
 */
export function createDryRunPanel({ procedureId, getFlow, getSource, onCompileErrors }) {
  const claims = h('textarea', { id: 'dryrun-subject-claims', rows: 9, spellcheck: 'false' });
  claims.value = prettyJson(SAMPLE_SUBJECT_CLAIMS);
  const subjectToken = h('input', { id: 'dryrun-subject-token', type: 'text', spellcheck: 'false', autocomplete: 'off', placeholder: 'eyJ… (optional)' });
  const actorClaims = h('textarea', { id: 'dryrun-actor-claims', rows: 3, spellcheck: 'false', placeholder: '{"sub": "orders-service"} (optional)' });
  const client = h('select', { id: 'dryrun-client' }, h('option', { value: '' }, 'sample client (allows the requested and subject scopes)'));
  /** @type {Map<string, Client>} */
  const clients = new Map();
  const params = h('textarea', { id: 'dryrun-params', rows: 3, spellcheck: 'false' });
  params.value = 'scope=invoicing';
  const run = h('button', { id: 'dryrun-run', type: 'submit', class: 'primary' }, 'Dry-run editor contents');
  const status = h('p', { id: 'dryrun-status', role: 'status', 'aria-live': 'polite', class: 'status' });
  const result = h('div', { id: 'dryrun-result', 'aria-label': 'Dry-run result' });

  const form = h(
    'form',
    { id: 'dryrun-form', 'aria-labelledby': 'dryrun-heading' },
    h('label', { for: 'dryrun-subject-claims' }, 'Subject token claims (JSON; iss, aud, iat, exp default to a token issued by this server)'),
    claims,
    h('label', { for: 'dryrun-subject-token' }, 'Subject token (a JWT; used instead of the claims)'),
    subjectToken,
    h('label', { for: 'dryrun-actor-claims' }, 'Actor token claims (JSON)'),
    actorClaims,
    h('label', { for: 'dryrun-client' }, 'Client'),
    client,
    h('label', { for: 'dryrun-params' }, 'Request parameters (one name=value per line)'),
    params,
    h('div', { class: 'actions' }, run),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    /** @type {DryRunRequest} */
    let body;
    try {
      body = {
        flow: getFlow(),
        source: getSource(),
        params: parseParams(params.value),
        subject_claims: subjectToken.value.trim() ? undefined : parseClaims('Subject token claims', claims.value),
        subject_token: subjectToken.value.trim() || undefined,
        actor_claims: parseClaims('Actor token claims', actorClaims.value),
        client: clients.get(client.value),
      };
    } catch (error) {
      setStatus(status, 'error', error instanceof Error ? error.message : String(error));
      return;
    }
    run.disabled = true;
    setStatus(status, 'info', 'Running…');
    result.replaceChildren();
    api.dryRun(procedureId, body).then(
      (answer) => {
        const ok = answer.status < 400;
        setStatus(status, ok ? 'ok' : 'error', `Token endpoint would answer HTTP ${answer.status}.`);
        replaceChildren(result, ...renderResult(answer));
      },
      (error) => {
        if (error instanceof ApiError && error.status === 422 && error.details.length > 0) {
          onCompileErrors(error.details);
          setStatus(status, 'error', `Did not run: ${error.details.length} compile error(s), shown in the editor.`);
        } else {
          setStatus(status, 'error', describeError(error));
        }
      },
    ).finally(() => {
      run.disabled = false;
    });
  });

  const element = h('section', { id: 'dryrun', class: 'card', 'aria-labelledby': 'dryrun-heading' }, h('h3', { id: 'dryrun-heading' }, 'Dry run'), form, status, result);

  return {
    element,
    /**
     * @param {Client[]} list the configured clients, used as they are (they carry no secrets)
     * @param {string | null} preferred a client to dry-run as by default (one that uses the procedure)
     */
    setClients(list, preferred = null) {
      for (const c of list) clients.set(c.client_id, c);
      client.append(...list.map((c) => h('option', { value: c.client_id }, c.client_id)));
      if (preferred !== null && clients.has(preferred)) client.value = preferred;
    },
  };
}

/** @param {DryRunResult} answer */
function renderResult(answer) {
  const issued = answer.issued ?? [];
  const logs = answer.logs ?? [];
  const corrections = answer.corrections ?? [];
  return [
    corrections.length === 0
      ? ''
      : h('div', { id: 'dryrun-corrections', class: 'note', role: 'note' },
        h('p', {}, "The server corrected the procedure's response to match the issued token (it logs a warning when it does):"),
        h('ul', {}, corrections.map((c) => h('li', { 'data-member': c.member }, h('code', {}, c.member), ` returned ${shownValue(c.returned)}, sent ${shownValue(c.sent)}`)))),
    h('h4', {}, 'Response body'),
    h('pre', { id: 'dryrun-body' }, prettyJson(answer.body)),
    h('h4', {}, `Issued tokens (${issued.length})`),
    h('div', { id: 'dryrun-issued' }, issued.map(renderToken)),
    h('h4', {}, `Logs (${logs.length})`),
    h('ol', { id: 'dryrun-logs', class: 'logs' }, logs.map((l) => h('li', { 'data-level': l.level }, h('span', { class: 'level' }, l.level), ' ', l.message))),
    answer.diagnostic === undefined || answer.diagnostic === null ? '' : [h('h4', {}, 'Diagnostic'), h('pre', { id: 'dryrun-diagnostic' }, prettyJson(answer.diagnostic))],
  ];
}

/** @param {unknown} value */
function shownValue(value) {
  return value === null || value === undefined ? '(absent)' : JSON.stringify(value);
}

/** @param {IssuedToken} token @param {number} index */
function renderToken(token, index) {
  const exp = token.claims?.['exp'];
  return h(
    'article',
    { class: 'token', 'data-kind': token.kind, 'aria-label': `Issued ${token.kind} ${index + 1}` },
    h('h5', {}, token.kind, typeof exp === 'number' ? h('small', {}, ` expires ${formatTime(exp)}`) : ''),
    h('div', { class: 'token-parts' },
      h('div', {}, h('h6', {}, 'Header'), h('pre', { class: 'token-header' }, prettyJson(token.header))),
      h('div', {}, h('h6', {}, 'Claims'), h('pre', { class: 'token-claims' }, prettyJson(token.claims))),
    ),
  );
}
