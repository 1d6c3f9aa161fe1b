/**
 * The procedure API, declared once: every method and property a procedure can call or read on each
 * object the sandbox gives it (sandbox/prelude/), per flow, and the globals it sees.
 *
 * Everything else follows this declaration and is checked against it:
 * - the sandbox itself: tests/sandbox/procedure-api.test.ts runs a procedure in each flow that lists
 *   every member of the real objects (own and inherited, enumerable or not) and compares both ways;
 * - the editor typings procedures/types/procedure-api.d.ts: tests/cli/procedure-types.test.ts;
 * - the README's table of what a procedure sees: tests/sandbox/procedure-api.test.ts;
 * - `tokenproc check` lints calls against these names (server/cli/authoring/procedure-api.ts).
 *
 * Adding a member: implement it in sandbox/prelude/, add it here, and the tests name every copy
 * that still lacks it.
 */
import type { ProcedureInput } from './types.ts';

/** A flow id (Curity's), as the sandbox receives it. */
export type ProcedureFlow = ProcedureInput['flow'];

/**
 * One member of an API object:
 * - `getter`: Curity's getter pair, the method `getX()` and the property `x` answering the same
 *   (Nashorn reads getters as properties; the prelude's member() defines both);
 * - `method`: a method only;
 * - `property`: a property only.
 */
export interface ApiMember {
  kind: 'getter' | 'method' | 'property';
  /** The property name for a getter (`client` for `getClient()`), else the member's name. */
  name: string;
}

export interface ApiObject {
  /** The interface that declares it in procedures/types/procedure-api.d.ts. */
  typeName: string;
  members: readonly ApiMember[];
  /** Callable names: each getter's `getX` and the methods, in declaration order. */
  methods: readonly string[];
  /** Readable names: each getter's `x` and the properties, in declaration order. */
  properties: readonly string[];
}

const getter = (name: string): ApiMember => ({ kind: 'getter', name });
const method = (name: string): ApiMember => ({ kind: 'method', name });
const property = (name: string): ApiMember => ({ kind: 'property', name });

/** `client` → `getClient`. */
export function getterMethod(propertyName: string): string {
  return `get${propertyName.charAt(0).toUpperCase()}${propertyName.slice(1)}`;
}

function apiObject(typeName: string, members: readonly ApiMember[]): ApiObject {
  return {
    typeName,
    members,
    methods: members.filter((m) => m.kind !== 'property').map((m) => (m.kind === 'getter' ? getterMethod(m.name) : m.name)),
    properties: members.filter((m) => m.kind !== 'method').map((m) => m.name),
  };
}

/** Members of both flows' contexts, before and after initialization (prelude/context-common.js). */
const COMMON_CONTEXT_MEMBERS: readonly ApiMember[] = [
  getter('client'),
  getter('request'),
  getter('presentedSubjectToken'),
  getter('presentedSubjectTokenDelegation'),
  getter('subjectTokenValue'),
  getter('subjectTokenType'),
  getter('presentedActorToken'),
  getter('presentedActorTokenDelegation'),
  getter('actorTokenValue'),
  getter('actorTokenType'),
  getter('requestedScopes'),
  getter('requestedAudiences'),
  getter('requestedTokenType'),
  getter('requestDetails'),
  getter('requestContext'),
  method('subjectAttributes'),
  method('contextAttributes'),
];

/** The token-exchange context a procedure receives (Curity's OAuthTokenExchangeUnInitializedProcedureContext). */
export const TOKEN_EXCHANGE_CONTEXT: ApiObject = apiObject('TokenExchangeContext', [
  ...COMMON_CONTEXT_MEMBERS,
  method('getInitializedContext'),
]);

