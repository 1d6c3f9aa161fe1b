/**
 * Assembles the trusted prelude from sandbox/prelude/ (plain scripts, so they can be read and
 * linted) and builds the JSON configuration it receives.
 *
 * The prelude runs inside each procedure isolate before the procedure's own code. It receives three
 * host callbacks (plain functions taking and returning strings) and a JSON configuration, captures
 * the intrinsics it needs, removes what hands out power (WebAssembly, shared memory) or lets a
 * script watch the garbage collector (weak references, finalizers), guards the builtins V8 cannot
 * interrupt, installs the Curity globals (`logger`, `exceptionFactory`, `secondsUntil`) and returns
 * `run(inputJson)`: the function the host calls once per request.
 *
 * `run` builds the context from the input JSON, calls the procedure's `result(context)` and answers
 * one string envelope: 'R' + the result JSON, 'O' + {error, description} for OAuth errors, or
 * 'F' + {reason, message, line, column} for failures. The host treats the envelope as untrusted and
 * enforces every limit again on its side; the prelude only makes the common cases precise.
 *
 * An isolate has no module loader: the modules are concatenated, in PRELUDE_MODULES order, into the
 * body of one strict-mode function, so they share its scope and nothing of them is global. Each
 * module is a script fragment whose header says what it defines for later modules
 * (`/* exported *\/`) and what it needs and from which module (`/* global ... -- module.js *\/`);
 * ESLint checks each module against its header and tests/sandbox/procedure-api.test.ts checks the
 * headers against each other. Everything is strict mode, so V8 call sites never hand prelude
 * functions or receivers to a procedure's Error.prepareStackTrace.
 */
import { readFileSync } from 'node:fs';
import { OAUTH_ERROR_STATUS } from './protocol.ts';
import { ACTOR_TOKEN_REF, SUBJECT_TOKEN_REF } from './input-json.ts';
import type { SandboxLimits } from './types.ts';

/** The name V8 gives the procedure's script in stack frames; also how the prelude finds its frames. */
export const PROCEDURE_FILENAME = 'procedure.js';
export const PRELUDE_FILENAME = 'tokenproc-prelude.js';

/** The prelude's modules (sandbox/prelude/NAME.js) in evaluation order: each uses names of earlier ones. */
export const PRELUDE_MODULES: readonly string[] = [
  'intrinsics',
  'removed-globals',
  'builtin-guards',
  'helpers',
  'sha256',
  'collections',
  'token-data',
  'delegation',
  'exceptions',
  'logger',
  'curity-globals',
  'context-state',
  'client',
  'request',
  'context-common',
  'issuers',
  'context-initialized',
  'context-token-exchange',
  'context-refresh',
  'context-jwt-assertion',
  'envelope',
];

/** The parameters of the prelude function, in the order `evalClosure` passes them ($0..$3). */
export const PRELUDE_PARAMETERS: readonly string[] = ['hostInitialize', 'hostIssue', 'hostLog', 'configJson'];

function readModule(name: string): string {
  return readFileSync(new URL(`./prelude/${name}.js`, import.meta.url), 'utf8').trim();
}

/** The prelude as one function expression; envelope.js defines the `run` it returns. */
export const PRELUDE_SOURCE: string = [
  `function tokenprocPrelude(${PRELUDE_PARAMETERS.join(', ')}) {`,
  `'use strict';`,
  ...PRELUDE_MODULES.map((name) => `// ---- prelude/${name}.js\n${readModule(name)}`),
  'return run;',
  '}',
].join('\n');

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
