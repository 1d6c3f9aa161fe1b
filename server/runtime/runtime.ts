/**
 * Builds the token service from a store and a configuration: one place where every part is
 * created and wired. The HTTP server, the CLI runner and the admin dry-run all go through it.
 */
import type { ServerConfig } from '../config.ts';
import type { Store } from '../store/types.ts';
import type { Logger } from '../logging.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { ProcedureEngine, ProcedureRef } from '../../sandbox/types.ts';
import { ConfigCache } from './config-cache.ts';
import { KeyManager, type TokenSigner } from '../tokens/keys.ts';
import { ClientAuthenticator } from '../clients/authenticator.ts';
import { processEventLoopLoad } from './event-loop-load.ts';
import { PresentedTokenValidator } from '../tokens/presented-token-validator.ts';
import { ProcedureRunner, type ProcedureObserver } from '../oauth/procedure-runner.ts';
import { ClientCredentialsGrant } from '../oauth/grants/client-credentials.ts';
import { TokenExchangeGrant } from '../oauth/grants/token-exchange.ts';
import { TokenEndpoint } from '../oauth/token-endpoint.ts';
import { IntrospectionEndpoint } from '../oauth/introspection.ts';
import { RevocationEndpoint } from '../oauth/revocation.ts';
import { RefreshTokenGrant } from '../oauth/grants/refresh-token.ts';
import { JwtBearerGrant } from '../oauth/grants/jwt-bearer.ts';
import { TokenLifecycle } from '../oauth/token-lifecycle.ts';
import { RevocationList } from '../tokens/revocations.ts';
import { endpointUrls } from '../oauth/metadata.ts';
import type { TokenServices } from '../oauth/token-services.ts';
import type { IssuancePolicy } from '../oauth/issuance.ts';

export interface Runtime {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly logger: Logger;
  readonly metrics: ServerMetrics | null;
  readonly cache: ConfigCache;
  readonly signer: TokenSigner;
  readonly keys: KeyManager | null;
  readonly engine: ProcedureEngine;
  readonly authenticator: ClientAuthenticator;
  readonly validator: PresentedTokenValidator;
  readonly tokenEndpoint: TokenEndpoint;
  readonly introspection: IntrospectionEndpoint;
  readonly revocation: RevocationEndpoint;
  /** Refresh tokens, opaque access tokens, lineage; `lifecycle.revocations` polls the store (server.ts starts it). */
  readonly lifecycle: TokenLifecycle;
  /** Call after a local configuration write so this instance sees it at once. */
  configChanged(): Promise<void>;
}

