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

export function preludeConfigJson(limits: SandboxLimits): string {
  return JSON.stringify({
    procedureFilename: PROCEDURE_FILENAME,
    maxResultBytes: limits.maxResultBytes,
    maxLogLinesPerCall: limits.maxLogLinesPerCall,
    maxLogLineLength: limits.maxLogLineLength,
    oauthErrorCodes: Object.keys(OAUTH_ERROR_STATUS),
    oauthErrorStatus: OAUTH_ERROR_STATUS,
    subjectTokenRef: SUBJECT_TOKEN_REF,
    actorTokenRef: ACTOR_TOKEN_REF,
  });
}
