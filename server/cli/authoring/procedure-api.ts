/**
 * The procedure API as names: what a script may call or read on each object the sandbox gives it
 * (mirrors sandbox/prelude.js). `check` suggests the nearest of these for a misspelt call, and a
 * test verifies that procedures/types/procedure-api.d.ts declares every one of them, so the lint,
 * the editor typings and the sandbox cannot drift apart.
 */
import type { FlowId } from '../../store/types.ts';

export interface ApiObject {
  /** The interface that declares it in procedures/types/procedure-api.d.ts. */
  typeName: string;
  methods: readonly string[];
  /** Read as properties (Curity's getters: `context.client` is `context.getClient()`). */
  properties: readonly string[];
}

/** Members of both flows' contexts, before and after initialization. */
const COMMON_CONTEXT_METHODS = [
  'getClient',
  'getRequest',
  'getPresentedSubjectToken',
  'getPresentedSubjectTokenDelegation',
  'getSubjectTokenValue',
  'getSubjectTokenType',
  'getPresentedActorToken',
  'getPresentedActorTokenDelegation',
  'getActorTokenValue',
  'getActorTokenType',
  'getRequestedScopes',
  'getRequestedAudiences',
  'getRequestedTokenType',
  'subjectAttributes',
  'contextAttributes',
];
const COMMON_CONTEXT_PROPERTIES = [
  'client',
  'request',
  'presentedSubjectToken',
  'presentedSubjectTokenDelegation',
  'subjectTokenValue',
  'subjectTokenType',
  'presentedActorToken',
  'presentedActorTokenDelegation',
  'actorTokenValue',
  'actorTokenType',
  'requestedScopes',
  'requestedAudiences',
  'requestedTokenType',
];

/** The token-exchange context a procedure receives (Curity's OAuthTokenExchangeUnInitializedProcedureContext). */
export const TOKEN_EXCHANGE_CONTEXT: ApiObject = {
  typeName: 'TokenExchangeContext',
  methods: [...COMMON_CONTEXT_METHODS, 'getInitializedContext'],
  properties: COMMON_CONTEXT_PROPERTIES,
};

/** The result of getInitializedContext(...), and the client_credentials context. */
export const INITIALIZED_CONTEXT: ApiObject = {
  typeName: 'InitializedContext',
  methods: [
    ...COMMON_CONTEXT_METHODS,
    'getDefaultAccessTokenData',
    'getDefaultDelegationData',
    'getDefaultAccessTokenJwtIssuer',
    'getAccessTokenIssuer',
    'getJwtIssuer',
    'getDefaultJwtIssuer',
    'getIdTokenIssuer',
    'getDelegationIssuer',
  ],
  properties: [
    ...COMMON_CONTEXT_PROPERTIES,
    'defaultAccessTokenData',
    'defaultDelegationData',
    'defaultAccessTokenJwtIssuer',
    'accessTokenIssuer',
    'jwtIssuer',
    'idTokenIssuer',
    'delegationIssuer',
  ],
};

export const CLIENT: ApiObject = {
  typeName: 'ProcedureClient',
  methods: ['getId', 'getName', 'getProperties', 'getAudiences', 'getAudiencesAsString', 'getScope'],
  properties: ['id', 'name', 'properties', 'audiences', 'audiencesAsString', 'scope'],
};

export const REQUEST: ApiObject = {
  typeName: 'ProcedureRequest',
  methods: [
    'getFormParameter',
    'getFormParameterValues',
    'getHeader',
    'getMethod',
    'getPath',
    'getClientIpAddress',
    'getFormParameterNames',
  ],
  properties: ['method', 'path', 'clientIpAddress', 'formParameterNames'],
};

export const TOKEN_DATA: ApiObject = {
  typeName: 'TokenData',
  methods: ['get', 'put', 'containsKey', 'remove', 'keySet'],
  properties: [],
};

/** Scopes, audiences and array claims: real arrays that also answer java.util.Set calls. */
export const JAVA_LIST: ApiObject = {
  typeName: 'JavaList',
  methods: ['contains', 'size', 'isEmpty', 'add', 'toArray', 'iterator'],
  properties: [],
};

export const DELEGATION: ApiObject = {
  typeName: 'Delegation',
  methods: ['getId', 'getClientId', 'getScope', 'getClaims'],
  properties: ['id', 'clientId', 'scope', 'claims'],
};

export const TOKEN_ISSUER: ApiObject = { typeName: 'TokenIssuer', methods: ['issue'], properties: [] };

export const DELEGATION_ISSUER: ApiObject = { typeName: 'DelegationIssuer', methods: ['issue'], properties: [] };

export const LOGGER: ApiObject = { typeName: 'ProcedureLogger', methods: ['trace', 'debug', 'info', 'warn', 'error'], properties: [] };

export const EXCEPTION_FACTORY: ApiObject = {
  typeName: 'ExceptionFactory',
  methods: ['badRequestException', 'unauthorizedException', 'forbiddenException', 'internalServerException', 'notFoundException'],
  properties: [],
};

export const CONSOLE: ApiObject = { typeName: 'ProcedureConsole', methods: ['log', 'info', 'debug', 'warn', 'error'], properties: [] };

export const PROCEDURE_API: readonly ApiObject[] = [
  TOKEN_EXCHANGE_CONTEXT,
  INITIALIZED_CONTEXT,
  CLIENT,
  REQUEST,
  TOKEN_DATA,
  JAVA_LIST,
  DELEGATION,
  TOKEN_ISSUER,
  DELEGATION_ISSUER,
  LOGGER,
  EXCEPTION_FACTORY,
  CONSOLE,
];

/** Globals the sandbox adds to plain ECMAScript. */
export const PROCEDURE_GLOBALS: readonly string[] = ['logger', 'exceptionFactory', 'secondsUntil', 'console'];

/** Methods callable on the context a procedure receives for a flow (both flows' when unknown). */
export function contextMethodsFor(flow: FlowId | null): readonly string[] {
  if (flow === 'oauth-token-oauth-token-exchange') return TOKEN_EXCHANGE_CONTEXT.methods;
  if (flow === 'oauth-token-client-credentials') return INITIALIZED_CONTEXT.methods;
  return [...new Set([...TOKEN_EXCHANGE_CONTEXT.methods, ...INITIALIZED_CONTEXT.methods])];
}

/** The standard ECMAScript globals a procedure may call (no timers, no I/O: the sandbox has none). */
export const ECMASCRIPT_GLOBALS: readonly string[] = [
  'Array', 'ArrayBuffer', 'BigInt', 'Boolean', 'DataView', 'Date', 'Error', 'EvalError', 'Function',
  'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array', 'Uint8ClampedArray',
  'Uint16Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array', 'JSON', 'Map', 'Math', 'Number', 'Object',
  'Promise', 'Proxy', 'RangeError', 'ReferenceError', 'Reflect', 'RegExp', 'Set', 'String', 'Symbol',
  'SyntaxError', 'TypeError', 'URIError', 'WeakMap', 'WeakSet', 'WeakRef', 'AggregateError', 'Intl',
  'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'eval',
  'isFinite', 'isNaN', 'parseFloat', 'parseInt', 'globalThis', 'undefined', 'NaN', 'Infinity',
];
