/**
 * Static checks for what commonly goes wrong in token procedures. Runs on source that already
 * compiled in the sandbox; nothing is executed. Each rule is cheap and syntactic: it flags the
 * common shape of a mistake rather than proving it.
 */
import { parse } from 'acorn';
import type * as estree from 'acorn';
import { fullAncestor, recursive } from 'acorn-walk';
import type { FlowId } from '../../store/types.ts';
import {
  CLIENT,
  CONSOLE,
  DELEGATION,
  DELEGATION_ISSUER,
  ECMASCRIPT_GLOBALS,
  EXCEPTION_FACTORY,
  INITIALIZED_CONTEXT,
  LOGGER,
  PROCEDURE_GLOBALS,
  OBJECT_PROTOTYPE_MEMBERS,
  REQUEST,
  TOKEN_ISSUER,
  apiObjectNamed,
  contextMethodsFor,
  contextPropertiesFor,
} from './procedure-api.ts';
import type { ApiObject } from './procedure-api.ts';
import { nearestName } from './suggest.ts';
import type { Severity } from './source-frame.ts';

export type LintRule =
  | 'parse'
  | 'missing-result'
  | 'result-without-return'
  | 'exp-in-milliseconds'
  | 'unused-issue'
  | 'unknown-api'
  | 'unknown-property'
  | 'unknown-global';

export interface LintFinding {
  rule: LintRule;
  severity: Severity;
  message: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface LintOptions {
  /** The flow the procedure is written for; null checks against the union of both flows. */
  flow?: FlowId | null;
}

/** Which part of the procedure API an expression evaluates to, as far as the lint can tell. */
type ApiKind =
  | 'context'
  | 'initialized'
  | 'client'
  | 'request'
  | 'issuer'
  | 'idTokenIssuer'
  | 'delegationIssuer'
  | 'delegation'
  | 'logger'
  | 'exceptionFactory'
  | 'console';

/** What API object a method call on an API object returns (by method name). */
const RETURNED_BY_METHOD: Readonly<Record<string, ApiKind>> = {
  getInitializedContext: 'initialized',
  getClient: 'client',
  getRequest: 'request',
  getDefaultAccessTokenJwtIssuer: 'issuer',
  getAccessTokenIssuer: 'issuer',
  getJwtIssuer: 'issuer',
  getDefaultJwtIssuer: 'issuer',
  getIdTokenIssuer: 'idTokenIssuer',
  getRefreshTokenIssuer: 'issuer',
  getTransactionTokenIssuer: 'issuer',
  getDelegationIssuer: 'delegationIssuer',
  getPresentedSubjectTokenDelegation: 'delegation',
  getPresentedActorTokenDelegation: 'delegation',
  getDefaultDelegationData: 'delegation',
};

/** What API object a property read on an API object gives (by property name). */
const READ_AS_PROPERTY: Readonly<Record<string, ApiKind>> = {
  client: 'client',
  request: 'request',
  defaultAccessTokenJwtIssuer: 'issuer',
  accessTokenIssuer: 'issuer',
  jwtIssuer: 'issuer',
  idTokenIssuer: 'idTokenIssuer',
  refreshTokenIssuer: 'issuer',
  transactionTokenIssuer: 'issuer',
  delegationIssuer: 'delegationIssuer',
  presentedSubjectTokenDelegation: 'delegation',
  presentedActorTokenDelegation: 'delegation',
  defaultDelegationData: 'delegation',
};

const KIND_LABEL: Readonly<Record<ApiKind, string>> = {
  context: 'the context',
  initialized: 'the initialized context',
  client: 'context.client',
  request: 'context.request',
  issuer: 'a token issuer',
  idTokenIssuer: 'the ID token issuer',
  delegationIssuer: 'the delegation issuer',
  delegation: 'a delegation',
  logger: 'logger',
  exceptionFactory: 'exceptionFactory',
  console: 'console',
};

type Located = { loc?: estree.SourceLocation | null };

function at(node: Located): { line: number; column: number } {
  const start = node.loc?.start;
  return start ? { line: start.line, column: start.column + 1 } : { line: 1, column: 1 };
}

function propertyName(member: estree.MemberExpression): string | null {
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.computed && member.property.type === 'Literal' && typeof member.property.value === 'string') {
    return member.property.value;
  }
  return null;
}

