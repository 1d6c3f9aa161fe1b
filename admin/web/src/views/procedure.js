// @ts-check
// One procedure: the editor with publish and compile errors, the dry-run panel, the versions.
import { h, dataTable, setStatus, formatTime, shortHash } from '../dom.js';
import { api, ApiError, describeError } from '../api.js';
import { createProcedureEditor } from '../editor.js';
import { procedureTemplate } from '../templates.js';
import { FLOWS } from '../types.js';
import { createDryRunPanel } from './dry-run.js';

/** @import { CompileError, LintWarning, ProcedureVersion } from '../types.js' */

const MAX_UPLOAD_BYTES = 256 * 1024;

/**
 * @param {HTMLElement} app
 * @param {string} id
 * @param {string | null} requestedFlow the flow chosen when starting a new procedure
 * @returns {() => void} disposes the editor
 */
export function renderProcedure(app, id, requestedFlow) {
  let loadedSource = '';
  let dirty = false;
  /** True until the procedure is first published: the editor then holds a flow's template. */
  let unpublished = false;

  const title = h('h2', { id: 'procedure-title' }, 'Procedure ', h('code', {}, id));
  const meta = h('p', { id: 'procedure-meta', class: 'meta' }, 'Loading…');
  const flow = h('select', { id: 'procedure-flow' }, FLOWS.map((f) => h('option', { value: f }, f)));
  if (requestedFlow && FLOWS.some((f) => f === requestedFlow)) flow.value = requestedFlow;
  const file = h('input', { id: 'procedure-file', class: 'file-input', type: 'file', accept: '.js,text/javascript,text/plain' });
  const publish = h('button', { id: 'publish', type: 'button', class: 'primary', title: 'Compile on the server, store a new version and make it active (Ctrl+S)' }, 'Publish');
  const dirtyMark = h('span', { id: 'dirty-indicator', class: 'dirty', hidden: true }, 'Unsaved changes');
  const editorHost = h('div', { id: 'editor', class: 'editor' });
  const publishStatus = h('p', { id: 'publish-status', role: 'status', 'aria-live': 'polite', class: 'status' });
  const errorList = h('ol', { id: 'compile-errors', class: 'compile-errors', 'aria-label': 'Compile errors' });
  const warningList = h('ol', { id: 'lint-warnings', class: 'compile-errors lint-warnings', 'aria-label': 'Lint warnings' });
  const versionsStatus = h('p', { id: 'versions-status', role: 'status', 'aria-live': 'polite', class: 'status' });
  const versionsBody = h('tbody');
  const usedBy = h('ul', { id: 'procedure-clients', class: 'plain-list' }, h('li', { class: 'meta' }, 'Loading…'));

  /** @param {boolean} value */
  const setDirty = (value) => {
    dirty = value;
    dirtyMark.hidden = !value;
  };

  const editor = createProcedureEditor(editorHost, {
    source: '',
    label: `Source of procedure ${id}`,
    onChange: (source) => setDirty(source !== loadedSource),
    onSave: () => publish.click(),
  });

  /** @param {CompileError[]} errors */
  const showCompileErrors = (errors) => {
    editor.showCompileErrors(errors);
    errorList.replaceChildren(
      ...errors.map((e) =>
        h('li', {}, h('button', { type: 'button', class: 'link', 'data-line': e.line, onclick: () => editor.focusAt(e.line, e.column) }, `Line ${e.line}, column ${e.column}: ${e.message}`)),
      ),
    );
  };

  /**
   * What `tokenproc check` found in the published version: marked in the editor and listed.
   * @param {LintWarning[]} warnings
   */
  const showWarnings = (warnings) => {
    editor.showCompileErrors(warnings.map((w) => ({ line: w.line, column: w.column, message: `${w.message} [${w.rule}]`, severity: 'warning' })));
    warningList.replaceChildren(
      ...warnings.map((w) =>
        h('li', { 'data-rule': w.rule }, h('button', { type: 'button', class: 'link', 'data-line': w.line, onclick: () => editor.focusAt(w.line, w.column) }, `Line ${w.line}, column ${w.column}: ${w.message} [${w.rule}]`)),
      ),
    );
  };

  /**
   * Puts text into the editor as an edit: undoable, and dirty until published.
   * @param {string} text
   */
  const replaceAsEdit = (text) => {
    editor.view.dispatch({ changes: { from: 0, to: editor.view.state.doc.length, insert: text }, userEvent: 'input.paste' });
  };

  /** @param {string} source */
  const loadSource = (source) => {
    loadedSource = source;
    editor.load(source);
    setDirty(false);
    errorList.replaceChildren();
    warningList.replaceChildren();
  };

  const dryRun = createDryRunPanel({
    procedureId: id,
    getFlow: () => flow.value,
    getSource: () => editor.getSource(),
    onCompileErrors: showCompileErrors,
  });

  // Picking another flow for a new, untouched procedure swaps in that flow's template.
  flow.addEventListener('change', () => {
    if (unpublished && !dirty) loadSource(procedureTemplate(flow.value));
  });

  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    if (chosen.size > MAX_UPLOAD_BYTES) {
      setStatus(publishStatus, 'error', `${chosen.name} is larger than ${MAX_UPLOAD_BYTES / 1024} KiB.`);
      return;
    }
    chosen.text().then((text) => {
      replaceAsEdit(text);
      setStatus(publishStatus, 'info', `Loaded ${chosen.name} into the editor; not published yet.`);
      file.value = '';
    });
  });

  publish.addEventListener('click', () => {
    if (publish.disabled) return;
    const source = editor.getSource();
    publish.disabled = true;
    setStatus(publishStatus, 'info', 'Compiling and publishing…');
    api.publish(id, { flow: flow.value, source }).then(
      (published) => {
        unpublished = false;
        loadedSource = source;
        setDirty(editor.getSource() !== source);
        showCompileErrors([]);
        const warnings = published.warnings ?? [];
        showWarnings(warnings);
        versionsStatus.textContent = '';
        const lintNote = warnings.length === 0 ? '' : ` ${warnings.length} lint warning(s), listed below.`;
        setStatus(publishStatus, warnings.length === 0 ? 'ok' : 'warning', `Published version ${published.version} (sha256 ${shortHash(published.sha256)}); it is now active.${lintNote}`);
        refreshVersions();
      },
      (error) => {
        if (error instanceof ApiError && error.status === 422 && error.details.length > 0) {
          showCompileErrors(error.details);
          setStatus(publishStatus, 'error', `Not published: ${error.details.length} compile error(s).`);
        } else {
          setStatus(publishStatus, 'error', `Not published: ${describeError(error)}`);
        }
      },
    ).finally(() => {
      publish.disabled = false;
    });
  });

  /** @param {ProcedureVersion} v */
  const versionRow = (v) =>
    h(
      'tr',
      { 'data-version': v.version, class: v.active ? 'active' : '' },
      h('td', {}, `v${v.version}`),
      h('td', {}, formatTime(v.created_at)),
      h('td', {}, v.created_by),
      h('td', {}, h('code', { title: v.sha256 }, shortHash(v.sha256))),
      h('td', {}, h('div', { class: 'row-actions' },
        h('button', { type: 'button', id: `open-v${v.version}`, 'aria-label': `Open version ${v.version} in the editor`, onclick: () => openVersion(v.version) }, 'Open'),
        v.active
          ? h('span', { class: 'badge' }, 'active')
          : h('button', { type: 'button', id: `activate-v${v.version}`, 'aria-label': `Activate version ${v.version}`, onclick: () => activate(v.version) }, 'Activate'))),
    );

  /** @param {number} version */
  const openVersion = (version) => {
    api.getVersion(id, version).then(
      (stored) => {
        flow.value = stored.flow;
        replaceAsEdit(stored.source);
        setStatus(publishStatus, 'info', `Editor holds version ${version}; publish to store it as a new version, or activate version ${version} to roll back.`);
      },
      (error) => setStatus(versionsStatus, 'error', describeError(error)),
    );
  };

  const refreshVersions = () =>
    api.listVersions(id).then(
      (versions) => {
        const sorted = [...versions].sort((a, b) => b.version - a.version);
        versionsBody.replaceChildren(...sorted.map(versionRow));
        const active = sorted.find((v) => v.active);
        if (sorted.length === 0) versionsStatus.textContent = 'Not published yet.';
        meta.textContent = active
          ? `Active version ${active.version} of ${sorted.length} · sha256 ${shortHash(active.sha256)} · flow ${active.flow}`
          : 'New procedure: not published yet.';
      },
      (error) => {
        if (error instanceof ApiError && error.status === 404) {
          versionsBody.replaceChildren();
          versionsStatus.textContent = 'Not published yet.';
          meta.textContent = 'New procedure: not published yet.';
        } else {
          setStatus(versionsStatus, 'error', describeError(error));
        }
      },
    );

  /** @param {number} version */
  const activate = (version) => {
    setStatus(versionsStatus, 'info', `Activating version ${version}…`);
    api.activate(id, version).then(
      async (activated) => {
        setStatus(versionsStatus, 'ok', `Version ${activated.version} is now active.`);
        await refreshVersions();
        if (dirty) {
          setStatus(publishStatus, 'info', `Version ${activated.version} is active; the editor keeps your unsaved changes.`);
          return;
        }
        const active = await api.getProcedure(id);
        flow.value = active.flow;
        loadSource(active.source);
        setStatus(publishStatus, 'info', `Editor shows version ${active.version}.`);
      },
      (error) => setStatus(versionsStatus, 'error', describeError(error)),
    );
  };

  app.replaceChildren(
    h('div', { class: 'procedure-head' }, h('p', {}, h('a', { href: '#/procedures' }, '← Procedures')), title, meta),
    h(
      'div',
      { class: 'procedure-grid' },
      h(
        'section',
        { class: 'card editor-card', 'aria-label': 'Editor' },
        h(
          'div',
          { class: 'toolbar' },
          h('label', { for: 'procedure-flow' }, 'Flow'),
          flow,
          h('span', { class: 'file-picker' }, file, h('label', { for: 'procedure-file', class: 'button' }, 'Open file…')),
          h('span', { class: 'spacer' }),
          dirtyMark,
          publish,
        ),
        editorHost,
        publishStatus,
        errorList,
        warningList,
      ),
      h(
        'div',
        { class: 'side' },
        dryRun.element,
        h('section', { id: 'used-by', class: 'card', 'aria-labelledby': 'used-by-heading' }, h('h3', { id: 'used-by-heading' }, 'Used by'), usedBy),
        h(
          'section',
          { id: 'versions', class: 'card', 'aria-labelledby': 'versions-heading' },
          h('h3', { id: 'versions-heading' }, 'Versions'),
          versionsStatus,
          dataTable('versions-table', 'Versions', ['Version', 'Created', 'By', 'SHA-256', ''], versionsBody),
        ),
      ),
    ),
  );

  api.getProcedure(id).then(
    (procedure) => {
      flow.value = procedure.flow;
      loadSource(procedure.source);
    },
    (error) => {
      if (error instanceof ApiError && error.status === 404) {
        unpublished = true;
        loadSource(procedureTemplate(flow.value));
        setStatus(publishStatus, 'info', 'New procedure: the editor holds a template for the chosen flow.');
      } else {
        setStatus(publishStatus, 'error', `Could not load the procedure: ${describeError(error)}`);
      }
    },
  );
  refreshVersions();
  api.listClients().then(
    (clients) => {
      // The clients that name this procedure for a flow: they are who a change affects, and the
      // dry run defaults to the first of them rather than to a sample client.
      const users = clients.flatMap((c) => Object.entries(c.procedures ?? {}).filter(([, procedureId]) => procedureId === id).map(([f]) => ({ client: c.client_id, flow: f })));
      usedBy.replaceChildren(
        ...(users.length === 0
          ? [h('li', { class: 'meta' }, 'No client uses this procedure yet.')]
          : users.map((u) => h('li', { 'data-client': u.client }, h('a', { href: `#/clients` }, u.client), ' ', h('span', { class: 'meta' }, u.flow)))),
      );
      dryRun.setClients(clients, users[0]?.client ?? null);
    },
    () => usedBy.replaceChildren(h('li', { class: 'meta' }, 'Clients could not be listed.')), // the sample client still works
  );

  return () => editor.destroy();
}
