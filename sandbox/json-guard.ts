/**
 * Parsing JSON that comes out of an isolate: `__proto__` keys are dropped (so a later
 * Object.assign or merge cannot swap a prototype) and nesting is bounded (so recursive code on the
 * host, serialisers included, cannot be driven into a stack overflow).
 */
export const MAX_JSON_DEPTH = 32;

const MAY_HOLD_PROTO_KEY = /__proto__|\\u/;

function dropProtoKeys(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

function depthWithin(value: unknown, remaining: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (remaining === 0) return false;
  for (const child of Object.values(value)) {
    if (!depthWithin(child, remaining - 1)) return false;
  }
  return true;
}

/**
 * Every level of nesting opens with a `{` or `[` in the text, so a text holding at most `maxDepth`
 * of them cannot nest deeper (brackets inside strings only raise the count): the walk is skipped.
 */
function fewBrackets(text: string, maxDepth: number): boolean {
  let count = 0;
  for (let at = text.indexOf('{'); at !== -1; at = text.indexOf('{', at + 1)) if (++count > maxDepth) return false;
  for (let at = text.indexOf('['); at !== -1; at = text.indexOf('[', at + 1)) if (++count > maxDepth) return false;
  return true;
}

/** A JSON object (not an array) from untrusted text, or null when it is not one or nests too deep. */
export function parseUntrustedObject(text: string, maxDepth = MAX_JSON_DEPTH): Record<string, unknown> | null {
  let value: unknown;
  try {
    // The reviver is slow; only texts that can hold the key (plainly or through a \u escape) need it.
    value = MAY_HOLD_PROTO_KEY.test(text) ? JSON.parse(text, dropProtoKeys) : JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return fewBrackets(text, maxDepth) || depthWithin(value, maxDepth) ? (value as Record<string, unknown>) : null;
}
