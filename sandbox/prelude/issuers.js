/*
 * Prelude module: token issuers (issue() asks the host to sign) and the delegation issuer.
 */
/* exported issuerOf */
/* global hostIssue -- prelude parameter */
/* global create, ObjectPrototype, jsonStringify, isArray, TypeErrorCtor, jsonParse, freeze -- intrinsics.js */
/* global hidden, has -- helpers.js */
/* global delegation -- delegation.js */
/* global throwHostFailure -- exceptions.js */
/* global stateOf, withState -- context-state.js */

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
