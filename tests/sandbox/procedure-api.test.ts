/**
 * The procedure API declaration (sandbox/procedure-api.ts) against what it describes: the members
 * of the real objects a procedure receives in each flow, both ways (nothing undeclared in the
 * sandbox, nothing declared missing); the sandbox's globals; and the README's table. Also the
 * prelude's modules against their headers (what each defines and needs, and from which module).
 * procedures/types/procedure-api.d.ts is checked against the same declaration in
 * tests/cli/procedure-types.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { parse } from 'acorn';
import type { Comment } from 'acorn';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  CLIENT,
  CONSOLE,
  CONTEXT_BY_FLOW,
  DELEGATION,
  DELEGATION_ISSUER,
  ECMASCRIPT_GLOBALS,
  EXCEPTION_FACTORY,
  ID_TOKEN_ISSUER,
  INITIALIZED_CONTEXT,
  JAVA_ITERATOR,
  JAVA_LIST,
  LOGGER,
  PROCEDURE_API,
  PROCEDURE_EXCEPTION,
  PROCEDURE_GLOBALS,
  PRESENTED_TOKEN,
  REQUEST,
  TOKEN_DATA,
  TOKEN_ISSUER,
  getterMethod,
} from '../../sandbox/procedure-api.ts';
import type { ApiObject, ProcedureFlow } from '../../sandbox/procedure-api.ts';
import { PRELUDE_MODULES, PRELUDE_PARAMETERS } from '../../sandbox/prelude-source.ts';
import type { ProcedureInput } from '../../sandbox/types.ts';
import {
  TestHost,
  clientCredentialsInput,
  createSigningKey,
  engineForTests,
  inlineProcedure,
  nowSeconds,
  recordingSink,
  refreshInput,
  jwtAssertionInput,
  testClient,
  tokenExchangeInput,
} from './test-host.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const key = createSigningKey();
const engine = engineForTests();

const TOKEN_EXCHANGE: ProcedureFlow = 'oauth-token-oauth-token-exchange';
const CLIENT_CREDENTIALS: ProcedureFlow = 'oauth-token-client-credentials';
const REFRESH: ProcedureFlow = 'oauth-token-refresh';
const JWT_ASSERTION: ProcedureFlow = 'oauth-token-jwt-assertion';
const FLOWS: readonly ProcedureFlow[] = [TOKEN_EXCHANGE, CLIENT_CREDENTIALS, REFRESH, JWT_ASSERTION];
/** The refresh context has no subject, actor, audiences or attributes. */
const WITH_SUBJECT_CONTEXT: readonly ProcedureFlow[] = [TOKEN_EXCHANGE, CLIENT_CREDENTIALS];

type Kind = 'method' | 'property';

/** The members a declared object must have: a getter is the method `getX` and the property `x`. */
function declaredMembers(api: ApiObject): Record<string, Kind> {
  const members: Record<string, Kind> = {};
  for (const member of api.members) {
    if (member.kind === 'getter') {
      members[getterMethod(member.name)] = 'method';
      members[member.name] = 'property';
    } else {
      members[member.name] = member.kind;
    }
  }
  return members;
}

interface Sample {
  /** Evaluated inside result(context); may use `context`, `full` (the initialized context) and the variables of PROLOGUE. */
  expression: string;
  api: ApiObject;
  flows?: readonly ProcedureFlow[];
}

