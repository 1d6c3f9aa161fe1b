/*
 * Prelude module: delegations (Curity's ScriptDelegation) as frozen-prototype plain objects.
 */
/* exported delegation */
/* global create, ObjectPrototype, freeze -- intrinsics.js */
/* global hidden, bareObject, finish -- helpers.js */
/* global tokenData -- token-data.js */

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
