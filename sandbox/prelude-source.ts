/**
 * Loads the trusted prelude (prelude.js, kept as a plain script so it can be read and linted) and
 * builds the JSON configuration it receives.
 */
import { readFileSync } from 'node:fs';
import { OAUTH_ERROR_STATUS } from '../server/oauth/errors.ts';
import { ACTOR_TOKEN_REF, SUBJECT_TOKEN_REF } from './input-json.ts';
import type { SandboxLimits } from './types.ts';

/** The name V8 gives the procedure's script in stack frames; also how the prelude finds its frames. */
export const PROCEDURE_FILENAME = 'procedure.js';
export const PRELUDE_FILENAME = 'tokenproc-prelude.js';

export const PRELUDE_SOURCE: string = readFileSync(new URL('./prelude.js', import.meta.url), 'utf8').trim().replace(/;$/, '');

/** The code `Context.evalClosure` runs: the prelude function applied to the callbacks and config. */
export const PRELUDE_CLOSURE = `return (${PRELUDE_SOURCE})($0, $1, $2, $3);`;

/**
 * Longest array (typed arrays: twice this) a procedure may hand to an Array builtin, and longest
 * string it may build with repeat/padStart/padEnd. Those builtins run in native code that V8 cannot
 * interrupt; at these sizes the worst of them (sort on a holey array) ends within a few ms.
 */
export const MAX_BUILTIN_LENGTH = 100_000;
export const MAX_BUILT_STRING = 1_000_000;

/** Error codes a procedure may answer with: client authentication is the server's alone to refuse. */
export const PROCEDURE_ERROR_CODES = Object.keys(OAUTH_ERROR_STATUS).filter((code) => code !== 'invalid_client');

export function preludeConfigJson(limits: SandboxLimits): string {
  return JSON.stringify({
    procedureFilename: PROCEDURE_FILENAME,
    maxResultBytes: limits.maxResultBytes,
    maxLogLinesPerCall: limits.maxLogLinesPerCall,
    maxLogLineLength: limits.maxLogLineLength,
    maxBuiltinLength: MAX_BUILTIN_LENGTH,
    maxBuiltString: MAX_BUILT_STRING,
    oauthErrorCodes: PROCEDURE_ERROR_CODES,
    oauthErrorStatus: OAUTH_ERROR_STATUS,
    subjectTokenRef: SUBJECT_TOKEN_REF,
    actorTokenRef: ACTOR_TOKEN_REF,
  });
}
