/*
 * Prelude module: intrinsics, captured before the procedure can replace them, and the host's
 * configuration (limits, the procedure's file name, the token-value markers of input-json.ts).
 *
 * Whatever runs after the procedure's own code (every call) uses these captured functions and
 * constructors, never the globals or prototype methods that code may have replaced.
 */
/* exported G, apply, defineProperty, freeze, create, objectKeys, getPrototypeOf, isArray, jsonStringify,
  jsonParse, StringCtor, NumberCtor, ErrorCtor, TypeErrorCtor, RangeErrorCtor, setPrototypeOf,
  objectHasOwnProperty, ObjectPrototype, fromCharCode, ArrayPrototype, dateNow, mathRound, stringSlice,
  stringIndexOf, stringCharCodeAt, regexpExec, weakSetHas, weakSetAdd, weakMapGet, weakMapSet, SetPrototype,
  setValues, iteratorNext, config, PROCEDURE_FILENAME, MAX_RESULT_CHARS, MAX_LOG_LINES, MAX_LOG_LINE,
  MAX_MESSAGE, MAX_STACK_SCAN, MAX_LIST, SUBJECT_TOKEN_REF, ACTOR_TOKEN_REF */
/* global configJson -- prelude parameter */

const G = globalThis;
const apply = Reflect.apply;
const defineProperty = Object.defineProperty;
const freeze = Object.freeze;
const create = Object.create;
const objectKeys = Object.keys;
const getPrototypeOf = Object.getPrototypeOf;
const isArray = Array.isArray;
const jsonStringify = JSON.stringify;
const jsonParse = JSON.parse;
const StringCtor = String;
const NumberCtor = Number;
const ErrorCtor = Error;
const TypeErrorCtor = TypeError;
const RangeErrorCtor = RangeError;
const setPrototypeOf = Object.setPrototypeOf;
const objectHasOwnProperty = Object.prototype.hasOwnProperty;
const ObjectPrototype = Object.prototype;
const fromCharCode = String.fromCharCode;
const ArrayPrototype = Array.prototype;
const dateNow = Date.now;
const mathRound = Math.round;
const stringSlice = String.prototype.slice;
const stringIndexOf = String.prototype.indexOf;
const stringCharCodeAt = String.prototype.charCodeAt;
const regexpExec = RegExp.prototype.exec;
const weakSetHas = WeakSet.prototype.has;
const weakSetAdd = WeakSet.prototype.add;
const weakMapGet = WeakMap.prototype.get;
const weakMapSet = WeakMap.prototype.set;
const SetPrototype = Set.prototype;
const setValues = Set.prototype.values;
const iteratorNext = getPrototypeOf(new Set().values()).next;

const config = jsonParse(configJson);
const PROCEDURE_FILENAME = config.procedureFilename;
const MAX_RESULT_CHARS = config.maxResultBytes;
const MAX_LOG_LINES = config.maxLogLinesPerCall;
const MAX_LOG_LINE = config.maxLogLineLength;
const MAX_MESSAGE = 500;
const MAX_STACK_SCAN = 8000;
const MAX_LIST = 1000;
const SUBJECT_TOKEN_REF = config.subjectTokenRef;
const ACTOR_TOKEN_REF = config.actorTokenRef;
