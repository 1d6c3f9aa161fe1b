/**
 * tokenproc procedure API: editor typings for token procedures (plain JavaScript run in the server's
 * sandbox). Global declarations, no imports: point your editor at this file (see README.md here)
 * and annotate the procedure:
 *
 *   // @ts-check
 *   /// <reference path="../types/procedure-api.d.ts" />
 *   /** @param {TokenExchangeContext} context *\/
 *   function result(context) { ... }
 *
 * Curity's JSDoc headers work too: `@param {se.curity.identityserver.procedures.context.OAuthTokenExchangeUnInitializedProcedureContext} context`.
 * The procedure API is declared once, in sandbox/procedure-api.ts: tests check these typings, the
 * real sandbox objects and the README against it, and `tokenproc check` lints with its names.
 */

/**
 * A claim value: any JSON value. Claims are free-form, so they are not narrowed further here; the
 * well-known claims of TokenData are typed precisely.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- claims are arbitrary JSON chosen by the script
type ClaimValue = any;

/** A list of strings as Curity hands them out: a real array that also answers java.util.Set calls. */
interface JavaList<T> extends Array<T> {
  contains(item: T): boolean;
  size(): number;
  isEmpty(): boolean;
  /** Adds the item unless it is already there; true when added. */
  add(item: T): boolean;
  /** A plain array copy. */
  toArray(): T[];
  iterator(): JavaIterator<T>;
}

interface JavaIterator<T> {
  hasNext(): boolean;
  next(): T;
}

/**
 * Token data (claims): read and write claims as properties (`data.scope`) or through the Map-style
 * methods (`data.get('scope')`). Times are epoch **seconds**.
 */
interface TokenData {
  sub?: string;
  iss?: string;
  /** A string or a list of strings. */
  aud?: string | string[];
  /** Space-separated. */
  scope?: string;
  /** Expiry, epoch seconds (not milliseconds: Math.floor(date.getTime() / 1000)). */
  exp?: number;
  iat?: number;
  nbf?: number;
  jti?: string;
  client_id?: string;
  /** RFC 8693 actor: `{sub, client_id?, iss?, act?}`. */
  act?: ClaimValue;
  /** RFC 8693 authorized actor: `{sub, iss?}`. */
  may_act?: ClaimValue;
  [claim: string]: ClaimValue;
  /** The claim, or null when absent. */
  get(name: string): ClaimValue;
  /** Sets the claim; returns the previous value or null. */
  put(name: string, value: ClaimValue): ClaimValue;
  containsKey(name: string): boolean;
  /** Removes the claim; returns the previous value or null. */
  remove(name: string): ClaimValue;
  keySet(): JavaList<string>;
}

/** Curity's ScriptDelegation, reduced to plain data. */
interface Delegation {
  readonly id: string;
  readonly clientId: string;
  /** Space-separated. */
  readonly scope: string;
  readonly claims: TokenData;
  getId(): string;
  getClientId(): string;
  getScope(): string;
  getClaims(): TokenData;
}

/** What `issue(...)` accepts as a delegation besides a Delegation. */
interface DelegationData {
  id?: string;
  clientId?: string;
  scope?: string;
  claims?: Record<string, ClaimValue>;
}

/** `context.client` (Curity's OAuthClientConfiguration). */
interface ProcedureClient {
  readonly id: string;
  readonly name: string;
  /** Custom properties set on the client (string values). */
  readonly properties: Record<string, string>;
  readonly audiences: JavaList<string>;
  /** The audiences, space-separated. */
  readonly audiencesAsString: string;
  /** The scopes the client may obtain, space-separated. */
  readonly scope: string;
  getId(): string;
  getName(): string;
  getProperties(): Record<string, string>;
  getAudiences(): JavaList<string>;
  getAudiencesAsString(): string;
  getScope(): string;
}

/** `context.request` (Curity's ScriptRequest). Credentials are removed; header names are case-insensitive. */
interface ProcedureRequest {
  readonly method: string;
  readonly path: string;
  readonly clientIpAddress: string;
  readonly formParameterNames: JavaList<string>;
  /** The first value of a form parameter, or null. */
  getFormParameter(name: string): string | null;
  getFormParameterValues(name: string): JavaList<string>;
  getHeader(name: string): string | null;
  getMethod(): string;
  getPath(): string;
  getClientIpAddress(): string;
  getFormParameterNames(): JavaList<string>;
}

