/*
 * Prelude module: deletes the globals that hand out power or watch the garbage collector, before
 * anything else is installed.
 */
/* global G -- intrinsics.js */

// Power the procedure must not have. isolated-vm isolates have no require/process/timers already.
// WeakRef and FinalizationRegistry would let a script observe garbage collection, which other
// requests' work drives: a timing side channel and a source of results that differ run to run.
const REMOVED_GLOBALS = ['WebAssembly', 'SharedArrayBuffer', 'Atomics', 'FinalizationRegistry', 'WeakRef'];
for (let i = 0; i < REMOVED_GLOBALS.length; i++) delete G[REMOVED_GLOBALS[i]];
