/**
 * `tokenproc init`: a procedure for a flow, its test file (the format `tokenproc test` reads, passing
 * as written) and a `jsconfig.json` that gives editors the procedure types, so `context.` completes.
 * Nothing is ever overwritten: an existing procedure or test file stops the command before it writes.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FlowId } from '../../store/types.ts';
import { CliError } from '../exit-codes.ts';

/** The flows `init` has a starting point for, with the file name it uses by default. */
export const SCAFFOLD_FLOWS: Readonly<Partial<Record<FlowId, { name: string; contextType: string }>>> = {
  'oauth-token-oauth-token-exchange': { name: 'token-exchange', contextType: 'TokenExchangeContext' },
  'oauth-token-client-credentials': { name: 'client-credentials', contextType: 'ClientCredentialsContext' },
};

const TOKEN_EXCHANGE = (name: string) => `// @ts-check
/**
 * Token exchange procedure (flow oauth-token-oauth-token-exchange), made by \`tokenproc init\`.
 * It issues an access token for the subject with the requested scopes (each one held by the subject
 * token; without a request, all of its scopes), for the requested audience (else the client's).
 *
 *   npx tokenproc test                 runs ${name}.test.json
 *   npx tokenproc run ${name}.js --subject-claims '{"sub":"alice","scope":"read"}'
 *   npx tokenproc check ${name}.js     lints it as the server does at upload
 *
 * @param {TokenExchangeContext} context
 */
function result(context) {
  var subject = context.getPresentedSubjectToken();
  if (!subject) {
    throw exceptionFactory.badRequestException('invalid_request', 'The subject token could not be validated');
  }

  // Scope: the requested scopes, each one held by the subject token; without a request, all of them.
  var held = subject.scope ? String(subject.scope).split(' ') : [];
  var requested = context.getRequestedScopes().toArray();
  for (var i = 0; i < requested.length; i++) {
    if (held.indexOf(requested[i]) < 0) {
      throw exceptionFactory.badRequestException('invalid_scope', 'The subject token does not hold the scope ' + requested[i]);
    }
  }
  var scopes = requested.length > 0 ? requested : held;

  // Audience: what the client asked for (audience / resource parameters), else the client's audiences.
  var audiences = context.getRequestedAudiences().toArray();
  if (audiences.length === 0) {
    audiences = context.client.audiences;
  }

  // Fixes the new token's aud and scope; the server checks both against the client.
  var fullContext = context.getInitializedContext(context.subjectAttributes(), context.contextAttributes(), audiences, scopes);

  var tokenData = fullContext.getDefaultAccessTokenData();
  var accessToken = fullContext.accessTokenIssuer.issue(tokenData, context.getPresentedSubjectTokenDelegation());
  return {
    access_token: accessToken,
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: 'Bearer',
    expires_in: secondsUntil(tokenData.exp),
    scope: scopes.join(' ')
  };
}
`;

const CLIENT_CREDENTIALS = (name: string) => `// @ts-check
/**
 * Client credentials procedure (flow oauth-token-client-credentials), made by \`tokenproc init\`.
 * It issues the default access token: the client as \`sub\`, the requested scopes within the
 * client's (all of them without a request), the client's audiences.
 *
 *   npx tokenproc test                 runs ${name}.test.json
 *   npx tokenproc run ${name}.js --flow client-credentials --param scope=read
 *   npx tokenproc check ${name}.js     lints it as the server does at upload
 *
 * @param {ClientCredentialsContext} context
 */
function result(context) {
  var tokenData = context.getDefaultAccessTokenData();
  var accessToken = context.accessTokenIssuer.issue(tokenData, null);
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: secondsUntil(tokenData.exp),
    scope: tokenData.scope
  };
}
`;

const CLIENT = { client_id: 'example-client', scope: 'read write', audiences: ['https://api.example.com'] };

function tokenExchangeTests(name: string): unknown {
  return {
    procedure: `./${name}.js`,
    flow: 'oauth-token-oauth-token-exchange',
    defaults: {
      client: CLIENT,
      subjectClaims: { sub: 'alice', scope: 'read write', exp: '<now+600>' },
    },
    cases: [
      {
        name: 'downscopes to the requested scope',
        input: { params: { scope: 'read' } },
        expect: {
          status: 200,
          body: { scope: 'read', token_type: 'Bearer', expires_in: '<approx:300>' },
          token: { claims: { sub: 'alice', scope: 'read', aud: 'https://api.example.com', client_id: 'example-client', exp: '<now+300>', act: '<absent>' } },
        },
      },
      {
        name: "without a scope parameter, keeps the subject's scopes",
        expect: { status: 200, token: { claims: { sub: 'alice', scope: 'read write' } } },
      },
      {
        name: 'a scope the subject does not hold is invalid_scope',
        input: { params: { scope: 'admin' } },
        expect: { status: 400, error: 'invalid_scope', token: '<absent>' },
      },
    ],
  };
}

