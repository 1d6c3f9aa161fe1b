/* exported result */
/**
 * Built-in default procedure for RFC 8693 token exchange (oauth-token-oauth-token-exchange).
 *
 * - No actor token: impersonation. The new token has the subject's `sub` and keeps any `act` the
 *   subject token already carries; the caller must be allowed by the subject's `may_act`, if any.
 * - An actor token: delegation. The actor becomes the outermost `act` ({sub, client_id?, iss?}), the
 *   subject's existing `act` nested inside it; the subject's `may_act` must name the actor; the chain
 *   is at most 5 deep and no actor appears in it twice.
 * - Scope: the requested scopes, each within (subject's scopes ∩ client's scopes); without a request,
 *   that whole intersection. A subject token with no `scope` claim at all (an ID token, a JWT from
 *   an identity provider) does not narrow it: then only the client's scopes count, as in Janssen's
 *   ID-token exchange. An empty result is `invalid_scope`.
 * - Audience: the requested `audience`/`resource` values, else the client's audiences. The server
 *   refuses audiences outside the client's list (`invalid_target`).
 * - Lifetime: at most the subject token's (the server also caps it to the client's TTL).
 * - Format: `accessTokenIssuer` issues the client's format (a JWT, or an opaque reference for a
 *   client with `access_token_format: "opaque"`).
 * - Refresh token: beside the access token whenever the server allows one (the client has the
 *   `refresh_token` grant and no actor is involved: `getDefaultRefreshTokenData()` is then not
 *   null); with `requested_token_type` refresh_token it is the issued token itself. It carries the
 *   same claims; its family lives the client's `refresh_token_ttl`.
 *
 * - Txn-Token (requested_token_type txn_token): see transactionToken() below.
 *
 * Copy it as the starting point of your own exchange logic.
 *
 * @param {se.curity.identityserver.procedures.context.OAuthTokenExchangeUnInitializedProcedureContext} context
 */
function result(context) {
  var subject = context.getPresentedSubjectToken();
  if (!subject) {
    throw exceptionFactory.badRequestException('invalid_request', 'The subject token could not be validated');
  }
  if (context.getRequestedTokenType() === ID_JAG_TYPE) {
    return identityAssertionGrant(context);
  }
  if (context.getRequestedTokenType() === TXN_TOKEN_TYPE) {
    return transactionToken(context);
  }
  var actor = context.getPresentedActorToken(null);
  if (context.getActorTokenType() && !actor) {
    throw exceptionFactory.badRequestException('invalid_request', 'The actor token could not be validated');
  }
  var client = context.client;

  // Who acts: delegation puts the actor on top of the chain; impersonation keeps the chain as it is.
  var act = actor ? delegationChain(subject, actor) : impersonationChain(subject, client.id);

  var clientScopes = words(client.scope);
  var subjectScopes = subject.scope === undefined || subject.scope === null ? clientScopes : words(subject.scope);
  var scopes = grantedScopes(context.getRequestedScopes(), subjectScopes, clientScopes);

  var audiences = context.getRequestedAudiences();
  if (audiences.length === 0) {
    audiences = client.audiences;
  }

  var issued = issuedTokenType(context.getRequestedTokenType());

  // Fixes the new token's aud and scope; the server validates both against the client here.
  var fullContext = context.getInitializedContext(
    context.subjectAttributes(),
    context.contextAttributes(),
    audiences,
    scopes
  );

  var tokenData = claimsToCarryOver(subject);
  tokenData.client_id = client.id;
  tokenData.exp = earliest(subject.exp, fullContext.getDefaultAccessTokenData().exp);
  if (act) {
    tokenData.act = act;
  }

  var delegation = context.getPresentedSubjectTokenDelegation();
  var refreshTokenData = fullContext.getDefaultRefreshTokenData();
  if (issued.uri === REFRESH_TOKEN_TYPE) {
    var issuedRefreshToken = fullContext.refreshTokenIssuer.issue(refreshDataFrom(tokenData, refreshTokenData), delegation);
    return {
      access_token: issuedRefreshToken,
      issued_token_type: issued.uri,
      token_type: issued.tokenType,
      expires_in: secondsUntil(refreshTokenData.exp),
      scope: scopes.join(' '),
    };
  }

  var token = issued.issuer(fullContext).issue(tokenData, delegation);
  var response = {
    access_token: token,
    issued_token_type: issued.uri,
    token_type: issued.tokenType,
    // secondsUntil(exp) is rounded and becomes negative once exp has passed.
    expires_in: secondsUntil(tokenData.exp),
    scope: scopes.join(' '),
  };
  // A refresh token beside an access token, when the server allows one here.
  if (refreshTokenData && issued.uri === ACCESS_TOKEN_TYPE) {
    response.refresh_token = fullContext.refreshTokenIssuer.issue(refreshDataFrom(tokenData, refreshTokenData), delegation);
  }
  return response;
}

var ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
var ID_JAG_TYPE = 'urn:ietf:params:oauth:token-type:id-jag';

/**
 * An ID-JAG for another authorization server (requested_token_type id-jag). The server has already
 * checked the ID token (meant for this client), the single `audience` (one of the client's
 * audiences) and fixed aud, client_id, iss, jti and a lifetime of at most 300 s. The requested
 * scopes must be within the client's scope; `resource` is carried as requested.
 */
function identityAssertionGrant(context) {
  var fullContext = context.getInitializedContext(context.subjectAttributes(), context.contextAttributes(), [], context.getRequestedScopes());
  var data = fullContext.getDefaultIdJagData();
  var token = fullContext.idJagIssuer.issue(data);
  return {
    access_token: token,
    issued_token_type: ID_JAG_TYPE,
    token_type: 'N_A',
    expires_in: secondsUntil(data.exp),
    scope: data.scope,
  };
}
var REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';
var TXN_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:txn_token';

/**
 * A Txn-Token (requested_token_type txn_token; draft-ietf-oauth-transaction-tokens): the default
 * policy. `sub` from the subject; `scope` as requested, each within the subject's and the client's
 * (the server refuses a wider one with invalid_scope); `tctx` = request_details; `rctx` =
 * request_context plus `req_ip`, the caller's address. A replacement (a Txn-Token as the subject)
 * keeps txn, sub and tctx. The server fixes aud (the trust domain), txn, req_wl, iat and a lifetime
 * of at most 300 s; no refresh token. Copy it to decide tctx, rctx or scope yourself.
 */
function transactionToken(context) {
  var fullContext = context.getInitializedContext(null, null, context.getRequestedAudiences(), context.getRequestedScopes());
  var data = fullContext.getDefaultTransactionTokenData();
  var token = fullContext.transactionTokenIssuer.issue(data);
  return {
    access_token: token,
    issued_token_type: TXN_TOKEN_TYPE,
    token_type: 'N_A',
    expires_in: secondsUntil(data.exp),
    scope: data.scope,
  };
}

/** The refresh token carries the access token's claims; its life is its family's, not the subject's. */
function refreshDataFrom(tokenData, refreshTokenData) {
  var data = {};
  for (var name in tokenData) {
    if (Object.prototype.hasOwnProperty.call(tokenData, name)) {
      data[name] = tokenData[name];
    }
  }
  data.exp = refreshTokenData.exp;
  return data;
}

/** RFC 8693 §4.1 allows nesting `act`; deeper chains than this are refused. */
var MAX_ACTOR_CHAIN_DEPTH = 5;

/** Claims the server sets on every issued token: never copied from the subject token. */
var SERVER_SET_CLAIMS = ['iss', 'aud', 'scope', 'exp', 'iat', 'nbf', 'jti', 'may_act'];

/** The identity members of an actor that go into `act`. */
var ACTOR_IDENTITY_CLAIMS = ['sub', 'client_id', 'iss'];

var ISSUED_TOKEN_TYPES = {
  'urn:ietf:params:oauth:token-type:access_token': {
    tokenType: 'Bearer',
    issuer: function (fullContext) {
      return fullContext.accessTokenIssuer;
    },
  },
  'urn:ietf:params:oauth:token-type:jwt': {
    tokenType: 'N_A',
    issuer: function (fullContext) {
      return fullContext.jwtIssuer;
    },
  },
  'urn:ietf:params:oauth:token-type:id_token': {
    tokenType: 'N_A',
    issuer: function (fullContext) {
      return fullContext.idTokenIssuer;
    },
  },
  'urn:ietf:params:oauth:token-type:refresh_token': {
    tokenType: 'N_A',
    issuer: function (fullContext) {
      return fullContext.refreshTokenIssuer;
    },
  },
};

function issuedTokenType(requested) {
  var uri = requested || 'urn:ietf:params:oauth:token-type:access_token';
  var type = Object.prototype.hasOwnProperty.call(ISSUED_TOKEN_TYPES, uri) ? ISSUED_TOKEN_TYPES[uri] : null;
  if (!type) {
    throw exceptionFactory.badRequestException('invalid_request', 'The requested_token_type is not supported');
  }
  return { uri: uri, tokenType: type.tokenType, issuer: type.issuer };
}

