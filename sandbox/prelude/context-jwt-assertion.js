/*
 * Prelude module: the jwt-bearer grant's context (oauth-token-jwt-assertion), already initialized:
 * `presentedAssertion` (the validated assertion's claims as token data), the requested scopes and
 * audiences, and the defaults and issuers of the initialized context. The assertion's value never
 * enters the sandbox: the host checked it and spent its jti before the procedure runs.
 */
/* exported jwtAssertionContext */
/* global create, freeze -- intrinsics.js */
/* global javaList -- collections.js */
/* global tokenData -- token-data.js */
/* global member, stateOf, withState -- context-state.js */
/* global BasePrototype -- context-common.js */
/* global defineIssuanceMembers -- context-initialized.js */

// State: {shared, initialized, issuers, assertion}.
const JwtAssertionPrototype = create(BasePrototype);
member(JwtAssertionPrototype, 'presentedAssertion', 'getPresentedAssertion', function getPresentedAssertion() {
  const state = stateOf(this);
  if (state.assertion === undefined) state.assertion = tokenData(state.shared.input.assertion.claims);
  return state.assertion;
});
member(JwtAssertionPrototype, 'requestedScopes', 'getRequestedScopes', function getRequestedScopes() {
  return javaList(stateOf(this).shared.input.requestedScopes, false);
});
member(JwtAssertionPrototype, 'requestedAudiences', 'getRequestedAudiences', function getRequestedAudiences() {
  return javaList(stateOf(this).shared.input.requestedAudiences, false);
});
defineIssuanceMembers(JwtAssertionPrototype);
freeze(JwtAssertionPrototype);

function jwtAssertionContext(shared, initialized) {
  return withState(JwtAssertionPrototype, { shared, initialized, issuers: create(null), assertion: undefined });
}
