/** Builds the plain-data views of a request that cross into the sandbox. */
import type { ClientRecord } from '../store/types.ts';
import type { DelegationView, ProcedureClientView, ProcedureRequestView } from '../../sandbox/types.ts';
import type { FormParams } from '../http/form.ts';

/**
 * Never shown to procedures: credentials of the calling client, and the jwt-bearer grant's
 * assertion (the procedure gets its validated claims; the value itself is a spent credential).
 */
const HIDDEN_PARAMETERS = new Set(['client_secret', 'client_assertion', 'assertion']);
const HIDDEN_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

export function clientView(client: ClientRecord): ProcedureClientView {
  return {
    id: client.client_id,
    name: client.name ?? client.client_id,
    properties: { ...client.properties },
    audiences: [...client.audiences],
    scope: client.scope,
  };
}

export function requestView(
  method: string,
  path: string,
  clientIpAddress: string,
  params: FormParams,
  headers: Record<string, string | string[] | undefined>,
): ProcedureRequestView {
  const formParameters: Record<string, string[]> = {};
  for (const [name, values] of params) if (!HIDDEN_PARAMETERS.has(name)) formParameters[name] = [...values];
  const visibleHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HIDDEN_HEADERS.has(lower)) continue;
    visibleHeaders[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { method, path, clientIpAddress, formParameters, headers: visibleHeaders };
}

/** Curity's delegation of a presented token, reduced to data. */
export function delegationOf(claims: Record<string, unknown> | null): DelegationView | null {
  if (!claims) return null;
  return {
    id: typeof claims.jti === 'string' ? claims.jti : '',
    clientId: typeof claims.client_id === 'string' ? claims.client_id : typeof claims.azp === 'string' ? claims.azp : '',
    scope: typeof claims.scope === 'string' ? claims.scope : '',
    claims: { ...claims },
  };
}
