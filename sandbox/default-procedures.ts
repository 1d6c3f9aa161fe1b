/**
 * The built-in default procedures (procedures/defaults/<flow>.js): what a client runs for a flow it
 * names no procedure for. They are plain procedure files, run by the same engine as any other.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FlowId } from './protocol.ts';
import type { ProcedureRef } from './types.ts';

/** Procedure ids of the defaults; admin-defined ids cannot collide because of the prefix. */
export const DEFAULT_PROCEDURE_ID_PREFIX = 'tokenproc-default:';

export function defaultProcedurePath(flow: FlowId): string {
  return fileURLToPath(new URL(`../procedures/defaults/${flow}.js`, import.meta.url));
}

const cache = new Map<FlowId, ProcedureRef>();

/** The default procedure of a flow, read once per process. */
export function loadDefaultProcedure(flow: FlowId): ProcedureRef {
  let procedure = cache.get(flow);
  if (procedure === undefined) {
    const source = readFileSync(defaultProcedurePath(flow), 'utf8');
    procedure = Object.freeze({
      id: `${DEFAULT_PROCEDURE_ID_PREFIX}${flow}`,
      source,
      sha256: createHash('sha256').update(source).digest('hex'),
      filename: `${flow}.js`,
    });
    cache.set(flow, procedure);
  }
  return procedure;
}
