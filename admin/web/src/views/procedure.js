// @ts-check
// One procedure: the editor with publish and compile errors, the dry-run panel, the versions.
// Publish, activate and delete change production: each first shows what changes (a diff against
// the active version) and asks for a change note; the write then carries the ETag of the active
// version that was compared, so a change made meanwhile by someone else is refused, not overwritten.
// A viewer key sees the procedure and its history without the buttons that change anything.
import { h, dataTable, setStatus, formatTime, shortHash } from '../dom.js';
import { api, configApi, procedureApi, ApiError, describeError } from '../api.js';
import { createProcedureEditor } from '../editor.js';
import { confirmChange } from '../change-dialog.js';
import { procedureTemplate } from '../templates.js';
import { FLOWS } from '../types.js';
import { createDryRunPanel } from './dry-run.js';

/** @import { CompileError, LintWarning, ProcedureVersion, Procedure, AdminRole } from '../types.js' */

const MAX_UPLOAD_BYTES = 256 * 1024;

/**
 * The audit trail of one procedure: a link into the audit view with its filters set.
 * @param {string} id
 */
export function procedureAuditHref(id) {
  return `#/audit?${new URLSearchParams({ target_type: 'procedure', target_id: id })}`;
}

/**
 * The active version and its ETag; null when the procedure was never published.
 * @param {string} id
 * @returns {Promise<{ procedure: Procedure, etag: string | null } | null>}
 */
