import { Option, type Command } from 'commander';
import { createLocalRunner } from '../../runtime/local-runner.ts';
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE } from '../exit-codes.ts';
import { runTests } from '../authoring/test-runner.ts';
import { MATCHER_NAMES, TIME_TOLERANCE_SECONDS } from '../authoring/matchers.ts';
import { REPORTER_NAMES, createReporter, type ReporterName } from '../authoring/test-reporters.ts';

const HELP_AFTER = `
Test files are *.test.json or *.test.yaml next to the procedures. With no PATH, every test file
under the current directory (recursively, skipping node_modules and dot-directories); a PATH may
be a directory, a test file, or a procedure x.js (runs x.test.json / x.test.yaml).

  {
    "procedure": "./my-procedure.js",              relative to the test file
    "flow": "oauth-token-oauth-token-exchange",    or oauth-token-client-credentials (default: exchange)
    "defaults": { ...input },                      merged into every case's input
    "cases": [{
      "name": "downscopes to invoicing",
      "input": { "client": {...}, "subjectClaims": {"sub": "alice", "exp": "<now+600>"},
                 "actorClaims": {...}, "subjectToken": "JWT", "params": {"scope": "invoicing"},
                 "now": 1767225600 },
      "expect": { "status": 200, "error": "invalid_scope", "body": {"scope": "invoicing"},
                  "token": {"claims": {"scope": "invoicing", "exp": "<now+300>", "act": "<absent>"},
                            "header": {"typ": "at+jwt"}},
                  "logs": [{"level": "warn", "message": "<contains:scope>"}],
                  "diagnostic": {"reason": "runtime_error", "line": 4} }
    }]
  }

body, token.claims and token.header name only the keys they check; nested objects and arrays
must match exactly. Matchers: ${MATCHER_NAMES.join(' ')}
(<now±N> and <approx:N> allow ±${TIME_TOLERANCE_SECONDS} s; <now> is the case's clock, "now" in the
input or the wall clock). <absent> also accepts null. "token" is the first issued token (or the
first of "kind"); "tokens" lists all of them in order.

Prints ✓ or ✗ per case, a diff per failure, and finally "N passed, N failed". When the server
corrected a response to match the issued token (scope, expires_in, token_type, issued_token_type),
a note under the case says what the procedure returned and what was sent.

Reporters (--reporter), for CI systems:
  text   the default, as above
  json   one JSON document {passed, failed, fileErrors, cases: [{file, name, status, durationMs,
         message?, details?, notes?}], errors: [{file, message, details}]}
  junit  JUnit XML: a <testsuite> per test file, a <testcase> per case, <failure> with the
         difference, <error> for a test file that cannot be used
With json and junit, stdout holds only the document (redirect it to a file: --reporter junit >
junit.xml); the "N passed, N failed" line goes to stderr.

Exit codes: 0 all passed; 1 a case failed; 2 a test file or path could not be used.`;

interface TestFlags {
  filter?: string;
  reporter: ReporterName;
}

export function registerTestCommand(program: Command): void {
  program
    .command('test')
    .description('Run procedure test cases (*.test.json / *.test.yaml) in the server sandbox')
    .argument('[paths...]', 'test files, procedures or directories (default: the current directory)')
    .option('-t, --filter <text>', 'only cases whose name contains text')
    .addOption(new Option('--reporter <name>', 'how results are shown: text, json, or junit (JUnit XML for CI)').choices(REPORTER_NAMES).default('text'))
    .addHelpText('after', HELP_AFTER)
    .action(async (paths: string[], flags: TestFlags) => {
      const runner = createLocalRunner();
      try {
        const summary = await runTests(paths, {
          runLocally: (input) => runner.run(input),
          write: (text) => process.stdout.write(text),
          reporter: createReporter(flags.reporter, { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) }),
          cwd: process.cwd(),
          ...(flags.filter !== undefined ? { filter: flags.filter } : {}),
        });
        const nothingRan = summary.passed + summary.failed === 0;
        process.exitCode = summary.fileErrors > 0 || nothingRan ? EXIT_USAGE : summary.failed > 0 ? EXIT_REFUSED : EXIT_OK;
      } finally {
        await runner.close();
      }
    });
}
