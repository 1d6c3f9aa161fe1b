/**
 * Procedure test-case files (`*.test.json`, `*.test.yaml`, `*.test.yml`), next to the procedures
 * they test. Loading validates the whole file and reports every problem with its path, so a typo in
 * an expectation key fails loudly instead of silently matching nothing.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { FlowId } from '../../store/types.ts';
import type { IssuerKind } from '../../../sandbox/types.ts';
import { FLOW_IDS } from '../../store/types.ts';
import { findMatcherErrors } from './matchers.ts';
import type { LocalRunInput } from './local-run.ts';
import { localClientProblem } from './client-input.ts';

/**
 * A case's input: the local runner's input as a test file writes it. Claims may hold `<now+N>`
 * values (epoch seconds once the case runs); form parameters and the clock have friendlier forms.
 */
export interface CaseInput extends Omit<LocalRunInput, 'flow' | 'procedure' | 'params' | 'trustedIssuers' | 'now'> {
  /** Form parameters: `{"scope": "a b", "audience": ["x", "y"]}` or `[["scope", "a b"]]`. */
  params?: Record<string, string | string[]> | Array<[string, string]>;
  /** The case's clock: epoch seconds or an ISO 8601 date. Default: the time the case starts. */
  now?: number | string;
}

export interface TokenExpectation {
  kind?: 'access_token' | 'jwt' | 'id_token' | 'refresh_token' | 'id_jag';
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

export interface CaseExpectation {
  status?: number;
  /** The OAuth `error` code of the response. */
  error?: string;
  body?: Record<string, unknown>;
  /** The first issued token, or `"<absent>"` for none. */
  token?: TokenExpectation | '<absent>';
  /** Every issued token, in order (the count must match). */
  tokens?: TokenExpectation[];
  /** Each entry must match some logger line (`message` may be a matcher). */
  logs?: Array<{ level?: string; message?: string }>;
  /** The runner's diagnostic when the procedure failed (reason, message, line, column), or `"<absent>"`. */
  diagnostic?: Record<string, unknown> | '<absent>';
}

export interface TestCase {
  name: string;
  input: CaseInput;
  expect: CaseExpectation;
}

export interface TestFile {
  /** As given or discovered (relative to the working directory when found by walking). */
  file: string;
  /** Absolute path of the procedure under test. */
  procedurePath: string;
  /** The procedure as written in the file, for messages. */
  procedure: string;
  flow: FlowId;
  cases: TestCase[];
}

export type LoadResult = { ok: true; testFile: TestFile } | { ok: false; errors: string[] };

export const TEST_FILE_SUFFIXES: readonly string[] = ['.test.json', '.test.yaml', '.test.yml'];

const FILE_KEYS = new Set(['procedure', 'flow', 'description', 'defaults', 'cases']);
const CASE_KEYS = new Set(['name', 'input', 'expect', 'description']);
const INPUT_KEYS = new Set([
  'client',
  'subjectToken',
  'subjectClaims',
  'subjectTokenType',
  'actorToken',
  'actorClaims',
  'actorTokenType',
  'assertionClaims',
  'params',
  'now',
]);
const EXPECT_KEYS = new Set(['status', 'error', 'body', 'token', 'tokens', 'logs', 'diagnostic']);
const TOKEN_KEYS = new Set(['kind', 'header', 'claims']);
/** Every kind an issued token may have: a Record, so that a new issuer kind is a compile error here until listed. */
const TOKEN_KIND_NAMES: Readonly<Record<IssuerKind, true>> = { access_token: true, jwt: true, id_token: true, refresh_token: true, id_jag: true, txn_token: true };
const TOKEN_KINDS: ReadonlySet<string> = new Set(Object.keys(TOKEN_KIND_NAMES));
const FLOW_ALIASES: Readonly<Record<string, FlowId>> = {
  'token-exchange': 'oauth-token-oauth-token-exchange',
  'client-credentials': 'oauth-token-client-credentials',
  refresh: 'oauth-token-refresh',
  'jwt-assertion': 'oauth-token-jwt-assertion',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function unknownKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>, where: string): string[] {
  return Object.keys(value)
    .filter((key) => !allowed.has(key))
    .map((key) => `${where}: unknown key "${key}" (allowed: ${[...allowed].join(', ')})`);
}

function validateInput(input: unknown, where: string): string[] {
  if (!isObject(input)) return [`${where}: expected an object`];
  const errors = unknownKeys(input, INPUT_KEYS, where);
  for (const key of ['client', 'subjectClaims', 'actorClaims', 'assertionClaims']) {
    if (input[key] !== undefined && !isObject(input[key])) errors.push(`${where}.${key}: expected an object`);
  }
  if (isObject(input.client)) {
    // The admin API's client, checked against its JSON Schema (`"scopes"` is an error, not ignored).
    const problem = localClientProblem(input.client);
    if (problem !== null) errors.push(`${where}.client: ${problem}`);
  }
  for (const key of ['subjectToken', 'subjectTokenType', 'actorToken', 'actorTokenType']) {
    if (input[key] !== undefined && typeof input[key] !== 'string') errors.push(`${where}.${key}: expected a string`);
  }
  if (input.subjectToken !== undefined && input.subjectClaims !== undefined) {
    errors.push(`${where}: give subjectToken or subjectClaims, not both`);
  }
  if (input.actorToken !== undefined && input.actorClaims !== undefined) {
    errors.push(`${where}: give actorToken or actorClaims, not both`);
  }
  const params = input.params;
  if (params !== undefined) {
    const pairsOk = Array.isArray(params) && params.every((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string'));
    const objectOk =
      isObject(params) &&
      Object.values(params).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string')));
    if (!pairsOk && !objectOk) errors.push(`${where}.params: expected {"name": "value" | ["values"]} or [["name", "value"], ...]`);
  }
  if (input.now !== undefined) {
    const ok = (typeof input.now === 'number' && Number.isFinite(input.now)) || (typeof input.now === 'string' && !Number.isNaN(Date.parse(input.now)));
    if (!ok) errors.push(`${where}.now: expected epoch seconds or an ISO 8601 date`);
  }
  return errors;
}

function validateToken(token: unknown, where: string): string[] {
  if (!isObject(token)) return [`${where}: expected an object with header and/or claims`];
  const errors = unknownKeys(token, TOKEN_KEYS, where);
  if (token.kind !== undefined && !TOKEN_KINDS.has(String(token.kind))) {
    errors.push(`${where}.kind: expected one of ${[...TOKEN_KINDS].join(', ')}`);
  }
  for (const key of ['header', 'claims']) {
    if (token[key] !== undefined && !isObject(token[key])) errors.push(`${where}.${key}: expected an object`);
  }
  return errors;
}

function validateExpect(expect: unknown, where: string): string[] {
  if (!isObject(expect)) return [`${where}: expected an object`];
  const errors = unknownKeys(expect, EXPECT_KEYS, where);
  if (Object.keys(expect).length === 0) errors.push(`${where}: expects nothing; name at least a status, error, body or token`);
  if (expect.status !== undefined && !(Number.isInteger(expect.status) && Number(expect.status) >= 100 && Number(expect.status) <= 599)) {
    errors.push(`${where}.status: expected an HTTP status code`);
  }
  if (expect.error !== undefined && typeof expect.error !== 'string') errors.push(`${where}.error: expected a string`);
  if (expect.body !== undefined && !isObject(expect.body)) errors.push(`${where}.body: expected an object`);
  if (expect.token !== undefined && expect.token !== '<absent>') errors.push(...validateToken(expect.token, `${where}.token`));
  if (expect.token !== undefined && expect.tokens !== undefined) errors.push(`${where}: give token or tokens, not both`);
  if (expect.tokens !== undefined) {
    if (!Array.isArray(expect.tokens)) errors.push(`${where}.tokens: expected an array`);
    else expect.tokens.forEach((t, i) => errors.push(...validateToken(t, `${where}.tokens[${i}]`)));
  }
  if (expect.logs !== undefined) {
    if (!Array.isArray(expect.logs) || !expect.logs.every((l) => isObject(l) && Object.keys(l).every((k) => k === 'level' || k === 'message'))) {
      errors.push(`${where}.logs: expected [{"level": "...", "message": "..."}, ...]`);
    }
  }
  if (expect.diagnostic !== undefined && expect.diagnostic !== '<absent>' && !isObject(expect.diagnostic)) {
    errors.push(`${where}.diagnostic: expected an object or "<absent>"`);
  }
  errors.push(...findMatcherErrors(expect, where));
  return errors;
}

function parseFlowName(value: unknown): FlowId | null {
  if (value === undefined) return 'oauth-token-oauth-token-exchange';
  if (typeof value !== 'string') return null;
  if ((FLOW_IDS as readonly string[]).includes(value)) return value as FlowId;
  return FLOW_ALIASES[value] ?? null;
}

/** Validates a parsed document; `file` locates the procedure path, which is relative to the test file. */
export function parseTestDocument(document: unknown, file: string): LoadResult {
  if (!isObject(document)) return { ok: false, errors: ['expected an object with "procedure" and "cases"'] };
  const errors = unknownKeys(document, FILE_KEYS, 'file');
  if (typeof document.procedure !== 'string' || document.procedure === '') {
    errors.push('procedure: expected the path of the procedure, relative to this file (e.g. "./my-procedure.js")');
  }
  const flow = parseFlowName(document.flow);
  if (flow === null) errors.push(`flow: expected one of ${[...FLOW_IDS, ...Object.keys(FLOW_ALIASES)].join(', ')}`);
  if (document.defaults !== undefined) errors.push(...validateInput(document.defaults, 'defaults'));
  if (!Array.isArray(document.cases) || document.cases.length === 0) {
    errors.push('cases: expected a non-empty array');
  } else {
    document.cases.forEach((testCase: unknown, i) => {
      const where = `cases[${i}]`;
      if (!isObject(testCase)) {
        errors.push(`${where}: expected an object`);
        return;
      }
      errors.push(...unknownKeys(testCase, CASE_KEYS, where));
      if (typeof testCase.name !== 'string' || testCase.name.trim() === '') errors.push(`${where}.name: expected a string`);
      if (testCase.input !== undefined) errors.push(...validateInput(testCase.input, `${where}.input`));
      if (testCase.expect === undefined) errors.push(`${where}.expect: missing`);
      else errors.push(...validateExpect(testCase.expect, `${where}.expect`));
    });
  }
  if (errors.length > 0 || flow === null) return { ok: false, errors };

  const defaults = (document.defaults ?? {}) as CaseInput;
  const cases = (document.cases as Array<Record<string, unknown>>).map((c) => ({
    name: String(c.name),
    input: { ...defaults, ...((c.input ?? {}) as CaseInput) },
    expect: c.expect as CaseExpectation,
  }));
  const procedure = String(document.procedure);
  return {
    ok: true,
    testFile: { file, procedure, procedurePath: path.resolve(path.dirname(path.resolve(file)), procedure), flow, cases },
  };
}

/** Reads and validates one test file (JSON or YAML by its extension). */
export function loadTestFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, errors: [code === 'ENOENT' ? 'no such file' : (err as Error).message] };
  }
  let document: unknown;
  try {
    document = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    // The whole message: YAML's ends "at line 4, column 1:" followed by the offending line and a caret.
    const message = (err as Error).message.replace(/\s+$/, '');
    return { ok: false, errors: [`not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${message}`] };
  }
  return parseTestDocument(document, file);
}

