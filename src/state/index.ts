// Public face of the state layer.
export { compareBytes, readTimestamp, writeTimestamp } from "./bytes.ts";
export { StateStoreError, type StateStoreErrorCode } from "./errors.ts";
export {
  parseSessionEntryKey,
  parseWindowEntryKey,
  sessionEntryKey,
  windowEntryKey,
} from "./layout.ts";
export { inMemoryKeyValueStore, inMemorySessionStore, inMemoryWindowStore } from "./memory.ts";
export {
  KeyValueStore,
  SessionStore,
  type SessionStoreOptions,
  WindowStore,
  type WindowStoreOptions,
} from "./stores.ts";
export * from "./types.ts";
