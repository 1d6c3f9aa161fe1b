/*
 * Prelude module: the logger and the console alias. SLF4J-style `{}` formatting; at most
 * MAX_LOG_LINES lines per call (run() calls resetLogLines).
 */
/* exported resetLogLines, logger, consoleLike */
/* global hostLog -- prelude parameter */
/* global stringIndexOf, stringSlice, MAX_LOG_LINE, MAX_LOG_LINES, freeze -- intrinsics.js */
/* global isErrorLike, safeString, safeJson, call, truncate -- helpers.js */

let logLines = 0;

/** Each call starts with the full allowance of log lines. */
function resetLogLines() {
  logLines = 0;
}

function renderArgument(value) {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return '[function]';
  if (isErrorLike(value)) return safeString(value.name) + ': ' + safeString(value.message);
  if (typeof value === 'object' && value !== null) return safeJson(value);
  return safeString(value);
}
/** SLF4J-style: each `{}` takes the next argument; a trailing Error is appended. */
function format(args) {
  if (args.length === 0) return '';
  let text = renderArgument(args[0]);
  let next = 1;
  let from = 0;
  for (;;) {
    const at = call(stringIndexOf, text, ['{}', from]);
    if (at < 0 || next >= args.length) break;
    const rendered = renderArgument(args[next++]);
    text = call(stringSlice, text, [0, at]) + rendered + call(stringSlice, text, [at + 2]);
    from = at + rendered.length;
    if (text.length > MAX_LOG_LINE) break;
  }
  if (next < args.length && isErrorLike(args[args.length - 1])) text += ' ' + renderArgument(args[args.length - 1]);
  return truncate(text, MAX_LOG_LINE);
}
function logAt(level) {
  return function log() {
    if (logLines > MAX_LOG_LINES) return;
    logLines++;
    // The host counts too and sends one "dropped" notice; one extra call lets it see the overflow.
    if (logLines > MAX_LOG_LINES) hostLog(level, '');
    else hostLog(level, format(arguments));
  };
}
const logger = freeze({
  trace: logAt('debug'),
  debug: logAt('debug'),
  info: logAt('info'),
  warn: logAt('warn'),
  error: logAt('error'),
});
const consoleLike = freeze({
  log: logger.info,
  info: logger.info,
  debug: logger.debug,
  warn: logger.warn,
  error: logger.error,
});
