/**
 * procedures/types/procedure-api.d.ts against the real procedures: the TypeScript compiler (as an
 * editor runs it on a `// @ts-check` file) must accept every example procedure and reject wrong
 * calls; and the .d.ts must declare every name of the procedure API (sandbox/procedure-api.ts, which
 * tests/sandbox/procedure-api.test.ts checks against the real sandbox objects).
 */
import { describe, it, expect } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { PROCEDURE_API } from '../../sandbox/procedure-api.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TYPES_FILE = path.join(ROOT, 'procedures', 'types', 'procedure-api.d.ts');

const OPTIONS: ts.CompilerOptions = {
  allowJs: true,
  checkJs: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  types: [],
  // What an editor applies to a plain .js file with // @ts-check: not strict.
  strict: false,
};

// One host for every program, so lib files and the .d.ts are parsed once.
const baseHost = ts.createCompilerHost(OPTIONS, true);
const cache = new Map<string, ts.SourceFile | undefined>();
const virtualFiles = new Map<string, string>();
const host: ts.CompilerHost = {
  ...baseHost,
  fileExists: (file) => virtualFiles.has(file) || baseHost.fileExists(file),
  readFile: (file) => virtualFiles.get(file) ?? baseHost.readFile(file),
  getSourceFile: (file, languageVersion) => {
    const text = virtualFiles.get(file);
    if (text !== undefined) return ts.createSourceFile(file, text, languageVersion, true);
    if (!cache.has(file)) cache.set(file, baseHost.getSourceFile(file, languageVersion));
    return cache.get(file);
  },
};

/** Type-checks one procedure as an editor would, with the procedure API declarations loaded. */
function typeCheck(name: string, source: string): string[] {
  const file = path.join(ROOT, 'procedures', '__virtual__', name);
  virtualFiles.set(file, source);
  try {
    const program = ts.createProgram([TYPES_FILE, file], OPTIONS, host);
    return ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file ? path.basename(d.file.fileName) : ''}: TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  } finally {
    virtualFiles.delete(file);
  }
}

/** The procedure annotated as an author would: JSDoc type on `result` unless it has one already. */
function annotated(source: string, contextType: string): string {
  if (/@param\s+\{[^}]+\}\s+context/.test(source)) return `// @ts-check\n${source}`;
  return `// @ts-check\n${source.replace(/^function result\(/m, `/** @param {${contextType}} context */\nfunction result(`)}`;
}

function proceduresIn(dir: string): string[] {
  return readdirSync(path.join(ROOT, 'procedures', dir))
    .filter((name) => name.endsWith('.js'))
    .map((name) => path.join(dir, name));
}

const EXAMPLES = [...proceduresIn('defaults'), ...proceduresIn('seeds')];

describe('procedure-api.d.ts', () => {
  it('finds the example procedures', () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(4);
  });

  it.each(EXAMPLES)('type-checks %s without errors', (relative) => {
    const source = readFileSync(path.join(ROOT, 'procedures', relative), 'utf8');
    const contextType = relative.includes('client-credentials')
      ? 'ClientCredentialsContext'
      : relative.includes('refresh')
        ? 'RefreshContext'
        : relative.includes('jwt-assertion')
          ? 'JwtAssertionContext'
          : 'TokenExchangeContext';
    expect(typeCheck(path.basename(relative), annotated(source, contextType))).toEqual([]);
  });

  it('reports a misspelt API call with the right name, and wrong argument types', () => {
    const wrong = `// @ts-check
/** @param {TokenExchangeContext} context */
function result(context) {
  var subject = context.getPresentedSubjectTokens();
  var full = context.getInitializedContext(null, null, [], 42);
  logger.warning('x');
  return { expires_in: secondsUntil('tomorrow'), token: full.getDefaultAccessTokenJwtIssuer().issue('claims', null) };
}
`;
    const errors = typeCheck('wrong.js', wrong);
    expect(errors).toEqual([
      expect.stringMatching(/TS2551: Property 'getPresentedSubjectTokens' does not exist on type 'TokenExchangeContext'\. Did you mean 'getPresentedSubjectToken'\?/),
      expect.stringMatching(/TS2345: Argument of type 'number' is not assignable to parameter of type 'StringListInput'/),
      expect.stringMatching(/TS2339: Property 'warning' does not exist on type 'ProcedureLogger'/),
      expect.stringMatching(/TS2345: Argument of type 'string' is not assignable to parameter of type 'number'/),
      expect.stringMatching(/TS2345: Argument of type 'string' is not assignable to parameter of type /),
    ]);
  });

  it('resolves Curity JSDoc type names and knows the initialized context has no getInitializedContext', () => {
    const source = `// @ts-check
/** @param {se.curity.identityserver.procedures.context.ClientCredentialsTokenProcedureContext} context */
function result(context) {
  return { t: context.getInitializedContext(null, null, [], []) };
}
`;
    expect(typeCheck('cc.js', source)).toEqual([
      expect.stringMatching(/TS2339: Property 'getInitializedContext' does not exist on type 'InitializedContext'/),
    ]);
  });

  it('declares every method and property of the procedure API, and no other methods', () => {
    const declarations = ts.createSourceFile(TYPES_FILE, readFileSync(TYPES_FILE, 'utf8'), ts.ScriptTarget.ES2022, true);
    const program = ts.createProgram([TYPES_FILE], OPTIONS, host);
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(TYPES_FILE) ?? declarations;
    const interfaces = new Map<string, ts.Type>();
    ts.forEachChild(source, (node) => {
      if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) {
        interfaces.set(node.name.text, checker.getTypeAtLocation(node.name));
      }
    });
    for (const api of PROCEDURE_API) {
      const type = interfaces.get(api.typeName);
      expect(type).toBeDefined();
      if (!type) continue;
      // Array members of JavaList (map, push...) are real too; only its own additions are compared.
      const own = api.typeName === 'JavaList' ? type.getProperties().filter((p) => p.declarations?.some((d) => d.getSourceFile() === source)) : type.getProperties();
      const members = own.filter((p) => p.declarations?.some((d) => ts.isMethodSignature(d))).map((p) => p.name);
      const properties = own.filter((p) => p.declarations?.some((d) => ts.isPropertySignature(d))).map((p) => p.name);
      expect({ type: api.typeName, methods: [...members].sort() }).toEqual({ type: api.typeName, methods: [...api.methods].sort() });
      for (const property of api.properties) expect({ type: api.typeName, property, declared: properties.includes(property) }).toEqual({ type: api.typeName, property, declared: true });
    }
  });
});
