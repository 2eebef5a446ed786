// Public face of the state layer.
export { compareBytes, readTimestamp, writeTimestamp } from "./bytes.ts";
export { StateStoreError, type StateStoreErrorCode } from "./errors.ts";
export {
  InMemoryKeyValueStore,
  InMemorySessionStore,
  InMemoryWindowStore,
  inMemoryKeyValueStore,
  inMemorySessionStore,
  inMemoryWindowStore,
  type SessionStoreOptions,
  type WindowStoreOptions,
} from "./memory.ts";
export * from "./types.ts";
