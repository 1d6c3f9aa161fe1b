/*
 * Prelude module: builtins that V8 cannot interrupt. Replaces the Array and TypedArray prototype
 * methods, Array.from and the String builders repeat/padStart/padEnd by wrappers that refuse
 * lengths above the host's caps (MAX_BUILTIN_LENGTH, MAX_BUILT_STRING in prelude-source.ts).
 */
/* global config, RangeErrorCtor, NumberCtor, apply, defineProperty, ArrayPrototype, getPrototypeOf,
  StringCtor -- intrinsics.js */

// Array builtins walk `length` in native code without checking for termination: on a holey
// `new Array(1e8)`, fill/from crash the process on allocation and indexOf/sort/reverse hold the
// thread for seconds past any time limit. They are refused above a length no token procedure
// needs, before they run; the same for typed arrays and for strings built in one native step.
const MAX_BUILTIN_LENGTH = config.maxBuiltinLength;
const MAX_BUILT_STRING = config.maxBuiltString;
function refuseLong(name, length, max) {
  if (length > max) throw new RangeErrorCtor(name + ' on more than ' + max + ' elements is refused in token procedures');
}
function lengthOf(target) {
  if (target === null || target === undefined) return 0;
  const length = target.length;
  return typeof length === 'number' ? length : NumberCtor(length);
}
function guardMethods(prototype, label, max) {
  const names = Object.getOwnPropertyNames(prototype);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
    const original = descriptor.value;
    if (typeof original !== 'function') continue;
    const qualified = label + '.' + name;
    // A method-shorthand function is not a constructor, like the builtins it stands for.
    const guarded = {
      [name](...args) {
        refuseLong(qualified, lengthOf(this), max);
        return apply(original, this, args);
      },
    }[name];
    defineProperty(prototype, name, { __proto__: null, value: guarded, writable: descriptor.writable, enumerable: false, configurable: true });
  }
}
guardMethods(ArrayPrototype, 'Array.prototype', MAX_BUILTIN_LENGTH);
guardMethods(getPrototypeOf(Uint8Array.prototype), 'TypedArray.prototype', MAX_BUILTIN_LENGTH * 2);
const arrayFrom = Array.from;
defineProperty(Array, 'from', {
  __proto__: null,
  value: {
    from(items) {
      refuseLong('Array.from', lengthOf(items), MAX_BUILTIN_LENGTH);
      return apply(arrayFrom, this, arguments);
    },
  }.from,
  writable: true,
  enumerable: false,
  configurable: true,
});
function guardStringBuilder(name, resultLength) {
  const original = String.prototype[name];
  defineProperty(String.prototype, name, {
    __proto__: null,
    value: {
      [name](...args) {
        refuseLong('String.prototype.' + name, resultLength(StringCtor(this), args), MAX_BUILT_STRING);
        return apply(original, this, args);
      },
    }[name],
    writable: true,
    enumerable: false,
    configurable: true,
  });
}
guardStringBuilder('repeat', (text, args) => text.length * NumberCtor(args[0]));
guardStringBuilder('padStart', (_text, args) => NumberCtor(args[0]));
guardStringBuilder('padEnd', (_text, args) => NumberCtor(args[0]));
