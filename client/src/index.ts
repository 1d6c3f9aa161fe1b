/** tokenproc-exchange-client: an RFC 8693 token exchange client with a safe cache, and an Express-style middleware. */
export {
  createExchangeClient,
  type CacheOptions,
  type ClientAuthMethod,
  type ExchangeClient,
  type ExchangeClientOptions,
  type ExchangeClientStats,
  type ExchangeRequest,
} from './client.ts';
export { CLIENT_ERROR_CODES, ExchangeError, type ExchangeErrorFields } from './errors.ts';
export type { AssertionAlg, PrivateKeyInput } from './jwt.ts';
export {
  bearerToken,
  exchangedToken,
  exchangeMiddleware,
  type BearerRequest,
  type ExchangeMiddlewareOptions,
  type NextFunctionLike,
  type ResponseLike,
} from './middleware.ts';
export { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, type ExchangeLogger, type FetchLike, type TokenResponse } from './types.ts';
