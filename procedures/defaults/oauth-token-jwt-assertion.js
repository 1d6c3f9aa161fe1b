/* exported result */
/**
 * Built-in default procedure for the jwt-bearer grant (oauth-token-jwt-assertion, RFC 7523 §2.1),
 * the receiving side of an ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant).
 *
 * Before this runs, the server has checked the assertion: signed by a trusted issuer, unexpired,
 * `aud` exactly this server, `jti` never seen before (it is now spent), and for an ID-JAG
 * (`typ: oauth-id-jag+jwt`) its `client_id` is the calling client. The context arrives initialized:
 * `getDefaultAccessTokenData()` has `sub` from the assertion, `client_id` the caller, and the scope
 * requested ∩ the assertion's ∩ the client's (without a request: the assertion's ∩ the client's).
 * `context.getPresentedAssertion()` gives the assertion's claims.
 *
 * This procedure issues that access token in the client's format, and no refresh token.
 * Copy it as the starting point of your own: for example map the assertion's `sub` to a local
 * account, copy `amr` or `auth_time`, or refuse with exceptionFactory.forbiddenException(...).
 *
 * @param {JwtAssertionContext} context
 */
function result(context) {
  var assertion = context.getPresentedAssertion();
  var accessTokenData = context.getDefaultAccessTokenData();

  // For example: accessTokenData.idp = assertion.iss;
  if (assertion.auth_time !== undefined) {
    accessTokenData.auth_time = assertion.auth_time;
  }

  var accessToken = context.accessTokenIssuer.issue(accessTokenData, context.getDefaultDelegationData());

  return {
    access_token: accessToken,
    token_type: 'Bearer',
    // secondsUntil(exp) is rounded and becomes negative once exp has passed.
    expires_in: secondsUntil(accessTokenData.exp),
    scope: accessTokenData.scope,
  };
}
