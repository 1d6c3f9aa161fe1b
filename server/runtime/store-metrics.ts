/**
 * The store as the rest of the server sees it, with every operation timed into
 * `tokenproc_store_operation_duration_seconds{operation, outcome}`: how long the database takes,
 * and how often it cannot serve, per operation, without touching the store's own code.
 */
import type { ServerMetrics } from '../metrics.ts';
import { isStoreUnavailableError } from '../store/errors.ts';
import type { Store } from '../store/types.ts';
import { failSpan, startChildSpan } from '../observability/tracing.ts';

export function withStoreMetrics<S extends Store>(store: S, metrics: Pick<ServerMetrics, 'storeOperationDuration'>): S {
  const timed = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const known = timed.get(property);
      if (known !== undefined) return known;
      const method = value as (...args: unknown[]) => unknown;
      const wrapper = (...args: unknown[]): unknown => {
        const started = performance.now();
        // A span per operation inside a traced request (null when tracing is off or outside one).
        const span = startChildSpan(`store.${property}`, { 'db.operation.name': property });
        let result: unknown;
        try {
          result = method.apply(target, args);
        } catch (error) {
          if (span) {
            failSpan(span, error);
            span.end();
          }
          throw error;
        }
        if (!(result instanceof Promise)) {
          span?.end();
          return result;
        }
        const observe = (outcome: string) => {
          metrics.storeOperationDuration.observe({ operation: property, outcome }, (performance.now() - started) / 1000);
          if (span) {
            span.setAttribute('tokenproc.store.outcome', outcome);
            span.end();
          }
        };
        return result.then(
          (resolved: unknown) => {
            observe('ok');
            return resolved;
          },
          (error: unknown) => {
            if (span) failSpan(span, error);
            observe(isStoreUnavailableError(error) ? 'unavailable' : 'error');
            throw error;
          },
        );
      };
      timed.set(property, wrapper);
      return wrapper;
    },
  });
}