/** Defaults and issuers: the initialized context's and the refresh context's (prelude/context-initialized.js). */
const ISSUANCE_MEMBERS: readonly ApiMember[] = [
  getter('defaultAccessTokenData'),
  getter('defaultDelegationData'),
  getter('defaultRefreshTokenData'),
  getter('defaultIdTokenData'),
  getter('defaultAccessTokenJwtIssuer'),
  getter('accessTokenIssuer'),
  getter('jwtIssuer'),
  method('getDefaultJwtIssuer'),
  getter('idTokenIssuer'),
  getter('refreshTokenIssuer'),
  getter('delegationIssuer'),
];

/**
 * The ID-JAG issuer (server/oauth/id-jag.ts): on the initialized context only. The default data is
 * null, and issue() refused, unless the exchange asked for requested_token_type id-jag.
 */
const ID_JAG_MEMBERS: readonly ApiMember[] = [getter('defaultIdJagData'), getter('idJagIssuer')];

/**
 * The Txn-Token issuer (server/oauth/txn-token.ts): on the initialized context only. The default data
 * is null, and issue() refused, unless the exchange asked for requested_token_type txn_token.
 */
const TXN_TOKEN_MEMBERS: readonly ApiMember[] = [getter('defaultTransactionTokenData'), getter('transactionTokenIssuer')];

/** The result of getInitializedContext(...), and the client_credentials context. */
export const INITIALIZED_CONTEXT: ApiObject = apiObject('InitializedContext', [...COMMON_CONTEXT_MEMBERS, ...ISSUANCE_MEMBERS, ...ID_JAG_MEMBERS, ...TXN_TOKEN_MEMBERS]);

/** The refresh flow's context (Curity's RefreshTokenProcedureContext), already initialized. */
export const REFRESH_CONTEXT: ApiObject = apiObject('RefreshContext', [
  getter('client'),
  getter('request'),
  getter('presentedToken'),
  getter('delegation'),
  getter('requestedScopes'),
  ...ISSUANCE_MEMBERS,
]);

/** The jwt-bearer grant's context (prelude/context-jwt-assertion.js), already initialized. */
export const JWT_ASSERTION_CONTEXT: ApiObject = apiObject('JwtAssertionContext', [
  getter('client'),
  getter('request'),
  getter('presentedAssertion'),
  getter('requestedScopes'),
  getter('requestedAudiences'),
  ...ISSUANCE_MEMBERS,
]);

/** The context a procedure's result(context) receives in each flow. */
export const CONTEXT_BY_FLOW: Readonly<Record<ProcedureFlow, ApiObject>> = {
  'oauth-token-oauth-token-exchange': TOKEN_EXCHANGE_CONTEXT,
  'oauth-token-client-credentials': INITIALIZED_CONTEXT,
  'oauth-token-refresh': REFRESH_CONTEXT,
  'oauth-token-jwt-assertion': JWT_ASSERTION_CONTEXT,
};

/** The refresh flow's `context.presentedToken`: `value` (null: refresh tokens are one-time) and `data` (token data). */
export const PRESENTED_TOKEN: ApiObject = apiObject('PresentedToken', [property('value'), property('data')]);

/** `context.client`: the properties are the client's own data, the getters inherited. */
export const CLIENT: ApiObject = apiObject('ProcedureClient', [
  getter('id'),
  getter('name'),
  getter('properties'),
  getter('audiences'),
  getter('audiencesAsString'),
  getter('scope'),
]);

export const REQUEST: ApiObject = apiObject('ProcedureRequest', [
  method('getFormParameter'),
  method('getFormParameterValues'),
  method('getHeader'),
  getter('method'),
  getter('path'),
  getter('clientIpAddress'),
  getter('formParameterNames'),
]);

/** Claims objects: the claims are own properties (data, not API); these methods are inherited. */
export const TOKEN_DATA: ApiObject = apiObject('TokenData', [
  method('get'),
  method('put'),
  method('containsKey'),
  method('remove'),
  method('keySet'),
]);

/** Scopes, audiences and array claims: real arrays (Array's members are not listed) that also answer java.util.Set calls. */
export const JAVA_LIST: ApiObject = apiObject('JavaList', [
  method('contains'),
  method('size'),
  method('isEmpty'),
  method('add'),
  method('toArray'),
  method('iterator'),
]);

