/**
 * The local runner's contract as the authoring tools use it. `run` and `test` never reimplement the
 * pipeline: they hand a LocalRunInput to server/runtime/local-runner.ts (or, in unit tests, to a
 * function with the same signature).
 */
import type { LocalRunInput, LocalRunResult } from '../../runtime/local-runner.ts';

export type { LocalRunInput, LocalRunResult };

export type IssuedToken = LocalRunResult['issued'][number];

export type RunLocally = (input: LocalRunInput) => Promise<LocalRunResult>;
