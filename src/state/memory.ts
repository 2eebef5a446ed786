// In-memory stores: the same semantics and orderings as the lmdb stores, without durability.
// Used for `persistent: false` stores and by the test driver.
import { defaultSegmentIntervalMs } from "./layout.ts";
import { MemoryOrderedBytes, MemorySegmentSet } from "./ordered.ts";
import {
  KeyValueStore,
  memoryBackend,
  SessionStore,
  type SessionStoreOptions,
  type WindowStoreOptions,
} from "./stores.ts";
import { MemoryWindowStore } from "./memory-window.ts";

export function inMemoryKeyValueStore(name: string): KeyValueStore {
  return new KeyValueStore(name, new MemoryOrderedBytes(), memoryBackend());
}

export function inMemoryWindowStore(name: string, options: WindowStoreOptions): MemoryWindowStore {
  return new MemoryWindowStore(name, options);
}

export function inMemorySessionStore(name: string, options: SessionStoreOptions): SessionStore {
  return new SessionStore(
    name,
    options,
    new MemorySegmentSet(options.segmentIntervalMs ?? defaultSegmentIntervalMs(options.retentionMs)),
    memoryBackend(),
  );
}
