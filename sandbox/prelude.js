/*
 * The trusted prelude: runs inside each procedure isolate before the procedure's own code.
 *
 * It receives three host callbacks (plain functions taking and returning strings) and a JSON
 * configuration, captures the intrinsics it needs, removes what hands out power (WebAssembly,
 * shared memory) or lets a script watch the garbage collector (weak references, finalizers), installs the Curity globals (`logger`, `exceptionFactory`,
 * `secondsUntil`) and returns `run(inputJson)`: the function the host calls once per request.
 *
 * `run` builds the context from the input JSON, calls the procedure's `result(context)` and answers
 * one string envelope: 'R' + the result JSON, 'O' + {error, description} for OAuth errors, or
 * 'F' + {reason, message, line, column} for failures. The host treats the envelope as untrusted and
 * enforces every limit again on its side; the prelude only makes the common cases precise.
 *
 * Everything is strict mode so V8 call sites never hand prelude functions or receivers to a
 * procedure's Error.prepareStackTrace.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-expressions -- the engine evaluates this file as one expression
(function tokenprocPrelude(hostInitialize, hostIssue, hostLog, configJson) {
  'use strict';

  // ---- Intrinsics, captured before the procedure can replace them -----------------------------
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
  const hasOwnProperty = Object.prototype.hasOwnProperty;
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

  // Power the procedure must not have. isolated-vm isolates have no require/process/timers already.
  // WeakRef and FinalizationRegistry would let a script observe garbage collection, which other
  // requests' work drives: a timing side channel and a source of results that differ run to run.
  const REMOVED_GLOBALS = ['WebAssembly', 'SharedArrayBuffer', 'Atomics', 'FinalizationRegistry', 'WeakRef'];
  for (let i = 0; i < REMOVED_GLOBALS.length; i++) delete G[REMOVED_GLOBALS[i]];

  // ---- Builtins that V8 cannot interrupt ---------------------------------------------------------
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

  // ---- Small helpers that do not go through replaceable prototypes ------------------------------
  function call(fn, self, args) {
    return apply(fn, self, args);
  }
  function has(target, key) {
    return call(hasOwnProperty, target, [key]);
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

  // ---- Java-style collections --------------------------------------------------------------------
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

  // Token data: claims as own enumerable properties; Map methods inherited and non-enumerable, so
  // `data.scope`, `data.get('scope')` and JSON.stringify(data) (claims only) all work.
  const TokenDataPrototype = create(ObjectPrototype);
  hidden(TokenDataPrototype, 'get', function get(name) {
    const key = StringCtor(name);
    return has(this, key) ? this[key] : null;
  });
  hidden(TokenDataPrototype, 'put', function put(name, value) {
    const key = StringCtor(name);
    const previous = has(this, key) ? this[key] : null;
    setValue(this, key, value, true);
    return previous;
  });
  hidden(TokenDataPrototype, 'containsKey', function containsKey(name) {
    return has(this, StringCtor(name));
  });
  hidden(TokenDataPrototype, 'remove', function remove(name) {
    const key = StringCtor(name);
    const previous = has(this, key) ? this[key] : null;
    delete this[key];
    return previous;
  });
  hidden(TokenDataPrototype, 'keySet', function keySet() {
    return javaList(objectKeys(this), false);
  });
  freeze(TokenDataPrototype);

  function wrapClaim(value) {
    if (isArray(value)) return javaList(value, true);
    if (typeof value === 'object' && value !== null) return tokenData(value);
    return value;
  }
  function tokenData(claims) {
    const data = bareObject();
    const keys = objectKeys(claims);
    for (let i = 0; i < keys.length; i++) data[keys[i]] = wrapClaim(claims[keys[i]]);
    return finish(data, TokenDataPrototype);
  }

  // Curity's ScriptDelegation, as a plain object with its getters.
  const DelegationPrototype = create(ObjectPrototype);
  hidden(DelegationPrototype, 'getId', function getId() {
    return this.id;
  });
  hidden(DelegationPrototype, 'getClientId', function getClientId() {
    return this.clientId;
  });
  hidden(DelegationPrototype, 'getScope', function getScope() {
    return this.scope;
  });
  hidden(DelegationPrototype, 'getClaims', function getClaims() {
    return this.claims;
  });
  freeze(DelegationPrototype);

  function delegation(view) {
    if (view === null || view === undefined) return null;
    const value = bareObject();
    value.id = view.id;
    value.clientId = view.clientId;
    value.scope = view.scope;
    value.claims = tokenData(view.claims || {});
    return finish(value, DelegationPrototype);
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

  function toAttributes(value) {
    if (value === null || value === undefined) return '{}';
    if (typeof value !== 'object' || isArray(value)) throw new TypeErrorCtor('attributes must be an object or null');
    const json = jsonStringify(value);
    return typeof json === 'string' ? json : '{}';
  }

  // ---- exceptionFactory and host failures ---------------------------------------------------------
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

  // ---- logger ---------------------------------------------------------------------------------------
  let logLines = 0;

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

  /** Seconds from now until `epochSeconds`, rounded; negative once that moment has passed. */
  function secondsUntil(epochSeconds) {
    return mathRound(NumberCtor(epochSeconds) - call(dateNow, Date, []) / 1000);
  }

  defineProperty(G, 'logger', { value: logger, writable: false, enumerable: false, configurable: false });
  defineProperty(G, 'exceptionFactory', { value: exceptionFactory, writable: false, enumerable: false, configurable: false });
  defineProperty(G, 'secondsUntil', { value: secondsUntil, writable: false, enumerable: false, configurable: false });
  defineProperty(G, 'console', { value: consoleLike, writable: true, enumerable: false, configurable: true });

  // ---- Context objects --------------------------------------------------------------------------------
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

  // context.client: data properties plus Curity's getters.
  const ClientPrototype = create(ObjectPrototype);
  const CLIENT_FIELDS = ['id', 'name', 'properties', 'audiences', 'audiencesAsString', 'scope'];
  const CLIENT_GETTERS = ['getId', 'getName', 'getProperties', 'getAudiences', 'getAudiencesAsString', 'getScope'];
  for (let i = 0; i < CLIENT_FIELDS.length; i++) {
    const field = CLIENT_FIELDS[i];
    hidden(ClientPrototype, CLIENT_GETTERS[i], function read() {
      return this[field];
    });
  }
  freeze(ClientPrototype);

  function clientView(client) {
    const view = bareObject();
    const properties = bareObject();
    const propertyKeys = objectKeys(client.properties);
    for (let i = 0; i < propertyKeys.length; i++) properties[propertyKeys[i]] = client.properties[propertyKeys[i]];
    let audiencesAsString = '';
    for (let i = 0; i < client.audiences.length; i++) audiencesAsString += (i > 0 ? ' ' : '') + client.audiences[i];
    view.id = client.id;
    view.name = client.name;
    view.properties = finish(properties, ObjectPrototype);
    view.audiences = javaList(client.audiences, false);
    view.audiencesAsString = audiencesAsString;
    view.scope = client.scope;
    return freeze(finish(view, ClientPrototype));
  }

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

  const CONTEXT_ATTRIBUTE_NAMES = freeze(['acr', 'amr', 'auth_time']);
  function subjectAttributesOf(claims) {
    const attributes = bareObject();
    if (claims && typeof claims.sub === 'string') attributes.subject = claims.sub;
    return attributes;
  }
  function contextAttributesOf(claims) {
    const attributes = bareObject();
    if (claims) {
      for (let i = 0; i < CONTEXT_ATTRIBUTE_NAMES.length; i++) {
        const name = CONTEXT_ATTRIBUTE_NAMES[i];
        if (has(claims, name)) attributes[name] = claims[name];
      }
    }
    return attributes;
  }

  /**
   * Per-call data shared by the uninitialized context and the initialized contexts made from it, so
   * `context.client` or the presented token data are the same objects in both.
   */
  function sharedCall(input) {
    return { input, client: undefined, request: undefined, subject: undefined, actor: undefined };
  }

  // Members every token-exchange and client-credentials context has. State: {shared, attributes, initialized}.
  const CommonPrototype = create(ObjectPrototype);
  member(CommonPrototype, 'client', 'getClient', function getClient() {
    const shared = stateOf(this).shared;
    if (shared.client === undefined) shared.client = clientView(shared.input.client);
    return shared.client;
  });
  member(CommonPrototype, 'request', 'getRequest', function getRequest() {
    const shared = stateOf(this).shared;
    if (shared.request === undefined) shared.request = withState(RequestPrototype, shared.input.request);
    return shared.request;
  });
  member(CommonPrototype, 'presentedSubjectToken', 'getPresentedSubjectToken', function getPresentedSubjectToken() {
    const shared = stateOf(this).shared;
    if (shared.subject === undefined) {
      const token = shared.input.subjectToken;
      shared.subject = token && token.claims ? tokenData(token.claims) : null;
    }
    return shared.subject;
  });
  // `getPresentedActorToken(validationStrategy)`: the strategy is accepted and ignored; the server
  // validated the actor token already (null when it could not).
  member(CommonPrototype, 'presentedActorToken', 'getPresentedActorToken', function getPresentedActorToken() {
    const shared = stateOf(this).shared;
    if (shared.actor === undefined) {
      const token = shared.input.actorToken;
      shared.actor = token && token.claims ? tokenData(token.claims) : null;
    }
    return shared.actor;
  });
  function presented(target, which) {
    return stateOf(target).shared.input[which];
  }
  member(CommonPrototype, 'presentedSubjectTokenDelegation', 'getPresentedSubjectTokenDelegation', function getPresentedSubjectTokenDelegation() {
    const token = presented(this, 'subjectToken');
    return token ? delegation(token.delegation) : null;
  });
  member(CommonPrototype, 'presentedActorTokenDelegation', 'getPresentedActorTokenDelegation', function getPresentedActorTokenDelegation() {
    const token = presented(this, 'actorToken');
    return token ? delegation(token.delegation) : null;
  });
  member(CommonPrototype, 'subjectTokenValue', 'getSubjectTokenValue', function getSubjectTokenValue() {
    const token = presented(this, 'subjectToken');
    return token ? token.value : null;
  });
  member(CommonPrototype, 'subjectTokenType', 'getSubjectTokenType', function getSubjectTokenType() {
    const token = presented(this, 'subjectToken');
    return token ? token.type : null;
  });
  member(CommonPrototype, 'actorTokenValue', 'getActorTokenValue', function getActorTokenValue() {
    const token = presented(this, 'actorToken');
    return token ? token.value : null;
  });
  member(CommonPrototype, 'actorTokenType', 'getActorTokenType', function getActorTokenType() {
    const token = presented(this, 'actorToken');
    return token ? token.type : null;
  });
  member(CommonPrototype, 'requestedScopes', 'getRequestedScopes', function getRequestedScopes() {
    return javaList(presented(this, 'requestedScopes'), false);
  });
  member(CommonPrototype, 'requestedAudiences', 'getRequestedAudiences', function getRequestedAudiences() {
    return javaList(presented(this, 'requestedAudiences'), false);
  });
  member(CommonPrototype, 'requestedTokenType', 'getRequestedTokenType', function getRequestedTokenType() {
    return presented(this, 'requestedTokenType');
  });
  // Methods only (scripts call them): what getInitializedContext received, else derived from the subject.
  hidden(CommonPrototype, 'subjectAttributes', function subjectAttributes() {
    const state = stateOf(this);
    const token = state.shared.input.subjectToken;
    return tokenData(state.attributes ? state.attributes.subject : subjectAttributesOf(token && token.claims));
  });
  hidden(CommonPrototype, 'contextAttributes', function contextAttributes() {
    const state = stateOf(this);
    const token = state.shared.input.subjectToken;
    return tokenData(state.attributes ? state.attributes.context : contextAttributesOf(token && token.claims));
  });
  freeze(CommonPrototype);

  // Issuers. State: {kind, initialized}.
  const IssuerPrototype = create(ObjectPrototype);
  hidden(IssuerPrototype, 'issue', function issue(data, delegationData) {
    // The host counts issue() calls: past maxIssueCalls it refuses and fails the whole call.
    const state = stateOf(this);
    let dataJson;
    if (data === null || data === undefined) dataJson = jsonStringify(state.initialized.defaultAccessTokenData);
    else if (typeof data === 'object' && !isArray(data)) dataJson = jsonStringify(data);
    else throw new TypeErrorCtor('issue(tokenData, delegation): tokenData must be an object');
    let delegationJson = 'null';
    if (delegationData !== null && delegationData !== undefined) {
      if (typeof delegationData !== 'object' || isArray(delegationData)) {
        throw new TypeErrorCtor('issue(tokenData, delegation): delegation must be an object or null');
      }
      delegationJson = jsonStringify(delegationData);
    }
    const request =
      '{"kind":' + jsonStringify(state.kind) + ',"contextId":' + jsonStringify(state.initialized.contextId) +
      ',"data":' + dataJson + ',"delegation":' + delegationJson + '}';
    const answer = jsonParse(hostIssue(request));
    if (!has(answer, 'token') || typeof answer.token !== 'string') throwHostFailure(answer);
    return answer.token;
  });
  freeze(IssuerPrototype);

  // delegationIssuer.issue(data) makes a delegation object here; nothing is stored. State: {initialized}.
  const DelegationIssuerPrototype = create(ObjectPrototype);
  hidden(DelegationIssuerPrototype, 'issue', function issue(data) {
    const base = stateOf(this).initialized.defaultDelegationData;
    const given = typeof data === 'object' && data !== null ? data : {};
    return delegation({
      id: given.id !== undefined ? given.id : base.id,
      clientId: given.clientId !== undefined ? given.clientId : base.clientId,
      scope: given.scope !== undefined ? given.scope : base.scope,
      claims: typeof given.claims === 'object' && given.claims !== null ? jsonParse(jsonStringify(given.claims)) : base.claims,
    });
  });
  freeze(DelegationIssuerPrototype);

  function issuerOf(target, kind) {
    const state = stateOf(target);
    if (state.issuers[kind] === undefined) {
      state.issuers[kind] =
        kind === 'delegation'
          ? withState(DelegationIssuerPrototype, { initialized: state.initialized })
          : withState(IssuerPrototype, { kind, initialized: state.initialized });
    }
    return state.issuers[kind];
  }

  // The initialized context: defaults and issuers on top of the common members.
  const InitializedPrototype = create(CommonPrototype);
  member(InitializedPrototype, 'defaultAccessTokenData', 'getDefaultAccessTokenData', function getDefaultAccessTokenData() {
    return tokenData(stateOf(this).initialized.defaultAccessTokenData);
  });
  member(InitializedPrototype, 'defaultDelegationData', 'getDefaultDelegationData', function getDefaultDelegationData() {
    return delegation(stateOf(this).initialized.defaultDelegationData);
  });
  function accessTokenIssuer() {
    return issuerOf(this, 'access_token');
  }
  function jwtIssuer() {
    return issuerOf(this, 'jwt');
  }
  member(InitializedPrototype, 'defaultAccessTokenJwtIssuer', 'getDefaultAccessTokenJwtIssuer', accessTokenIssuer);
  member(InitializedPrototype, 'accessTokenIssuer', 'getAccessTokenIssuer', accessTokenIssuer);
  member(InitializedPrototype, 'jwtIssuer', 'getJwtIssuer', jwtIssuer);
  hidden(InitializedPrototype, 'getDefaultJwtIssuer', jwtIssuer);
  member(InitializedPrototype, 'idTokenIssuer', 'getIdTokenIssuer', function getIdTokenIssuer() {
    return issuerOf(this, 'id_token');
  });
  member(InitializedPrototype, 'delegationIssuer', 'getDelegationIssuer', function getDelegationIssuer() {
    return issuerOf(this, 'delegation');
  });
  freeze(InitializedPrototype);

  function initializedContext(shared, initialized, attributes) {
    return withState(InitializedPrototype, { shared, attributes, initialized, issuers: create(null) });
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

  // ---- The call -------------------------------------------------------------------------------------
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

  return function run(inputJson) {
    logLines = 0;
    try {
      const input = jsonParse(inputJson);
      restoreToken(input.subjectToken, input.request.formParameters, 'subject_token', SUBJECT_TOKEN_REF);
      restoreToken(input.actorToken, input.request.formParameters, 'actor_token', ACTOR_TOKEN_REF);
      const shared = sharedCall(input);
      const context = input.initialized ? initializedContext(shared, input.initialized, null) : uninitializedContext(shared);
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
  };
});
