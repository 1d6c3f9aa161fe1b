/**
 * `tokenproc check`: compile each procedure in the sandbox (syntax errors with their location),
 * then lint it. Errors make the command exit 2; warnings are printed and exit 0.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FlowId } from '../../store/types.ts';
import type { CompileResult } from '../../../sandbox/types.ts';
import { MISSING_RESULT_MESSAGE } from '../../../sandbox/compile.ts';
import { EXIT_OK, EXIT_USAGE } from '../exit-codes.ts';
import { lintProcedure } from './lint.ts';
import { formatLocatedMessage } from './source-frame.ts';

export interface CheckOptions {
  flow: FlowId | null;
  /** The sandbox's compiler (ProcedureEngine.compile). */
  compile: (source: string, filename: string) => Promise<CompileResult>;
  write: (text: string) => void;
  cwd: string;
}

export interface CheckSummary {
  files: number;
  errors: number;
  warnings: number;
  exitCode: number;
}

const MAX_DEPTH = 16;
const MAX_FILES = 5000;

/** Files as given; a directory stands for every `.js` file under it (skipping node_modules and dot-directories). */
export function expandProcedurePaths(paths: readonly string[], cwd: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > MAX_DEPTH || out.length >= MAX_FILES) return;
    const entries = readdirSync(path.resolve(cwd, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const child = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(child, depth + 1);
      else if (entry.isFile() && entry.name.endsWith('.js') && out.length < MAX_FILES) out.push(child);
    }
  };
  for (const given of paths) {
    let isDirectory = false;
    try {
      isDirectory = statSync(path.resolve(cwd, given)).isDirectory();
    } catch {
      // Reported as unreadable by checkFiles.
    }
    if (isDirectory) walk(given, 0);
    else out.push(given);
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function checkFiles(files: readonly string[], options: CheckOptions): Promise<CheckSummary> {
  const summary: CheckSummary = { files: files.length, errors: 0, warnings: 0, exitCode: EXIT_OK };
  for (const file of files) {
    let source: string;
    try {
      source = readFileSync(path.resolve(options.cwd, file), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
      options.write(`${file}: error: cannot read: ${reason}\n`);
      summary.errors++;
      continue;
    }

    const compiled = await options.compile(source, file);
    // The compiler also refuses a source without `result`; the lint says the same with its rule name.
    const onlyMissingResult = !compiled.ok && compiled.diagnostics.every((d) => d.message === MISSING_RESULT_MESSAGE);
    if (!compiled.ok && !onlyMissingResult) {
      for (const d of compiled.diagnostics) {
        options.write(formatLocatedMessage({ file, line: d.line, column: d.column, severity: 'error', message: d.message }, source) + '\n');
        summary.errors++;
      }
      continue;
    }

    const findings = lintProcedure(source, { flow: options.flow });
    for (const finding of findings) {
      options.write(
        formatLocatedMessage(
          { file, line: finding.line, column: finding.column, severity: finding.severity, message: `${finding.message} [${finding.rule}]` },
          source,
        ) + '\n',
      );
      if (finding.severity === 'error') summary.errors++;
      else summary.warnings++;
    }
    if (findings.length === 0) options.write(`${file}: ok\n`);
  }
  options.write(`${plural(summary.files, 'file')} checked: ${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')}\n`);
  summary.exitCode = summary.errors > 0 ? EXIT_USAGE : EXIT_OK;
  return summary;
}
