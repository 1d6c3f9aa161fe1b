/* exported result */
/**
 * Built-in default procedure for the client_credentials flow (oauth-token-client-credentials).
 *
 * The context arrives already initialized: the server has validated the requested scopes and
 * audiences against the client's registration and pre-filled the default access token data
 * (sub = the client, client_id, scope, aud, iat, exp). This procedure issues that token unchanged,
 * in the client's format (`accessTokenIssuer`: a JWT, or an opaque reference for a client with
 * `access_token_format: "opaque"`), and no refresh token (RFC 6749 §4.4.3).
 * Copy it as the starting point of your own: add claims to `accessTokenData` before `issue`.
 *
 * @param {se.curity.identityserver.procedures.context.ClientCredentialsTokenProcedureContext} context
 */
function result(context) {
  var accessTokenData = context.getDefaultAccessTokenData();

  // For example: accessTokenData.tenant = context.client.properties['tenant'];

  var accessToken = context.accessTokenIssuer.issue(accessTokenData, context.getDefaultDelegationData());

  return {
    access_token: accessToken,
    token_type: 'Bearer',
    // secondsUntil(exp) is rounded and becomes negative once exp has passed.
    expires_in: secondsUntil(accessTokenData.exp),
    scope: scopeString(accessTokenData.scope),
  };
}

/** Token data keeps `scope` as a space-separated string; accept an array too. */
function scopeString(scope) {
  if (scope === null || scope === undefined) return '';
  return typeof scope === 'string' ? scope : Array.prototype.join.call(scope, ' ');
}