export function isTestFileName(name: string): boolean {
  return TEST_FILE_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

const MAX_DEPTH = 16;
const MAX_FILES = 5000;

/**
 * The test files named by `paths` (all under the working directory when empty): directories are
 * walked recursively (skipping node_modules and dot-directories); a procedure `x.js` stands for
 * its `x.test.json` / `x.test.yaml` next to it. Unresolvable paths are returned as errors.
 */
export function discoverTestFiles(paths: readonly string[], cwd: string): { files: string[]; errors: string[] } {
  const files: string[] = [];
  const errors: string[] = [];
  const display = (absolute: string): string => path.relative(cwd, absolute) || '.';

  const walk = (dir: string, depth: number): void => {
    if (depth > MAX_DEPTH || files.length >= MAX_FILES) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      errors.push(`${display(dir)}: cannot read directory (${(err as Error).message})`);
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(full, depth + 1);
      } else if (entry.isFile() && isTestFileName(entry.name) && files.length < MAX_FILES) {
        files.push(display(full));
      }
    }
  };

  for (const given of paths.length > 0 ? paths : ['.']) {
    const absolute = path.resolve(cwd, given);
    let stats;
    try {
      stats = statSync(absolute);
    } catch {
      errors.push(`${given}: no such file or directory`);
      continue;
    }
    if (stats.isDirectory()) {
      walk(absolute, 0);
    } else if (isTestFileName(absolute)) {
      files.push(display(absolute));
    } else {
      const base = absolute.replace(/\.[cm]?js$/, '');
      const sibling = TEST_FILE_SUFFIXES.map((suffix) => base + suffix).find((candidate) => {
        try {
          return statSync(candidate).isFile();
        } catch {
          return false;
        }
      });
      if (sibling && base !== absolute) files.push(display(sibling));
      else errors.push(`${given}: not a test file (expected *${TEST_FILE_SUFFIXES.join(', *')} or a procedure with one next to it)`);
    }
  }
  return { files: [...new Set(files)], errors };
}
