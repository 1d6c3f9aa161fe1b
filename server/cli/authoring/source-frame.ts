/**
 * Compiler-style locations for procedure authors: `file:line:column: severity: message`, then the
 * source line and a caret under the column. Lines and columns are 1-based, as editors show them.
 */

export type Severity = 'error' | 'warning';

export interface LocatedMessage {
  file: string;
  line: number | null;
  column: number | null;
  severity: Severity;
  message: string;
}

const MAX_SHOWN_LINE = 200;

/** The source line under a location with a caret, or '' when the line does not exist. */
export function sourceFrame(source: string, line: number, column: number): string {
  const lines = source.split(/\r\n|\r|\n/);
  const text = lines[line - 1];
  if (text === undefined) return '';
  const gutter = `${line} | `;
  // Tabs would shift the caret; show them as single spaces so the caret lines up.
  let shown = text.replace(/\t/g, ' ');
  let caretColumn = Math.max(1, column);
  if (shown.length > MAX_SHOWN_LINE) {
    const start = Math.max(0, caretColumn - Math.floor(MAX_SHOWN_LINE / 2));
    shown = shown.slice(start, start + MAX_SHOWN_LINE);
    caretColumn -= start;
  }
  const pad = ' '.repeat(gutter.length - 2);
  return `  ${gutter}${shown}\n  ${pad}| ${' '.repeat(caretColumn - 1)}^`;
}

/** `file:line:column: severity: message` plus the source frame when the location is known. */
export function formatLocatedMessage(entry: LocatedMessage, source: string | null): string {
  const where = entry.line === null ? entry.file : `${entry.file}:${entry.line}:${entry.column ?? 1}`;
  const head = `${where}: ${entry.severity}: ${entry.message}`;
  if (entry.line === null || source === null) return head;
  const frame = sourceFrame(source, entry.line, entry.column ?? 1);
  return frame === '' ? head : `${head}\n${frame}`;
}
