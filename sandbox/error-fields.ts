/**
 * Errors raised by isolated-vm are created in Node's main realm, so `instanceof Error` fails in any
 * other realm (jest, node:vm). Read them by shape instead.
 */
export interface ErrorFields {
  name: string;
  message: string;
  stack: string | undefined;
}

export function errorFields(value: unknown): ErrorFields | null {
  if (typeof value !== 'object' || value === null) return null;
  const { name, message, stack } = value as { name?: unknown; message?: unknown; stack?: unknown };
  if (typeof message !== 'string') return null;
  return { name: typeof name === 'string' ? name : 'Error', message, stack: typeof stack === 'string' ? stack : undefined };
}

/** A message for engine logs: the error's message, or a fixed text for anything else. */
export function errorMessage(value: unknown): string {
  return errorFields(value)?.message ?? 'non-Error value thrown';
}
