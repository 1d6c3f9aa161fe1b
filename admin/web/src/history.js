// @ts-check
// Undo and redo for the editor. The real `history` lives in @codemirror/commands, which is not
// among the installed packages; this keeps inverted change sets and groups bursts of typing.
import { StateField, Annotation, Transaction } from '@codemirror/state';

/** @import { ChangeSet, EditorSelection } from '@codemirror/state' */
/** @import { EditorView } from '@codemirror/view' */

/**
 * @typedef {{ changes: ChangeSet, selection: EditorSelection, time: number, kind: string }} Entry
 *   `changes` turns the document after the step back into the one before it.
 * @typedef {{ done: Entry[], undone: Entry[] }} HistoryState
 */

const MAX_ENTRIES = 200;
const GROUP_WITHIN_MS = 600;

/** Installs a new history state (set by undo and redo themselves). */
const installHistory = /** @type {import('@codemirror/state').AnnotationType<HistoryState>} */ (
  Annotation.define()
);
/** Forgets all steps, e.g. when a new document is loaded from the server. */
const resetHistory = /** @type {import('@codemirror/state').AnnotationType<boolean>} */ (
  Annotation.define()
);

/** @param {Transaction} tr */
function groupKind(tr) {
  if (tr.isUserEvent('input.type')) return 'type';
  if (tr.isUserEvent('delete.backward') || tr.isUserEvent('delete.forward')) return 'delete';
  return '';
}

const historyField = StateField.define({
  /** @returns {HistoryState} */
  create: () => ({ done: [], undone: [] }),
  update(value, tr) {
    const installed = tr.annotation(installHistory);
    if (installed) return installed;
    if (tr.annotation(resetHistory)) return { done: [], undone: [] };
    if (!tr.docChanged) return value;
    const inverse = tr.changes.invert(tr.startState.doc);
    const kind = groupKind(tr);
    const time = tr.annotation(Transaction.time) ?? 0;
    const last = value.done.at(-1);
    if (last && kind && last.kind === kind && time - last.time < GROUP_WITHIN_MS) {
      // One step: undo this change first, then the earlier ones of the same burst.
      const merged = { changes: inverse.compose(last.changes), selection: last.selection, time, kind };
      return { done: [...value.done.slice(0, -1), merged], undone: [] };
    }
    const entry = { changes: inverse, selection: tr.startState.selection, time, kind };
    return { done: [...value.done, entry].slice(-MAX_ENTRIES), undone: [] };
  },
});

/** The editor extension. */
export function history() {
  return historyField;
}
history.reset = resetHistory;

/**
 * @param {EditorView} view
 * @param {'done' | 'undone'} from which stack to take the step from (the other gets its inverse)
 */
function step(view, from) {
  const state = view.state.field(historyField, false);
  const entry = state?.[from].at(-1);
  if (!state || !entry) return false;
  const counter = {
    changes: entry.changes.invert(view.state.doc),
    selection: view.state.selection,
    time: 0,
    kind: '',
  };
  /** @type {HistoryState} */
  const next =
    from === 'done'
      ? { done: state.done.slice(0, -1), undone: [...state.undone, counter] }
      : { done: [...state.done, counter], undone: state.undone.slice(0, -1) };
  view.dispatch({
    changes: entry.changes,
    selection: entry.selection,
    annotations: installHistory.of(next),
    scrollIntoView: true,
    userEvent: from === 'done' ? 'undo' : 'redo',
  });
  return true;
}

/** @param {EditorView} view */
export const undo = (view) => step(view, 'done');
/** @param {EditorView} view */
export const redo = (view) => step(view, 'undone');
