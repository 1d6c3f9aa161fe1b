/*
 * Prelude module: exceptionFactory and host failures. Exceptions built here are remembered in a
 * WeakSet, so the envelope answers only those with an OAuth error.
 */
/* exported oauthExceptions, exceptionFactory, throwHostFailure */
/* global ErrorCtor, weakSetAdd, MAX_MESSAGE, create, config, freeze -- intrinsics.js */
/* global setValue, hidden, call, truncate, safeString -- helpers.js */

const oauthExceptions = new WeakSet();
const STATUS_NAMES = { 403: 'ForbiddenException', 500: 'InternalServerException', 401: 'UnauthorizedException' };

function oauthException(name, error, description) {
  const exception = new ErrorCtor(description);
  setValue(exception, 'name', name, false);
  hidden(exception, 'error', error);
  hidden(exception, 'errorCode', error);
  hidden(exception, 'description', description);
  call(weakSetAdd, oauthExceptions, [exception]);
  return exception;
}
function describe(value) {
  if (value === null || value === undefined) return '';
  return truncate(typeof value === 'string' ? value : safeString(value), MAX_MESSAGE);
}
// Registered OAuth error codes; a null prototype so no inherited key matches.
const OAUTH_CODES = create(null);
for (let i = 0; i < config.oauthErrorCodes.length; i++) OAUTH_CODES[config.oauthErrorCodes[i]] = true;
freeze(OAUTH_CODES);
function isCode(value) {
  return typeof value === 'string' && OAUTH_CODES[value] === true;
}

const exceptionFactory = freeze({
  /** `()`, `(message)` → invalid_request; `(code, message)` → `code` when it is an OAuth error code. */
  badRequestException: function badRequestException(codeOrMessage, message) {
    if (arguments.length >= 2 && codeOrMessage !== null && codeOrMessage !== undefined) {
      if (isCode(codeOrMessage)) return oauthException('BadRequestException', codeOrMessage, describe(message));
      return oauthException('BadRequestException', 'invalid_request', describe(codeOrMessage) + ': ' + describe(message));
    }
    return oauthException('BadRequestException', 'invalid_request', describe(arguments.length >= 2 ? message : codeOrMessage));
  },
  forbiddenException: function forbiddenException(message) {
    return oauthException('ForbiddenException', 'access_denied', describe(message));
  },
  unauthorizedException: function unauthorizedException(message) {
    return oauthException('UnauthorizedException', 'unauthorized_client', describe(message));
  },
  internalServerException: function internalServerException(message) {
    return oauthException('InternalServerException', 'server_error', describe(message));
  },
  notFoundException: function notFoundException(message) {
    return oauthException('NotFoundException', 'invalid_request', describe(message));
  },
});

function throwHostFailure(failure) {
  const error = isCode(failure.error) ? failure.error : 'server_error';
  const status = config.oauthErrorStatus[error];
  throw oauthException(STATUS_NAMES[status] || 'BadRequestException', error, describe(failure.description));
}
