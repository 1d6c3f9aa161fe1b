/**
 * The host side of the three callbacks a procedure isolate may call. Each takes and returns
 * strings; everything arriving from the isolate is untrusted and validated here, limits are counted
 * here (the prelude's own counting is only a courtesy), and host exceptions never cross: the script
 * sees a fixed failure instead.
 */
import { errorMessage } from './error-fields.ts';
import { parseUntrustedObject } from './json-guard.ts';
import { redactLogLine } from './log-redaction.ts';
import { isOAuthErrorCode, sanitizeDescription } from './protocol.ts';
import type { OAuthError, OAuthErrorCode } from './protocol.ts';
import type {
  InitializeRequest,
  InitializedContextData,
  IssueRequest,
  IssuerKind,
  LogLevel,
  ProcedureHost,
  ProcedureLogSink,
  SandboxLimits,
} from './types.ts';
import type { SandboxEventLogger } from './event-logger.ts';

/** Largest JSON string a callback accepts from the isolate. */
export const MAX_CALLBACK_PAYLOAD = 256 * 1024;
const MAX_LIST_ITEMS = 1000;
const MAX_LIST_ITEM_LENGTH = 2048;
const ISSUER_KINDS: readonly IssuerKind[] = ['access_token', 'jwt', 'id_token', 'refresh_token', 'id_jag', 'txn_token'];
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** What the host knows about the call an isolate is serving right now. */
export interface CallState {
  readonly procedureId: string;
  readonly requestId: string;
  readonly host: ProcedureHost;
  readonly log: ProcedureLogSink;
  readonly limits: SandboxLimits;
  readonly events: SandboxEventLogger;
  /** Token values that must never reach a log line (presented tokens, issued tokens). */
  readonly secrets: string[];
  issueCalls: number;
  issueLimitExceeded: boolean;
  logLines: number;
  /**
   * `performance.now()` past which host callbacks refuse to work: one budget covers the script and
   * the host work it causes, so a loop of expensive callbacks cannot outlast the call's limit.
   */
  deadline: number;
  /** Set when a callback was refused because the deadline had passed: the call ends as a timeout. */
  budgetExceeded: boolean;
}

type CallStateFields = Omit<CallState, 'issueCalls' | 'issueLimitExceeded' | 'logLines' | 'deadline' | 'budgetExceeded'>;

export function createCallState(fields: CallStateFields): CallState {
  return { ...fields, issueCalls: 0, issueLimitExceeded: false, logLines: 0, deadline: Number.POSITIVE_INFINITY, budgetExceeded: false };
}

/** Starts (or restarts) the budget of a call: `limitMs` from now. */
export function startCallBudget(state: CallState, limitMs: number): void {
  state.deadline = performance.now() + limitMs;
  state.budgetExceeded = false;
}

function overBudget(state: CallState): boolean {
  if (state.budgetExceeded) return true;
  if (performance.now() <= state.deadline) return false;
  state.budgetExceeded = true;
  return true;
}

function failureJson(error: OAuthErrorCode, description: string): string {
  return JSON.stringify({ error, description });
}

const NO_CALL = failureJson('server_error', 'no active call');
const BAD_ARGUMENTS = failureJson('server_error', 'invalid arguments');
const HOST_ERROR = failureJson('server_error', 'internal error');
const OUT_OF_TIME = failureJson('server_error', 'the call ran out of time');

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_LIST_ITEMS &&
    value.every((item) => typeof item === 'string' && item.length > 0 && item.length <= MAX_LIST_ITEM_LENGTH)
  );
}

function parsePayload(payload: unknown): Record<string, unknown> | null {
  if (typeof payload !== 'string' || payload.length > MAX_CALLBACK_PAYLOAD) return null;
  return parseUntrustedObject(payload);
}

/** A host refusal as the script sees it: only registered codes, sanitised descriptions. */
function refusalJson(refusal: OAuthError): string {
  const error = isOAuthErrorCode(refusal.error) ? refusal.error : 'server_error';
  return failureJson(error, sanitizeDescription(String(refusal.description)));
}

function reportHostException(state: CallState, operation: string, error: unknown): void {
  state.events.error('procedure host service failed', {
    procedure_id: state.procedureId,
    request_id: state.requestId,
    operation,
    error: errorMessage(error),
  });
}

function optionalRecord(value: unknown): boolean {
  return value === undefined || value === null || isPlainRecord(value);
}

function isInitializedContextData(value: unknown): value is InitializedContextData {
  return (
    isPlainRecord(value) &&
    Number.isSafeInteger(value['contextId']) &&
    isStringList(value['audiences']) &&
    isStringList(value['scopes']) &&
    isPlainRecord(value['defaultAccessTokenData']) &&
    isPlainRecord(value['defaultDelegationData']) &&
    optionalRecord(value['defaultRefreshTokenData']) &&
    optionalRecord(value['defaultIdTokenData']) &&
    optionalRecord(value['defaultIdJagData']) &&
    optionalRecord(value['defaultTransactionTokenData'])
  );
}