/** What a JavaList's iterator() returns. */
export const JAVA_ITERATOR: ApiObject = apiObject('JavaIterator', [method('hasNext'), method('next')]);

export const DELEGATION: ApiObject = apiObject('Delegation', [getter('id'), getter('clientId'), getter('scope'), getter('claims')]);

export const TOKEN_ISSUER: ApiObject = apiObject('TokenIssuer', [method('issue')]);

/** `idTokenIssuer`: issue() and Curity's `atHash(accessToken)` (OIDC at_hash). */
export const ID_TOKEN_ISSUER: ApiObject = apiObject('IdTokenIssuer', [method('issue'), method('atHash')]);

export const DELEGATION_ISSUER: ApiObject = apiObject('DelegationIssuer', [method('issue')]);

export const LOGGER: ApiObject = apiObject('ProcedureLogger', [
  method('trace'),
  method('debug'),
  method('info'),
  method('warn'),
  method('error'),
]);

export const EXCEPTION_FACTORY: ApiObject = apiObject('ExceptionFactory', [
  method('badRequestException'),
  method('unauthorizedException'),
  method('forbiddenException'),
  method('internalServerException'),
  method('notFoundException'),
]);

/** What exceptionFactory builds: an Error (name, message, stack) with the OAuth error it answers. */
export const PROCEDURE_EXCEPTION: ApiObject = apiObject('ProcedureException', [
  property('name'),
  property('message'),
  property('stack'),
  property('error'),
  property('errorCode'),
  property('description'),
]);

export const CONSOLE: ApiObject = apiObject('ProcedureConsole', [
  method('log'),
  method('info'),
  method('debug'),
  method('warn'),
  method('error'),
]);

export const PROCEDURE_API: readonly ApiObject[] = [
  TOKEN_EXCHANGE_CONTEXT,
  INITIALIZED_CONTEXT,
  REFRESH_CONTEXT,
  JWT_ASSERTION_CONTEXT,
  PRESENTED_TOKEN,
  CLIENT,
  REQUEST,
  TOKEN_DATA,
  JAVA_LIST,
  JAVA_ITERATOR,
  DELEGATION,
  TOKEN_ISSUER,
  ID_TOKEN_ISSUER,
  DELEGATION_ISSUER,
  LOGGER,
  EXCEPTION_FACTORY,
  PROCEDURE_EXCEPTION,
  CONSOLE,
];

/** Globals the sandbox adds to plain ECMAScript (prelude/curity-globals.js). */
export const PROCEDURE_GLOBALS: readonly string[] = ['logger', 'exceptionFactory', 'secondsUntil', 'console'];

/**
 * The standard ECMAScript globals of a procedure's isolate: those of a fresh V8 context, minus what
 * prelude/removed-globals.js deletes (WebAssembly, SharedArrayBuffer, Atomics, FinalizationRegistry,
 * WeakRef). No timers, no I/O: the sandbox has none.
 */
export const ECMASCRIPT_GLOBALS: readonly string[] = [
  'Array', 'ArrayBuffer', 'BigInt', 'Boolean', 'DataView', 'Date', 'Error', 'EvalError', 'Function',
  'Float16Array', 'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array',
  'Uint8ClampedArray', 'Uint16Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array', 'JSON', 'Map', 'Math',
  'Number', 'Object', 'Promise', 'Proxy', 'RangeError', 'ReferenceError', 'Reflect', 'RegExp', 'Set', 'String',
  'Symbol', 'SyntaxError', 'TypeError', 'URIError', 'WeakMap', 'WeakSet', 'AggregateError', 'SuppressedError',
  'Intl', 'Iterator', 'DisposableStack', 'AsyncDisposableStack', 'decodeURI', 'decodeURIComponent', 'encodeURI',
  'encodeURIComponent', 'escape', 'unescape', 'eval', 'isFinite', 'isNaN', 'parseFloat', 'parseInt', 'globalThis',
  'undefined', 'NaN', 'Infinity',
];
