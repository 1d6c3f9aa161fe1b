/*
 * Prelude module: the private state of contexts, requests and issuers (a WeakMap the procedure
 * cannot reach) and member(), which defines Curity's `getX()` together with the property `x`.
 */
/* exported withState, stateOf, member */
/* global create, weakMapSet, freeze, weakMapGet, TypeErrorCtor, defineProperty, apply -- intrinsics.js */
/* global call, hidden -- helpers.js */

// Contexts, requests and issuers are frozen objects over frozen prototypes; their per-call data
// lives in a WeakMap the procedure cannot reach. Building them per call is a few allocations.
const contextState = new WeakMap();

function withState(prototype, state) {
  const target = create(prototype);
  call(weakMapSet, contextState, [target, state]);
  return freeze(target);
}
function stateOf(target) {
  const state = typeof target === 'object' && target !== null ? call(weakMapGet, contextState, [target]) : undefined;
  if (state === undefined) throw new TypeErrorCtor('this method must be called on the object it belongs to');
  return state;
}
/** Defines `getX()` and a property `x` that answers the same (Nashorn reads getters as properties). */
function member(prototype, property, method, fn) {
  hidden(prototype, method, fn);
  defineProperty(prototype, property, {
    __proto__: null,
    get: function read() {
      return apply(fn, this, []);
    },
    enumerable: false,
    configurable: false,
  });
}
