/** RFC 8414 authorization server metadata, served at both well-known paths. */
import { ASSERTION_ALGORITHMS } from '../clients/authenticator.ts';
import { TOKEN_TYPE_ID_JAG } from './id-jag.ts';
import { TOKEN_TYPE_SELF_SIGNED, TOKEN_TYPE_TXN_TOKEN } from '../tokens/txn-token-types.ts';
import { TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_REFRESH_TOKEN } from '../tokens/presented-token-validator.ts';

export const TOKEN_PATH = '/oauth/v2/oauth-token';
export const INTROSPECTION_PATH = '/oauth/v2/oauth-introspect';
export const REVOCATION_PATH = '/oauth/v2/oauth-revoke';
export const JWKS_PATH = '/oauth/v2/oauth-anonymous/jwks';

export interface MetadataInput {
  issuer: string;
  signingAlg: string;
  grantTypes: readonly string[];
  scopes: readonly string[];
  /** TOKENPROC_TRUST_DOMAIN: the `audience` of Txn-Token requests. */
  trustDomain?: string;
}

export function endpointUrls(issuer: string): { token: string; introspection: string; revocation: string; jwks: string } {
  return { token: issuer + TOKEN_PATH, introspection: issuer + INTROSPECTION_PATH, revocation: issuer + REVOCATION_PATH, jwks: issuer + JWKS_PATH };
}

export function authorizationServerMetadata(input: MetadataInput): Record<string, unknown> {
  const urls = endpointUrls(input.issuer);
  const authMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
  const metadata: Record<string, unknown> = {
    issuer: input.issuer,
    token_endpoint: urls.token,
    jwks_uri: urls.jwks,
    introspection_endpoint: urls.introspection,
    grant_types_supported: [...input.grantTypes],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    introspection_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    revocation_endpoint: urls.revocation,
    revocation_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    // No authorization endpoint: response_types_supported would be empty, and empty arrays are omitted (§3.2).
  };
  if (input.scopes.length > 0) metadata.scopes_supported = [...input.scopes];
  // draft-ietf-oauth-identity-chaining §5 / the ID-JAG draft's IdP metadata: token exchange issues ID-JAGs.
  if (input.grantTypes.includes('urn:ietf:params:oauth:grant-type:token-exchange')) {
    metadata.identity_chaining_requested_token_types_supported = [TOKEN_TYPE_ID_JAG];
    // tokenproc extensions (no registered member says this): what token exchange issues and takes,
    // and the trust domain a Txn-Token request names as its audience (server/oauth/txn-token.ts).
    metadata.requested_token_types_supported = [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_REFRESH_TOKEN, TOKEN_TYPE_TXN_TOKEN];
    metadata.subject_token_types_supported = [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_SELF_SIGNED, TOKEN_TYPE_TXN_TOKEN];
    if (input.trustDomain !== undefined) metadata.txn_token_trust_domain = input.trustDomain;
  }
  return metadata;
}

/** The OpenID flavour adds only what describes issued ID tokens; it never contradicts the OAuth document. */
export function openIdConfiguration(input: MetadataInput): Record<string, unknown> {
  return {
    ...authorizationServerMetadata(input),
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [input.signingAlg],
  };
}
