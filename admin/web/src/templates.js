// @ts-check
// Starting points for a new procedure, one per flow (Curity's canonical shapes).

const TOKEN_EXCHANGE = `/**
 * Token exchange: re-issue the subject token's data with the requested scopes.
 * @param {se.curity.identityserver.procedures.context.OAuthTokenExchangeUnInitializedProcedureContext} context
 */
function result(context) {
  var tokenData = context.getPresentedSubjectToken();
  var presentedDelegation = context.getPresentedSubjectTokenDelegation();
  var requestedScope = context.request.getFormParameter('scope');
  if (!requestedScope) {
    throw exceptionFactory.badRequestException('invalid_request', 'Missing scope in a token exchange request');
  }
  var scopes = requestedScope.split(' ');
  var fullContext = context.getInitializedContext(
    context.subjectAttributes(),
    context.contextAttributes(),
    tokenData.get('aud'),
    scopes
  );
  var issuedAccessToken = fullContext
    .getDefaultAccessTokenJwtIssuer()
    .issue(tokenData, presentedDelegation);
  return {
    scope: tokenData.scope,
    access_token: issuedAccessToken,
    token_type: 'bearer',
    expires_in: secondsUntil(tokenData.exp),
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token'
  };
}
`;

const CLIENT_CREDENTIALS = `/**
 * Client credentials: issue the default access token data.
 * @param {se.curity.identityserver.procedures.context.ClientCredentialsTokenProcedureContext} context
 */
function result(context) {
  var accessTokenData = context.getDefaultAccessTokenData();
  var issuedAccessToken = context.getDefaultAccessTokenJwtIssuer().issue(accessTokenData, null);
  return {
    scope: accessTokenData.scope,
    access_token: issuedAccessToken,
    token_type: 'bearer',
    expires_in: secondsUntil(accessTokenData.exp)
  };
}
`;

/** @param {string} flow */
export function procedureTemplate(flow) {
  return flow === 'oauth-token-client-credentials' ? CLIENT_CREDENTIALS : TOKEN_EXCHANGE;
}
