// In-memory stores: the same semantics and orderings as the lmdb stores, without durability.
// Used for `persistent: false` stores and by the test driver.
import { defaultSegmentIntervalMs } from "./layout.ts";
import { MemoryOrderedBytes, MemorySegmentSet } from "./ordered.ts";
import {
  KeyValueStore,
  memoryBackend,
  SessionStore,
  type SessionStoreOptions,
  WindowStore,
  type WindowStoreOptions,
} from "./stores.ts";

export function inMemoryKeyValueStore(name: string): KeyValueStore {
  return new KeyValueStore(name, new MemoryOrderedBytes(), memoryBackend());
}

export function inMemoryWindowStore(name: string, options: WindowStoreOptions): WindowStore {
  return new WindowStore(
    name,
    options,
    new MemorySegmentSet(options.segmentIntervalMs ?? defaultSegmentIntervalMs(options.retentionMs)),
    memoryBackend(),
  );
}

export function inMemorySessionStore(name: string, options: SessionStoreOptions): SessionStore {
  return new SessionStore(
    name,
    options,
    new MemorySegmentSet(options.segmentIntervalMs ?? defaultSegmentIntervalMs(options.retentionMs)),
    memoryBackend(),
  );
}