/** Every object a procedure can reach, by one or more ways of reaching it. */
const SAMPLES: readonly Sample[] = [
  ...FLOWS.map((flow): Sample => ({ expression: 'context', api: CONTEXT_BY_FLOW[flow], flows: [flow] })),
  { expression: 'full', api: INITIALIZED_CONTEXT, flows: [TOKEN_EXCHANGE] },
  { expression: 'context.client', api: CLIENT },
  { expression: 'full.getClient()', api: CLIENT },
  { expression: 'context.request', api: REQUEST },
  { expression: 'emptied(subject)', api: TOKEN_DATA, flows: [TOKEN_EXCHANGE] },
  { expression: 'emptied(act)', api: TOKEN_DATA, flows: [TOKEN_EXCHANGE] },
  { expression: 'emptied(actor)', api: TOKEN_DATA, flows: [TOKEN_EXCHANGE] },
  { expression: 'emptied(full.getDefaultAccessTokenData())', api: TOKEN_DATA },
  { expression: 'emptied(full.getDefaultDelegationData().claims)', api: TOKEN_DATA },
  { expression: 'emptied(context.subjectAttributes())', api: TOKEN_DATA, flows: WITH_SUBJECT_CONTEXT },
  { expression: 'emptied(context.contextAttributes())', api: TOKEN_DATA, flows: WITH_SUBJECT_CONTEXT },
  { expression: 'emptied(full.getDefaultRefreshTokenData())', api: TOKEN_DATA, flows: [REFRESH] },
  { expression: 'context.presentedToken', api: PRESENTED_TOKEN, flows: [REFRESH] },
  { expression: 'emptied(context.getPresentedToken().data)', api: TOKEN_DATA, flows: [REFRESH] },
  { expression: 'context.delegation', api: DELEGATION, flows: [REFRESH] },
  // Before the assertion's data is emptied (the context keeps one object for it).
  { expression: 'context.presentedAssertion.amr', api: JAVA_LIST, flows: [JWT_ASSERTION] },
  { expression: 'emptied(context.getPresentedAssertion())', api: TOKEN_DATA, flows: [JWT_ASSERTION] },
  { expression: 'context.getRequestedAudiences()', api: JAVA_LIST, flows: [JWT_ASSERTION] },
  { expression: 'full.idJagIssuer', api: TOKEN_ISSUER, flows: [TOKEN_EXCHANGE, CLIENT_CREDENTIALS] },
  { expression: 'groups', api: JAVA_LIST, flows: [TOKEN_EXCHANGE] },
  { expression: 'context.getRequestedScopes()', api: JAVA_LIST },
  { expression: 'context.requestedAudiences', api: JAVA_LIST, flows: WITH_SUBJECT_CONTEXT },
  { expression: 'context.client.audiences', api: JAVA_LIST },
  { expression: 'context.request.formParameterNames', api: JAVA_LIST },
  { expression: "context.request.getFormParameterValues('scope')", api: JAVA_LIST },
  { expression: 'full.getDefaultAccessTokenData().keySet()', api: JAVA_LIST },
  { expression: 'context.getRequestedScopes().iterator()', api: JAVA_ITERATOR },
  { expression: 'full.getDefaultDelegationData()', api: DELEGATION },
  { expression: 'full.delegationIssuer.issue({ scope: "read" })', api: DELEGATION },
  { expression: 'context.getPresentedSubjectTokenDelegation()', api: DELEGATION, flows: [TOKEN_EXCHANGE] },
  { expression: 'full.getDefaultAccessTokenJwtIssuer()', api: TOKEN_ISSUER },
  { expression: 'full.accessTokenIssuer', api: TOKEN_ISSUER },
  { expression: 'full.jwtIssuer', api: TOKEN_ISSUER },
  { expression: 'full.getDefaultJwtIssuer()', api: TOKEN_ISSUER },
  { expression: 'full.idTokenIssuer', api: ID_TOKEN_ISSUER },
  { expression: 'full.refreshTokenIssuer', api: TOKEN_ISSUER },
  { expression: 'full.delegationIssuer', api: DELEGATION_ISSUER },
  { expression: 'logger', api: LOGGER },
  { expression: 'console', api: CONSOLE },
  { expression: 'exceptionFactory', api: EXCEPTION_FACTORY },
  ...EXCEPTION_FACTORY.methods.map((name): Sample => ({ expression: `exceptionFactory.${name}('x')`, api: PROCEDURE_EXCEPTION })),
  { expression: 'hostRefusal', api: PROCEDURE_EXCEPTION, flows: [TOKEN_EXCHANGE] },
];

/**
 * Lists members as the sandbox has them: own and inherited names, enumerable or not, up to (not
 * including) the standard prototypes; a method is a data property holding a function. An array's
 * elements and length are the array's, not API. Token data's claims are data too: the samples
 * empty it first.
 */
const PROLOGUE = `
  var STANDARD = [Object.prototype, Array.prototype, Error.prototype, Function.prototype];
  function members(value) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) throw new TypeError('not an object: ' + value);
    var found = Object.create(null);
    for (var o = value; o !== null && STANDARD.indexOf(o) < 0; o = Object.getPrototypeOf(o)) {
      Reflect.ownKeys(o).forEach(function (key) {
        var name = typeof key === 'symbol' ? key.toString() : key;
        if (o === value && Array.isArray(value) && (name === 'length' || String(Number(name)) === name)) return;
        if (name in found) return;
        var descriptor = Object.getOwnPropertyDescriptor(o, key);
        found[name] = 'value' in descriptor && typeof descriptor.value === 'function' ? 'method' : 'property';
      });
    }
    return found;
  }
  function emptied(data) {
    data.keySet().toArray().forEach(function (name) { data.remove(name); });
    return data;
  }
`;

function samplesFor(flow: ProcedureFlow): readonly Sample[] {
  return SAMPLES.filter((sample) => sample.flows === undefined || sample.flows.includes(flow));
}

