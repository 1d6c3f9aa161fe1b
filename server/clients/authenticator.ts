/**
 * Client authentication at the token and introspection endpoints: client_secret_basic,
 * client_secret_post and private_key_jwt (RFC 6749 §2.3, RFC 7523). Returns a value: either the
 * authenticated client or the OAuth error to send; throws only StoreUnavailableError (the store
 * could not record a replay or count a failure: the endpoint answers 503).
 */
import type { ClientRecord, Store } from '../store/types.ts';
import { isStoreUnavailableError } from '../store/errors.ts';
import type { JsonWebKeyLike, PresentedTokenValidator } from '../tokens/presented-token-validator.ts';
import { DEFAULT_ALLOWED_ALGORITHMS } from '../tokens/jws-guards.ts';
import { MAX_CLIENT_ASSERTION_LIFETIME_SECONDS } from '../defaults.ts';
import { fail, ok, oauthError, type OAuthError, type Result } from '../oauth/errors.ts';
import { firstValue, formDecode, type FormParams } from '../http/form.ts';
import { VerifiedSecretCache, verifySecret } from './secrets.ts';
import { clientSecretKeys, FailedAuthThrottle } from './throttle.ts';
import { inSpan } from '../observability/tracing.ts';

export const CLIENT_ASSERTION_TYPE_JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** RFC 7523 assertions: the asymmetric algorithms a presented token may use (never `none` or HS*). */
export const ASSERTION_ALGORITHMS: readonly string[] = DEFAULT_ALLOWED_ALGORITHMS;
const ASSERTION_ALGORITHM_SET: ReadonlySet<string> = new Set(ASSERTION_ALGORITHMS);

export type AuthMethodUsed = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface AuthenticatedClient {
  client: ClientRecord;
  method: AuthMethodUsed;
}

export interface ClientAuthenticatorOptions {
  store: Store;
  lookupClient(clientId: string): ClientRecord | undefined;
  /** Values a client assertion's `aud` may name: the issuer and the endpoint URLs. */
  assertionAudiences(): readonly string[];
  clockSkewSeconds: number;
  now?: () => number;
  /** Checks a secret against a stored hash (scrypt); injectable so tests can count the hashes. */
  verifySecret?: (secret: string, storedHash: string) => Promise<boolean>;
  /** The one JWT verifier (strict parse, claim times, key selection, signature), shared with the token exchange. */
  verifier: Pick<PresentedTokenValidator, 'parseJwt' | 'verifyWithKeys'>;
  /** Told of every refused authentication (for the log and the metrics); never given a secret. */
  onFailure?: (failure: ClientAuthFailure) => void;
}

/** A refused client authentication, as operators see it. */
export interface ClientAuthFailure {
  /** The client id the caller presented, when it presented one (ids are not secrets). */
  readonly clientId: string | undefined;
  readonly method: AuthMethodUsed | 'none' | 'unsupported';
  /** 401, or 429 when a throttle answered. */
  readonly status: number;
  readonly reason: string;
  readonly sourceAddress: string | undefined;
}

const BASIC_CHALLENGE = 'Basic realm="tokenproc"';
/** A first guess at one scrypt check (N=2^14) until real ones are measured, ms. */
const INITIAL_HASH_MILLIS = 40;
/** Weight of each new measurement in the moving average of check times. */
const HASH_TIME_WEIGHT = 0.1;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A 401 always carries a challenge (RFC 9110 §15.5.2); Basic is the scheme this endpoint offers. */
function invalidClient(description: string): OAuthError {
  return oauthError('invalid_client', description, { wwwAuthenticate: BASIC_CHALLENGE });
}

interface BasicCredentials {
  clientId: string;
  secret: string;
}

function parseBasic(header: string): BasicCredentials | null {
  const match = /^basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return null;
  const clientId = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (clientId === null || secret === null || clientId === '' || secret === '') return null;
  return { clientId, secret };
}

