// Errors of the state layer. Each has a `code` so callers can branch without string matching.
export type StateStoreErrorCode =
  | "STORE_CLOSED"
  | "STORE_INVALID_ARGUMENT"
  | "STORE_IO"
  | "STORE_CHECKPOINT_CORRUPT"
  | "STORE_RESTORE";

export class StateStoreError extends Error {
  readonly code: StateStoreErrorCode;
  readonly store: string;
  constructor(code: StateStoreErrorCode, store: string, message: string, options?: { cause?: unknown }) {
    super(`state store '${store}': ${message}`, options);
    this.name = "StateStoreError";
    this.code = code;
    this.store = store;
  }
}
