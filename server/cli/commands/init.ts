import type { Command } from 'commander';
import path from 'node:path';
import { parseFlow } from '../authoring/run-input.ts';
import { SCAFFOLD_FLOWS, scaffoldProcedure } from '../authoring/scaffold.ts';

const HELP_AFTER = `
Scaffolds, in DIR (default: the current directory, created if missing):
  NAME.js         a procedure for the flow, commented, that passes its tests as written
  NAME.test.json  its test cases, in the format tokenproc test reads
  jsconfig.json   editor config pointing at the procedure types (procedure-api.d.ts of this
                  package), so editors complete context. and flag unknown calls; kept as it is
                  when DIR already has one
NAME is the flow's short name (token-exchange, client-credentials) unless --name is given.

Nothing is overwritten: when NAME.js or NAME.test.json exists, init writes nothing and exits 2.

Then:
  npx tokenproc test      runs every *.test.json under the current directory ("N passed, N failed")
  npx tokenproc check .   lints the procedures as the server does at upload

Exit codes: 0 created; 2 a file exists, an unknown flow, or DIR cannot be written.`;

interface InitFlags {
  flow?: string;
  name?: string;
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('Scaffold a procedure, its test file and an editor config (jsconfig.json with the procedure types)')
    .argument('[dir]', 'where to write the files (default: the current directory)')
    .option('--flow <flow>', `the procedure's flow: ${Object.keys(SCAFFOLD_FLOWS).join(' (default, alias token-exchange) or ')} (alias client-credentials)`)
    .option('--name <name>', 'file name of the procedure, without .js (default: the flow\'s short name)')
    .addHelpText('after', HELP_AFTER)
    .action((given: string | undefined, flags: InitFlags) => {
      const dir = given ?? '.';
      const flow = parseFlow(flags.flow);
      const files = scaffoldProcedure({ dir, flow, ...(flags.name !== undefined ? { name: flags.name } : {}) }, process.cwd());
      const width = Math.max(...files.map((f) => f.file.length));
      for (const f of files) process.stdout.write(`${f.written ? 'created' : 'kept   '} ${f.file.padEnd(width)}  ${f.what}\n`);
      const procedure = files[0]?.file ?? '';
      const inDir = path.resolve(dir) === process.cwd() ? '' : ` ${dir}`;
      process.stdout.write(`\nnext: npx tokenproc test${inDir}   (then edit ${procedure}; npx tokenproc check ${procedure})\n`);
    });
}
