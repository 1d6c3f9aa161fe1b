/*
 * Prelude module: secondsUntil, and the Curity globals (logger, exceptionFactory, secondsUntil) and
 * console installed on the global object.
 */
/* global mathRound, NumberCtor, dateNow, defineProperty, G -- intrinsics.js */
/* global call -- helpers.js */
/* global exceptionFactory -- exceptions.js */
/* global logger, consoleLike -- logger.js */

/** Seconds from now until `epochSeconds`, rounded; negative once that moment has passed. */
function secondsUntil(epochSeconds) {
  return mathRound(NumberCtor(epochSeconds) - call(dateNow, Date, []) / 1000);
}

defineProperty(G, 'logger', { value: logger, writable: false, enumerable: false, configurable: false });
defineProperty(G, 'exceptionFactory', { value: exceptionFactory, writable: false, enumerable: false, configurable: false });
defineProperty(G, 'secondsUntil', { value: secondsUntil, writable: false, enumerable: false, configurable: false });
defineProperty(G, 'console', { value: consoleLike, writable: true, enumerable: false, configurable: true });