function tooManyAttempts(retryAfterSeconds: number): OAuthError {
  return oauthError('invalid_client', 'Too many failed authentication attempts; try again later', {
    status: 429,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

export class ClientAuthenticator {
  private readonly options: ClientAuthenticatorOptions;
  private readonly cache = new VerifiedSecretCache();
  private readonly throttle: FailedAuthThrottle;
  /**
   * How long a real secret check takes lately (ms, moving average). A secret for an unknown client
   * is answered after about that long without hashing anything: a made-up client id costs no
   * scrypt (a stream of them no longer starves real logins of the hashing threads), and the answer
   * takes as long as a wrong secret for a real client, so timing does not tell which ids exist.
   */
  private hashMillis: number;
  private readonly verify: (secret: string, storedHash: string) => Promise<boolean>;

  constructor(options: ClientAuthenticatorOptions) {
    this.options = options;
    this.verify = options.verifySecret ?? verifySecret;
    this.throttle = new FailedAuthThrottle(options.store);
    this.hashMillis = INITIAL_HASH_MILLIS;
  }

  /** Forget verified secrets, e.g. after a client's secret changed. */
  forgetVerifiedSecrets(): void {
    this.cache.clear();
  }

  /**
   * `sourceAddress`: where the request came from (the endpoint's remote address, proxies
   * resolved); wrong secrets are then also counted per (client id, address). Without it they are
   * counted per client id only.
   */
  async authenticate(authorization: string | undefined, params: FormParams, sourceAddress?: string): Promise<Result<AuthenticatedClient>> {
    return inSpan('tokenproc.client_authentication', {}, async (span) => {
      const result = await this.authenticateUntraced(authorization, params, sourceAddress);
      // The client id only once authenticated (before, it is whatever the caller wrote); never the secret or assertion.
      if (span.isRecording()) {
        span.setAttributes(
          result.ok
            ? { 'tokenproc.client_auth.outcome': 'ok', 'oauth.client_id': result.value.client.client_id, 'tokenproc.client_auth.method': result.value.method }
            : { 'tokenproc.client_auth.outcome': result.error.error },
        );
      }
      return result;
    });
  }

  private async authenticateUntraced(authorization: string | undefined, params: FormParams, sourceAddress?: string): Promise<Result<AuthenticatedClient>> {
    const result = await this.check(authorization, params, sourceAddress);
    if (!result.ok && this.options.onFailure) {
      const basic = authorization !== undefined && /^basic\s/i.test(authorization) ? parseBasic(authorization) : null;
      let method: ClientAuthFailure['method'] = 'none';
      if (authorization !== undefined && basic === null && !/^basic\s/i.test(authorization)) method = 'unsupported';
      else if (authorization !== undefined) method = 'client_secret_basic';
      else if (params.has('client_assertion')) method = 'private_key_jwt';
      else if (params.has('client_secret')) method = 'client_secret_post';
      this.options.onFailure({
        clientId: basic?.clientId ?? firstValue(params, 'client_id'),
        method,
        status: result.error.status,
        reason: result.error.description,
        sourceAddress,
      });
    }
    return result;
  }

  private async check(authorization: string | undefined, params: FormParams, sourceAddress: string | undefined): Promise<Result<AuthenticatedClient>> {
    const bodyClientId = firstValue(params, 'client_id');
    const bodySecret = firstValue(params, 'client_secret');
    const assertion = firstValue(params, 'client_assertion');
    const assertionType = firstValue(params, 'client_assertion_type');
    const hasBasic = authorization !== undefined && /^basic\s/i.test(authorization);

    if (authorization !== undefined && !hasBasic) {
      return fail(invalidClient('Unsupported authorization scheme at this endpoint'));
    }
    if (hasBasic && assertion !== undefined) {
      return fail(invalidClient('Use exactly one client authentication method'));
    }
    if (hasBasic && bodySecret !== undefined) {
      return fail(oauthError('invalid_request', 'Use exactly one client authentication method'));
    }
    if (assertion !== undefined && bodySecret !== undefined) {
      return fail(invalidClient('Use exactly one client authentication method'));
    }

    if (hasBasic) {
      const credentials = parseBasic(authorization);
      if (!credentials) return fail(invalidClient('Malformed Basic credentials'));
      if (bodyClientId !== undefined && bodyClientId !== credentials.clientId) {
        return fail(oauthError('invalid_request', 'client_id does not match the authenticated client'));
      }
      return this.verifySecretAuth(credentials.clientId, credentials.secret, 'client_secret_basic', sourceAddress);
    }
    if (assertion !== undefined) {
      return this.verifyAssertion(assertion, assertionType, bodyClientId);
    }
    if (bodySecret !== undefined) {
      if (bodyClientId === undefined) return fail(invalidClient('client_secret requires client_id'));
      return this.verifySecretAuth(bodyClientId, bodySecret, 'client_secret_post', sourceAddress);
    }
    return fail(invalidClient('Client authentication is required'));
  }

  /** The throttle's rule (server/clients/throttle.ts): a right secret always passes; wrong ones are counted. */
  private async verifySecretAuth(
    clientId: string,
    secret: string,
    method: AuthMethodUsed,
    sourceAddress: string | undefined,
  ): Promise<Result<AuthenticatedClient>> {
    const client = this.options.lookupClient(clientId);
    const storedHash = client?.client_secret_hash ?? null;
    if (!client || storedHash === null) {
      // Jitter of ±20% around the recent average, as real checks vary.
      await sleep(this.hashMillis * (0.8 + 0.4 * Math.random()));
      return this.refuseSecret(clientId, sourceAddress);
    }
    // A secret verified lately passes without a hash and without the store, throttled or not.
    if (this.cache.has(clientId, storedHash, secret, this.now())) return ok({ client, method });
    // An address already at its own limit for this client is refused without a hash: guessing
    // from it costs no scrypt. Other addresses (the owner's) are still checked.
    const perAddress = clientSecretKeys(clientId, sourceAddress)[0];
    if (sourceAddress && perAddress) {
      const retryAfter = this.throttle.knownAtLimit(perAddress, this.now());
      if (retryAfter > 0) return fail(tooManyAttempts(retryAfter));
    }
    const started = performance.now();
    const verified = await this.verify(secret, storedHash);
    this.hashMillis += (performance.now() - started - this.hashMillis) * HASH_TIME_WEIGHT;
    if (!verified) return this.refuseSecret(clientId, sourceAddress);
    this.cache.add(clientId, storedHash, secret, this.now());
    return ok({ client, method });
  }

  /** A wrong secret (or an unknown id): counted, and 429 once a count has reached its limit. */
  private async refuseSecret(clientId: string, sourceAddress: string | undefined): Promise<Result<AuthenticatedClient>> {
    const retryAfter = await this.throttle.recordFailure(clientSecretKeys(clientId, sourceAddress), this.now());
    if (retryAfter > 0) return fail(tooManyAttempts(retryAfter));
    return fail(invalidClient('Client authentication failed'));
  }

  private async verifyAssertion(assertion: string, assertionType: string | undefined, bodyClientId: string | undefined): Promise<Result<AuthenticatedClient>> {
    const refuse = (why: string) => fail(invalidClient(why));
    if (assertionType !== CLIENT_ASSERTION_TYPE_JWT_BEARER) return refuse('Unsupported client_assertion_type');
    if (assertion.split('.').length !== 3 || assertion.includes(',')) return refuse('client_assertion must be one signed JWT');
    const jws = this.options.verifier.parseJwt(assertion, ASSERTION_ALGORITHM_SET);
    if (jws === null) return refuse('client_assertion is malformed');
    const claims = jws.claims;
    const clientId = claims.sub;
    if (typeof clientId !== 'string' || claims.iss !== clientId) return refuse('client_assertion iss and sub must both be the client_id');
    if (bodyClientId !== undefined && bodyClientId !== clientId) return refuse('client_id does not match the client_assertion');
    const client = this.options.lookupClient(clientId);
    if (!client?.jwks) return refuse('Client authentication failed');
    const keys: readonly JsonWebKeyLike[] = Array.isArray(client.jwks.keys) ? (client.jwks.keys as JsonWebKeyLike[]) : [];
    if ((await this.options.verifier.verifyWithKeys(jws, keys)) !== 'verified') return refuse('client_assertion is not valid');
    // RFC 7523 §3: the audience names this authorization server (its issuer or an endpoint).
    const audiences = this.options.assertionAudiences();
    const aud = claims.aud;
    const named = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!named.some((value) => typeof value === 'string' && audiences.includes(value))) return refuse('client_assertion is not valid');
    const jti = claims.jti;
    const exp = claims.exp;
    if (typeof jti !== 'string' || typeof exp !== 'number') return refuse('client_assertion needs jti and exp');
    const issuedAt = typeof claims.iat === 'number' ? claims.iat : Math.floor(this.now() / 1000);
    if (exp - issuedAt > MAX_CLIENT_ASSERTION_LIFETIME_SECONDS) {
      return refuse(`client_assertion may live at most ${MAX_CLIENT_ASSERTION_LIFETIME_SECONDS} seconds`);
    }
    try {
      if (!(await this.options.store.recordAssertionJti(clientId, jti, exp + this.options.clockSkewSeconds))) return refuse('client_assertion was already used');
    } catch (err) {
      // The replay record could not be written: not the client's fault (the endpoint answers 503).
      if (isStoreUnavailableError(err)) throw err;
      return refuse('client_assertion is not valid');
    }
    return ok({ client, method: 'private_key_jwt' });
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }
}
