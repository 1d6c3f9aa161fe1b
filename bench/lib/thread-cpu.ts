/**
 * CPU time from /proc (Linux): of a whole process (all threads), and of its main thread alone.
 * A Node server's main thread is its bottleneck; isolates and WebCrypto jobs run on other threads.
 */
import fs from 'node:fs';

const TICKS_PER_SECOND = 100;

function statCpuSeconds(file: string): number {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** The main thread's id is the process id. */
export function mainThreadCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}
