/**
 * CPU time from /proc (Linux): of a whole process (all threads), and of its main thread alone.
 * A Node server's main thread is its bottleneck; isolates and WebCrypto jobs run on other threads.
 *
 * A server may run worker processes (TOKENPROC_WORKERS): its own pid then covers only the primary,
 * which mostly hands connections on, and the work is done in its children. The `processTree*`
 * functions therefore add up the server's pid and all its descendants (found through the ppid field
 * of /proc/PID/stat), so that "server cores" and CPU per request stay right whatever the number of
 * processes. For a server without children they read the same as the single-process ones.
 */
import fs from 'node:fs';

const TICKS_PER_SECOND = 100;

/** The fields of one /proc/PID/stat line the bench uses; CPU in seconds. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime: this process's own threads. */
  cpuSeconds: number;
  /** cutime + cstime: children it has already waited for (a worker that exited keeps counting). */
  reapedChildrenCpuSeconds: number;
  /** Start time in clock ticks after boot: tells a pid from a later process that reused it. */
  startTicks: number;
}

/** Parses a /proc/PID/stat line (the command name may contain spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // Fields after the command name, from the 3rd overall (state): ppid is the 4th, utime..cstime the
  // 14th to 17th, starttime the 22nd.
  const fields = text.slice(close + 2).split(' ');
  const field = (overall: number) => Number(fields[overall - 3]);
  const stat = {
    pid,
    ppid: field(4),
    cpuSeconds: (field(14) + field(15)) / TICKS_PER_SECOND,
    reapedChildrenCpuSeconds: (field(16) + field(17)) / TICKS_PER_SECOND,
    startTicks: field(22),
  };
  return Object.values(stat).every(Number.isFinite) ? stat : null;
}

/** `root` and every process below it, parents before children, from (pid, ppid) pairs. */
export function treeOf(root: number, stats: readonly Pick<ProcStat, 'pid' | 'ppid'>[]): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of stats) {
    const siblings = children.get(ppid) ?? [];
    siblings.push(pid);
    children.set(ppid, siblings);
  }
  const tree: number[] = [];
  const seen = new Set<number>();
  const queue = [root];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next)) continue;
    seen.add(next);
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

function readStat(file: string): ProcStat | null {
  try {
    return parseProcStat(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** Every process's stat now (a process that ends while this runs is skipped). */
export function allProcStats(): ProcStat[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const stats: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(`/proc/${name}/stat`);
    if (stat) stats.push(stat);
  }
  return stats;
}

/** The stats of `root` and its descendants now ([] once `root` has gone). */
export function processTree(root: number): ProcStat[] {
  const stats = allProcStats();
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  if (!byPid.has(root)) return [];
  return treeOf(root, stats).flatMap((pid) => byPid.get(pid) ?? []);
}

/** One process's stat now, or null once it has gone. */
export function procStat(pid: number): ProcStat | null {
  return readStat(`/proc/${pid}/stat`);
}

export function processCpuSeconds(pid: number): number {
  return procStat(pid)?.cpuSeconds ?? 0;
}

/** The main thread's id is the process id. */
export function mainThreadCpuSeconds(pid: number): number {
  return readStat(`/proc/${pid}/task/${pid}/stat`)?.cpuSeconds ?? 0;
}

/** CPU of `pid` and all its descendants, including children they have already reaped. */
export function processTreeCpuSeconds(pid: number): number {
  let seconds = 0;
  for (const stat of processTree(pid)) seconds += stat.cpuSeconds + stat.reapedChildrenCpuSeconds;
  return seconds;
}

/**
 * The main threads (event loops) of `pid` and all its live descendants, added up. /proc keeps no
 * per-thread total for reaped children, so a worker that exits during a run takes its main-thread
 * CPU out of this sum (processTreeCpuSeconds keeps it, through cutime).
 */
export function processTreeMainThreadCpuSeconds(pid: number): number {
  let seconds = 0;
  for (const stat of processTree(pid)) seconds += mainThreadCpuSeconds(stat.pid);
  return seconds;
}
