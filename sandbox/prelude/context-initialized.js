/*
 * Prelude module: the initialized context. The client_credentials flow's context, and what the
 * token-exchange context's getInitializedContext(...) returns: defaults and issuers.
 */
/* exported initializedContext */
/* global create, freeze -- intrinsics.js */
/* global hidden -- helpers.js */
/* global tokenData -- token-data.js */
/* global delegation -- delegation.js */
/* global member, stateOf, withState -- context-state.js */
/* global CommonPrototype -- context-common.js */
/* global issuerOf -- issuers.js */

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
