/* exported result */
/**
 * Worked example: the Txn-Token policy of an API gateway (draft-ietf-oauth-transaction-tokens).
 *
 * The gateway `orders-gateway` receives a customer's call `POST /orders/{id}/pay` with an access
 * token, and asks this server for a Txn-Token before calling the payment and invoicing services:
 *
 *   grant_type=urn:ietf:params:oauth:grant-type:token-exchange
 *   requested_token_type=urn:ietf:params:oauth:token-type:txn_token
 *   subject_token=<the customer's access token>  subject_token_type=...:access_token
 *   scope=orders.pay
 *   request_details={"order_id":"ord-1001","amount":129.5,"currency":"EUR"}
 *   request_context={"channel":"web"}
 *
 * The policy:
 * - only Txn-Tokens are issued to this client (anything else is invalid_request);
 * - `tctx` holds exactly the order id, the amount and the currency, validated: the downstream
 *   services rely on them, so nothing else the gateway sends is carried;
 * - paying (`orders.pay`) more than 1000 needs the customer to have authenticated with a second
 *   factor (`acr` of the subject token), else access_denied;
 * - `rctx` is the default's (request_context plus `req_ip`, the gateway's address) with the channel;
 * - a replacement (a Txn-Token as the subject, e.g. from the payment service) keeps the server's
 *   defaults: the same txn, sub and tctx.
 *
 * The server still enforces the rules whatever this returns: aud = the trust domain, a scope within
 * the subject's and the client's, at most 300 s of life, a unique txn, req_wl = the caller.
 *
 * @param {TokenExchangeContext} context
 */
function result(context) {
  if (context.getRequestedTokenType() !== TXN_TOKEN_TYPE) {
    throw exceptionFactory.badRequestException('invalid_request', 'This client obtains Txn-Tokens only');
  }
  var fullContext = context.getInitializedContext(null, null, context.getRequestedAudiences(), context.getRequestedScopes());
  var data = fullContext.getDefaultTransactionTokenData();

  if (context.getSubjectTokenType() !== TXN_TOKEN_TYPE) {
    var order = orderFrom(context.getRequestDetails());
    var scopes = data.scope.split(' ');
    if (scopes.indexOf('orders.pay') >= 0 && order.amount > STEP_UP_AMOUNT && !secondFactor(context.getPresentedSubjectToken())) {
      throw exceptionFactory.forbiddenException('Paying more than ' + STEP_UP_AMOUNT + ' needs a second authentication factor');
    }
    data.tctx = order;
    var channel = context.getRequestContext() ? context.getRequestContext().channel : null;
    if (typeof channel === 'string' && /^(web|mobile|partner)$/.test(channel)) {
      data.rctx.channel = channel;
    }
  }

  var token = fullContext.transactionTokenIssuer.issue(data);
  return {
    access_token: token,
    issued_token_type: TXN_TOKEN_TYPE,
    token_type: 'N_A',
    expires_in: secondsUntil(data.exp),
    scope: data.scope,
  };
}

var TXN_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:txn_token';
var STEP_UP_AMOUNT = 1000;
var ORDER_ID = /^ord-[0-9]{1,12}$/;
var CURRENCY = /^[A-Z]{3}$/;

/** The order of request_details, validated: `order_id`, `amount` (a positive number, cents at most), `currency`. */
function orderFrom(details) {
  if (!details) {
    throw exceptionFactory.badRequestException('invalid_request', 'request_details with order_id and amount is required');
  }
  if (typeof details.order_id !== 'string' || !ORDER_ID.test(details.order_id)) {
    throw exceptionFactory.badRequestException('invalid_request', 'request_details.order_id must look like ord-1234');
  }
  var amount = details.amount;
  if (typeof amount !== 'number' || !isFinite(amount) || amount <= 0 || Math.round(amount * 100) !== amount * 100) {
    throw exceptionFactory.badRequestException('invalid_request', 'request_details.amount must be a positive amount');
  }
  var currency = details.currency === undefined ? 'EUR' : details.currency;
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) {
    throw exceptionFactory.badRequestException('invalid_request', 'request_details.currency must be an ISO 4217 code');
  }
  return { order_id: details.order_id, amount: amount, currency: currency };
}

/** `acr` naming a second factor (as an IdP would, e.g. "mfa" or an `amr` with "otp"). */
function secondFactor(subject) {
  if (!subject) {
    return false;
  }
  if (subject.acr === 'mfa') {
    return true;
  }
  var amr = subject.amr;
  return !!amr && Array.prototype.indexOf.call(amr, 'otp') >= 0;
}
