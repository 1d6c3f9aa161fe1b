// @ts-check
// The confirmation before a change to production (publish, activate, delete): a modal <dialog>
// with the line diff between what will be active and what is active now, and a change note.
import { h } from './dom.js';
import { diffLines, toHunks, hunkHeader, diffStats } from './diff.js';

/** @import { DiffLine } from './diff.js' */

/** What the server accepts as a note: one line of printable text, at most 500 characters. */
export const NOTE_MAX_LENGTH = 500;

/**
 * @typedef {object} ChangeDialogOptions
 * @property {string} title
 * @property {(string | Node)[]} intro what confirming does, in a sentence or two
 * @property {{ old: string, new: string, oldLabel: string, newLabel: string } | null} diff the
 *   texts to compare (null: no diff, e.g. for a delete)
 * @property {string[]} [facts] other changes worth a line (a flow that changes, ...)
 * @property {boolean} [withNote] ask for a change note (default true)
 * @property {string} [noteHelp] where the note goes
 * @property {string} confirmLabel
 * @property {boolean} [danger] a destructive change: the confirm button is red
 */

/**
 * Opens the dialog; answers the (trimmed) note when confirmed, null when cancelled.
 * @param {ChangeDialogOptions} options
 * @returns {Promise<{ note: string } | null>}
 */
export function confirmChange({ title, intro, diff, facts = [], withNote = true, noteHelp = 'Optional, one line. Shown in the audit trail.', confirmLabel, danger = false }) {
  const note = h('input', {
    id: 'change-note',
    type: 'text',
    maxlength: NOTE_MAX_LENGTH,
    autocomplete: 'off',
    placeholder: 'Why this change? (optional; kept in the audit trail)',
  });
  const cancel = h('button', { id: 'change-cancel', type: 'button', value: 'cancel' }, 'Cancel');
  const confirm = h('button', { id: 'change-confirm', type: 'submit', value: 'confirm', class: danger ? 'danger' : 'primary' }, confirmLabel);
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'change-dialog-title' }, title),
    h('p', { class: 'change-intro' }, intro),
    facts.length === 0 ? '' : h('ul', { id: 'change-facts', class: 'change-facts' }, facts.map((f) => h('li', {}, f))),
    diff ? renderDiff(diff) : '',
    withNote
      ? h('div', { class: 'change-note' }, h('label', { for: 'change-note' }, 'Change note'), note,
        h('p', { class: 'meta', id: 'change-note-help' }, noteHelp))
      : '',
    h('div', { class: 'dialog-actions' }, cancel, confirm),
  );
  note.setAttribute('aria-describedby', 'change-note-help');
  const dialog = h('dialog', { id: 'change-dialog', class: 'change-dialog', 'aria-labelledby': 'change-dialog-title' }, form);
  const opener = document.activeElement;

  return new Promise((resolve) => {
    let confirmed = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      confirmed = true;
      dialog.close('confirm');
    });
    cancel.addEventListener('click', () => dialog.close('cancel'));
    // Escape closes the dialog too (a `cancel` event, then `close`).
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(confirmed ? { note: note.value.trim() } : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    if (withNote) note.focus();
    else cancel.focus();
  });
}

/**
 * The unified diff: hunks of changed lines with three lines of context, line numbers of both
 * sides, and a +/− mark on each changed line (the colour is not the only cue).
 * @param {{ old: string, new: string, oldLabel: string, newLabel: string }} diff
 */
function renderDiff(diff) {
  const lines = diffLines(diff.old, diff.new);
  const hunks = toHunks(lines, 3);
  const { added, removed } = diffStats(lines);
  const finalNewlineOnly = hunks.length === 0 && diff.old !== diff.new;
  const summary =
    hunks.length === 0
      ? finalNewlineOnly
        ? 'The sources differ only in line endings or the final newline.'
        : 'The source is the same as the active one.'
      : `${added} line${added === 1 ? '' : 's'} added, ${removed} removed.`;
  const body = h('tbody');
  for (const hunk of hunks) {
    body.append(h('tr', { class: 'diff-hunk' }, h('td', { colspan: 4 }, hunkHeader(hunk))));
    body.append(...hunk.lines.map(diffRow));
  }
  return h(
    'div',
    { class: 'change-diff' },
    h('p', { class: 'diff-legend' },
      h('span', { class: 'diff-old-label' }, '− ', diff.oldLabel), ' ',
      h('span', { class: 'diff-new-label' }, '+ ', diff.newLabel), ' · ',
      h('span', { id: 'change-diff-summary' }, summary)),
    hunks.length === 0
      ? ''
      : h('div', { class: 'diff-scroll' },
        h('table', { id: 'change-diff', class: 'diff', 'aria-label': `Changes from ${diff.oldLabel} to ${diff.newLabel}` },
          h('thead', { class: 'visually-hidden' }, h('tr', {}, ['Old line', 'New line', 'Change', 'Text'].map((c) => h('th', { scope: 'col' }, c)))),
          body)),
  );
}

/** @param {DiffLine} line */
function diffRow(line) {
  const sign = line.kind === 'add' ? '+' : line.kind === 'del' ? '−' : '';
  return h(
    'tr',
    { class: `diff-${line.kind}` },
    h('td', { class: 'diff-num' }, line.oldLine ?? ''),
    h('td', { class: 'diff-num' }, line.newLine ?? ''),
    h('td', { class: 'diff-sign', 'aria-label': line.kind === 'add' ? 'added' : line.kind === 'del' ? 'removed' : 'unchanged' }, sign),
    h('td', { class: 'diff-text' }, line.text),
  );
}