function enumeratingProcedure(flow: ProcedureFlow): string {
  const setup =
    flow === TOKEN_EXCHANGE
      ? `var hostRefusal = null;
         try { context.getInitializedContext(null, null, [], ['not-allowed']); } catch (e) { hostRefusal = e; }
         var full = context.getInitializedContext(null, null, [], ['read']);
         var subject = context.getPresentedSubjectToken();
         var actor = context.getPresentedActorToken(null);
         var act = subject.act;
         var groups = subject.groups;`
      : 'var full = context;';
  const entries = samplesFor(flow).map((sample) => `    ${JSON.stringify(sample.expression)}: members(${sample.expression}),`);
  return `function result(context) {
  ${PROLOGUE}
  ${setup}
  return {
    globals: Object.getOwnPropertyNames(globalThis).filter(function (name) { return name !== 'result'; }),
    samples: {
${entries.join('\n')}
    },
  };
}`;
}

function inputFor(flow: ProcedureFlow, host: TestHost): ProcedureInput {
  if (flow === CLIENT_CREDENTIALS) return clientCredentialsInput(host, ['read']);
  if (flow === REFRESH) return refreshInput(host, ['read']);
  if (flow === JWT_ASSERTION) return jwtAssertionInput(host, ['read']);
  const claims = { sub: 'alice', scope: 'read', exp: nowSeconds() + 60, act: { sub: 'svc' }, groups: ['a', 'b'] };
  const input = tokenExchangeInput(key, {
    client: host.client,
    subject: { claims },
    actor: { claims: { sub: 'svc', client_id: 'orders-api-client' } },
    form: { scope: ['read'] },
  });
  // A subject token this server issued: its delegation comes along.
  if (input.subjectToken) input.subjectToken.delegation = { id: 'delegation-1', clientId: host.client.id, scope: 'read', claims };
  return input;
}

interface Enumerated {
  globals: string[];
  samples: Record<string, Record<string, Kind>>;
}

const enumerated = new Map<ProcedureFlow, Promise<Enumerated>>();

/** Runs the enumerating procedure once per flow. */
function enumerate(flow: ProcedureFlow): Promise<Enumerated> {
  let result = enumerated.get(flow);
  if (result === undefined) {
    result = runEnumeration(flow);
    enumerated.set(flow, result);
  }
  return result;
}

async function runEnumeration(flow: ProcedureFlow): Promise<Enumerated> {
  const host = new TestHost(key, testClient({ scope: 'read write', audiences: [] }));
  const outcome = await engine.run(inlineProcedure(enumeratingProcedure(flow)), inputFor(flow, host), host, {
    requestId: `req-api-${flow}`,
    log: recordingSink().sink,
  });
  if (outcome.kind !== 'response') throw new Error(`the enumerating procedure failed: ${JSON.stringify(outcome)}`);
  return outcome.body as unknown as Enumerated;
}

const sorted = (members: Record<string, Kind>): Array<[string, Kind]> => Object.entries(members).sort(([a], [b]) => a.localeCompare(b));

describe('the real sandbox objects against the declaration', () => {
  it('samples every declared object, and each flow\u2019s context', () => {
    for (const api of PROCEDURE_API) expect({ type: api.typeName, sampled: SAMPLES.some((s) => s.api === api) }).toEqual({ type: api.typeName, sampled: true });
    for (const flow of FLOWS) {
      expect(samplesFor(flow).find((sample) => sample.expression === 'context')?.api).toBe(CONTEXT_BY_FLOW[flow]);
    }
  });

  it.each(FLOWS)('%s: every member of every object is declared, and every declared member exists', async (flow) => {
    const { samples } = await enumerate(flow);
    const actual: Record<string, unknown> = {};
    const declared: Record<string, unknown> = {};
    for (const sample of samplesFor(flow)) {
      const label = `${sample.expression} (${sample.api.typeName})`;
      const members = samples[sample.expression];
      actual[label] = members && sorted(members);
      declared[label] = sorted(declaredMembers(sample.api));
    }
    expect(actual).toEqual(declared);
  });

  it.each(FLOWS)('%s: the global object has exactly the declared globals', async (flow) => {
    const { globals } = await enumerate(flow);
    expect([...globals].sort()).toEqual([...ECMASCRIPT_GLOBALS, ...PROCEDURE_GLOBALS].sort());
  });
});

