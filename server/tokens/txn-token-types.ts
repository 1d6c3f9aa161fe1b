/** Token type URIs and the JWS `typ` of transaction tokens (draft-ietf-oauth-transaction-tokens-10). */
export const TOKEN_TYPE_TXN_TOKEN = 'urn:ietf:params:oauth:token-type:txn_token';
export const TOKEN_TYPE_SELF_SIGNED = 'urn:ietf:params:oauth:token-type:self_signed';
export const TOKEN_TYPE_UNSIGNED_JSON = 'urn:ietf:params:oauth:token-type:unsigned_json';
/** The `typ` of a Txn-Token: never `at+jwt`, so no Txn-Token passes as an access token. */
export const TXN_TOKEN_TYP = 'txntoken+jwt';
