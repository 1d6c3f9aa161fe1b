/**
 * application/x-www-form-urlencoded parsing with the RFC 6749 rules: UTF-8, a parameter with an
 * empty value is treated as omitted (§3.2), and no parameter may repeat (§3.2) except those that
 * RFC 8707 and RFC 8693 allow to repeat.
 */
import { fail, ok, oauthError, type Result } from '../oauth/errors.ts';

export type FormParams = ReadonlyMap<string, readonly string[]>;

/** Repeatable in some grant; each grant narrows this to its own (GrantHandler.repeatableParameters). */
export const REPEATABLE_PARAMETERS: ReadonlySet<string> = new Set(['resource', 'audience']);

function decodeComponent(raw: string): string | null {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** Parses a body; refuses malformed percent-encoding and repeated single-valued parameters. */
export function parseForm(body: string): Result<FormParams> {
  const params = new Map<string, string[]>();
  if (body.length === 0) return ok(params);
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = decodeComponent(eq === -1 ? '' : pair.slice(eq + 1));
    if (name === null || value === null) return fail(oauthError('invalid_request', 'The request body is not valid form-urlencoded UTF-8'));
    if (value === '') continue;
    const list = params.get(name);
    if (list) list.push(value);
    else params.set(name, [value]);
  }
  for (const [name, values] of params) {
    if (values.length > 1 && !REPEATABLE_PARAMETERS.has(name)) {
      return fail(oauthError('invalid_request', `Parameter ${name} is repeated`));
    }
  }
  return ok(params);
}

export function firstValue(params: FormParams, name: string): string | undefined {
  return params.get(name)?.[0];
}

export function allValues(params: FormParams, name: string): readonly string[] {
  return params.get(name) ?? [];
}

/** RFC 6749 Appendix B decoding of one Basic credential part. */
export function formDecode(raw: string): string | null {
  return decodeComponent(raw);
}

/** Whether a Content-Type header names application/x-www-form-urlencoded (any case, any parameters). */
export function isFormContentType(header: string | undefined): boolean {
  if (!header) return false;
  const mediaType = header.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/x-www-form-urlencoded';
}
