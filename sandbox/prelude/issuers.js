/*
 * Prelude module: token issuers (issue() asks the host to sign, or for refresh tokens and opaque
 * access tokens to make a reference), the ID token issuer's atHash, and the delegation issuer.
 */
/* exported issuerOf */
/* global atHashOf -- sha256.js */
/* global hostIssue -- prelude parameter */
/* global create, ObjectPrototype, jsonStringify, isArray, TypeErrorCtor, jsonParse, freeze -- intrinsics.js */
/* global hidden, has -- helpers.js */
/* global delegation -- delegation.js */
/* global throwHostFailure -- exceptions.js */
/* global stateOf, withState -- context-state.js */

/** What issue(null, ...) issues: the kind's default data. */
function defaultDataFor(kind, initialized) {
  if (kind === 'refresh_token' && initialized.defaultRefreshTokenData) return initialized.defaultRefreshTokenData;
  if (kind === 'id_token' && initialized.defaultIdTokenData) return initialized.defaultIdTokenData;
  if (kind === 'id_jag' && initialized.defaultIdJagData) return initialized.defaultIdJagData;
  if (kind === 'txn_token' && initialized.defaultTransactionTokenData) return initialized.defaultTransactionTokenData;
  return initialized.defaultAccessTokenData;
}

// Issuers. State: {kind, jwt, initialized}; `jwt`: a JWT whatever the client's access token format.
const IssuerPrototype = create(ObjectPrototype);
hidden(IssuerPrototype, 'issue', function issue(data, delegationData) {
  // The host counts issue() calls: past maxIssueCalls it refuses and fails the whole call.
  const state = stateOf(this);
  let dataJson;
  if (data === null || data === undefined) dataJson = jsonStringify(defaultDataFor(state.kind, state.initialized));
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
    '{"kind":' + jsonStringify(state.kind) + (state.jwt ? ',"jwt":true' : '') + ',"contextId":' + jsonStringify(state.initialized.contextId) +
    ',"data":' + dataJson + ',"delegation":' + delegationJson + '}';
  const answer = jsonParse(hostIssue(request));
  if (!has(answer, 'token') || typeof answer.token !== 'string') throwHostFailure(answer);
  return answer.token;
});
freeze(IssuerPrototype);

// idTokenIssuer: issue() plus Curity's atHash(accessToken).
const IdTokenIssuerPrototype = create(IssuerPrototype);
hidden(IdTokenIssuerPrototype, 'atHash', function atHash(token) {
  stateOf(this);
  return atHashOf(token);
});
freeze(IdTokenIssuerPrototype);

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

/** The issuer `name` of a context, made once per context: delegation, access_token_jwt, or an IssuerKind. */
function issuerOf(target, name) {
  const state = stateOf(target);
  if (state.issuers[name] === undefined) {
    const initialized = state.initialized;
    let issuer;
    if (name === 'delegation') issuer = withState(DelegationIssuerPrototype, { initialized });
    else if (name === 'access_token_jwt') issuer = withState(IssuerPrototype, { kind: 'access_token', jwt: true, initialized });
    else if (name === 'id_token') issuer = withState(IdTokenIssuerPrototype, { kind: name, jwt: false, initialized });
    else issuer = withState(IssuerPrototype, { kind: name, jwt: false, initialized });
    state.issuers[name] = issuer;
  }
  return state.issuers[name];
}