describe('README.md', () => {
  /** Identifiers inside `code` spans of the "What a procedure sees" table of the Procedures section. */
  function tableIdentifiers(): Set<string> {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Procedures\n'));
    const lines = section.slice(0, section.indexOf('\n## ', 1)).split('\n');
    const start = lines.findIndex((line) => line.startsWith('What a procedure sees'));
    expect(start).toBeGreaterThan(0);
    const rest = lines.slice(start + 1);
    const first = rest.findIndex((line) => line.startsWith('|'));
    const after = rest.slice(first);
    const end = after.findIndex((line) => !line.startsWith('|'));
    const table = end < 0 ? after : after.slice(0, end);
    const identifiers = new Set<string>();
    for (const span of table.join('\n').matchAll(/`([^`]+)`/g)) {
      for (const name of (span[1] ?? '').matchAll(/[A-Za-z_$][\w$]*/g)) identifiers.add(name[0]);
    }
    return identifiers;
  }

  it('lists every method, getter and global of the declaration', () => {
    const listed = tableIdentifiers();
    const missing: string[] = [];
    for (const api of PROCEDURE_API) {
      for (const member of api.members) {
        if (member.kind === 'property') continue;
        const names = member.kind === 'getter' ? [member.name, getterMethod(member.name)] : [member.name];
        if (!names.some((name) => listed.has(name))) missing.push(`${api.typeName}.${names.join(' / ')}`);
      }
    }
    for (const name of PROCEDURE_GLOBALS) if (!listed.has(name)) missing.push(name);
    expect(missing).toEqual([]);
  });
});

describe('prelude modules', () => {
  const DIRECTORY = path.join(ROOT, 'sandbox', 'prelude');

  interface ModuleInfo {
    name: string;
    declared: string[];
    exported: string[];
    /** `/* global a, b -- from *\/` comments: the names and where they come from. */
    needs: Array<{ names: string[]; from: string }>;
  }

  const names = (list: string): string[] =>
    list
      .split(',')
      .map((name) => name.trim().replace(/:.*$/, ''))
      .filter(Boolean);

  function read(name: string): ModuleInfo {
    const comments: Comment[] = [];
    const program = parse(readFileSync(path.join(DIRECTORY, `${name}.js`), 'utf8'), { ecmaVersion: 'latest', sourceType: 'script', onComment: comments });
    const declared: string[] = [];
    for (const node of program.body) {
      if (node.type === 'FunctionDeclaration') declared.push(node.id.name);
      if (node.type === 'VariableDeclaration') for (const d of node.declarations) if (d.id.type === 'Identifier') declared.push(d.id.name);
      if (node.type === 'ClassDeclaration') declared.push(node.id.name);
    }
    const exported: string[] = [];
    const needs: ModuleInfo['needs'] = [];
    for (const comment of comments) {
      const directive = /^\s*(exported|global)\s([\s\S]*?)(?:\s--\s*([\s\S]*?))?\s*$/.exec(comment.value);
      if (comment.type !== 'Block' || directive === null) continue;
      if (directive[1] === 'exported') exported.push(...names(directive[2] ?? ''));
      else needs.push({ names: names(directive[2] ?? ''), from: directive[3] ?? '' });
    }
    return { name, declared, exported, needs };
  }

  const modules = PRELUDE_MODULES.map(read);
  const byName = new Map(modules.map((info) => [info.name, info]));

  it('assembles every file of sandbox/prelude/, each once', () => {
    const files = readdirSync(DIRECTORY).filter((file) => file.endsWith('.js')).map((file) => file.slice(0, -3));
    expect([...files].sort()).toEqual([...PRELUDE_MODULES].sort());
    expect(new Set(PRELUDE_MODULES).size).toBe(PRELUDE_MODULES.length);
  });

  it('declares no top-level name twice (they share one function scope)', () => {
    const owners = new Map<string, string[]>();
    for (const info of modules) for (const name of info.declared) owners.set(name, [...(owners.get(name) ?? []), info.name]);
    for (const parameter of PRELUDE_PARAMETERS) owners.set(parameter, [...(owners.get(parameter) ?? []), '(prelude parameter)']);
    expect([...owners].filter(([, where]) => where.length > 1)).toEqual([]);
  });

  it('headers: exports are declared and used; each need names the module that exports it', () => {
    const problems: string[] = [];
    for (const info of modules) {
      for (const name of info.exported) {
        if (!info.declared.includes(name)) problems.push(`${info.name} exports undeclared ${name}`);
        const used = modules.some((other) => other !== info && other.needs.some((need) => need.names.includes(name)));
        // `run` is what the prelude closure returns (prelude-source.ts).
        if (!used && !(info.name === 'envelope' && name === 'run')) problems.push(`${info.name} exports ${name}, which no module needs`);
      }
      for (const { names: needed, from } of info.needs) {
        if (from === 'prelude parameter') {
          for (const name of needed) if (!PRELUDE_PARAMETERS.includes(name)) problems.push(`${info.name}: ${name} is not a prelude parameter`);
          continue;
        }
        const source = byName.get(from.replace(/\.js$/, ''));
        if (source === undefined || source === info || !from.endsWith('.js')) {
          problems.push(`${info.name}: needs ${needed.join(', ')} from unknown module "${from}"`);
          continue;
        }
        for (const name of needed) if (!source.exported.includes(name)) problems.push(`${info.name}: ${from} does not export ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
