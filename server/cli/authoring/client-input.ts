/**
 * The client a local run (`run --client`, a test case's `input.client`) takes is the admin API's
 * client, validated against the same JSON Schema (server/schemas/client.schema.json): a typo such
 * as `"scopes"` is an error naming the member, never silently ignored. `client_id` and
 * `grant_types`, required by the admin API, default here as the local runner fills them.
 */
import { loadSchema, validateClientBody } from '../../schemas/validate.ts';
import { GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from '../../store/types.ts';
import { LOCAL_CLIENT_ID } from '../../runtime/local-runner.ts';
import { nearestName } from './suggest.ts';

let clientMembers: string[] | null = null;

/** The members a client may have (the schema's `properties`). */
function knownClientMembers(): string[] {
  clientMembers ??= Object.keys((loadSchema('client').properties ?? {}) as Record<string, unknown>);
  return clientMembers;
}

/**
 * Why a local run's client is not a client the admin API would take, as one sentence naming the
 * member (`"scopes" is not allowed: did you mean "scope"?`), or null when it is valid.
 */
export function localClientProblem(client: Record<string, unknown>): string | null {
  const withDefaults = { client_id: LOCAL_CLIENT_ID, grant_types: [GRANT_TOKEN_EXCHANGE, GRANT_CLIENT_CREDENTIALS], ...client };
  const validated = validateClientBody(withDefaults);
  if (validated.ok) return null;
  const { field, message } = validated.error;
  if (field === '') return `the client ${message}`;
  const segments = field.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const member = segments.length === 1 ? `"${segments[0]}"` : `${field}`;
  let text = `${member} ${message}`;
  if (segments.length === 1 && message === 'is not allowed') {
    const suggestion = nearestName(segments[0] ?? '', knownClientMembers());
    text += suggestion ? `: did you mean "${suggestion}"?` : ` (a client has: ${knownClientMembers().join(', ')})`;
  }
  return text;
}
