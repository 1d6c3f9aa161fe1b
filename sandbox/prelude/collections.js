/*
 * Prelude module: Java-style collections. JavaList (scopes, audiences, array claims, keySet())
 * with its iterator, and toStringList, which reads the audiences or scopes a procedure passes.
 *
 * wrapClaim comes from a later module (token-data.js, which needs javaList in turn); it is only
 * called at run time, when every module has been evaluated.
 */
/* exported javaList, toStringList */
/* global create, ArrayPrototype, freeze, isArray, getPrototypeOf, SetPrototype, setValues, iteratorNext,
  TypeErrorCtor, MAX_LIST -- intrinsics.js */
/* global hidden, append, bareList, finish, splitWords, call, safeString -- helpers.js */
/* global wrapClaim -- token-data.js */

// Sets of scopes/audiences are real arrays (so JS code works) whose prototype also answers the
// java.util.Set calls Curity scripts make. No `get`: scripts test `typeof x.get` to detect Maps.
const JavaListPrototype = create(ArrayPrototype);
hidden(JavaListPrototype, 'contains', function contains(item) {
  for (let i = 0; i < this.length; i++) if (this[i] === item) return true;
  return false;
});
hidden(JavaListPrototype, 'size', function size() {
  return this.length;
});
hidden(JavaListPrototype, 'isEmpty', function isEmpty() {
  return this.length === 0;
});
hidden(JavaListPrototype, 'add', function add(item) {
  for (let i = 0; i < this.length; i++) if (this[i] === item) return false;
  append(this, item);
  return true;
});
hidden(JavaListPrototype, 'toArray', function toArray() {
  const copy = bareList();
  for (let i = 0; i < this.length; i++) copy[i] = this[i];
  return finish(copy, ArrayPrototype);
});
function listIterator(items) {
  let index = 0;
  return freeze({
    hasNext: function hasNext() {
      return index < items.length;
    },
    next: function next() {
      return items[index++];
    },
  });
}
hidden(JavaListPrototype, 'iterator', function iterator() {
  return listIterator(this);
});
freeze(JavaListPrototype);

function javaList(items, wrapItems) {
  const list = bareList();
  for (let i = 0; i < items.length; i++) list[i] = wrapItems ? wrapClaim(items[i]) : items[i];
  return finish(list, JavaListPrototype);
}

/** Normalises audiences/scopes arguments: array, Java-style set, JS Set, space-separated string, null. */
function toStringList(value, name) {
  const out = bareList();
  if (value === null || value === undefined) return out;
  if (typeof value === 'string') return splitWords(value);
  let items;
  if (isArray(value)) items = value;
  else if (typeof value === 'object' && getPrototypeOf(value) === SetPrototype) {
    items = bareList();
    const iterator = call(setValues, value, []);
    for (let step = call(iteratorNext, iterator, []); !step.done; step = call(iteratorNext, iterator, [])) {
      items[items.length] = step.value;
    }
  } else if (typeof value === 'object' && typeof value.toArray === 'function') items = value.toArray();
  else throw new TypeErrorCtor(name + ' must be an array, a set, a string or null');
  if (!isArray(items) || items.length > MAX_LIST) throw new TypeErrorCtor(name + ' has too many values');
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === null || item === undefined) continue;
    const text = typeof item === 'string' ? item : safeString(item);
    if (text.length > 0) out[out.length] = text;
  }
  return out;
}
