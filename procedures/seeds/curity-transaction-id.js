/* exported result */ // Source: Curity's "Implementing Token Exchange" tutorial, copied verbatim.
function result(context) {
var tokenData = context.getPresentedSubjectToken();
var presentedDelegation = context.getPresentedSubjectTokenDelegation();
var scopes = tokenData.get('scope').split(' ');
if (context.client.properties['custom_token_exchange'] == 'true') {
var requestedScope = context.request.getFormParameter('scope');
if (!requestedScope) {
throw exceptionFactory.badRequestException('invalid_request', 'Missing scope in a token exchange request');
}
scopes = requestedScope.split(' ');
var transactionId = context.request.getFormParameter('transaction_id');
if (!transactionId) {
throw exceptionFactory.badRequestException('invalid_request', 'Missing transaction_id in a token exchange request');
}
var date = new Date();
date.setDate(date.getDate() + 1);
tokenData.exp = Math.round(date.getTime());
tokenData.transaction_id = transactionId;
}
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
claims: tokenData.claims,
access_token: issuedAccessToken,
token_type: 'bearer',
expires_in: secondsUntil(tokenData.exp),
issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
};
}
