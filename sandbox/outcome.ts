/**
 * Turns what comes back from an isolate (the prelude's envelope string, or an error isolated-vm
 * raised) into a ProcedureOutcome. The envelope is untrusted: sizes, codes and shapes are checked
 * again here, and failure messages are built from fixed text plus the script's own words only.
 */
import { errorFields } from './error-fields.ts';
import { isOAuthErrorCode, oauthError } from './protocol.ts';
import { MAX_JSON_DEPTH, parseUntrustedObject } from './json-guard.ts';
import { PROCEDURE_FILENAME } from './prelude-source.ts';
import type { FailureReason, ProcedureOutcome, SourceLocation } from './types.ts';

const MAX_MESSAGE = 500;
/** Reasons the prelude may report; the others are decided on the host. */
const PRELUDE_REASONS: ReadonlySet<FailureReason> = new Set(['runtime_error', 'no_result', 'invalid_result', 'result_too_large']);

export type Failure = Extract<ProcedureOutcome, { kind: 'failure' }>;

/** One line, printable, bounded: a failure message goes to logs and the CLI, never to clients. */
export function cleanMessage(text: string): string {
  const oneLine = text.replace(/\p{Cc}+/gu, ' ').trim();
  return oneLine.length > MAX_MESSAGE ? `${oneLine.slice(0, MAX_MESSAGE)}...` : oneLine;
}

function toLocation(line: unknown, column: unknown): SourceLocation | null {
  return Number.isSafeInteger(line) && Number.isSafeInteger(column) && (line as number) > 0 && (column as number) > 0
    ? { line: line as number, column: column as number }
    : null;
}

/** `label:line:column: message` (or `label: message`), the shape editors and terminals link. */
export function failure(reason: FailureReason, label: string, message: string, location: SourceLocation | null = null): Failure {
  const where = location ? `${label}:${location.line}:${location.column}` : label;
  return { kind: 'failure', reason, message: `${where}: ${cleanMessage(message)}`, location };
}


/** Decodes the prelude's envelope: 'R' + result JSON, 'O' + OAuth error, 'F' + failure. */
export function decodeEnvelope(envelope: unknown, label: string, maxResultBytes: number): ProcedureOutcome {
  if (typeof envelope !== 'string' || envelope.length === 0) {
    return failure('runtime_error', label, 'the sandbox returned no result envelope');
  }
  const tag = envelope[0];
  const body = envelope.slice(1);
  if (tag === 'R') {
    if (Buffer.byteLength(body, 'utf8') > maxResultBytes) {
      return failure('result_too_large', label, `the returned object is larger than ${maxResultBytes} bytes`);
    }
    const value = parseUntrustedObject(body);
    return value === null
      ? failure('invalid_result', label, `result(context) must return an object nested at most ${MAX_JSON_DEPTH} levels deep`)
      : { kind: 'response', body: value };
  }
  const fields = parseUntrustedObject(body);
  if (fields === null) return failure('runtime_error', label, 'the sandbox returned a malformed envelope');
  if (tag === 'O') {
    // Client authentication is the server's to refuse: a procedure never answers invalid_client (401).
    const error = isOAuthErrorCode(fields['error']) && fields['error'] !== 'invalid_client' ? fields['error'] : 'server_error';
    const description = typeof fields['description'] === 'string' ? fields['description'] : '';
    return { kind: 'oauth_error', ...oauthError(error, description) };
  }
  if (tag === 'F') {
    const reason = PRELUDE_REASONS.has(fields['reason'] as FailureReason) ? (fields['reason'] as FailureReason) : 'runtime_error';
    const message = typeof fields['message'] === 'string' ? fields['message'] : 'the procedure failed';
    return failure(reason, label, message, toLocation(fields['line'], fields['column']));
  }
  return failure('runtime_error', label, 'the sandbox returned an unknown envelope');
}

const ESCAPED_FILENAME = PROCEDURE_FILENAME.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** V8 compile errors end with ` [procedure.js:line:column]` in isolated-vm. */
const COMPILE_LOCATION = new RegExp(`\\s*\\[${ESCAPED_FILENAME}:(\\d+):(\\d+)\\]\\s*$`);
/** A stack frame inside the procedure's script. */
const FRAME_LOCATION = new RegExp(`(?:^|[\\s(])${ESCAPED_FILENAME}:(\\d+):(\\d+)`);

/** Splits a V8 compile message into its text and location. */
export function parseCompileMessage(message: string): { text: string; location: SourceLocation | null } {
  const match = COMPILE_LOCATION.exec(message);
  if (!match) return { text: message, location: null };
  return { text: message.slice(0, match.index), location: toLocation(Number(match[1]), Number(match[2])) };
}

/** The topmost frame of the procedure in a stack, if any. */
export function locationInStack(stack: unknown): SourceLocation | null {
  if (typeof stack !== 'string') return null;
  const match = FRAME_LOCATION.exec(stack.slice(0, 8000));
  return match ? toLocation(Number(match[1]), Number(match[2])) : null;
}

export interface IsolateErrorContext {
  label: string;
  /** The host's wall-clock deadline disposed the isolate. */
  wallDeadlineHit: boolean;
  wallTimeMs: number;
  cpuTimeMs: number;
  /** The engine was closed while the call ran. */
  engineClosed: boolean;
}

/**
 * An error raised by isolated-vm around a call (termination, disposal) or by the procedure's top-level
 * code. Messages are fixed text or the script's own error text: never host stacks or paths.
 */
export function classifyIsolateError(error: unknown, context: IsolateErrorContext): Failure {
  const { label } = context;
  if (context.wallDeadlineHit) {
    return failure('timeout', label, `the procedure ran longer than the wall-clock limit of ${context.wallTimeMs} ms`);
  }
  const fields = errorFields(error);
  const message = fields?.message ?? '';
  if (/memory limit/i.test(message)) {
    return failure('memory_limit', label, 'the procedure exceeded its memory limit');
  }
  if (message === 'Script execution timed out.') {
    return failure('timeout', label, `the procedure ran longer than the CPU time limit of ${context.cpuTimeMs} ms`);
  }
  if (context.engineClosed || /disposed/i.test(message)) {
    return failure('runtime_error', label, 'the sandbox was shut down during the call');
  }
  if (fields !== null) {
    // An exception thrown by the procedure's top-level code: the script's own name and message.
    return failure('runtime_error', label, `${fields.name}: ${message}`, locationInStack(fields.stack));
  }
  let rendered: string;
  try {
    rendered = typeof error === 'object' && error !== null ? JSON.stringify(error) : String(error);
  } catch {
    rendered = '[unprintable]';
  }
  return failure('runtime_error', label, `threw a non-Error value: ${rendered}`);
}
