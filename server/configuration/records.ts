/**
 * Configuration records from what admins send (the admin API's bodies and the configuration
 * document): the stored client and trusted-issuer records, the public view of a client, and the
 * checks a client must pass against the rest of the configuration. The admin API and `tokenproc
 * import` both build records here.
 */
import crypto from 'node:crypto';
import type { ClientRecord, Store, TrustedIssuerRecord } from '../store/types.ts';
import { generateClientSecret, hashSecret } from '../clients/secrets.ts';
import type { ClientInput, TrustedIssuerInput, ValidationProblem } from '../schemas/validate.ts';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS } from '../defaults.ts';
import { fail, ok, type Result } from '../../sandbox/protocol.ts';

/** The client as the API shows it: everything but the secret hash, and whether it has a secret. */
export type PublicClient = Omit<ClientRecord, 'client_secret_hash'> & { has_secret: boolean };

export function publicClient(client: ClientRecord): PublicClient {
  const { client_secret_hash, ...rest } = client;
  return { ...rest, has_secret: client_secret_hash !== null };
}

/** A client the configuration refuses (answered as invalid_request, 400); `field` is a JSON Pointer. */
export type ClientProblem = ValidationProblem;

/** A stored client built from admin input, and the secret the server generated for it, if any. */
export interface BuiltClient {
  record: ClientRecord;
  generatedSecret: string | null;
}

/**
 * Checks a client against the rest of the configuration: each procedure it names exists, for the
 * flow it is named for. Reads the store, not this instance's cache, which may lag another instance.
 */
export async function checkClientReferences(input: Pick<ClientInput, 'procedures'>, store: Store): Promise<Result<void, ClientProblem>> {
  for (const [flow, procedureId] of Object.entries(input.procedures ?? {})) {
    const field = `/procedures/${flow}`;
    const active = await store.getActiveProcedure(procedureId);
    if (!active) return fail({ field, message: `procedure ${procedureId} does not exist` });
    if (active.flow !== flow) return fail({ field, message: `procedure ${procedureId} is for flow ${active.flow}, not ${flow}` });
  }
  return ok(undefined);
}

/** Builds the stored record; generates a secret for a new secret-based client that brought none. */
export async function clientRecordFrom(
  clientId: string,
  input: Omit<ClientInput, 'client_secret'> & { client_secret?: string },
  existing: ClientRecord | null,
): Promise<Result<BuiltClient, ClientProblem>> {
  const method = input.token_endpoint_auth_method ?? (input.jwks ? 'private_key_jwt' : 'client_secret_basic');
  if (method === 'private_key_jwt' && !input.jwks) return fail({ field: '/jwks', message: 'private_key_jwt needs jwks' });
  let secretHash: string | null = null;
  let generatedSecret: string | null = null;
  if (method !== 'private_key_jwt') {
    if (input.client_secret !== undefined) secretHash = await hashSecret(input.client_secret);
    else if (existing?.client_secret_hash) secretHash = existing.client_secret_hash;
    else {
      generatedSecret = generateClientSecret();
      secretHash = await hashSecret(generatedSecret);
    }
  }
  const now = Math.floor(Date.now() / 1000);
  const record: ClientRecord = {
    client_id: clientId,
    ...(input.name !== undefined ? { name: input.name } : {}),
    client_secret_hash: secretHash,
    token_endpoint_auth_method: method,
    jwks: input.jwks ?? null,
    grant_types: input.grant_types,
    scope: input.scope ?? '',
    audiences: input.audiences ?? [],
    properties: input.properties ?? {},
    procedures: input.procedures ?? {},
    access_token_ttl: input.access_token_ttl ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
    accept_unvalidated_tokens: input.accept_unvalidated_tokens ?? false,
    // Absent when not given: the defaults (jwt, DEFAULT_REFRESH_TOKEN_TTL_SECONDS) apply.
    ...(input.access_token_format !== undefined ? { access_token_format: input.access_token_format } : {}),
    ...(input.refresh_token_ttl !== undefined ? { refresh_token_ttl: input.refresh_token_ttl } : {}),
    ...(input.accepted_audiences !== undefined ? { accepted_audiences: [...input.accepted_audiences] } : {}),
    created_at: existing?.created_at ?? now,
    updated_at: now,
  };
  return ok({ record, generatedSecret });
}

export function trustedIssuerRecordFrom(id: string, input: TrustedIssuerInput, existing: TrustedIssuerRecord | null): TrustedIssuerRecord {
  const now = Math.floor(Date.now() / 1000);
  return {
    id,
    issuer: input.issuer,
    jwks_uri: input.jwks_uri ?? null,
    jwks: input.jwks ?? null,
    allowed_algs: input.allowed_algs ?? null,
    audiences: input.audiences ?? null,
    created_at: existing?.created_at ?? now,
    updated_at: now,
  };
}

/** A procedure source's SHA-256, hex. */
export function sha256Hex(source: string): string {
  return crypto.createHash('sha256').update(source).digest('hex');
}