/** `getInitializedContext(...)`: validates the request, asks the host, answers `{initialized}` or a failure. */
export function handleInitialize(state: CallState | null, payload: unknown): string {
  if (state === null) return NO_CALL;
  if (overBudget(state)) return OUT_OF_TIME;
  const request = parsePayload(payload);
  if (
    request === null ||
    !isStringList(request['audiences']) ||
    !isStringList(request['scopes']) ||
    !isPlainRecord(request['subjectAttributes']) ||
    !isPlainRecord(request['contextAttributes'])
  ) {
    return BAD_ARGUMENTS;
  }
  const initializeRequest: InitializeRequest = {
    audiences: request['audiences'],
    scopes: request['scopes'],
    subjectAttributes: request['subjectAttributes'],
    contextAttributes: request['contextAttributes'],
  };
  try {
    const answer = state.host.initialize(initializeRequest);
    if (!answer.ok) return refusalJson(answer.error);
    if (!isInitializedContextData(answer.value)) {
      reportHostException(state, 'initialize', new Error('host returned an invalid initialized context'));
      return HOST_ERROR;
    }
    return JSON.stringify({ initialized: answer.value });
  } catch (error) {
    reportHostException(state, 'initialize', error);
    return HOST_ERROR;
  }
}

/** `issuer.issue(data, delegation)`: counts against maxIssueCalls, validates, signs on the host. */
export function handleIssue(state: CallState | null, payload: unknown): string {
  if (state === null) return NO_CALL;
  if (overBudget(state)) return OUT_OF_TIME;
  state.issueCalls += 1;
  if (state.issueCalls > state.limits.maxIssueCalls) {
    state.issueLimitExceeded = true;
    return failureJson('server_error', 'token issue limit reached');
  }
  const request = parsePayload(payload);
  if (request === null) return BAD_ARGUMENTS;
  const kind = request['kind'];
  const contextId = request['contextId'];
  const data = request['data'];
  const delegation = request['delegation'];
  const jwt = request['jwt'];
  if (
    (jwt !== undefined && typeof jwt !== 'boolean') ||
    typeof kind !== 'string' ||
    !(ISSUER_KINDS as readonly string[]).includes(kind) ||
    typeof contextId !== 'number' ||
    !Number.isSafeInteger(contextId) ||
    !isPlainRecord(data) ||
    !(delegation === null || isPlainRecord(delegation))
  ) {
    return BAD_ARGUMENTS;
  }
  const issueRequest: IssueRequest = { kind: kind as IssuerKind, contextId, data, delegation, ...(jwt === true ? { jwt } : {}) };
  try {
    const answer = state.host.issue(issueRequest);
    if (!answer.ok) return refusalJson(answer.error);
    const token: unknown = answer.value.token;
    if (typeof token !== 'string') {
      reportHostException(state, 'issue', new Error('host returned no token'));
      return HOST_ERROR;
    }
    state.secrets.push(token);
    return JSON.stringify({ token });
  } catch (error) {
    reportHostException(state, 'issue', error);
    return HOST_ERROR;
  }
}

/**
 * Removes token values from a log line: exact values, JWT-shaped strings, and lines that hold a
 * disguised part of a token (split, spaced out, reversed, escaped): see log-redaction.ts.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return redactLogLine(text, secrets);
}

/** `logger.*(...)`: at most maxLogLinesPerCall lines, each truncated and redacted; one notice when lines are dropped. */
export function handleLog(state: CallState | null, level: unknown, message: unknown): void {
  if (state === null) return;
  state.logLines += 1;
  const { maxLogLinesPerCall, maxLogLineLength } = state.limits;
  try {
    if (state.logLines === maxLogLinesPerCall + 1) {
      state.log('warn', `log limit of ${maxLogLinesPerCall} lines per call reached; further lines are dropped`);
    }
    if (state.logLines > maxLogLinesPerCall) return;
    const logLevel: LogLevel = (LOG_LEVELS as readonly unknown[]).includes(level) ? (level as LogLevel) : 'info';
    const text = (typeof message === 'string' ? message : String(message)).slice(0, MAX_CALLBACK_PAYLOAD);
    // Redact before truncating so a cut cannot leave half a token that no longer matches.
    const redacted = redactSecrets(text, state.secrets);
    state.log(logLevel, redacted.length > maxLogLineLength ? `${redacted.slice(0, maxLogLineLength)}...` : redacted);
  } catch (error) {
    reportHostException(state, 'log', error);
  }
}
