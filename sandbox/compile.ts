/**
 * Compile-only checks of a procedure: V8 (in a throwaway isolate, nothing runs) decides whether the
 * source compiles, with line and column of the error; a static look at the syntax tree flags a
 * source that never defines `result`.
 */
import { errorFields } from './error-fields.ts';
import ivm from 'isolated-vm';
import { parse } from 'acorn';
import type { Node, Program } from 'acorn';
import { parseCompileMessage } from './outcome.ts';
import { PROCEDURE_FILENAME } from './prelude-source.ts';
import type { CompileDiagnostic, CompileResult } from './types.ts';

export const MISSING_RESULT_MESSAGE = 'the procedure does not define function result(context)';

function isResultTarget(node: Node): boolean {
  if (node.type === 'Identifier') return (node as Node & { name: string }).name === 'result';
  if (node.type !== 'MemberExpression') return false;
  const member = node as Node & { object: Node & { name?: string }; property: Node & { name?: string; value?: unknown }; computed: boolean };
  const owner = member.object.type === 'ThisExpression' || (member.object.type === 'Identifier' && (member.object.name === 'globalThis' || member.object.name === 'self'));
  const named = member.computed ? member.property.value === 'result' : member.property.name === 'result';
  return owner && named;
}

/**
 * True when the top level declares or assigns `result` (function declaration, `var/let/const result =`,
 * `result = ...`, `globalThis.result = ...`); null when acorn cannot parse what V8 accepted.
 */
export function declaresResult(source: string): boolean | null {
  let program: Program;
  try {
    program = parse(source, { ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true });
  } catch {
    return null;
  }
  for (const statement of program.body) {
    if (statement.type === 'FunctionDeclaration' && statement.id.name === 'result') return true;
    if (statement.type === 'VariableDeclaration') {
      if (statement.declarations.some((d) => d.id.type === 'Identifier' && d.id.name === 'result' && d.init != null)) return true;
    }
    if (statement.type === 'ExpressionStatement' && statement.expression.type === 'AssignmentExpression') {
      if (isResultTarget(statement.expression.left)) return true;
    }
  }
  return false;
}

/** Compiles `source` in a throwaway isolate; nothing of it runs. */
export async function compileProcedure(source: string, memoryMb: number): Promise<CompileResult> {
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  try {
    const script = await isolate.compileScript(source, { filename: PROCEDURE_FILENAME });
    script.release();
  } catch (error) {
    const fields = errorFields(error);
    const { text, location } = parseCompileMessage(fields?.message ?? 'the procedure does not compile');
    const diagnostic: CompileDiagnostic = {
      line: location?.line ?? 1,
      column: location?.column ?? 1,
      message: fields?.name === 'SyntaxError' ? `SyntaxError: ${text}` : text,
    };
    return { ok: false, diagnostics: [diagnostic] };
  } finally {
    if (!isolate.isDisposed) isolate.dispose();
  }
  if (declaresResult(source) === false) {
    return { ok: false, diagnostics: [{ line: 1, column: 1, message: MISSING_RESULT_MESSAGE }] };
  }
  return { ok: true };
}