async function activeOrNull(id) {
  try {
    return await procedureApi.getActive(id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/**
 * What a refused write says: a 412 means the active version changed after the dialog compared.
 * @param {unknown} error
 */
function refusal(error) {
  if (error instanceof ApiError && error.status === 412) {
    return 'the active version changed while the dialog was open (someone else published or activated); nothing was changed. Look at the versions again and retry.';
  }
  if (error instanceof ApiError && error.status === 403) return 'this admin key may not change procedures (it needs the author or admin role).';
  return describeError(error);
}

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
  /** @type {AdminRole | null} the signed-in key's role; null until GET /me answers (or when it could not say) */
  let role = null;
  let roleKnown = false;
  /** Changing buttons show once the role is known, and never to a viewer (the server decides anyway). */
  const mayChange = () => roleKnown && role !== 'viewer';
  /** @type {ProcedureVersion[]} */
  let shownVersions = [];
  /** True while a confirmation dialog or a write is under way: one change at a time. */
  let changing = false;

  const title = h('h2', { id: 'procedure-title' }, 'Procedure ', h('code', {}, id));
  const meta = h('p', { id: 'procedure-meta', class: 'meta' }, 'Loading…');
  const flow = h('select', { id: 'procedure-flow' }, FLOWS.map((f) => h('option', { value: f }, f)));
  if (requestedFlow && FLOWS.some((f) => f === requestedFlow)) flow.value = requestedFlow;
  const file = h('input', { id: 'procedure-file', class: 'file-input', type: 'file', accept: '.js,text/javascript,text/plain' });
  const publish = h('button', { id: 'publish', type: 'button', class: 'primary', hidden: true, title: 'Compare with the active version, then compile on the server, store a new version and make it active (Ctrl+S)' }, 'Publish…');
  const filePicker = h('span', { class: 'file-picker', hidden: true }, file, h('label', { for: 'procedure-file', class: 'button' }, 'Open file…'));
  const remove = h('button', { id: 'delete-procedure', type: 'button', class: 'danger', hidden: true, title: 'Delete every version of this procedure' }, 'Delete…');
  const auditLink = h('a', { id: 'procedure-audit-link', href: procedureAuditHref(id) }, 'Audit trail of this procedure');
  const readOnlyNotice = h('p', { id: 'readonly-notice', class: 'note', role: 'note', hidden: true }, 'Signed in with a viewer key: you can read this procedure and its versions, not change them.');
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

  publish.addEventListener('click', async () => {
    if (publish.disabled || changing || !mayChange()) return;
    const source = editor.getSource();
    const chosenFlow = flow.value;
    changing = true;
    publish.disabled = true;
    setStatus(publishStatus, 'info', 'Comparing with the active version…');
    /** @type {{ procedure: Procedure, etag: string | null } | null} */
    let current;
    try {
      current = await activeOrNull(id);
    } catch (error) {
      setStatus(publishStatus, 'error', `Not published: ${describeError(error)}`);
      changing = false;
      publish.disabled = false;
      return;
    }
    const active = current?.procedure ?? null;
    /** @type {string[]} */
    const facts = [];
    if (!active) facts.push('This is the first version: nothing is active yet.');
    else if (active.flow !== chosenFlow) facts.push(`The flow changes from ${active.flow} to ${chosenFlow}.`);
    const syntaxErrors = editor.syntaxErrorCount();
    if (syntaxErrors > 0) facts.push(`The editor marks ${syntaxErrors} syntax error(s): the server will refuse to publish this.`);
    const answer = await confirmChange({
      title: `Publish ${id}?`,
      intro: [`The editor's text becomes a new version of `, h('code', {}, id), ` and is active at once: every token request of the clients that use it runs it.`],
      diff: { old: active?.source ?? '', new: source, oldLabel: active ? `active version ${active.version}` : 'nothing active', newLabel: 'editor' },
      facts,
      noteHelp: 'Optional, one line. Stored with the new version (shown in its history) and in the audit trail.',
      confirmLabel: 'Publish and activate',
    });
    if (!answer) {
      setStatus(publishStatus, 'info', 'Not published: cancelled.');
      changing = false;
      publish.disabled = false;
      return;
    }
    setStatus(publishStatus, 'info', 'Compiling and publishing…');
    procedureApi.publish(id, { flow: chosenFlow, source, ...(answer.note ? { note: answer.note } : {}) }, current?.etag ?? null).then(
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
          setStatus(publishStatus, 'error', `Not published: ${refusal(error)}`);
          if (error instanceof ApiError && error.status === 412) refreshVersions();
        }
      },
    ).finally(() => {
      changing = false;
      publish.disabled = false;
    });
  });

  /** @param {ProcedureVersion} v */
  const versionRow = (v) =>
    h(
      'tr',
      { 'data-version': v.version, class: v.active ? 'active' : '' },
      h('td', { class: 'nowrap' }, `v${v.version}`, h('div', {}, h('code', { class: 'meta', title: `sha256 ${v.sha256}` }, shortHash(v.sha256)))),
      h('td', { class: 'version-change' },
        v.note ? h('div', { class: 'version-note' }, v.note) : '',
        h('div', { class: 'meta' }, formatTime(v.created_at), ' by ', v.created_by)),
      h('td', {}, h('div', { class: 'row-actions' },
        h('button', { type: 'button', id: `open-v${v.version}`, 'aria-label': `Open version ${v.version} in the editor`, onclick: () => openVersion(v.version) }, 'Open'),
        v.active
          ? h('span', { class: 'badge' }, 'active')
          : mayChange()
            ? h('button', { type: 'button', id: `activate-v${v.version}`, 'aria-label': `Activate version ${v.version}`, onclick: () => activate(v.version) }, 'Activate…')
            : '')),
    );

  const showVersions = () => versionsBody.replaceChildren(...shownVersions.map(versionRow));

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
        shownVersions = sorted;
        showVersions();
        remove.hidden = !mayChange() || sorted.length === 0;
        const active = sorted.find((v) => v.active);
        if (sorted.length === 0) versionsStatus.textContent = 'Not published yet.';
        meta.textContent = active
          ? `Active version ${active.version} of ${sorted.length} · sha256 ${shortHash(active.sha256)} · flow ${active.flow}`
          : 'New procedure: not published yet.';
      },
      (error) => {
        if (error instanceof ApiError && error.status === 404) {
          shownVersions = [];
          versionsBody.replaceChildren();
          remove.hidden = true;
          versionsStatus.textContent = 'Not published yet.';
          meta.textContent = 'New procedure: not published yet.';
        } else {
          setStatus(versionsStatus, 'error', describeError(error));
        }
      },
    );

  /**
   * Rolls back (or forward) to a stored version, after the dialog showed what changes.
   * @param {number} version
   */
  const activate = async (version) => {
    if (changing || !mayChange()) return;
    changing = true;
    setStatus(versionsStatus, 'info', `Comparing version ${version} with the active one…`);
    /** @type {{ procedure: Procedure, etag: string | null } | null} */
    let current;
    /** @type {Procedure} */
    let target;
    try {
      [current, target] = await Promise.all([activeOrNull(id), api.getVersion(id, version)]);
    } catch (error) {
      setStatus(versionsStatus, 'error', describeError(error));
      changing = false;
      return;
    }
    const active = current?.procedure ?? null;
    const direction = !active ? 'activates' : version < active.version ? 'rolls back to' : 'rolls forward to';
    /** @type {string[]} */
    const facts = [`Version ${version} was published ${formatTime(target.created_at)} by ${target.created_by}${target.note ? `, with the note “${target.note}”` : ''}.`];
    if (active && active.flow !== target.flow) facts.push(`The flow changes from ${active.flow} to ${target.flow}.`);
    const answer = await confirmChange({
      title: `Activate version ${version} of ${id}?`,
      intro: [`This ${direction} version ${version}: every token request of the clients that use `, h('code', {}, id), ` runs it at once. No new version is stored.`],
      diff: { old: active?.source ?? '', new: target.source, oldLabel: active ? `active version ${active.version}` : 'nothing active', newLabel: `version ${version}` },
      facts,
      noteHelp: 'Optional, one line. Kept in the audit trail with this activation.',
      confirmLabel: `Activate version ${version}`,
    });
    if (!answer) {
      setStatus(versionsStatus, 'info', `Nothing changed: activating version ${version} was cancelled.`);
      changing = false;
      return;
    }
    setStatus(versionsStatus, 'info', `Activating version ${version}…`);
    procedureApi.activate(id, version, answer.note, current?.etag ?? null).then(
      async (activated) => {
        setStatus(versionsStatus, 'ok', `Version ${activated.version} is now active.`);
        await refreshVersions();
        if (dirty) {
          setStatus(publishStatus, 'info', `Version ${activated.version} is active; the editor keeps your unsaved changes.`);
          return;
        }
        const now = await api.getProcedure(id);
        flow.value = now.flow;
        loadSource(now.source);
        setStatus(publishStatus, 'info', `Editor shows version ${now.version}.`);
      },
      (error) => {
        setStatus(versionsStatus, 'error', `Not activated: ${refusal(error)}`);
        if (error instanceof ApiError && error.status === 412) refreshVersions();
      },
    ).finally(() => {
      changing = false;
    });
  };

  remove.addEventListener('click', async () => {
    if (changing || !mayChange()) return;
    changing = true;
    try {
      const current = await activeOrNull(id);
      const answer = await confirmChange({
        title: `Delete ${id}?`,
        intro: [`All ${shownVersions.length} version(s) of `, h('code', {}, id), ' are deleted; this cannot be undone. The server refuses while a client names the procedure for a flow.'],
        diff: null,
        withNote: false,
        confirmLabel: 'Delete every version',
        danger: true,
      });
      if (!answer) {
        setStatus(versionsStatus, 'info', 'Nothing changed: deleting was cancelled.');
        return;
      }
      await procedureApi.remove(id, current?.etag ?? null);
      location.hash = '#/procedures';
    } catch (error) {
      setStatus(versionsStatus, 'error', `Not deleted: ${refusal(error)}`);
    } finally {
      changing = false;
    }
  });

  /** Shows the changing buttons to the roles that may use them (author and admin). */
  const applyRole = () => {
    roleKnown = true;
    page.dataset['role'] = role ?? 'unknown';
    const allowed = mayChange();
    publish.hidden = !allowed;
    filePicker.hidden = !allowed;
    dryRun.element.hidden = !allowed;
    readOnlyNotice.hidden = allowed;
    remove.hidden = !allowed || shownVersions.length === 0;
    showVersions();
  };

  const page = h('div', { id: 'procedure-page' });
  page.append(
    h('div', { class: 'procedure-head' },
      h('p', { class: 'procedure-links' }, h('a', { href: '#/procedures' }, '← Procedures'), auditLink),
      h('div', { class: 'section-head' }, title, remove),
      meta,
      readOnlyNotice),
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
          filePicker,
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
          dataTable('versions-table', 'Versions', ['Version', 'Note, created, by', ''], versionsBody),
        ),
      ),
    ),
  );
  app.replaceChildren(page);
  dryRun.element.hidden = true;
  configApi.me().then(
    (me) => {
      role = me.role;
      applyRole();
    },
    // An older server without GET /me: show the buttons; the server still refuses what the key may not do.
    () => applyRole(),
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