/** Issues a signed token. */
interface TokenIssuer {
  /**
   * Signs `data` (the default access token data when null) and returns the token. The issued
   * access token's `aud` and `scope` are the ones fixed by getInitializedContext(...).
   */
  issue(data: TokenData | Record<string, ClaimValue> | null, delegation?: Delegation | DelegationData | null): string;
}

/** `idTokenIssuer`: issues ID tokens, and hashes an access token for the ID token's `at_hash`. */
interface IdTokenIssuer extends TokenIssuer {
  /** OpenID Connect `at_hash`: base64url of the left half of the SHA-256 of the token's ASCII octets. */
  atHash(accessToken: string): string;
}

interface DelegationIssuer {
  /** A new delegation from `data`, defaulting to the context's default delegation data. */
  issue(data?: DelegationData | null): Delegation;
}

/** Audiences or scopes: an array, a JavaList, a Set, a space-separated string, or null for none. */
type StringListInput = string | readonly string[] | JavaList<string> | Set<string> | null | undefined;

/** Members of every procedure context. Each `getX()` can also be read as the property `x`. */
interface ProcedureContextBase {
  readonly client: ProcedureClient;
  readonly request: ProcedureRequest;
  /** The validated subject token's claims, or null when the server could not validate it. */
  readonly presentedSubjectToken: TokenData | null;
  readonly presentedSubjectTokenDelegation: Delegation | null;
  /** The raw subject_token value. */
  readonly subjectTokenValue: string | null;
  readonly subjectTokenType: string | null;
  readonly presentedActorToken: TokenData | null;
  readonly presentedActorTokenDelegation: Delegation | null;
  readonly actorTokenValue: string | null;
  /** null when no actor token was sent. */
  readonly actorTokenType: string | null;
  readonly requestedScopes: JavaList<string>;
  readonly requestedAudiences: JavaList<string>;
  readonly requestedTokenType: string | null;
  /** The `request_details` parameter (a JSON object; transaction tokens), or null when not sent. */
  readonly requestDetails: TokenData | null;
  /** The `request_context` parameter (a JSON object; transaction tokens), or null when not sent. */
  readonly requestContext: TokenData | null;
  getClient(): ProcedureClient;
  getRequest(): ProcedureRequest;
  getPresentedSubjectToken(): TokenData | null;
  getPresentedSubjectTokenDelegation(): Delegation | null;
  getSubjectTokenValue(): string | null;
  getSubjectTokenType(): string | null;
  /** The strategy argument is accepted for Curity compatibility and ignored: the server validated the token. */
  getPresentedActorToken(validationStrategy?: string | null): TokenData | null;
  getPresentedActorTokenDelegation(): Delegation | null;
  getActorTokenValue(): string | null;
  getActorTokenType(): string | null;
  getRequestedScopes(): JavaList<string>;
  getRequestedAudiences(): JavaList<string>;
  getRequestedTokenType(): string | null;
  /** The `request_details` parameter as a parsed JSON object (a fresh copy per call), or null when not sent. */
  getRequestDetails(): TokenData | null;
  /** The `request_context` parameter as a parsed JSON object (a fresh copy per call), or null when not sent. */
  getRequestContext(): TokenData | null;
  /** Attributes of the subject (`subject` = the subject token's `sub`). */
  subjectAttributes(): TokenData;
  /** Authentication context (`acr`, `amr`, `auth_time` of the subject token). */
  contextAttributes(): TokenData;
}

/**
 * The token-exchange context a procedure receives (Curity's
 * OAuthTokenExchangeUnInitializedProcedureContext). It has no issuers until initialized.
 */
interface TokenExchangeContext extends ProcedureContextBase {
  /**
   * Fixes the issued access token's audiences and scopes (the server checks them against the
   * client: `invalid_scope` / `invalid_target`) and returns the context that can issue tokens.
   */
  getInitializedContext(
    subjectAttributes: object | null,
    contextAttributes: object | null,
    audiences: StringListInput,
    scopes: StringListInput,
  ): InitializedContext;
}

