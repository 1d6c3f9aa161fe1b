// @ts-check
// The procedure editor: CodeMirror 6 with JavaScript highlighting, live syntax errors from the
// parser, and the server's compile errors shown at their line in the lint gutter.
// Editing commands, undo history and the key bindings are @codemirror/commands'; search (Ctrl-F)
// is @codemirror/search's panel.
import { EditorState, StateEffect, StateField, Annotation, EditorSelection, Compartment } from '@codemirror/state';
import {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  drawSelection,
} from '@codemirror/view';
import {
  syntaxHighlighting,
  defaultHighlightStyle,
  bracketMatching,
  indentOnInput,
  syntaxTree,
  indentUnit,
} from '@codemirror/language';
import { javascript } from '@codemirror/lang-javascript';
import { linter, lintGutter, forceLinting } from '@codemirror/lint';
import { history, historyKeymap, defaultKeymap, indentWithTab } from '@codemirror/commands';
import { search, searchKeymap, highlightSelectionMatches } from '@codemirror/search';

/** @import { Diagnostic } from '@codemirror/lint' */
/** @import { Text } from '@codemirror/state' */
/** @import { CompileError } from './types.js' */

/**
 * The nonce the server put into this page for CodeMirror's <style> element (CSP style-src).
 * An unreplaced placeholder means the page was served as a plain file: no nonce then.
 */
function cspNonce() {
  const value = document.querySelector('meta[name="csp-nonce"]')?.getAttribute('content') ?? '';
  return /^[A-Za-z0-9+/=]{16,}$/.test(value) ? value : '';
}

/** Replaces the compile errors the server last reported (an empty list clears them). */
const setServerErrors = StateEffect.define(
  /** @type {{ map?: (value: Diagnostic[], changes: import('@codemirror/state').ChangeDesc) => Diagnostic[] }} */ ({
    map: (value, changes) => mapDiagnostics(value, changes),
  }),
);

/** Marks transactions that load a document from the server, which are not user edits. */
const loadedFromServer = Annotation.define();

/**
 * @param {Diagnostic[]} diagnostics
 * @param {import('@codemirror/state').ChangeDesc} changes
 */
function mapDiagnostics(diagnostics, changes) {
  return diagnostics.map((d) => ({ ...d, from: changes.mapPos(d.from), to: changes.mapPos(d.to, 1) }));
}

// Server errors stay attached to their text while the author edits, until the next publish.
const serverErrors = StateField.define({
  /** @returns {Diagnostic[]} */
  create: () => [],
  update(value, tr) {
    for (const effect of tr.effects) if (effect.is(setServerErrors)) return effect.value;
    return tr.docChanged ? mapDiagnostics(value, tr.changes) : value;
  },
});

/**
 * Where a server error points: 1-based line and column, clamped into the document.
 * @param {Text} doc
 * @param {CompileError} error
 * @returns {Diagnostic}
 */
export function diagnosticAt(doc, error) {
  const line = doc.line(Math.min(Math.max(1, Math.trunc(error.line) || 1), doc.lines));
  const from = Math.min(line.from + Math.max(0, (Math.trunc(error.column) || 1) - 1), line.to);
  // Underline from the column to the end of the line; an empty line gets a zero-width mark.
  return { from, to: from < line.to ? line.to : from, severity: error.severity ?? 'error', source: 'server', message: error.message };
}

/**
 * Parse errors from the editor's own JavaScript parser, so typos show before publishing.
 * @param {EditorState} state
 * @returns {Diagnostic[]}
 */
function syntaxErrors(state) {
  /** @type {Diagnostic[]} */
  const found = [];
  syntaxTree(state).iterate({
    enter(node) {
      if (!node.type.isError || found.length >= 20) return;
      const to = Math.max(node.to, Math.min(node.from + 1, state.doc.length));
      found.push({ from: node.from, to, severity: 'error', source: 'editor', message: 'Syntax error' });
    },
  });
  return found;
}

/**
 * @typedef {object} ProcedureEditor
 * @property {EditorView} view
 * @property {() => string} getSource
 * @property {(source: string) => void} load replaces the document (not an edit: no undo step)
 * @property {(errors: CompileError[]) => void} showCompileErrors
 * @property {(line: number, column: number) => void} focusAt
 * @property {() => number} syntaxErrorCount what the editor's own parser finds now
 * @property {() => void} destroy
 */

/**
 * @param {HTMLElement} parent
 * @param {{ source: string, label: string, onChange: (source: string) => void, onSave: () => void }} options
 * @returns {ProcedureEditor}
 */
export function createProcedureEditor(parent, { source, label, onChange, onSave }) {
  // The undo history sits in a compartment so that loading a document can drop it: taking the
  // extension out discards its state, putting it back starts an empty history.
  const undoHistory = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: source,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightActiveLine(),
        drawSelection(),
        undoHistory.of(history()),
        indentOnInput(),
        bracketMatching(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        javascript(),
        EditorState.tabSize.of(2),
        indentUnit.of('  '),
        serverErrors,
        lintGutter(),
        linter((v) => [...syntaxErrors(v.state), ...v.state.field(serverErrors)], {
          delay: 300,
          needsRefresh: (update) =>
            update.transactions.some((tr) => tr.effects.some((e) => e.is(setServerErrors))),
        }),
        search({ top: true }),
        highlightSelectionMatches(),
        keymap.of([
          { key: 'Mod-s', run: () => (onSave(), true), preventDefault: true },
          ...searchKeymap,
          ...historyKeymap,
          ...defaultKeymap,
          indentWithTab,
        ]),
        EditorView.contentAttributes.of({ 'aria-label': label }),
        EditorView.cspNonce.of(cspNonce()),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && !update.transactions.some((tr) => tr.annotation(loadedFromServer))) {
            onChange(update.state.doc.toString());
          }
        }),
      ],
    }),
  });

  return {
    view,
    getSource: () => view.state.doc.toString(),
    load(text) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        effects: [setServerErrors.of([]), undoHistory.reconfigure([])],
        annotations: loadedFromServer.of(true),
      });
      view.dispatch({ effects: undoHistory.reconfigure(history()) });
    },
    showCompileErrors(errors) {
      const doc = view.state.doc;
      view.dispatch({ effects: setServerErrors.of(errors.map((e) => diagnosticAt(doc, e))) });
      forceLinting(view);
    },
    focusAt(line, column) {
      const { from } = diagnosticAt(view.state.doc, { line, column, message: '' });
      view.dispatch({ selection: EditorSelection.cursor(from), scrollIntoView: true });
      view.focus();
    },
    syntaxErrorCount: () => syntaxErrors(view.state).length,
    destroy: () => view.destroy(),
  };
}

