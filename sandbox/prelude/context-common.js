/*
 * Prelude module: the members every context has in every flow (BasePrototype: client, request),
 * those of the token-exchange and client-credentials contexts before and after initialization
 * (CommonPrototype), and the per-call data the contexts of one call share.
 */
/* exported sharedCall, BasePrototype, CommonPrototype */
/* global freeze, create, ObjectPrototype -- intrinsics.js */
/* global bareObject, has, hidden -- helpers.js */
/* global javaList -- collections.js */
/* global tokenData -- token-data.js */
/* global delegation -- delegation.js */
/* global member, stateOf, withState -- context-state.js */
/* global clientView -- client.js */
/* global RequestPrototype -- request.js */

const CONTEXT_ATTRIBUTE_NAMES = freeze(['acr', 'amr', 'auth_time']);
function subjectAttributesOf(claims) {
  const attributes = bareObject();
  if (claims && typeof claims.sub === 'string') attributes.subject = claims.sub;
  return attributes;
}
function contextAttributesOf(claims) {
  const attributes = bareObject();
  if (claims) {
    for (let i = 0; i < CONTEXT_ATTRIBUTE_NAMES.length; i++) {
      const name = CONTEXT_ATTRIBUTE_NAMES[i];
      if (has(claims, name)) attributes[name] = claims[name];
    }
  }
  return attributes;
}

/**
 * Per-call data shared by the uninitialized context and the initialized contexts made from it, so
 * `context.client` or the presented token data are the same objects in both.
 */
function sharedCall(input) {
  return { input, client: undefined, request: undefined, subject: undefined, actor: undefined };
}

// Members every context of every flow has. State: {shared, ...}.
const BasePrototype = create(ObjectPrototype);
member(BasePrototype, 'client', 'getClient', function getClient() {
  const shared = stateOf(this).shared;
  if (shared.client === undefined) shared.client = clientView(shared.input.client);
  return shared.client;
});
member(BasePrototype, 'request', 'getRequest', function getRequest() {
  const shared = stateOf(this).shared;
  if (shared.request === undefined) shared.request = withState(RequestPrototype, shared.input.request);
  return shared.request;
});
freeze(BasePrototype);

// Members every token-exchange and client-credentials context has. State: {shared, attributes, initialized}.
const CommonPrototype = create(BasePrototype);
member(CommonPrototype, 'presentedSubjectToken', 'getPresentedSubjectToken', function getPresentedSubjectToken() {
  const shared = stateOf(this).shared;
  if (shared.subject === undefined) {
    const token = shared.input.subjectToken;
    shared.subject = token && token.claims ? tokenData(token.claims) : null;
  }
  return shared.subject;
});
// `getPresentedActorToken(validationStrategy)`: the strategy is accepted and ignored; the server
// validated the actor token already (null when it could not).
member(CommonPrototype, 'presentedActorToken', 'getPresentedActorToken', function getPresentedActorToken() {
  const shared = stateOf(this).shared;
  if (shared.actor === undefined) {
    const token = shared.input.actorToken;
    shared.actor = token && token.claims ? tokenData(token.claims) : null;
  }
  return shared.actor;
});
function presented(target, which) {
  return stateOf(target).shared.input[which];
}
member(CommonPrototype, 'presentedSubjectTokenDelegation', 'getPresentedSubjectTokenDelegation', function getPresentedSubjectTokenDelegation() {
  const token = presented(this, 'subjectToken');
  return token ? delegation(token.delegation) : null;
});
member(CommonPrototype, 'presentedActorTokenDelegation', 'getPresentedActorTokenDelegation', function getPresentedActorTokenDelegation() {
  const token = presented(this, 'actorToken');
  return token ? delegation(token.delegation) : null;
});
member(CommonPrototype, 'subjectTokenValue', 'getSubjectTokenValue', function getSubjectTokenValue() {
  const token = presented(this, 'subjectToken');
  return token ? token.value : null;
});
member(CommonPrototype, 'subjectTokenType', 'getSubjectTokenType', function getSubjectTokenType() {
  const token = presented(this, 'subjectToken');
  return token ? token.type : null;
});
member(CommonPrototype, 'actorTokenValue', 'getActorTokenValue', function getActorTokenValue() {
  const token = presented(this, 'actorToken');
  return token ? token.value : null;
});
member(CommonPrototype, 'actorTokenType', 'getActorTokenType', function getActorTokenType() {
  const token = presented(this, 'actorToken');
  return token ? token.type : null;
});
member(CommonPrototype, 'requestedScopes', 'getRequestedScopes', function getRequestedScopes() {
  return javaList(presented(this, 'requestedScopes'), false);
});
member(CommonPrototype, 'requestedAudiences', 'getRequestedAudiences', function getRequestedAudiences() {
  return javaList(presented(this, 'requestedAudiences'), false);
});
member(CommonPrototype, 'requestedTokenType', 'getRequestedTokenType', function getRequestedTokenType() {
  return presented(this, 'requestedTokenType');
});
// Transaction tokens: the request_details and request_context parameters as the host parsed them
// (JSON objects), a fresh copy per call; null when not sent.
member(CommonPrototype, 'requestDetails', 'getRequestDetails', function getRequestDetails() {
  const value = presented(this, 'requestDetails');
  return value ? tokenData(value) : null;
});
member(CommonPrototype, 'requestContext', 'getRequestContext', function getRequestContext() {
  const value = presented(this, 'requestContext');
  return value ? tokenData(value) : null;
});
// Methods only (scripts call them): what getInitializedContext received, else derived from the subject.
hidden(CommonPrototype, 'subjectAttributes', function subjectAttributes() {
  const state = stateOf(this);
  const token = state.shared.input.subjectToken;
  return tokenData(state.attributes ? state.attributes.subject : subjectAttributesOf(token && token.claims));
});
hidden(CommonPrototype, 'contextAttributes', function contextAttributes() {
  const state = stateOf(this);
  const token = state.shared.input.subjectToken;
  return tokenData(state.attributes ? state.attributes.context : contextAttributesOf(token && token.claims));
});
freeze(CommonPrototype);
