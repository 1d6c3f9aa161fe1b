/**
 * The input JSON one call sends into its isolate. A presented token's value usually arrives again
 * as its form parameter (`subject_token`, `actor_token`), and its delegation carries the token's
 * claims again: each is sent once, and the prelude restores the copies. The marker is a number
 * where a string array or a claims object belongs, which real input never holds, so it cannot be
 * mistaken for a value.
 */
import type { DelegationView, PresentedTokenInput, ProcedureInput } from './types.ts';

/** Stands for the subject token's value (form parameter) or claims (delegation). */
export const SUBJECT_TOKEN_REF = 0;
/** Stands for the actor token's value or claims. */
export const ACTOR_TOKEN_REF = 1;

type TokenRef = typeof SUBJECT_TOKEN_REF | typeof ACTOR_TOKEN_REF;

/** Same keys in the same order with identical values: the JSON of both is the same text. */
function sameClaims(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  if (a === b) return true;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (let i = 0; i < keysA.length; i++) {
    const key = keysA[i]!;
    if (keysB[i] !== key || a[key] !== b[key]) return false;
  }
  return true;
}

function compactToken(token: PresentedTokenInput | null, ref: TokenRef): PresentedTokenInput | { delegation: Omit<DelegationView, 'claims'> & { claims: TokenRef } } | null {
  if (token === null || token.claims === null || token.delegation === null || !sameClaims(token.delegation.claims, token.claims)) return token;
  return { ...token, delegation: { ...token.delegation, claims: ref } };
}

function compactForm(input: ProcedureInput): Record<string, string[] | TokenRef> {
  const form = input.request.formParameters;
  let compact: Record<string, string[] | TokenRef> | null = null;
  const tokens: Array<[string, PresentedTokenInput | null, TokenRef]> = [
    ['subject_token', input.subjectToken, SUBJECT_TOKEN_REF],
    ['actor_token', input.actorToken, ACTOR_TOKEN_REF],
  ];
  for (const [name, token, ref] of tokens) {
    const values = Object.hasOwn(form, name) ? form[name] : undefined;
    if (token !== null && values !== undefined && values.length === 1 && values[0] === token.value) {
      compact ??= { ...form };
      compact[name] = ref;
    }
  }
  return compact ?? form;
}

/** `JSON.stringify(input)`, with each presented token's value and claims written once. */
export function serializeProcedureInput(input: ProcedureInput): string {
  const formParameters = compactForm(input);
  const subjectToken = compactToken(input.subjectToken, SUBJECT_TOKEN_REF);
  const actorToken = compactToken(input.actorToken, ACTOR_TOKEN_REF);
  if (formParameters === input.request.formParameters && subjectToken === input.subjectToken && actorToken === input.actorToken) {
    return JSON.stringify(input);
  }
  return JSON.stringify({ ...input, request: { ...input.request, formParameters }, subjectToken, actorToken });
}
