/**
 * A server under test in its own process: started with the Node running the bench, ready when it
 * prints a JSON line `{"message":"listening","port":N}` on stdout, stopped with SIGTERM (SIGKILL
 * after a grace period). Its output is kept only as a bounded tail, for error messages.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { procStat, processTree, processTreeCpuSeconds, processTreeMainThreadCpuSeconds } from './thread-cpu.ts';
import type { ProcStat } from './thread-cpu.ts';

const OUTPUT_TAIL_CHARS = 16_000;

export interface ChildServerOptions {
  /** Shown in errors and in the report. */
  name: string;
  cwd: string;
  /** Node options and script, e.g. ['--no-node-snapshot', 'server/cli/main.ts', 'serve', ...]. */
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  /**
   * When the server is told its port (`port`), readiness is a 200 from this path instead of the
   * listening line (a server logging at warn prints no listening line).
   */
  ready?: { port: number; path: string };
}

export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly origin: string;
  output(): string;
  /** Resident set size now, MiB (from /proc), of the server's process and any worker processes it started. */
  rssMb(): number;
  /**
   * CPU seconds used so far (user + system, all threads; from /proc), of the server's process and
   * of any worker processes it started (see thread-cpu.ts: with workers, the pid alone misses them).
   */
  cpuSeconds(): number;
  /** CPU seconds of the main threads alone (the event loops; one per process). */
  mainThreadCpuSeconds(): number;
  /** How the process ended ("code 1", "signal SIGKILL"), or null while it runs. */
  exitStatus(): string | null;
  /** SIGTERM, then SIGKILL after `graceMs` (10 s by default; 0 kills at once). */
  stop(graceMs?: number): Promise<void>;
}

function procStatus(pid: number, field: string): number | null {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    const match = line?.match(/(\d+)/);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** A port free right now on 127.0.0.1 (the OS picks it; it is released at once for the server to take). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function pollReady(origin: string, readyPath: string, isGone: () => boolean, deadline: number): Promise<boolean> {
  while (Date.now() < deadline && !isGone()) {
    try {
      const response = await fetch(`${origin}${readyPath}`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, [...options.args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_TAIL_CHARS * 2) output = output.slice(-OUTPUT_TAIL_CHARS);
  };
  child.stderr?.on('data', keep);
  let pending = '';
  const port = await new Promise<number>((resolve, reject) => {
    let settled = false;
    const listening = (port: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout?.on('data', keep);
      child.off('exit', onExit);
      resolve(port);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not start in time:\n${output}`));
    }, options.startTimeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      keep(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"listening"')) continue;
        try {
          const record = JSON.parse(line) as { message?: unknown; port?: unknown };
          if (record.message === 'listening' && typeof record.port === 'number') {
            listening(record.port);
            return;
          }
        } catch {
          // not JSON: keep reading
        }
      }
      if (pending.length > OUTPUT_TAIL_CHARS) pending = '';
    };
    const onExit = (code: number | null, signal: string | null) => {
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code ?? signal}) before listening:\n${output}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    const ready = options.ready;
    if (ready) {
      const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
      void pollReady(`http://127.0.0.1:${ready.port}`, ready.path, () => settled || child.exitCode !== null || child.signalCode !== null, deadline).then((up) => {
        if (up) listening(ready.port);
      });
    }
  });
  const pid = child.pid ?? -1;
  return {
    name: options.name,
    pid,
    port,
    origin: `http://127.0.0.1:${port}`,
    output: () => output,
    // `tokenproc serve` may be a supervisor that serves nothing and worker processes that do: the
    // server's memory is the whole tree's (each worker is a separate Node, so little is shared).
    rssMb: () => processTree(pid).reduce((kib, stat) => kib + (procStatus(stat.pid, 'VmRSS') ?? 0), 0) / 1024,
    cpuSeconds: () => processTreeCpuSeconds(pid),
    mainThreadCpuSeconds: () => processTreeMainThreadCpuSeconds(pid),
    exitStatus: () => (child.exitCode !== null ? `code ${child.exitCode}` : child.signalCode !== null ? `signal ${child.signalCode}` : null),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // Its worker processes, if any, listed while they still have it as parent.
      const descendants = processTree(pid).filter((stat) => stat.pid !== pid);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
      await reapLeftovers(descendants);
    },
  };
}

/** Still the same process (not a later one that reused the pid)? */
function stillRunning(stat: ProcStat): boolean {
  return procStat(stat.pid)?.startTicks === stat.startTicks;
}

/**
 * Workers normally exit with their primary; any left after a grace period (a primary that was
 * killed, say) get SIGKILL, so that no run leaves load or memory behind for the next.
 */
async function reapLeftovers(descendants: readonly ProcStat[], graceMs = 3000): Promise<void> {
  const deadline = Date.now() + graceMs;
  let left = descendants.filter(stillRunning);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = left.filter(stillRunning);
  }
  for (const stat of left) {
    try {
      process.kill(stat.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
