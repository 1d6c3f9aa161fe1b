/* exported result */
/**
 * Built-in default procedure for the refresh_token grant (oauth-token-refresh).
 *
 * The server has already checked the presented refresh token (ours, unexpired, unused, issued to
 * this client, its family not revoked) and the requested scope (within the token's). The context
 * arrives initialized: `getDefaultAccessTokenData(delegation)` holds the family's claims with the
 * granted scope and a fresh lifetime; `getDefaultRefreshTokenData()` the next refresh token's data
 * (the family's scope; its life ends with the family's).
 *
 * Refresh tokens are one-time: `context.presentedToken.value` is null and this procedure issues the
 * next one, of the same family. The access token is in the client's format (`accessTokenIssuer`).
 * Copy it as the starting point of your own: add claims to `accessTokenData` before `issue`.
 *
 * @param {se.curity.identityserver.procedures.context.RefreshTokenProcedureContext} context
 */
function result(context) {
  var delegation = context.delegation;
  var accessTokenData = context.getDefaultAccessTokenData(delegation);
  var accessToken = context.accessTokenIssuer.issue(accessTokenData, delegation);

  var refreshToken = context.presentedToken.value;
  if (!refreshToken) {
    refreshToken = context.refreshTokenIssuer.issue(context.getDefaultRefreshTokenData(), delegation);
  }

  return {
    access_token: accessToken,
    refresh_token: refreshToken,
    token_type: 'Bearer',
    // secondsUntil(exp) is rounded and becomes negative once exp has passed.
    expires_in: secondsUntil(accessTokenData.exp),
    scope: accessTokenData.scope,
  };
}
