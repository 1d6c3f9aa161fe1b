/*
 * Prelude module: small helpers that do not go through replaceable prototypes: calls, own-key
 * tests, property definition with prototype-free descriptors, per-call objects built off any
 * prototype a procedure could plant setters on, and strings that never throw.
 */
/* exported call, has, setValue, hidden, append, bareObject, bareList, finish, truncate, splitWords,
  safeString, safeJson, isErrorLike */
/* global apply, defineProperty, freeze, create, setPrototypeOf, objectHasOwnProperty, stringSlice,
  stringCharCodeAt, StringCtor, jsonStringify, ErrorCtor -- intrinsics.js */

function call(fn, self, args) {
  return apply(fn, self, args);
}
function has(target, key) {
  return call(objectHasOwnProperty, target, [key]);
}
// Descriptors have no prototype: an inherited `get`/`set` planted on Object.prototype would
// otherwise turn them into invalid accessor descriptors.
function setValue(target, key, value, enumerable) {
  defineProperty(target, key, { __proto__: null, value, writable: true, enumerable, configurable: true });
}
function hidden(target, key, value) {
  defineProperty(target, key, { __proto__: null, value, writable: false, enumerable: false, configurable: false });
}
function append(list, value) {
  setValue(list, list.length, value, true);
}
// Per-call objects are filled while no setter a procedure planted on Object.prototype or
// Array.prototype is on their prototype chain, so plain assignment (far cheaper than
// defineProperty) is safe; `finish` gives them their real prototype once they are complete.
// Objects start under a frozen, empty, null-prototype parent rather than a null prototype, which
// would leave them in V8's slow dictionary mode.
const STAGING_PROTOTYPE = freeze(create(null));
function bareObject() {
  return create(STAGING_PROTOTYPE);
}
function bareList() {
  const list = [];
  setPrototypeOf(list, null);
  return list;
}
function finish(target, prototype) {
  setPrototypeOf(target, prototype);
  return target;
}
function truncate(text, max) {
  return text.length > max ? call(stringSlice, text, [0, max]) + '...' : text;
}
function isWhitespace(code) {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 12;
}
/** Splits on runs of whitespace, like Curity's space-separated scope strings. */
function splitWords(text) {
  const words = bareList();
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const space = i === text.length || isWhitespace(call(stringCharCodeAt, text, [i]));
    if (space && start >= 0) {
      words[words.length] = call(stringSlice, text, [start, i]);
      start = -1;
    } else if (!space && start < 0) {
      start = i;
    }
  }
  return words;
}
function safeString(value) {
  try {
    return StringCtor(value);
  } catch {
    return '[unprintable]';
  }
}
function safeJson(value) {
  try {
    const text = jsonStringify(value);
    return typeof text === 'string' ? text : safeString(value);
  } catch {
    return '[unserialisable]';
  }
}
function isErrorLike(value) {
  return typeof value === 'object' && value !== null && value instanceof ErrorCtor;
}
