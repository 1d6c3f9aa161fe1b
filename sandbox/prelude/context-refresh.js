/*
 * Prelude module: the refresh flow's context (Curity's RefreshTokenProcedureContext), already
 * initialized: `presentedToken` (`value`, `data`), `delegation`, the requested scopes, and the
 * defaults and issuers of the initialized context.
 *
 * `presentedToken.value` is null: refresh tokens are one-time here, so the procedure issues the
 * next one with `refreshTokenIssuer` (what Curity's scripts do when rotation asks for a new one),
 * and the spent value never enters the sandbox.
 */
/* exported refreshContext */
/* global create, freeze, ObjectPrototype -- intrinsics.js */
/* global bareObject, finish -- helpers.js */
/* global javaList -- collections.js */
/* global tokenData -- token-data.js */
/* global delegation -- delegation.js */
/* global member, stateOf, withState -- context-state.js */
/* global BasePrototype -- context-common.js */
/* global defineIssuanceMembers -- context-initialized.js */

// State: {shared, initialized, issuers, presented}.
const RefreshPrototype = create(BasePrototype);
member(RefreshPrototype, 'presentedToken', 'getPresentedToken', function getPresentedToken() {
  const state = stateOf(this);
  if (state.presented === undefined) {
    const token = bareObject();
    token.value = null;
    token.data = tokenData(state.shared.input.refresh.data);
    state.presented = freeze(finish(token, ObjectPrototype));
  }
  return state.presented;
});
member(RefreshPrototype, 'delegation', 'getDelegation', function getDelegation() {
  return delegation(stateOf(this).shared.input.refresh.delegation);
});
member(RefreshPrototype, 'requestedScopes', 'getRequestedScopes', function getRequestedScopes() {
  return javaList(stateOf(this).shared.input.requestedScopes, false);
});
defineIssuanceMembers(RefreshPrototype);
freeze(RefreshPrototype);

function refreshContext(shared, initialized) {
  return withState(RefreshPrototype, { shared, initialized, issuers: create(null), presented: undefined });
}
