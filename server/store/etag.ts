/**
 * Entity tags of the admin API's single resources, and the `If-Match` precondition a store write
 * checks inside its transaction (so of two writers holding the same tag exactly one wins).
 */
import { createHash } from 'node:crypto';

/** JSON with object members sorted: the same record gives the same text whatever order its members were built in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, member]) => `${JSON.stringify(name)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A strong entity tag (quoted) of a stored record: changes whenever any stored member does. */
export function entityTag(record: unknown): string {
  return `"${createHash('sha256').update(canonicalJson(record), 'utf8').digest('base64url').slice(0, 27)}"`;
}

/**
 * What an `If-Match` header asks: `*` (the resource must exist) or a list of entity tags, one of
 * which must be the current one (strong comparison: a weak tag never matches).
 */
export type Precondition = { readonly ifMatch: '*' } | { readonly ifMatch: readonly string[] };

/** The store's refusal when the precondition does not hold; nothing was written. */
export class PreconditionFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreconditionFailedError';
  }
}

export function isPreconditionFailedError(err: unknown): err is PreconditionFailedError {
  return err instanceof PreconditionFailedError;
}

/** Throws PreconditionFailedError unless `current` (the stored record, null when none) satisfies the precondition. */
export function checkPrecondition(precondition: Precondition | undefined, current: unknown, what: string): void {
  if (precondition === undefined) return;
  if (current === null || current === undefined) throw new PreconditionFailedError(`${what} does not exist`);
  if (precondition.ifMatch === '*') return;
  if (!precondition.ifMatch.includes(entityTag(current))) throw new PreconditionFailedError(`${what} has changed since that ETag was read`);
}

/** Parses an If-Match header value; undefined when there is none. Weak tags are kept as given, so they never match. */
export function parseIfMatch(header: string | undefined): Precondition | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  if (trimmed === '*') return { ifMatch: '*' };
  const tags = trimmed.match(/(?:W\/)?"[^"]*"/g) ?? [];
  return { ifMatch: tags };
}
