/**
 * isolated-vm on Node 20+ crashes or misbehaves when Node starts from its built-in startup snapshot,
 * so the server and the engine refuse to run without `--no-node-snapshot`.
 */
const FLAG = '--no-node-snapshot';

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
}
