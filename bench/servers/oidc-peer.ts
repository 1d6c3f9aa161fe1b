/**
 * The peer: node-oidc-provider (bench/package.json) with a registered RFC 8693 grant that does the
 * same work as ours without a sandbox: client_secret_basic (the provider's own client
 * authentication), the ES256 subject JWT verified with jose (issuer, typ, algorithm, audience =
 * the caller), scope = requested ∩ subject's ∩ client's, and a new ES256 `at+jwt` signed with jose.
 * Configuration arrives as JSON in BENCH_SERVER_CONFIG; prints `{"message":"listening","port":N}`.
 *
 * oidc-provider is imported by a computed specifier: it is installed only under bench/ (and on
 * demand), so the repository type-checks without it; the few members used are typed below.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import * as jose from 'jose';
import type { PrivateEcJwk, PublicEcJwk } from '../lib/es256.ts';
import { listenForBench } from './listen.ts';

export interface OidcPeerConfig {
  issuer: string;
  idpIssuer: string;
  idpPublicJwk: PublicEcJwk;
  signingJwk: PrivateEcJwk;
  client: { id: string; secret: string; scope: string };
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

interface PeerClient {
  clientId: string;
  scope?: string;
}
interface PeerContext {
  oidc: { client: PeerClient; params: Record<string, string | undefined> };
  body: unknown;
}
type OAuthErrorClass = new (description: string) => Error;
interface ProviderInstance {
  registerGrantType(name: string, handler: (ctx: PeerContext) => Promise<void>, params: string[]): void;
  callback(): http.RequestListener;
}
interface OidcProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;
  errors: { InvalidRequest: OAuthErrorClass; InvalidScope: OAuthErrorClass };
}

const config = JSON.parse(process.env.BENCH_SERVER_CONFIG ?? '{}') as OidcPeerConfig;
const specifier = 'oidc-provider';
const oidc = (await import(specifier)) as OidcProviderModule;
const Provider = oidc.default;
const { InvalidRequest, InvalidScope } = oidc.errors;

const idpKey = await jose.importJWK(config.idpPublicJwk, 'ES256');
const signingKey = await jose.importJWK(config.signingJwk, 'ES256');
const words = (scope: string | undefined) => (scope ?? '').split(' ').filter(Boolean);

const provider = new Provider(config.issuer, {
  clients: [
    {
      client_id: config.client.id,
      client_secret: config.client.secret,
      grant_types: [TOKEN_EXCHANGE],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      // The provider's only key is ES256 (RS256 is its default for ID tokens, which are not used here).
      id_token_signed_response_alg: 'ES256',
      scope: config.client.scope,
    },
  ],
  scopes: words(config.client.scope),
  jwks: { keys: [config.signingJwk] },
  features: { devInteractions: { enabled: false } },
  routes: { token: '/oauth/v2/oauth-token' },
});

async function tokenExchange(ctx: PeerContext): Promise<void> {
  const { client, params } = ctx.oidc;
  if (!params.subject_token || params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new InvalidRequest('subject_token of type access_token is required');
  let subject: jose.JWTPayload;
  try {
    ({ payload: subject } = await jose.jwtVerify(params.subject_token, idpKey, {
      issuer: config.idpIssuer,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      audience: client.clientId,
      clockTolerance: 60,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch {
    throw new InvalidRequest('subject_token is not valid');
  }
  const allowed = new Set(words(client.scope));
  const held = new Set(words(typeof subject.scope === 'string' ? subject.scope : ''));
  const requested = words(params.scope);
  const scopes = (requested.length > 0 ? requested : [...held]).filter((s) => held.has(s) && allowed.has(s));
  if (scopes.length === 0) throw new InvalidScope('no requested scope can be granted');
  const now = Math.floor(Date.now() / 1000);
  const exp = Math.min(subject.exp ?? now, now + 300);
  const accessToken = await new jose.SignJWT({ client_id: client.clientId, scope: scopes.join(' ') })
    .setProtectedHeader({ alg: 'ES256', kid: config.signingJwk.kid, typ: 'at+jwt' })
    .setIssuer(config.issuer)
    .setSubject(String(subject.sub))
    .setAudience(subject.aud ?? client.clientId)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(crypto.randomBytes(18).toString('base64url'))
    .sign(signingKey);
  ctx.body = { access_token: accessToken, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: exp - now, scope: scopes.join(' ') };
}

provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange, ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource', 'scope']);

const server = http.createServer(provider.callback());
listenForBench(server);