function clientCredentialsTests(name: string): unknown {
  return {
    procedure: `./${name}.js`,
    flow: 'oauth-token-client-credentials',
    defaults: { client: CLIENT },
    cases: [
      {
        name: 'issues a token for the client with the requested scope',
        input: { params: { scope: 'read' } },
        expect: {
          status: 200,
          body: { scope: 'read', token_type: 'Bearer', expires_in: '<approx:300>' },
          token: { claims: { sub: 'example-client', scope: 'read', aud: 'https://api.example.com', exp: '<now+300>' } },
        },
      },
      {
        name: "without a scope parameter, gets all of the client's scopes",
        expect: { status: 200, token: { claims: { scope: 'read write' } } },
      },
      {
        name: "a scope outside the client's is invalid_scope",
        input: { params: { scope: 'admin' } },
        expect: { status: 400, error: 'invalid_scope', token: '<absent>' },
      },
    ],
  };
}

/** The package's own directory (where package.json names tokenproc), from this module's location. */
export function packageRoot(from: string = import.meta.dirname): string {
  let dir = from;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'tokenproc') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the tokenproc package directory');
    dir = parent;
  }
}

/** The procedure types as the package ships them. */
export function procedureTypesPath(): string {
  return path.join(packageRoot(), 'procedures', 'types', 'procedure-api.d.ts');
}

export interface ScaffoldOptions {
  dir: string;
  flow: FlowId;
  /** The procedure's file name without `.js` (default: the flow's short name). */
  name?: string;
  /** Where the procedure types are (default: this package's). */
  typesPath?: string;
}

export interface ScaffoldedFile {
  /** As shown to the user (relative to the working directory). */
  file: string;
  what: string;
  /** False when an existing file was kept (only the editor config is ever kept). */
  written: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Writes the scaffold; throws a CliError (exit 2), before writing anything, when a file exists. */
export function scaffoldProcedure(options: ScaffoldOptions, cwd: string): ScaffoldedFile[] {
  const flowInfo = SCAFFOLD_FLOWS[options.flow];
  if (!flowInfo) {
    throw new CliError(`init has no template for flow ${options.flow}; use ${Object.keys(SCAFFOLD_FLOWS).join(' or ')}`);
  }
  const name = options.name ?? flowInfo.name;
  if (!NAME.test(name) || name.endsWith('.js')) {
    throw new CliError(`--name "${name}": expected a file name without extension (letters, digits, . _ -)`);
  }
  const dir = path.resolve(cwd, options.dir);
  const shown = (file: string) => path.relative(cwd, path.join(dir, file)) || file;
  const procedureFile = `${name}.js`;
  const testFile = `${name}.test.json`;

  const existing = [procedureFile, testFile].filter((file) => existsSync(path.join(dir, file)));
  if (existing.length > 0) {
    throw new CliError(
      `refusing to overwrite ${existing.map(shown).join(' and ')}: remove ${existing.length === 1 ? 'it' : 'them'}, ` +
        'or choose another directory or --name',
    );
  }
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CliError(`${options.dir} is not a directory`);

  const typesPath = options.typesPath ?? procedureTypesPath();
  let typesReference = path.relative(dir, typesPath).split(path.sep).join('/');
  if (!typesReference.startsWith('.')) typesReference = `./${typesReference}`;
  const jsconfig = {
    // strict off: TypeScript 6 turns it on by default, and procedures are plain JavaScript read loosely.
    compilerOptions: { checkJs: false, strict: false, target: 'es2022', lib: ['es2022'], types: [], noEmit: true },
    include: ['**/*.js', typesReference],
    exclude: ['node_modules'],
  };

  const source = options.flow === 'oauth-token-client-credentials' ? CLIENT_CREDENTIALS(name) : TOKEN_EXCHANGE(name);
  const tests = options.flow === 'oauth-token-client-credentials' ? clientCredentialsTests(name) : tokenExchangeTests(name);

  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new CliError(`cannot create ${options.dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const files: ScaffoldedFile[] = [];
  const write = (file: string, text: string, what: string) => {
    try {
      // 'wx': never replace a file that appeared in the meantime.
      writeFileSync(path.join(dir, file), text, { flag: 'wx' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(code === 'EEXIST' ? `refusing to overwrite ${shown(file)}` : `cannot write ${shown(file)}: ${code ?? String(err)}`);
    }
    files.push({ file: shown(file), what, written: true });
  };
  write(procedureFile, source, `the procedure (flow ${options.flow})`);
  write(testFile, `${JSON.stringify(tests, null, 2)}\n`, 'its test cases (tokenproc test)');
  if (existsSync(path.join(dir, 'jsconfig.json'))) {
    files.push({ file: shown('jsconfig.json'), what: 'kept as it is (it exists); its "include" should list ' + typesReference, written: false });
  } else {
    write('jsconfig.json', `${JSON.stringify(jsconfig, null, 2)}\n`, `editor completion for context. (types: ${typesReference})`);
  }
  return files;
}