/** Defaults and issuers: the initialized context's and the refresh context's. */
interface IssuanceMembers {
  readonly defaultAccessTokenData: TokenData;
  readonly defaultDelegationData: Delegation;
  readonly defaultRefreshTokenData: TokenData | null;
  readonly defaultIdTokenData: TokenData | null;
  readonly defaultAccessTokenJwtIssuer: TokenIssuer;
  readonly accessTokenIssuer: TokenIssuer;
  readonly jwtIssuer: TokenIssuer;
  readonly idTokenIssuer: IdTokenIssuer;
  readonly refreshTokenIssuer: TokenIssuer;
  readonly delegationIssuer: DelegationIssuer;
  /**
   * Pre-filled claims for the access token (sub, client_id, aud, scope, iat, exp, ...). The refresh
   * flow passes `context.delegation` (Curity's signature); the data is the same either way.
   */
  getDefaultAccessTokenData(delegation?: Delegation | null): TokenData;
  getDefaultDelegationData(): Delegation;
  /** The next refresh token's data, or null when no refresh token may be issued here (client lacks the grant, an actor is present). */
  getDefaultRefreshTokenData(): TokenData | null;
  /** ID token data (sub, aud, azp, iat, exp), or null unless `openid` is among the scopes. */
  getDefaultIdTokenData(): TokenData | null;
  /** Issues a JWT access token, whatever the client's access_token_format. */
  getDefaultAccessTokenJwtIssuer(): TokenIssuer;
  /** Issues the access token in the client's format (a JWT, or an opaque reference). */
  getAccessTokenIssuer(): TokenIssuer;
  /** Issues a general-purpose JWT (issued_token_type urn:ietf:params:oauth:token-type:jwt). */
  getJwtIssuer(): TokenIssuer;
  getDefaultJwtIssuer(): TokenIssuer;
  getIdTokenIssuer(): IdTokenIssuer;
  /** Issues a one-time refresh token (return it as `refresh_token`); refused where getDefaultRefreshTokenData() is null. */
  getRefreshTokenIssuer(): TokenIssuer;
  getDelegationIssuer(): DelegationIssuer;
}

/**
 * Transaction tokens (draft-ietf-oauth-transaction-tokens): on the initialized context. The data is
 * null, and issue() refused by the server, unless the exchange asked for
 * requested_token_type urn:ietf:params:oauth:token-type:txn_token.
 */
interface TransactionTokenMembers {
  /** `sub`, `scope`, `tctx` (request_details) and `rctx` (request_context plus `req_ip`) as the default sets them. */
  readonly defaultTransactionTokenData: TokenData | null;
  /** Issues the Txn-Token (`typ: txntoken+jwt`): return it as `access_token`. The server sets aud, txn, req_wl, iat and caps exp. */
  readonly transactionTokenIssuer: TokenIssuer;
  getDefaultTransactionTokenData(): TokenData | null;
  getTransactionTokenIssuer(): TokenIssuer;
}

/**
 * ID-JAGs (draft-ietf-oauth-identity-assertion-authz-grant): on the initialized context. The data is
 * null, and issue() refused by the server, unless the exchange asked for
 * requested_token_type urn:ietf:params:oauth:token-type:id-jag (with an ID token subject).
 */
interface IdJagMembers {
  /** `sub`, `aud` (the resource authorization server), `client_id`, `exp` (at most 300 s), `scope` and `resource` as requested, `auth_time`/`acr`/`amr` from the ID token. */
  readonly defaultIdJagData: TokenData | null;
  /** Issues the ID-JAG (`typ: oauth-id-jag+jwt`): return it as `access_token`. The server sets iss, aud, client_id, jti, iat and caps exp. */
  readonly idJagIssuer: TokenIssuer;
  getDefaultIdJagData(): TokenData | null;
  getIdJagIssuer(): TokenIssuer;
}

/** The context after getInitializedContext(...); the client_credentials context is one from the start. */
interface InitializedContext extends ProcedureContextBase, IssuanceMembers, TransactionTokenMembers, IdJagMembers {}

/** The refresh flow's presented refresh token. */
interface PresentedToken {
  /** Always null: refresh tokens are one-time, so the procedure issues the next one with refreshTokenIssuer. */
  readonly value: string | null;
  /** The refresh token's data: the claims the family's access tokens are made from. */
  readonly data: TokenData;
}

