/** The body of POST /admin/api/v1/procedures/{id}/dry-run: what `tokenproc run` takes, as JSON. */
import { FLOW_IDS, type FlowId } from '../../server/store/types.ts';
import { fail, ok, type Result } from '../../server/oauth/errors.ts';
import type { ValidationProblem } from '../../server/schemas/validate.ts';

export interface DryRunBody {
  flow?: FlowId;
  version?: number;
  source?: string;
  client?: Record<string, unknown>;
  subject_token?: string;
  subject_token_type?: string;
  subject_claims?: Record<string, unknown>;
  actor_token?: string;
  actor_token_type?: string;
  actor_claims?: Record<string, unknown>;
  params?: Record<string, string | string[]>;
}

const STRING_MEMBERS = ['source', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type'] as const;
const OBJECT_MEMBERS = ['client', 'subject_claims', 'actor_claims', 'params'] as const;
const KNOWN = new Set<string>(['flow', 'version', ...STRING_MEMBERS, ...OBJECT_MEMBERS]);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function validateDryRunBody(body: unknown): Result<DryRunBody, ValidationProblem> {
  const problem = (field: string, message: string) => fail<ValidationProblem>({ field, message });
  if (!isObject(body)) return problem('', 'The body must be a JSON object');
  for (const key of Object.keys(body)) if (!KNOWN.has(key)) return problem(`/${key}`, `Unknown member ${key}`);
  if (body.flow !== undefined && !FLOW_IDS.includes(body.flow as FlowId)) return problem('/flow', `flow must be one of ${FLOW_IDS.join(', ')}`);
  if (body.version !== undefined && !(Number.isInteger(body.version) && (body.version as number) >= 1)) return problem('/version', 'version must be an integer >= 1');
  for (const key of STRING_MEMBERS) if (body[key] !== undefined && typeof body[key] !== 'string') return problem(`/${key}`, `${key} must be a string`);
  if (typeof body.source === 'string' && body.source.length > 256 * 1024) return problem('/source', 'source is too large');
  for (const key of OBJECT_MEMBERS) if (body[key] !== undefined && !isObject(body[key])) return problem(`/${key}`, `${key} must be an object`);
  if (isObject(body.params)) {
    for (const [name, value] of Object.entries(body.params)) {
      const ok = typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
      if (!ok) return problem(`/params/${name}`, 'a parameter is a string or an array of strings');
    }
  }
  return ok(body as DryRunBody);
}
