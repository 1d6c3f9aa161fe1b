/**
 * `tokenproc run` flags → the local runner's input. Values may be given inline or as `@file`
 * (read relative to the working directory). Every mistake is a CliError (exit 2), never a stack trace.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FLOW_IDS } from '../../store/types.ts';
import type { FlowId } from '../../store/types.ts';
import { CliError } from '../exit-codes.ts';
import type { LocalRunInput } from './local-run.ts';
import { localClientProblem } from './client-input.ts';

export interface RunFlags {
  flow?: string;
  client?: string;
  subjectToken?: string;
  subjectClaims?: string;
  subjectTokenType?: string;
  actorToken?: string;
  actorClaims?: string;
  actorTokenType?: string;
  assertionClaims?: string;
  param?: string[];
  now?: string;
  json?: boolean;
}

const FLOW_ALIASES: Readonly<Record<string, FlowId>> = {
  'token-exchange': 'oauth-token-oauth-token-exchange',
  'client-credentials': 'oauth-token-client-credentials',
  refresh: 'oauth-token-refresh',
  'jwt-assertion': 'oauth-token-jwt-assertion',
};

/** A flow id, or its short alias (`token-exchange`, `client-credentials`). */
export function parseFlow(value: string | undefined): FlowId {
  if (value === undefined) return 'oauth-token-oauth-token-exchange';
  const flow = (FLOW_IDS as readonly string[]).includes(value) ? (value as FlowId) : FLOW_ALIASES[value];
  if (!flow) {
    throw new CliError(`unknown flow "${value}": use ${[...FLOW_IDS, ...Object.keys(FLOW_ALIASES)].join(', ')}`);
  }
  return flow;
}

/** The value itself, or the contents of the file it names with a leading `@`. */
export function readArgument(value: string, what: string, cwd: string): string {
  if (!value.startsWith('@')) return value;
  const file = path.resolve(cwd, value.slice(1));
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new CliError(`${what}: cannot read ${value.slice(1)}: ${reason}`);
  }
}

/** A JSON object given inline or as `@file`. */
export function parseJsonObjectArgument(value: string, what: string, cwd: string): Record<string, unknown> {
  const text = readArgument(value, what, cwd);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${what}: not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(`${what}: expected a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** A token given inline or as `@file` (surrounding whitespace dropped). Its value is never echoed. */
export function parseTokenArgument(value: string, what: string, cwd: string): string {
  const token = readArgument(value, what, cwd).trim();
  if (token === '') throw new CliError(`${what}: empty token`);
  return token;
}

/** `name=value` (the value may contain `=` and be empty). */
export function parseParam(pair: string): [string, string] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new CliError(`--param "${pair}": expected name=value`);
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}

/** `--now`: epoch seconds, epoch milliseconds (13+ digits) or an ISO 8601 date → epoch ms. */
export function parseNow(value: string): number {
  if (/^\d+$/.test(value)) {
    const number = Number(value);
    return value.length >= 13 ? number : number * 1000;
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new CliError(`--now "${value}": expected epoch seconds or an ISO 8601 date`);
  return parsed;
}

/** The procedure id shown in logs: the file name without its extension. */
export function procedureIdFromFile(file: string): string {
  return path.basename(file).replace(/\.[^.]*$/, '') || 'procedure';
}

export function readProcedureFile(file: string, cwd: string): { id: string; source: string; filename: string } {
  const absolute = path.resolve(cwd, file);
  let source: string;
  try {
    source = readFileSync(absolute, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new CliError(`${file}: cannot read procedure: ${reason}`);
  }
  return { id: procedureIdFromFile(file), source, filename: file };
}

export function buildLocalRunInput(file: string, flags: RunFlags, cwd: string): LocalRunInput {
  if (flags.subjectToken !== undefined && flags.subjectClaims !== undefined) {
    throw new CliError('give either --subject-token or --subject-claims, not both');
  }
  if (flags.actorToken !== undefined && flags.actorClaims !== undefined) {
    throw new CliError('give either --actor-token or --actor-claims, not both');
  }
  const input: LocalRunInput = { flow: parseFlow(flags.flow), procedure: readProcedureFile(file, cwd) };
  if (flags.client !== undefined) {
    input.client = parseJsonObjectArgument(flags.client, '--client', cwd);
    // The admin API's client, validated as the admin API does: a typo is an error, never ignored.
    const problem = localClientProblem(input.client);
    if (problem !== null) throw new CliError(`--client: ${problem}`);
  }
  if (flags.subjectToken !== undefined) input.subjectToken = parseTokenArgument(flags.subjectToken, '--subject-token', cwd);
  if (flags.subjectClaims !== undefined) {
    input.subjectClaims = parseJsonObjectArgument(flags.subjectClaims, '--subject-claims', cwd);
  }
  if (flags.subjectTokenType !== undefined) input.subjectTokenType = flags.subjectTokenType;
  if (flags.actorToken !== undefined) input.actorToken = parseTokenArgument(flags.actorToken, '--actor-token', cwd);
  if (flags.actorClaims !== undefined) input.actorClaims = parseJsonObjectArgument(flags.actorClaims, '--actor-claims', cwd);
  if (flags.actorTokenType !== undefined) input.actorTokenType = flags.actorTokenType;
  if (flags.assertionClaims !== undefined) {
    if (input.flow !== 'oauth-token-jwt-assertion') throw new CliError('--assertion-claims is for --flow oauth-token-jwt-assertion');
    input.assertionClaims = parseJsonObjectArgument(flags.assertionClaims, '--assertion-claims', cwd);
  }
  if (flags.param !== undefined && flags.param.length > 0) input.params = flags.param.map(parseParam);
  if (flags.now !== undefined) input.now = parseNow(flags.now);
  return input;
}
