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
export { CHECKPOINT_FILE_NAME, readCheckpointFile, writeCheckpointFile } from "./checkpoint.ts";
export {
  type FlushOptions,
  LmdbEnvironment,
  type LmdbEnvironmentOptions,
  LmdbKeyValueStore,
  LmdbSessionStore,
  LmdbWindowStore,
  lmdbKeyValueStore,
  lmdbSessionStore,
  lmdbWindowStore,
} from "./lmdb.ts";
export type { ChangelogRecord, EntryLoggedWindowStore, StoreBackend } from "./stores.ts";
export { MemoryWindowStore } from "./memory-window.ts";
export {
  type CacheFlushListener,
  CacheNamespace,
  CachingKeyValueStore,
  CachingWindowStore,
  type DirtyEntry,
  RecordCache,
  type RecordCacheStats,
} from "./cache.ts";
export {
  ChangeLoggingKeyValueStore,
  ChangeLoggingSessionStore,
  ChangeLoggingWindowStore,
  type ChangeLogger,
  changelogTopicName,
} from "./changelog.ts";
export { StateDirectory, TaskState } from "./state-directory.ts";
export { LmdbMirroredWindowStore, lmdbMirroredWindowStore } from "./lmdb-mirrored-window.ts";