/** The refresh_token grant's context (Curity's RefreshTokenProcedureContext): already initialized. */
interface RefreshContext extends IssuanceMembers {
  readonly client: ProcedureClient;
  readonly request: ProcedureRequest;
  readonly presentedToken: PresentedToken;
  readonly delegation: Delegation;
  /** The `scope` parameter's values (within the refresh token's scope), empty when none was sent. */
  readonly requestedScopes: JavaList<string>;
  getClient(): ProcedureClient;
  getRequest(): ProcedureRequest;
  getPresentedToken(): PresentedToken;
  getDelegation(): Delegation;
  getRequestedScopes(): JavaList<string>;
}

/** The jwt-bearer grant's context (oauth-token-jwt-assertion): already initialized. */
interface JwtAssertionContext extends IssuanceMembers {
  readonly client: ProcedureClient;
  readonly request: ProcedureRequest;
  /** The validated assertion's claims (an ID-JAG, or a plain JWT for clients that accept them). */
  readonly presentedAssertion: TokenData;
  /** The `scope` parameter's values, empty when none was sent. */
  readonly requestedScopes: JavaList<string>;
  /** The `resource` parameter's values, empty when none was sent. */
  readonly requestedAudiences: JavaList<string>;
  getClient(): ProcedureClient;
  getRequest(): ProcedureRequest;
  getPresentedAssertion(): TokenData;
  getRequestedScopes(): JavaList<string>;
  getRequestedAudiences(): JavaList<string>;
}

/** The client_credentials context (Curity's ClientCredentialsTokenProcedureContext): already initialized. */
type ClientCredentialsContext = InitializedContext;

/** What `result` returns: the token endpoint's JSON response. The server checks and aligns these fields. */
interface TokenResponse {
  access_token?: string;
  /** "bearer" / "Bearer". */
  token_type?: string;
  /** Seconds: secondsUntil(tokenData.exp). */
  expires_in?: number;
  /** Space-separated (an array is accepted). */
  scope?: string | string[];
  issued_token_type?: string;
  /** Only a refresh token issued in this call (refreshTokenIssuer.issue). */
  refresh_token?: string;
  id_token?: string;
  [field: string]: ClaimValue;
}

/** SLF4J-style logger: `{}` placeholders take the following arguments in order. */
interface ProcedureLogger {
  trace(format: ClaimValue, ...args: ClaimValue[]): void;
  debug(format: ClaimValue, ...args: ClaimValue[]): void;
  info(format: ClaimValue, ...args: ClaimValue[]): void;
  warn(format: ClaimValue, ...args: ClaimValue[]): void;
  error(format: ClaimValue, ...args: ClaimValue[]): void;
}

/** The `console` of a procedure: an alias of the logger (log = info). */
interface ProcedureConsole {
  log(...args: ClaimValue[]): void;
  info(...args: ClaimValue[]): void;
  debug(...args: ClaimValue[]): void;
  warn(...args: ClaimValue[]): void;
  error(...args: ClaimValue[]): void;
}

/** An exception built by exceptionFactory; `throw` it to answer with the OAuth error. */
interface ProcedureException extends Error {
  readonly error: string;
  readonly errorCode: string;
  readonly description: string;
}

/** `throw exceptionFactory.badRequestException('invalid_scope', 'reason')`. */
interface ExceptionFactory {
  /** 400. `(code, message)` uses `code` when it is an OAuth error code (else invalid_request); `(message)` is invalid_request. */
  badRequestException(errorCodeOrMessage?: string, message?: string): ProcedureException;
  /** 401 unauthorized_client. */
  unauthorizedException(message?: string): ProcedureException;
  /** 403 access_denied. */
  forbiddenException(message?: string): ProcedureException;
  /** 500 server_error. */
  internalServerException(message?: string): ProcedureException;
  /** 400 invalid_request. */
  notFoundException(message?: string): ProcedureException;
}

declare const logger: ProcedureLogger;
declare const exceptionFactory: ExceptionFactory;
/** Seconds from now until `epochSeconds`, rounded; negative once that moment has passed. */
declare function secondsUntil(epochSeconds: number): number;

/** Curity's type names, so Curity's own JSDoc headers resolve unchanged. */
declare namespace se.curity.identityserver.procedures.context {
  type OAuthTokenExchangeUnInitializedProcedureContext = TokenExchangeContext;
  type OAuthTokenExchangeCommonContext = ProcedureContextBase;
  type ClientCredentialsTokenProcedureContext = ClientCredentialsContext;
  type OAuthTokenProcedureContext = InitializedContext;
  type RefreshTokenProcedureContext = RefreshContext;
}
