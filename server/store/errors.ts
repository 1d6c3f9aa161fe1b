/**
 * Refusals a store raises inside its write transaction (so the check and the write cannot race
 * across instances). The admin API answers them with 409.
 */
export type StoreConflictCode = 'procedure_in_use' | 'procedure_flow_mismatch' | 'procedure_missing';

export class StoreConflictError extends Error {
  readonly code: StoreConflictCode;
  /** For procedure_in_use: the client ids that still name the procedure. */
  readonly clientIds: readonly string[];

  constructor(code: StoreConflictCode, message: string, clientIds: readonly string[] = []) {
    super(message);
    this.name = 'StoreConflictError';
    this.code = code;
    this.clientIds = clientIds;
  }
}

export function isStoreConflictError(err: unknown): err is StoreConflictError {
  return err instanceof StoreConflictError;
}

/**
 * The store cannot be reached in time (no connection, a connection lost, a query past its
 * timeout). Endpoints answer 503 (`temporarily_unavailable` at the token endpoint): a request that
 * could not be checked is not a refusal.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

export function isStoreUnavailableError(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}
