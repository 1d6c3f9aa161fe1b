/**
 * isolated-vm on Node 20+ crashes or misbehaves when Node starts from its built-in startup snapshot,
 * so the server and the engine refuse to run without `--no-node-snapshot`.
 *
 * V8's Turboshaft loop unrolling (Node 24) drops the termination check from some unrolled loops:
 * `for (;;) { new Array(1000).at(5) }`, or a loop pushing filled arrays, ran past every time limit
 * once optimized, and isolated-vm then either crashed the process or let the script keep running
 * with a heap that grew by gigabytes. With unrolling off, each of them stops at its limit (tests
 * in tests/sandbox/unstoppable.test.ts); the flag costs the rest of the process nothing we could
 * measure (bench/RESULTS.md). It must be set before any procedure is compiled.
 */
import v8 from 'node:v8';

const FLAG = '--no-node-snapshot';
const V8_SANDBOX_FLAGS = '--no-turboshaft-loop-unrolling';
let v8FlagsSet = false;

export function hasNoNodeSnapshotFlag(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env['NODE_OPTIONS'] ?? ''): boolean {
  return execArgv.includes(FLAG) || nodeOptions.split(/\s+/).includes(FLAG);
}

/** Throws when this process cannot host isolated-vm safely. */
export function assertSandboxRuntime(): void {
  if (!hasNoNodeSnapshotFlag()) {
    throw new Error(
      `The procedure sandbox (isolated-vm) needs Node started with ${FLAG}: run \`node ${FLAG} ...\`, ` +
        `or set NODE_OPTIONS=${FLAG} (npm scripts and the tokenproc launcher do this for you).`,
    );
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (!(major >= 24)) {
    throw new Error(`The procedure sandbox needs Node.js 24 or newer (isolated-vm 7); this is Node ${process.versions.node}.`);
  }
  if (!v8FlagsSet) {
    v8.setFlagsFromString(V8_SANDBOX_FLAGS);
    v8FlagsSet = true;
  }
}
