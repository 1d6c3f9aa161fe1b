/*
 * Prelude module: `context.request`, the form parameters and headers of the token request.
 */
/* exported RequestPrototype */
/* global create, ObjectPrototype, StringCtor, objectKeys, freeze, stringCharCodeAt, fromCharCode,
  stringSlice -- intrinsics.js */
/* global hidden, has, call -- helpers.js */
/* global javaList -- collections.js */
/* global stateOf, member -- context-state.js */

// context.request: form parameters and headers (lower-case names; credentials already removed).
const RequestPrototype = create(ObjectPrototype);
hidden(RequestPrototype, 'getFormParameter', function getFormParameter(name) {
  const form = stateOf(this).formParameters;
  const key = StringCtor(name);
  const values = has(form, key) ? form[key] : null;
  return values && values.length > 0 ? values[0] : null;
});
hidden(RequestPrototype, 'getFormParameterValues', function getFormParameterValues(name) {
  const form = stateOf(this).formParameters;
  const key = StringCtor(name);
  return javaList(has(form, key) ? form[key] : [], false);
});
hidden(RequestPrototype, 'getHeader', function getHeader(name) {
  const headers = stateOf(this).headers;
  const key = lowerAscii(StringCtor(name));
  return has(headers, key) ? headers[key] : null;
});
member(RequestPrototype, 'method', 'getMethod', function getMethod() {
  return stateOf(this).method;
});
member(RequestPrototype, 'path', 'getPath', function getPath() {
  return stateOf(this).path;
});
member(RequestPrototype, 'clientIpAddress', 'getClientIpAddress', function getClientIpAddress() {
  return stateOf(this).clientIpAddress;
});
member(RequestPrototype, 'formParameterNames', 'getFormParameterNames', function getFormParameterNames() {
  return javaList(objectKeys(stateOf(this).formParameters), false);
});
freeze(RequestPrototype);

function lowerAscii(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = call(stringCharCodeAt, text, [i]);
    out += code >= 65 && code <= 90 ? call(fromCharCode, StringCtor, [code + 32]) : call(stringSlice, text, [i, i + 1]);
  }
  return out;
}
