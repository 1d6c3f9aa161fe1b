/**
 * A throwaway PostgreSQL server for one test file: initdb into a temp directory, start it on a
 * free loopback port, hand out one fresh database per caller, stop it and delete everything at the
 * end. TCP connections need the superuser's password (SCRAM), so tests exercise real credentials in
 * the URL; the Unix socket lives in the temp directory and is never used by tests.
 *
 * We may run as root (CI containers), and initdb refuses root: the server then runs as the
 * `postgres` system user (created by Debian's postgresql packages), else as `nobody`.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 server binaries; TOKENPROC_TEST_PG_BIN overrides. */
export const PG_BIN_DIR = process.env['TOKENPROC_TEST_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';
export const PG_INSTALL_HINT = 'apt-get install -y -qq --no-install-recommends postgresql-15';

export interface TestPostgres {
  readonly port: number;
  /** The superuser's password (it contains characters that must be percent-encoded in a URL). */
  readonly password: string;
  /** A URL for `database` on this server; credentials default to the superuser's. */
  url(database: string, credentials?: { user: string; password: string }): string;
  /** Creates an empty database and returns its name and URL. */
  createDatabase(): Promise<{ name: string; url: string }>;
  /** Drops a database, disconnecting anything still attached. */
  dropDatabase(name: string): Promise<void>;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

interface RunAs {
  uid: number;
  gid: number;
  /** The user to switch to with runuser; null when we already run unprivileged. */
  user: string | null;
}

async function idOf(user: string): Promise<{ uid: number; gid: number } | null> {
  try {
    const uid = Number((await run('id', ['-u', user])).stdout.trim());
    const gid = Number((await run('id', ['-g', user])).stdout.trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

async function chooseUser(): Promise<RunAs> {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? -1, user: null };
  for (const user of ['postgres', 'nobody']) {
    const ids = await idOf(user);
    if (ids && ids.uid !== 0) return { ...ids, user };
  }
  throw new Error('running as root, and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as');
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

function makeOwnedDir(dir: string, owner: RunAs): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner.user !== null) fs.chownSync(dir, owner.uid, owner.gid);
  return dir;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  for (const tool of ['initdb', 'pg_ctl']) {
    if (!fs.existsSync(path.join(PG_BIN_DIR, tool))) {
      throw new Error(
        `PostgreSQL server binaries not found (${path.join(PG_BIN_DIR, tool)} is missing). ` +
          `Install them (Debian: ${PG_INSTALL_HINT}) or set TOKENPROC_TEST_PG_BIN to their directory.`,
      );
    }
  }
  const owner = await chooseUser();
  const root = makeOwnedDir(fs.mkdtempSync(path.join(os.tmpdir(), 'tokenproc-pg-')), owner);
  const dataDir = path.join(root, 'data');
  const socketDir = makeOwnedDir(path.join(root, 'socket'), owner);
  const logFile = path.join(root, 'postgres.log');
  const password = `pw:${crypto.randomBytes(12).toString('base64url')}@/%`;
  const exec = (tool: string, args: string[]) => {
    const program = path.join(PG_BIN_DIR, tool);
    const options = { timeout: 60_000, env: { ...process.env, LC_ALL: 'C' } };
    return owner.user === null ? run(program, args, options) : run('runuser', ['-u', owner.user, '--', program, ...args], options);
  };
  const logTail = (): string => {
    try {
      return fs.readFileSync(logFile, 'utf8').slice(-2000);
    } catch {
      return '';
    }
  };

  let started = false;
  let port = 0;
  try {
    const passwordFile = path.join(root, 'pwfile');
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (owner.user !== null) fs.chownSync(passwordFile, owner.uid, owner.gid);
    // -N: no fsync; the cluster is thrown away after the test file.
    await exec('initdb', ['-D', dataDir, '-U', 'postgres', '-N', '-E', 'UTF8', '--locale=C', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${passwordFile}`]);
    fs.rmSync(passwordFile);

    // A free port can be taken between probing and binding: retry a few times.
    for (let attempt = 1; !started; attempt++) {
      port = await freePort();
      const serverOptions = [
        `-p ${port}`,
        `-k ${socketDir}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=100',
      ].join(' ');
      try {
        // -l: the server's output goes to a file, so pg_ctl does not hold our pipes open.
        await exec('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', serverOptions, 'start']);
        started = true;
      } catch (err) {
        if (attempt >= 3) throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${logTail()}`);
      }
    }
  } catch (err) {
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }

  const url = (database: string, credentials = { user: 'postgres', password }): string =>
    `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

  const admin = new Client({ connectionString: url('postgres') });
  try {
    await admin.connect();
  } catch (err) {
    await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
  let counter = 0;

  return {
    port,
    password,
    url,
    async createDatabase() {
      counter += 1;
      const name = `tokenproc_test_${process.pid}_${counter}`;
      await admin.query(`CREATE DATABASE ${name}`);
      return { name, url: url(name) };
    },
    async dropDatabase(name) {
      if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unexpected database name ${name}`);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
    async stop() {
      await admin.end().catch(() => undefined);
      try {
        await exec('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
      } catch {
        await exec('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