/** Impersonation: a subject restricted by `may_act` may only be exchanged by the client it names. */
function impersonationChain(subject, clientId) {
  var mayAct = subject.may_act;
  if (mayAct && mayAct.sub !== clientId && mayAct.client_id !== clientId) {
    throw exceptionFactory.badRequestException('invalid_request', 'The subject token does not allow this client to act for it (may_act)');
  }
  return subject.act || null;
}

/** Delegation: the actor, with the subject's existing chain nested inside it. */
function delegationChain(subject, actor) {
  var actorIdentity = identityOf(actor);
  if (typeof actorIdentity.sub !== 'string') {
    throw exceptionFactory.badRequestException('invalid_request', 'The actor token has no sub');
  }
  if (subject.may_act && !matchesMayAct(subject.may_act, actorIdentity)) {
    throw exceptionFactory.badRequestException('invalid_request', 'The actor is not allowed by the subject token (may_act)');
  }
  var chain = subject.act || null;
  var depth = 1;
  for (var link = chain; link; link = link.act) {
    depth++;
    if (depth > MAX_ACTOR_CHAIN_DEPTH) {
      throw exceptionFactory.badRequestException('invalid_request', 'The delegation chain is deeper than ' + MAX_ACTOR_CHAIN_DEPTH);
    }
    if (sameActor(link, actorIdentity)) {
      throw exceptionFactory.badRequestException('invalid_request', 'The actor already appears in the delegation chain');
    }
  }
  if (chain) {
    actorIdentity.act = chain;
  }
  return actorIdentity;
}

function identityOf(claims) {
  var identity = {};
  for (var i = 0; i < ACTOR_IDENTITY_CLAIMS.length; i++) {
    var name = ACTOR_IDENTITY_CLAIMS[i];
    if (claims[name] !== undefined && claims[name] !== null) {
      identity[name] = claims[name];
    }
  }
  return identity;
}

/** Every identity member `may_act` names must match the actor; `may_act` must name at least one. */
function matchesMayAct(mayAct, actorIdentity) {
  var named = 0;
  for (var i = 0; i < ACTOR_IDENTITY_CLAIMS.length; i++) {
    var name = ACTOR_IDENTITY_CLAIMS[i];
    if (mayAct[name] !== undefined && mayAct[name] !== null) {
      named++;
      if (mayAct[name] !== actorIdentity[name]) {
        return false;
      }
    }
  }
  return named > 0;
}

/** Same `sub`, and the same `iss` when both name one. */
function sameActor(link, actorIdentity) {
  return link.sub === actorIdentity.sub && (!link.iss || !actorIdentity.iss || link.iss === actorIdentity.iss);
}

function grantedScopes(requested, subjectScopes, clientScopes) {
  var available = [];
  for (var i = 0; i < subjectScopes.length; i++) {
    if (clientScopes.indexOf(subjectScopes[i]) >= 0 && available.indexOf(subjectScopes[i]) < 0) {
      available.push(subjectScopes[i]);
    }
  }
  var granted = [];
  if (requested.length === 0) {
    granted = available;
  } else {
    for (var j = 0; j < requested.length; j++) {
      if (available.indexOf(requested[j]) < 0) {
        throw exceptionFactory.badRequestException('invalid_scope', 'The scope ' + requested[j] + ' is not available for this exchange');
      }
      if (granted.indexOf(requested[j]) < 0) {
        granted.push(requested[j]);
      }
    }
  }
  if (granted.length === 0) {
    throw exceptionFactory.badRequestException('invalid_scope', 'No scope can be granted for this exchange');
  }
  return granted;
}

/** Scope claims are space-separated strings; some issuers send arrays. */
function words(scope) {
  if (scope === null || scope === undefined) {
    return [];
  }
  var list = typeof scope === 'string' ? scope.split(' ') : Array.prototype.slice.call(scope);
  var out = [];
  for (var i = 0; i < list.length; i++) {
    if (list[i]) {
      out.push(String(list[i]));
    }
  }
  return out;
}

function claimsToCarryOver(subject) {
  var claims = {};
  for (var name in subject) {
    if (Object.prototype.hasOwnProperty.call(subject, name) && SERVER_SET_CLAIMS.indexOf(name) < 0) {
      claims[name] = subject[name];
    }
  }
  return claims;
}

function earliest(a, b) {
  if (typeof a !== 'number') {
    return b;
  }
  if (typeof b !== 'number') {
    return a;
  }
  return Math.min(a, b);
}
