import type { Command } from 'commander';
import { createProcedureEngine } from '../../../sandbox/engine.ts';
import { checkFiles, expandProcedurePaths } from '../authoring/check-files.ts';
import { parseFlow } from '../authoring/run-input.ts';

const HELP_AFTER = `
Compiles each FILE in the server's sandbox (syntax errors as file:line:column with the source
line), then lints it. Nothing runs.

Errors (exit 2):
  missing-result         no top-level function result(context)
  result-without-return  result never returns a value
  unknown-api            a call the procedure API does not have, e.g.
                         context.getPresentedSubjectTokens() -> did you mean getPresentedSubjectToken?
  unknown-property       a read of a member the API object lacks, e.g. context.subjectToken
                         (it reads as undefined) -> did you mean subjectTokenType?
  unknown-global         a call to a name defined nowhere (a typo), or Java interop anywhere:
                         Java.type(...), new Packages.org.jose4j.jwt.JwtClaims()
Warnings (exit 0):
  exp-in-milliseconds    exp assigned from getTime() / Date.now() without / 1000
  unused-issue           the token returned by issue(...) is discarded

The same rules run when a procedure is uploaded (PUT /admin/api/v1/procedures/{id}): the version
is stored, and the answer lists the findings as "warnings".

Exit codes: 0 no errors (warnings allowed); 2 a file is missing, does not compile or has lint errors.`;

interface CheckFlags {
  flow?: string;
}

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('Compile and lint procedures without running them')
    .argument('<files...>', 'procedure files (.js), or directories to check every .js file in')
    .option('--flow <flow>', 'check API calls against one flow only (token-exchange or client-credentials; default: either)')
    .addHelpText('after', HELP_AFTER)
    .action(async (files: string[], flags: CheckFlags) => {
      const flow = flags.flow === undefined ? null : parseFlow(flags.flow);
      // Compile failures are printed here; the engine's own event log would only repeat them on stdout.
      const engine = createProcedureEngine({ logger: { warn: () => {}, error: () => {} } });
      try {
        const summary = await checkFiles(expandProcedurePaths(files, process.cwd()), {
          flow,
          compile: (source, filename) => engine.compile(source, filename),
          write: (text) => process.stdout.write(text),
          cwd: process.cwd(),
        });
        process.exitCode = summary.exitCode;
      } finally {
        await engine.close();
      }
    });
}
