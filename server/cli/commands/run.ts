import type { Command } from 'commander';
import { createLocalRunner } from '../../runtime/local-runner.ts';
import { buildLocalRunInput } from '../authoring/run-input.ts';
import type { RunFlags } from '../authoring/run-input.ts';
import { formatRunHuman, runExitCode, runReport } from '../authoring/run-format.ts';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const HELP_AFTER = `
Runs FILE in the same sandbox and token pipeline as the server, with a throwaway signing key
and an in-memory client, then prints the response, the logger lines and the decoded header and
claims of every issued token (times also as ISO dates and as now±N seconds).

Values marked JSON|@file take inline JSON or @path to a file; JWT|@file likewise.
Subject/actor claims are signed as this server's tokens; defaults: sub "local-user" (actor
"local-actor"), aud = the client, iat = now, exp = now + 300. Client defaults: client_id
"local-client", scope = the requested scope plus the subject's, no audiences.

When the server corrected the procedure's response to match the issued token (scope, expires_in,
token_type, issued_token_type; the server logs a warning each time), a note under the status line
shows what the procedure returned and what was sent (--json: "corrections").

Values given with --client are checked against the admin API's client JSON Schema: an unknown
member such as "scopes" is an error (exit 2) naming it.

Exit codes: 0 a token response; 1 the request or procedure was refused (the OAuth error is
printed, with the procedure's file:line:column when it failed); 2 usage, file or compile error.

Examples:
  tokenproc run procedures/seeds/curity-downscope.js \\
    --subject-claims '{"sub":"alice","scope":"invoicing trigger_invoicing"}' \\
    --client '{"scope":"invoicing trigger_invoicing"}' --param scope=invoicing
  tokenproc run my-proc.js --subject-token @token.jwt --client @client.json --json`;

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Run one procedure locally in the server sandbox and show the response and issued tokens')
    .argument('<file>', 'the procedure (.js)')
    .option('--flow <flow>', 'oauth-token-oauth-token-exchange (default, alias token-exchange) or oauth-token-client-credentials (alias client-credentials)')
    .option('--client <json>', 'the client, as in the admin API (JSON|@file)')
    .option('--subject-token <jwt>', 'a real subject token, validated as the server would (JWT|@file)')
    .option('--subject-claims <json>', 'subject token claims, signed with the throwaway key (JSON|@file)')
    .option('--subject-token-type <uri>', 'subject_token_type (default urn:ietf:params:oauth:token-type:access_token)')
    .option('--actor-token <jwt>', 'a real actor token (JWT|@file)')
    .option('--actor-claims <json>', 'actor token claims, signed with the throwaway key (JSON|@file)')
    .option('--actor-token-type <uri>', 'actor_token_type (default urn:ietf:params:oauth:token-type:access_token)')
    .option('--assertion-claims <json>', 'oauth-token-jwt-assertion: the assertion\'s claims, an ID-JAG signed by a throwaway trusted issuer (JSON|@file)')
    .option('--param <name=value>', 'a form parameter (scope, audience, resource, transaction_id...); repeatable', collect)
    .option('--now <time>', 'the clock: epoch seconds or an ISO 8601 date (default: now)')
    .option('--json', 'print one JSON document {status, body, tokens, logs, diagnostic, corrections}')
    .addHelpText('after', HELP_AFTER)
    .action(async (file: string, flags: RunFlags) => {
      const input = buildLocalRunInput(file, flags, process.cwd());
      const nowMs = input.now ?? Date.now();
      const runner = createLocalRunner();
      try {
        const result = await runner.run(input);
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(runReport(result), null, 2)}\n`
            : formatRunHuman(result, { file, source: input.procedure.source, procedureId: input.procedure.id, nowMs }),
        );
        process.exitCode = runExitCode(result);
      } finally {
        await runner.close();
      }
    });
}