function unwrapChain(node: estree.Expression | estree.Super): estree.Expression | estree.Super {
  return node.type === 'ChainExpression' ? node.expression : node;
}

type FunctionNode = estree.FunctionDeclaration | estree.FunctionExpression | estree.ArrowFunctionExpression | estree.AnonymousFunctionDeclaration;

function isFunctionNode(node: estree.AnyNode | null | undefined): node is FunctionNode {
  return (
    node?.type === 'FunctionDeclaration' ||
    node?.type === 'FunctionExpression' ||
    node?.type === 'ArrowFunctionExpression'
  );
}

const isJavaInterop = (name: string): boolean => name === 'Java' || name === 'Packages';

/** The identifier a call's member chain starts from (`a` of `a.b.c()`), if it starts from one. */
function rootIdentifier(expression: estree.Expression | estree.Super): estree.Identifier | null {
  let node = unwrapChain(expression);
  while (node.type === 'MemberExpression') node = unwrapChain(node.object);
  return node.type === 'Identifier' ? node : null;
}

/** The top-level `result` function (declaration or `var result = function ...`), if any. */
function findResultFunction(program: estree.Program): { fn: estree.Function | null; declared: Located | null } {
  for (const statement of program.body) {
    if (statement.type === 'FunctionDeclaration' && statement.id?.name === 'result') {
      return { fn: statement, declared: statement.id };
    }
    if (statement.type === 'VariableDeclaration') {
      for (const declarator of statement.declarations) {
        if (declarator.id.type === 'Identifier' && declarator.id.name === 'result') {
          return { fn: isFunctionNode(declarator.init) ? declarator.init : null, declared: declarator.id };
        }
      }
    }
    // `result = function ...` and `globalThis.result = ...` also define it for the sandbox.
    if (statement.type === 'ExpressionStatement' && statement.expression.type === 'AssignmentExpression') {
      const { left, right } = statement.expression;
      const named =
        (left.type === 'Identifier' && left.name === 'result') ||
        (left.type === 'MemberExpression' &&
          propertyName(left) === 'result' &&
          (left.object.type === 'ThisExpression' ||
            (left.object.type === 'Identifier' && (left.object.name === 'globalThis' || left.object.name === 'self'))));
      if (named) return { fn: isFunctionNode(right) ? right : null, declared: left };
    }
  }
  return { fn: null, declared: null };
}

/** Whether a function's own body (not nested functions) has `return <value>`. */
function returnsValue(fn: estree.Function): boolean {
  if (fn.expression) return true;
  let found = false;
  recursive(fn.body, null, {
    Function() {
      // A return inside a nested function does not return from `result`.
    },
    ReturnStatement(node) {
      if (node.argument) found = true;
    },
  });
  return found;
}

function collectPatternNames(pattern: estree.Pattern, into: Set<string>): void {
  switch (pattern.type) {
    case 'Identifier':
      into.add(pattern.name);
      break;
    case 'ObjectPattern':
      for (const property of pattern.properties) {
        collectPatternNames(property.type === 'RestElement' ? property.argument : property.value, into);
      }
      break;
    case 'ArrayPattern':
      for (const element of pattern.elements) if (element) collectPatternNames(element, into);
      break;
    case 'RestElement':
      collectPatternNames(pattern.argument, into);
      break;
    case 'AssignmentPattern':
      collectPatternNames(pattern.left, into);
      break;
    default:
      break;
  }
}

/** Every name the script declares anywhere (scopes are ignored: this only feeds "is it defined at all"). */
function declaredNames(program: estree.Program): Set<string> {
  const names = new Set<string>();
  fullAncestor(program, (node) => {
    if (node.type === 'VariableDeclarator') collectPatternNames(node.id, names);
    else if (isFunctionNode(node)) {
      if (node.id) names.add(node.id.name);
      for (const param of node.params) collectPatternNames(param, names);
    } else if (node.type === 'CatchClause' && node.param) collectPatternNames(node.param, names);
    else if ((node.type === 'ClassDeclaration' || node.type === 'ClassExpression') && node.id) names.add(node.id.name);
  });
  return names;
}

