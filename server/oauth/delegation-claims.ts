/**
 * `act`, `may_act` and `cnf` in issued tokens: claims that say who may use a token or on whose
 * behalf it acts. A procedure may set any claim, so the host accepts these only when it can derive
 * them from what it validated itself (the presented subject and actor tokens); anything else is
 * refused, so no procedure can make a token claim a delegation, a permission to act or a key
 * binding that nobody granted.
 *
 * - `act`: absent; or the subject token's own `act` unchanged (impersonation keeps the chain); or,
 *   with an actor token, the actor's identity (`sub` required, `client_id` and `iss` optional, each
 *   equal to the actor's) with the subject's `act` nested as its `act` (RFC 8693 §4.1).
 * - `may_act`, `cnf`: absent, or the subject token's own value unchanged.
 */
import { isDeepStrictEqual } from 'node:util';
import { fail, ok, oauthError, type Result } from './errors.ts';

const ACTOR_IDENTITY_MEMBERS: ReadonlySet<string> = new Set(['sub', 'client_id', 'iss']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

/** Whether `act` is the actor's identity on top of the subject's chain. */
function isDelegationOf(act: unknown, subjectAct: unknown, actor: Record<string, unknown>): boolean {
  if (!isRecord(act) || typeof act.sub !== 'string' || act.sub !== actor.sub) return false;
  for (const [name, value] of Object.entries(act)) {
    if (name === 'act') continue;
    if (!ACTOR_IDENTITY_MEMBERS.has(name) || value !== actor[name]) return false;
  }
  return sameValue(act.act, subjectAct);
}

/**
 * Whether every one of `act`, `may_act`, `cnf` in `claims` derives from the presented tokens; the
 * refusal names the first that does not.
 */
export function delegationClaimsDerived(
  claims: Record<string, unknown>,
  subject: Record<string, unknown> | null,
  actor: Record<string, unknown> | null,
): Result<void> {
  const refuse = (name: string, why: string): Result<never> =>
    fail(oauthError('server_error', `The token procedure set ${name} ${why}; only what the presented tokens carry may be issued`));
  if (claims.act !== undefined) {
    const subjectAct = subject?.act;
    const kept = subjectAct !== undefined && sameValue(claims.act, subjectAct);
    if (!kept && !(actor !== null && isDelegationOf(claims.act, subjectAct, actor))) {
      return refuse('act', actor === null ? 'without an actor token' : 'to something other than the actor on top of the subject\'s chain');
    }
  }
  for (const name of ['may_act', 'cnf'] as const) {
    if (claims[name] !== undefined && !(subject !== null && subject[name] !== undefined && sameValue(claims[name], subject[name]))) {
      return refuse(name, 'to a value the subject token does not carry');
    }
  }
  return ok(undefined);
}
