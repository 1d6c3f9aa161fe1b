/*
 * Prelude module: the initialized context. The client_credentials flow's context, and what the
 * token-exchange context's getInitializedContext(...) returns: defaults and issuers.
 */
/* exported initializedContext, defineIssuanceMembers */
/* global create, freeze -- intrinsics.js */
/* global hidden -- helpers.js */
/* global tokenData -- token-data.js */
/* global delegation -- delegation.js */
/* global member, stateOf, withState -- context-state.js */
/* global CommonPrototype -- context-common.js */
/* global issuerOf -- issuers.js */

/**
 * Defaults and issuers, on the initialized context and on the refresh context. State: {initialized, issuers}.
 * `getDefaultAccessTokenData(delegation)`: the refresh flow passes the delegation (Curity's
 * signature); the data is the host's default for this request whatever is passed.
 */
function defineIssuanceMembers(prototype) {
  member(prototype, 'defaultAccessTokenData', 'getDefaultAccessTokenData', function getDefaultAccessTokenData() {
    return tokenData(stateOf(this).initialized.defaultAccessTokenData);
  });
  member(prototype, 'defaultDelegationData', 'getDefaultDelegationData', function getDefaultDelegationData() {
    return delegation(stateOf(this).initialized.defaultDelegationData);
  });
  // Null when no refresh token may be issued here (the client lacks the grant, or an actor is present).
  member(prototype, 'defaultRefreshTokenData', 'getDefaultRefreshTokenData', function getDefaultRefreshTokenData() {
    const data = stateOf(this).initialized.defaultRefreshTokenData;
    return data ? tokenData(data) : null;
  });
  // Null unless `openid` is among the scopes, as in Curity.
  member(prototype, 'defaultIdTokenData', 'getDefaultIdTokenData', function getDefaultIdTokenData() {
    const data = stateOf(this).initialized.defaultIdTokenData;
    return data ? tokenData(data) : null;
  });
  // getDefaultAccessTokenJwtIssuer() is always a JWT issuer; accessTokenIssuer issues the client's format.
  member(prototype, 'defaultAccessTokenJwtIssuer', 'getDefaultAccessTokenJwtIssuer', function getDefaultAccessTokenJwtIssuer() {
    return issuerOf(this, 'access_token_jwt');
  });
  member(prototype, 'accessTokenIssuer', 'getAccessTokenIssuer', function getAccessTokenIssuer() {
    return issuerOf(this, 'access_token');
  });
  function jwtIssuer() {
    return issuerOf(this, 'jwt');
  }
  member(prototype, 'jwtIssuer', 'getJwtIssuer', jwtIssuer);
  hidden(prototype, 'getDefaultJwtIssuer', jwtIssuer);
  member(prototype, 'idTokenIssuer', 'getIdTokenIssuer', function getIdTokenIssuer() {
    return issuerOf(this, 'id_token');
  });
  member(prototype, 'refreshTokenIssuer', 'getRefreshTokenIssuer', function getRefreshTokenIssuer() {
    return issuerOf(this, 'refresh_token');
  });
  member(prototype, 'delegationIssuer', 'getDelegationIssuer', function getDelegationIssuer() {
    return issuerOf(this, 'delegation');
  });
}

// The initialized context: defaults and issuers on top of the common members.
const InitializedPrototype = create(CommonPrototype);
defineIssuanceMembers(InitializedPrototype);
// The ID-JAG issuer: data null (and issue() refused by the host) unless the exchange asked for an ID-JAG.
member(InitializedPrototype, 'defaultIdJagData', 'getDefaultIdJagData', function getDefaultIdJagData() {
  const data = stateOf(this).initialized.defaultIdJagData;
  return data ? tokenData(data) : null;
});
member(InitializedPrototype, 'idJagIssuer', 'getIdJagIssuer', function getIdJagIssuer() {
  return issuerOf(this, 'id_jag');
});
// The Txn-Token issuer (server/oauth/txn-token.ts): data null (and issue() refused by the host)
// unless the exchange asked for requested_token_type txn_token.
member(InitializedPrototype, 'defaultTransactionTokenData', 'getDefaultTransactionTokenData', function getDefaultTransactionTokenData() {
  const data = stateOf(this).initialized.defaultTransactionTokenData;
  return data ? tokenData(data) : null;
});
member(InitializedPrototype, 'transactionTokenIssuer', 'getTransactionTokenIssuer', function getTransactionTokenIssuer() {
  return issuerOf(this, 'txn_token');
});
freeze(InitializedPrototype);

function initializedContext(shared, initialized, attributes) {
  return withState(InitializedPrototype, { shared, attributes, initialized, issuers: create(null) });
}
