/*
 * Prelude module: the call. run(inputJson) builds the context for the input's flow, calls the
 * procedure's result(context) and answers one string envelope: 'R' + the result JSON, 'O' +
 * {error, description} for OAuth errors, or 'F' + {reason, message, line, column} for failures.
 * prelude-source.ts returns `run` from the prelude closure.
 */
/* exported run -- the prelude closure returns it (prelude-source.ts) */
/* global PROCEDURE_FILENAME, regexpExec, stringSlice, MAX_STACK_SCAN, NumberCtor, jsonStringify,
  MAX_MESSAGE, weakSetHas, isArray, MAX_RESULT_CHARS, jsonParse, SUBJECT_TOKEN_REF, ACTOR_TOKEN_REF -- intrinsics.js */
/* global call, truncate, isErrorLike, safeString, safeJson, has -- helpers.js */
/* global oauthExceptions -- exceptions.js */
/* global resetLogLines -- logger.js */
/* global sharedCall -- context-common.js */
/* global initializedContext -- context-initialized.js */
/* global uninitializedContext -- context-token-exchange.js */
/* global refreshContext -- context-refresh.js */
/* global jwtAssertionContext -- context-jwt-assertion.js */

const LOCATION = new RegExp(
  '(?:^|[\\s(])' + PROCEDURE_FILENAME.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + ':(\\d+):(\\d+)',
);

function locationOf(error) {
  let stack;
  try {
    stack = error.stack;
  } catch {
    return null;
  }
  if (typeof stack !== 'string') return null;
  const match = call(regexpExec, LOCATION, [call(stringSlice, stack, [0, MAX_STACK_SCAN])]);
  if (match === null) return null;
  return { line: NumberCtor(match[1]), column: NumberCtor(match[2]) };
}

function failure(reason, message, location) {
  return 'F' + jsonStringify({
    reason,
    message: truncate(message, MAX_MESSAGE),
    line: location ? location.line : null,
    column: location ? location.column : null,
  });
}

function thrown(value) {
  if (typeof value === 'object' && value !== null && call(weakSetHas, oauthExceptions, [value])) {
    return 'O' + jsonStringify({ error: value.error, description: value.description });
  }
  if (isErrorLike(value)) {
    let text;
    try {
      text = safeString(value.name) + ': ' + safeString(value.message);
    } catch {
      text = 'Error';
    }
    return failure('runtime_error', text, locationOf(value));
  }
  const rendered = typeof value === 'object' && value !== null ? safeJson(value) : safeString(value);
  return failure('runtime_error', 'threw a non-Error value: ' + rendered, null);
}

function findResult() {
  // A bare identifier finds `function result` and top-level `let/const result` of the procedure.
  return typeof result === 'function' ? result : undefined; // eslint-disable-line no-undef
}

function respond(value) {
  if (value === undefined) return failure('no_result', 'result(context) returned no value', null);
  if (typeof value !== 'object' || value === null || isArray(value)) {
    const kind = value === null ? 'null' : isArray(value) ? 'an array' : typeof value;
    return failure('invalid_result', 'result(context) must return an object, not ' + kind, null);
  }
  if (typeof value.then === 'function') {
    return failure('invalid_result', 'result(context) returned a Promise; procedures are synchronous', null);
  }
  let json;
  try {
    json = jsonStringify(value);
  } catch (error) {
    if (typeof error === 'object' && error !== null && call(weakSetHas, oauthExceptions, [error])) return thrown(error);
    return failure('invalid_result', 'the returned object is not JSON: ' + (isErrorLike(error) ? safeString(error.message) : safeString(error)), null);
  }
  if (typeof json !== 'string') return failure('invalid_result', 'the returned object is not JSON', null);
  if (json.length > MAX_RESULT_CHARS) return failure('result_too_large', 'the returned object is larger than ' + MAX_RESULT_CHARS + ' bytes', null);
  return 'R' + json;
}

// The host writes each presented token's value and claims once (sandbox/input-json.ts): a number
// stands where the form parameter's values or the delegation's claims belong. The parsed input is
// never handed to the procedure, so these plain assignments to its own properties are safe.
function restoreToken(token, form, name, ref) {
  if (token === null || token === undefined) return;
  if (has(form, name) && form[name] === ref) form[name] = [token.value];
  if (token.delegation && token.delegation.claims === ref) token.delegation.claims = token.claims;
}

function run(inputJson) {
  resetLogLines();
  try {
    const input = jsonParse(inputJson);
    restoreToken(input.subjectToken, input.request.formParameters, 'subject_token', SUBJECT_TOKEN_REF);
    restoreToken(input.actorToken, input.request.formParameters, 'actor_token', ACTOR_TOKEN_REF);
    const shared = sharedCall(input);
    let context;
    if (input.assertion && input.initialized) context = jwtAssertionContext(shared, input.initialized);
    else if (input.refresh && input.initialized) context = refreshContext(shared, input.initialized);
    else if (input.initialized) context = initializedContext(shared, input.initialized, null);
    else context = uninitializedContext(shared);
    const procedure = findResult();
    if (procedure === undefined) return failure('runtime_error', 'the procedure does not define function result(context)', null);
    try {
      return respond(call(procedure, undefined, [context]));
    } catch (error) {
      return thrown(error);
    }
  } catch (error) {
    // Only reached when the handlers above fail themselves (e.g. a stack overflow while reporting).
    return failure('runtime_error', 'the procedure failed: ' + (isErrorLike(error) ? safeString(error.message) : 'unknown error'), null);
  }
}
