/*
 * Prelude module: the uninitialized token-exchange context, whose getInitializedContext(...) asks
 * the host to fix the audiences and scopes of the token to issue.
 */
/* exported uninitializedContext */
/* global hostInitialize -- prelude parameter */
/* global isArray, TypeErrorCtor, jsonStringify, create, jsonParse, freeze -- intrinsics.js */
/* global hidden, has -- helpers.js */
/* global toStringList -- collections.js */
/* global throwHostFailure -- exceptions.js */
/* global stateOf, withState -- context-state.js */
/* global CommonPrototype -- context-common.js */
/* global initializedContext -- context-initialized.js */

function toAttributes(value) {
  if (value === null || value === undefined) return '{}';
  if (typeof value !== 'object' || isArray(value)) throw new TypeErrorCtor('attributes must be an object or null');
  const json = jsonStringify(value);
  return typeof json === 'string' ? json : '{}';
}

// The uninitialized token-exchange context: getInitializedContext asks the host to fix aud and scope.
const UninitializedPrototype = create(CommonPrototype);
hidden(UninitializedPrototype, 'getInitializedContext', function getInitializedContext(subjectAttributes, contextAttributes, audiences, scopes) {
  const state = stateOf(this);
  const subjectJson = toAttributes(subjectAttributes);
  const contextJson = toAttributes(contextAttributes);
  const request =
    '{"audiences":' + jsonStringify(toStringList(audiences, 'audiences')) +
    ',"scopes":' + jsonStringify(toStringList(scopes, 'scopes')) +
    ',"subjectAttributes":' + subjectJson + ',"contextAttributes":' + contextJson + '}';
  const answer = jsonParse(hostInitialize(request));
  if (!has(answer, 'initialized')) throwHostFailure(answer);
  const attributes = { subject: jsonParse(subjectJson), context: jsonParse(contextJson) };
  return initializedContext(state.shared, answer.initialized, attributes);
});
freeze(UninitializedPrototype);

function uninitializedContext(shared) {
  return withState(UninitializedPrototype, { shared, attributes: null, initialized: null, issuers: null });
}