/** Whether an expression computes epoch milliseconds (getTime(), Date.now(), or a variable holding them). */
function producesMilliseconds(node: estree.Node, millisecondVariables: ReadonlySet<string>): boolean {
  let source = false;
  let divided = false;
  fullAncestor(node, (inner) => {
    if (inner.type === 'CallExpression' && inner.callee.type === 'MemberExpression') {
      const name = propertyName(inner.callee);
      if (name === 'getTime') source = true;
      if (name === 'now' && inner.callee.object.type === 'Identifier' && inner.callee.object.name === 'Date') source = true;
    } else if (inner.type === 'Identifier' && millisecondVariables.has(inner.name)) {
      source = true;
    } else if (inner.type === 'BinaryExpression' && inner.right.type === 'Literal' && typeof inner.right.value === 'number') {
      if (inner.operator === '/' && inner.right.value >= 1000) divided = true;
      if (inner.operator === '*' && inner.right.value > 0 && inner.right.value <= 0.001) divided = true;
    }
  });
  return source && !divided;
}

export function lintProcedure(source: string, options: LintOptions = {}): LintFinding[] {
  let program: estree.Program;
  try {
    program = parse(source, { ecmaVersion: 'latest', sourceType: 'script', locations: true });
  } catch (err) {
    const loc = (err as { loc?: { line: number; column: number } }).loc;
    return [
      {
        rule: 'parse',
        severity: 'error',
        message: err instanceof Error ? err.message.replace(/\s*\(\d+:\d+\)$/, '') : String(err),
        line: loc?.line ?? 1,
        column: (loc?.column ?? 0) + 1,
      },
    ];
  }

  const findings: LintFinding[] = [];
  const report = (rule: LintRule, severity: Severity, node: Located, message: string): void => {
    findings.push({ rule, severity, message, ...at(node) });
  };

  const { fn: resultFn, declared } = findResultFunction(program);
  if (!resultFn) {
    const message = declared
      ? '`result` is not a function: a procedure defines `function result(context) { ... }`'
      : 'no `result` function: a procedure defines `function result(context) { ... }` at the top level';
    report('missing-result', 'error', declared ?? program, message);
  } else if (!returnsValue(resultFn)) {
    report(
      'result-without-return',
      'error',
      declared ?? resultFn,
      '`result` never returns a value: return the response object ({ access_token, token_type, expires_in, ... })',
    );
  }

  const namesDeclared = declaredNames(program);
  const contextParam = resultFn?.params[0]?.type === 'Identifier' ? resultFn.params[0].name : null;

  // Variables assigned from API objects (var full = context.getInitializedContext(...)), resolved
  // in a few rounds so chains like `var issuer = full.getDefaultAccessTokenJwtIssuer()` resolve too.
  const assignments: Array<{ name: string; value: estree.Expression }> = [];
  fullAncestor(program, (node) => {
    if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier' && node.init) {
      assignments.push({ name: node.id.name, value: node.init });
    } else if (node.type === 'AssignmentExpression' && node.operator === '=' && node.left.type === 'Identifier') {
      assignments.push({ name: node.left.name, value: node.right });
    }
  });
  const variableKinds = new Map<string, ApiKind | 'conflict'>();

  const kindOf = (expression: estree.Expression | estree.Super): ApiKind | null => {
    const node = unwrapChain(expression);
    if (node.type === 'Identifier') {
      if (node.name === contextParam) return 'context';
      const kind = variableKinds.get(node.name);
      if (kind !== undefined) return kind === 'conflict' ? null : kind;
      if (namesDeclared.has(node.name)) return null;
      if (node.name === 'logger') return 'logger';
      if (node.name === 'exceptionFactory') return 'exceptionFactory';
      if (node.name === 'console') return 'console';
      return null;
    }
    if (node.type === 'MemberExpression') {
      const name = propertyName(node);
      if (name === null || kindOf(node.object) === null) return null;
      return READ_AS_PROPERTY[name] ?? null;
    }
    if (node.type === 'CallExpression' && node.callee.type === 'MemberExpression') {
      const name = propertyName(node.callee);
      if (name === null || kindOf(node.callee.object) === null) return null;
      return RETURNED_BY_METHOD[name] ?? null;
    }
    return null;
  };

  for (let round = 0; round < 4; round++) {
    for (const { name, value } of assignments) {
      if (name === contextParam) continue;
      const kind = kindOf(value);
      if (kind === null) continue;
      const previous = variableKinds.get(name);
      variableKinds.set(name, previous === undefined || previous === kind ? kind : 'conflict');
    }
  }
  // A variable that also holds something else at some point is not checked (no false alarms).
  for (const { name, value } of assignments) {
    const kind = variableKinds.get(name);
    if (kind !== undefined && kind !== 'conflict' && kindOf(value) !== kind) variableKinds.set(name, 'conflict');
  }

  const idTokenIssuer = apiObjectNamed('IdTokenIssuer') ?? TOKEN_ISSUER;
  const objectOf = (kind: ApiKind): Pick<ApiObject, 'methods' | 'properties'> => {
    switch (kind) {
      case 'context':
        return { methods: contextMethodsFor(options.flow ?? null), properties: contextPropertiesFor(options.flow ?? null) };
      case 'initialized':
        return INITIALIZED_CONTEXT;
      case 'client':
        return CLIENT;
      case 'request':
        return REQUEST;
      case 'issuer':
        return TOKEN_ISSUER;
      case 'idTokenIssuer':
        return idTokenIssuer;
      case 'delegationIssuer':
        return DELEGATION_ISSUER;
      case 'delegation':
        return DELEGATION;
      case 'logger':
        return LOGGER;
      case 'exceptionFactory':
        return EXCEPTION_FACTORY;
      case 'console':
        return CONSOLE;
    }
  };
  const methodsOf = (kind: ApiKind): readonly string[] => objectOf(kind).methods;
  /** Everything readable on an API object: its properties, its methods (as values), Object.prototype's. */
  const readableOn = (kind: ApiKind): Set<string> => {
    const api = objectOf(kind);
    return new Set([...api.properties, ...api.methods, ...OBJECT_PROTOTYPE_MEMBERS]);
  };

  // Members a script sets on an API object itself (`context.mine = 1`) are its own to read back.
  const assignedMembers = new Set<string>();
  fullAncestor(program, (node) => {
    if (node.type === 'AssignmentExpression' && node.left.type === 'MemberExpression') {
      const name = propertyName(node.left);
      if (name !== null && kindOf(node.left.object) !== null) assignedMembers.add(name);
    }
  });

  const millisecondVariables = new Set<string>();
  for (const { name, value } of assignments) {
    if (producesMilliseconds(value, millisecondVariables)) millisecondVariables.add(name);
  }
  const checkExp = (target: Located, value: estree.Node): void => {
    if (producesMilliseconds(value, millisecondVariables)) {
      report(
        'exp-in-milliseconds',
        'warning',
        target,
        '`exp` is set from milliseconds (getTime() / Date.now() not divided by 1000): JWT times are epoch seconds, ' +
          'and the server caps the lifetime at its maximum. Use Math.floor(date.getTime() / 1000)',
      );
    }
  };

  const knownGlobals = new Set([...ECMASCRIPT_GLOBALS, ...PROCEDURE_GLOBALS]);
  const reportedGlobals = new Set<string>();

  /** A read of a member an API object does not have (`context.subjectToken`): undefined at run time. */
  const checkPropertyRead = (node: estree.MemberExpression, ancestors: readonly estree.Node[]): void => {
    const name = propertyName(node);
    if (name === null || assignedMembers.has(name)) return;
    const kind = kindOf(node.object);
    if (kind === null) return;
    // The node as its parent sees it (an optional chain wraps it).
    let child: estree.Node = node;
    let index = ancestors.length - 2;
    let parent = ancestors[index] as estree.AnyNode | undefined;
    while (parent?.type === 'ChainExpression') {
      child = parent;
      parent = ancestors[--index] as estree.AnyNode | undefined;
    }
    if (!parent) return;
    // Calls are the unknown-api rule's; writes, deletes and typeof probes are no reads of a missing member.
    if ((parent.type === 'CallExpression' || parent.type === 'NewExpression') && parent.callee === child) return;
    if (parent.type === 'AssignmentExpression' && parent.left === child) return;
    if (parent.type === 'UpdateExpression') return;
    if (parent.type === 'UnaryExpression' && (parent.operator === 'typeof' || parent.operator === 'delete')) return;
    const readable = readableOn(kind);
    if (readable.has(name)) return;
    const suggestion = nearestName(name, [...readable].filter((n) => !OBJECT_PROTOTYPE_MEMBERS.includes(n)));
    report(
      'unknown-property',
      'error',
      node.property,
      `${KIND_LABEL[kind]} has no member \`${name}\` (it reads as undefined)` + (suggestion ? `: did you mean ${suggestion}?` : ''),
    );
  };

  fullAncestor(program, (node, _state, ancestors) => {
    if (node.type === 'AssignmentExpression' && node.left.type === 'MemberExpression' && propertyName(node.left) === 'exp') {
      checkExp(node.left.property, node.right);
    } else if (node.type === 'Property' && !node.computed) {
      const key = node.key.type === 'Identifier' ? node.key.name : node.key.type === 'Literal' ? node.key.value : null;
      if (key === 'exp') checkExp(node.key, node.value);
    } else if (node.type === 'ExpressionStatement') {
      const expression = unwrapChain(node.expression);
      if (expression.type === 'CallExpression') {
        const callee = unwrapChain(expression.callee);
        if (callee.type === 'MemberExpression' && propertyName(callee) === 'issue') {
          report(
            'unused-issue',
            'warning',
            callee.property,
            'the token returned by `issue(...)` is not used: put it in the response (e.g. `access_token`) or remove the call',
          );
        }
      }
    } else if (node.type === 'CallExpression' || node.type === 'NewExpression') {
      const callee = unwrapChain(node.callee);
      if (callee.type === 'MemberExpression') {
        const name = propertyName(callee);
        const kind = kindOf(callee.object);
        if (name !== null && kind !== null) {
          const methods = methodsOf(kind);
          if (!methods.includes(name) && !OBJECT_PROTOTYPE_MEMBERS.includes(name)) {
            const suggestion = nearestName(name, methods);
            report(
              'unknown-api',
              'error',
              callee.property,
              `${KIND_LABEL[kind]} has no method \`${name}\`` + (suggestion ? `: did you mean ${suggestion}?` : ''),
            );
          }
        }
      }
      // Calls on names defined nowhere (however deep the member chain: `new Packages.org.jose4j.jwt.JwtClaims()`):
      // a typo of a global, or Java interop that the sandbox lacks (reported where the name appears, below).
      const root = rootIdentifier(callee);
      if (root && !isJavaInterop(root.name) && !namesDeclared.has(root.name) && !knownGlobals.has(root.name)) {
        const key = `${root.name}@${root.start}`;
        if (reportedGlobals.has(key)) return;
        reportedGlobals.add(key);
        const suggestion = nearestName(root.name, [...knownGlobals, ...namesDeclared]);
        report('unknown-global', 'error', root, `\`${root.name}\` is not defined` + (suggestion ? `: did you mean ${suggestion}?` : ''));
      }
    } else if (node.type === 'Identifier' && isJavaInterop(node.name) && !namesDeclared.has(node.name)) {
      // Java interop anywhere (`Java.type(...)`, `Packages.org.jose4j...`, `var T = Java`), unless guarded by typeof.
      const parent = ancestors[ancestors.length - 2] as estree.AnyNode | undefined;
      if (parent?.type === 'UnaryExpression' && parent.operator === 'typeof') return;
      if (parent?.type === 'MemberExpression' && parent.property === node && !parent.computed) return;
      const key = `${node.name}@${node.start}`;
      if (reportedGlobals.has(key)) return;
      reportedGlobals.add(key);
      report('unknown-global', 'error', node, `\`${node.name}\` (Java interop) does not exist in the sandbox: procedures are plain JavaScript`);
    } else if (node.type === 'MemberExpression') {
      checkPropertyRead(node, ancestors);
    }
  });

  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return findings;
}

/** One finding as the admin API answers it next to an uploaded version (`warnings`). */
export interface ProcedureWarning {
  line: number;
  column: number;
  rule: LintRule;
  message: string;
}

/**
 * What `tokenproc check` reports for a source that compiled, in the admin API's shape: the upload
 * answers them as `warnings` (the version is stored all the same). A source acorn cannot parse but
 * the sandbox compiled has no findings: the sandbox is the judge of syntax.
 */
export function procedureWarnings(source: string, flow: FlowId | null): ProcedureWarning[] {
  return lintProcedure(source, { flow })
    .filter((finding) => finding.rule !== 'parse')
    .map(({ line, column, rule, message }) => ({ line, column, rule, message }));
}