export interface RuntimeOptions {
  config: ServerConfig;
  store: Store;
  logger: Logger;
  metrics: ServerMetrics | null;
  engine: ProcedureEngine;
  /** Signs issued tokens; the server's KeyManager unless given (the CLI passes a throwaway key). */
  signer?: TokenSigner;
  now?: () => number;
  /** Watches procedure runs besides the server log (the CLI and the admin dry run). */
  procedureObserver?: ProcedureObserver;
  /** Keeps this runtime's procedures apart from others of the same id on a shared engine (ProcedureRef.namespace). */
  procedureNamespace?: string;
  /** After a local write has reloaded here: reach the other processes serving the same port (workers). */
  afterConfigChange?: () => Promise<void>;
}

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, store, logger, metrics, engine } = options;
  const now = options.now ?? Date.now;
  const cache = new ConfigCache(store);
  await cache.refresh();

  let keys: KeyManager | null = null;
  let signer = options.signer;
  if (!signer) {
    keys = new KeyManager(store, config.issuer, config.retiredKeyGraceSeconds, config.signingAlg);
    await keys.init();
    signer = keys;
  }
  const activeSigner = signer;

  const urls = endpointUrls(config.issuer);
  const revocations = new RevocationList({
    store,
    maxLifetimeSeconds: config.maxTokenLifetimeSeconds,
    now,
    onError: (operation, error) => logger.warn(`${operation} failed`, { detail: error instanceof Error ? error.message : String(error) }),
  });
  await revocations.refresh();
  const lifecycle = new TokenLifecycle({ store, revocations, maxLifetimeSeconds: config.maxTokenLifetimeSeconds, now });
  const validator = new PresentedTokenValidator({
    lifecycle,
    issuer: config.issuer,
    ownPublicKeys: () => activeSigner.publicKeys(),
    trustedIssuers: () => cache.snapshot.trustedIssuers,
    now,
    clockSkewSeconds: config.clockSkewSeconds,
    maxTokenBytes: config.maxPresentedTokenBytes,
    onJwksFetchError: (issuerId, problem) => {
      logger.warn('fetching a trusted issuer JWKS failed', { event: 'jwks_fetch_failure', trusted_issuer: issuerId, problem });
      metrics?.jwksFetchFailures.inc({ trusted_issuer: issuerId, problem });
    },
    offloadSignatureChecks: processEventLoopLoad().busy,
  });
  const authenticator = new ClientAuthenticator({
    store,
    lookupClient: (id) => cache.snapshot.clients.get(id),
    assertionAudiences: () => [config.issuer, `${config.issuer}/`, urls.token, urls.introspection, urls.revocation],
    clockSkewSeconds: config.clockSkewSeconds,
    now,
    verifier: validator,
    onFailure: (failure) => {
      const throttled = failure.status === 429;
      // A throttle answering is worth a warning: someone is guessing.
      logger.log(throttled ? 'warn' : 'info', throttled ? 'client authentication throttled' : 'client authentication failed', {
        event: throttled ? 'client_auth_throttled' : 'client_auth_failure',
        client_id: failure.clientId,
        method: failure.method,
        reason: failure.reason,
        source_address: failure.sourceAddress,
      });
      metrics?.clientAuthFailures.inc({ method: failure.method, outcome: throttled ? 'throttled' : 'refused' });
    },
  });
  let trustedIssuersSeen = JSON.stringify(cache.snapshot.trustedIssuers);
  cache.onChange((snapshot) => {
    // Remote key sets are refetched only when the trusted issuers themselves changed.
    const trusted = JSON.stringify(snapshot.trustedIssuers);
    if (trusted !== trustedIssuersSeen) validator.invalidate();
    trustedIssuersSeen = trusted;
    // Keys rotated by another process (tokenproc keys rotate, another instance) are picked up here.
    keys?.reload().catch((err: unknown) => logger.error('reloading signing keys failed', { detail: String(err) }));
  });

  const runner = new ProcedureRunner(engine, logger, metrics);
  const policy: IssuancePolicy = {
    signer: activeSigner,
    maxLifetimeSeconds: config.maxTokenLifetimeSeconds,
    defaultTtlSeconds: config.defaultAccessTokenTtlSeconds,
    maxIssuedTokens: config.sandbox.maxIssueCalls,
    now,
  };
  const lookupProcedure = (id: string): ProcedureRef | undefined => {
    const version = cache.snapshot.procedures.get(id);
    if (!version) return undefined;
    const ref: ProcedureRef = { id: version.id, source: version.source, sha256: version.sha256 };
    return options.procedureNamespace ? { ...ref, namespace: options.procedureNamespace } : ref;
  };
  const services: TokenServices = {
    config: { maxTargets: config.maxTargets, trustDomain: config.trustDomain },
    runner,
    validator,
    lifecycle,
    logger,
    issuancePolicy: () => policy,
    lookupProcedure,
    nowSeconds: () => Math.floor(now() / 1000),
    ...(options.procedureObserver ? { procedureObserver: options.procedureObserver } : {}),
  };
  const tokenEndpoint = new TokenEndpoint(
    [new ClientCredentialsGrant(services), new TokenExchangeGrant(services), new RefreshTokenGrant(services), new JwtBearerGrant(services)],
    authenticator,
    metrics,
    logger,
  );
  const introspection = new IntrospectionEndpoint(authenticator, validator, lifecycle);
  const revocation = new RevocationEndpoint(authenticator, validator, lifecycle, logger);

  return {
    config,
    store,
    logger,
    metrics,
    cache,
    signer: activeSigner,
    keys,
    engine,
    authenticator,
    validator,
    tokenEndpoint,
    introspection,
    revocation,
    lifecycle,
    async configChanged() {
      // Verified-secret cache entries are keyed by the stored hash, so a rotated secret needs no purge here.
      await cache.refresh();
      await keys?.reload();
      await options.afterConfigChange?.();
    },
  };
}
