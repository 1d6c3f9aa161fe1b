/**
 * How `tokenproc run` shows a result: for a person (status, logger lines, body, each issued token's
 * decoded header and claims with times as ISO dates) or as one JSON document with `--json`.
 */
import path from 'node:path';
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE } from '../exit-codes.ts';
import type { LocalRunResult } from './local-run.ts';
import { formatLocatedMessage } from './source-frame.ts';

/** Claims that hold epoch seconds (RFC 7519 §4.1, OIDC Core). */
export const TIME_CLAIMS: ReadonlySet<string> = new Set(['exp', 'iat', 'nbf', 'auth_time']);

export interface RunReport {
  status: number;
  body: Record<string, unknown>;
  tokens: Array<{ kind: string; format?: 'opaque'; token: string; header: Record<string, unknown>; claims: Record<string, unknown> }>;
  logs: LocalRunResult['logs'];
  diagnostic: LocalRunResult['diagnostic'];
  /** Members of the procedure's response the server corrected to match the issued token (empty: none). */
  corrections: NonNullable<LocalRunResult['corrections']>;
}

/** The `--json` document. */
export function runReport(result: LocalRunResult): RunReport {
  return {
    status: result.status,
    body: result.body,
    // `format` marks references (opaque access tokens, refresh tokens): their claims are what they resolve to.
    tokens: result.issued.map((t) => ({ kind: t.kind, ...(t.format === 'opaque' ? { format: 'opaque' as const } : {}), token: t.token, header: t.header, claims: t.claims })),
    logs: result.logs,
    diagnostic: result.diagnostic,
    corrections: result.corrections ?? [],
  };
}

function shown(value: unknown): string {
  return value === null || value === undefined ? '(absent)' : JSON.stringify(value);
}

/**
 * The note shown when the server corrected the procedure's response (the server logs a warning
 * then): one line per member, what the procedure returned and what the client receives.
 */
export function correctionLines(corrections: LocalRunResult['corrections'], indentBy = ''): string[] {
  if (!corrections || corrections.length === 0) return [];
  const width = Math.max(...corrections.map((c) => c.member.length));
  return [
    `${indentBy}note: the server corrected the procedure's response to match the issued token (the server logs a warning):`,
    ...corrections.map((c) => `${indentBy}  ${c.member.padEnd(width)}  returned ${shown(c.returned)}, sent ${shown(c.sent)}`),
  ];
}

/** "now+300s" / "now-5s" / "now": the form the test matchers use. */
export function relativeToNow(epochSeconds: number, nowMs: number): string {
  const delta = Math.round(epochSeconds - Math.floor(nowMs / 1000));
  if (delta === 0) return 'now';
  return delta > 0 ? `now+${delta}s` : `now${delta}s`;
}

/** ISO date of an epoch-seconds value, or null when it is not a plausible date. */
export function isoDate(epochSeconds: number): string | null {
  const ms = epochSeconds * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

/** Pretty JSON of a claims object, each top-level time claim followed by its date and offset from now. */
export function formatClaims(claims: Record<string, unknown>, nowMs: number): string {
  const lines = JSON.stringify(claims, null, 2).split('\n');
  return lines
    .map((line) => {
      const match = /^ {2}"([^"]+)": (-?\d+(?:\.\d+)?),?$/.exec(line);
      if (!match || !TIME_CLAIMS.has(match[1] ?? '')) return line;
      const seconds = Number(match[2]);
      const date = isoDate(seconds);
      if (date === null) return line;
      const years = Math.abs(seconds - nowMs / 1000) / (365 * 86400);
      // A date millennia away is what milliseconds in a seconds claim look like.
      const hint = years > 1000 ? ', milliseconds?' : '';
      return `${line}  # ${date} (${relativeToNow(seconds, nowMs)}${hint})`;
    })
    .join('\n');
}

/**
 * The diagnostic's message without the `label:line:column: ` (or `label: `) prefix the engine puts
 * in front: the CLI shows the location itself, with the user's file name. `labels` are the names
 * the engine may have used (the procedure id, the file's base name).
 */
export function diagnosticText(diagnostic: NonNullable<LocalRunResult['diagnostic']>, labels: readonly string[]): string {
  for (const label of labels) {
    if (label === '' || !diagnostic.message.startsWith(label)) continue;
    const rest = diagnostic.message.slice(label.length);
    const match = /^(?::\d+:\d+)?: /.exec(rest);
    if (match) return rest.slice(match[0].length);
  }
  return diagnostic.message;
}

/** The names the engine may call a procedure in its messages. */
export function procedureLabels(procedure: { id: string; filename: string }): string[] {
  return [procedure.id, path.basename(procedure.filename)];
}

export interface HumanFormatOptions {
  /** The procedure file as the user named it, for diagnostics. */
  file: string;
  source: string;
  /** Its id, as the engine names it in messages. */
  procedureId: string;
  /** The run's clock (epoch ms) for the relative times. */
  nowMs: number;
}

export function formatRunHuman(result: LocalRunResult, options: HumanFormatOptions): string {
  const out: string[] = [];
  for (const entry of result.logs) out.push(`log ${entry.level.padEnd(5)} ${entry.message}`);
  if (result.logs.length > 0) out.push('');

  const error = typeof result.body.error === 'string' ? result.body.error : null;
  const description = typeof result.body.error_description === 'string' ? result.body.error_description : null;
  out.push(error ? `HTTP ${result.status} ${error}${description ? `: ${description}` : ''}` : `HTTP ${result.status}`);
  out.push(...correctionLines(result.corrections));

  if (result.diagnostic) {
    const d = result.diagnostic;
    out.push(
      formatLocatedMessage(
        { file: options.file, line: d.line, column: d.column, severity: 'error', message: `${d.reason}: ${diagnosticText(d, [options.procedureId, path.basename(options.file)])}` },
        options.source,
      ),
    );
  }

  out.push('', 'response body:', indent(JSON.stringify(result.body, null, 2), '  '));

  result.issued.forEach((token, index) => {
    if (token.format === 'opaque') {
      // A reference has no header: what it resolves to (at introspection, or at the refresh grant) is shown.
      out.push(
        '',
        `issued ${token.kind} #${index + 1} (opaque reference ${token.token})`,
        '  resolves to:',
        indent(formatClaims(token.claims, options.nowMs), '    '),
      );
      return;
    }
    out.push(
      '',
      `issued ${token.kind} #${index + 1}`,
      '  header:',
      indent(JSON.stringify(token.header, null, 2), '    '),
      '  claims:',
      indent(formatClaims(token.claims, options.nowMs), '    '),
    );
  });
  return out.join('\n') + '\n';
}

/** 0 when a token response came back, 2 when the procedure did not compile, 1 for any other refusal. */
export function runExitCode(result: LocalRunResult): number {
  if (result.diagnostic?.reason === 'compile_error') return EXIT_USAGE;
  return result.status >= 200 && result.status < 300 ? EXIT_OK : EXIT_REFUSED;
}
