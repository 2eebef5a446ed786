// Persistent stores on lmdb.
//
// One LmdbEnvironment is one lmdb file (directory) holding many named databases: a key-value
// store is one database named after the store; a window or session store is one database per
// time segment, named `<store>#<segmentId>`, so expiry drops a whole segment (mdb_drop)
// instead of deleting entries one by one. A `__courant_meta` database holds each store's
// checkpoint (next changelog offset) and observed stream time.
//
// Writes are buffered in memory (a WriteBuffer per database: bytes in an arena, read through by
// gets and range scans) and applied at flush() in ONE lmdb write transaction for every store
// of the environment, then fsynced once: durability at commit, and lmdb sees one large
// transaction instead of one per put (~10x faster, measured in bench/state.ts). If the
// runtime flushes after its Kafka transaction commits, the local store never holds
// uncommitted writes, so exactly-once needs no wipe-and-restore after a crash: restore the
// changelog tail from the checkpoint. A buffer over `maxBufferedEntries` spills to lmdb
// early and marks the environment "dirty" until the next flush; after a crash while dirty,
// `needsFullRestore` tells the runtime to wipe and restore from the start.
import { bytesToKeyString, copyBytesPooled } from "./bytes.ts";
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Database, open, type RootDatabase } from "lmdb";
import { CHECKPOINT_FILE_NAME, writeCheckpointFile } from "./checkpoint.ts";
import { StateStoreError } from "./errors.ts";
import { defaultSegmentIntervalMs } from "./layout.ts";
import type { OrderedBytes, SegmentSet } from "./ordered.ts";
import {
  KeyValueStore,
  SessionStore,
  type SessionStoreOptions,
  type StoreBackend,
  WindowStore,
  type WindowStoreOptions,
} from "./stores.ts";
import type { Bytes, KeyValue } from "./types.ts";
import { WriteBuffer } from "./write-buffer.ts";

const META_DB = "__courant_meta";
const MAX_KEY_BYTES = 1978; // lmdb's compiled maximum
const PREFIX_START = new Uint8Array([0]);
const PREFIX_END = new Uint8Array([1]);
/** Bound of LmdbOrderedBytes.absent (an optimisation only: forgetting keys is always safe). */
const MAX_ABSENT_KEYS = 100_000;

export interface LmdbEnvironmentOptions {
  /** Virtual address space reserved for the map (sparse on disk). Default 64 GiB. */
  readonly mapSizeBytes?: number;
  /** Named databases (stores + live segments) the environment can hold. Default 2000. */
  readonly maxDbs?: number;
  /** Buffered writes across all stores before an early spill to lmdb. Default 500,000. */
  readonly maxBufferedEntries?: number;
  /**
   * Also mirror the offsets to `<dir>/.checkpoint` (JSON, atomically renamed, fsynced) at each
   * flush that changes them. Default false: the offsets already commit in the same lmdb
   * transaction as the data, which is what restore reads; the mirror cost an open + write +
   * fsync + rename per commit (about a third of the commit's CPU). With the default, a stale
   * mirror left by an older version is deleted at open so no tool trusts it.
   */
  readonly checkpointFile?: boolean;
}

/**
 * lmdb-js passes a value to lmdb by address: it computes the address of the value's ArrayBuffer
 * with a native call and caches it as a new property of that ArrayBuffer, and reading `.buffer`
 * of an array of up to 64 bytes first moves it off the V8 heap (a backing store of its own). Per
 * buffered value that costs more than the write. Inside a write transaction lmdb copies a value
 * at once, so values are copied into one staging buffer instead, passed with `start`/`end` (which
 * lmdb-js reads as the value's range): its address is computed once.
 */
const STAGING_BYTES = 64 * 1024;
const staging = new Uint8Array(STAGING_BYTES) as Uint8Array & { start: number; end: number };
staging.start = 0;
staging.end = 0;

function staged(value: Uint8Array): Buffer {
  const n = value.byteLength;
  if (n > STAGING_BYTES) return value as Buffer;
  staging.set(value, 0);
  staging.end = n;
  return staging as unknown as Buffer;
}

/** One named lmdb database with a write buffer in front. */
export class LmdbOrderedBytes implements OrderedBytes {
  readonly dbName: string;
  private readonly env: LmdbEnvironment;
  readonly db: Database<Buffer, Buffer>;
  /** Key-value stores prefix keys with 0x00: lmdb forbids the empty key. */
  private readonly prefixed: boolean;
  private readonly pending = new WriteBuffer();
  /**
   * Write-behind log for stores that never read this database back before a flush (the
   * memory-mirrored window store): appended in write order, applied before `pending`.
   */
  private behind: { key: Uint8Array; value: Uint8Array | null }[] = [];
  /**
   * Keys (latin1 strings) that a read found neither buffered nor in lmdb, and that lmdb has not
   * received since (cleared when buffered writes are applied). Deleting one drops its buffered
   * put instead of buffering a tombstone: a key put and deleted between two flushes (a join
   * buffer entry, a pending request) costs lmdb nothing.
   */
  private absent = new Set<string>();

  /** Buffers a write that reads of this database will NOT see until flushed (see `behind`). */
  putBehind(key: Uint8Array, value: Uint8Array | null): void {
    if (this.env.inTransaction) {
      this.writeDirect(key, value);
      return;
    }
    this.checkSize(key);
    if (this.absent.size > 0) this.absent.delete(bytesToKeyString(key));
    this.behind.push({ key, value });
    this.env.noteBuffered();
  }

  get bufferedCount(): number {
    return this.pending.size + this.behind.length;
  }

  discardBuffered(): void {
    this.pending.clear();
    this.behind = [];
    this.absent.clear();
  }

  constructor(env: LmdbEnvironment, dbName: string, db: Database<Buffer, Buffer>, prefixed: boolean) {
    this.env = env;
    this.dbName = dbName;
    this.db = db;
    this.prefixed = prefixed;
  }

  private checkSize(key: Bytes): void {
    const max = MAX_KEY_BYTES - (this.prefixed ? 1 : 0);
    if (key.byteLength > max) {
      throw new StateStoreError(
        "STORE_INVALID_ARGUMENT",
        this.dbName,
        `key of ${key.byteLength} bytes exceeds lmdb's limit of ${max} bytes`,
      );
    }
  }

  private encode(key: Bytes): Uint8Array {
    this.checkSize(key);
    if (!this.prefixed) return key; // lmdb copies key bytes; Uint8Array needs no Buffer wrapper
    const out = new Uint8Array(key.byteLength + 1);
    out.set(key, 1);
    return out;
  }

  private decodeKey(k: Uint8Array): Uint8Array {
    return this.prefixed ? k.subarray(1) : k;
  }

  get(key: Bytes): Bytes | undefined {
    if (this.pending.size > 0) {
      const p = this.pending.get(key);
      if (p !== undefined) return p === null ? undefined : p;
    }
    // lmdb's get copies into a Buffer of its own (an off-heap allocation for values over 64
    // bytes); its fast read returns a shared buffer, valid until the next read, copied here.
    const shared = this.db.getBinaryFast(this.lookupKey(key) as Buffer);
    const v =
      shared === undefined
        ? undefined
        : copyBytesPooled(shared, (this.db as unknown as { lastSize: number }).lastSize);
    if (v === undefined && this.absent.size < MAX_ABSENT_KEYS) this.absent.add(bytesToKeyString(key));
    return v;
  }

  private scratch = new Uint8Array(64);
  /** Views of `scratch` by length: a store's keys come in few lengths, so views are reused. */
  private scratchViews: Uint8Array[] = [];

  /**
   * Encoded key for a read or a write inside a write transaction: lmdb copies it at once, so a
   * reused scratch buffer avoids an allocation.
   */
  private lookupKey(key: Bytes): Uint8Array {
    if (!this.prefixed) return key;
    this.checkSize(key);
    const n = key.byteLength + 1;
    if (this.scratch.length < n) {
      this.scratch = new Uint8Array(n * 2);
      this.scratchViews = [];
    }
    this.scratch.set(key, 1);
    return (this.scratchViews[n] ??= this.scratch.subarray(0, n));
  }

  /** Buffers a write (the buffer copies key and value: ownership does not matter here). */
  put(key: Bytes, value: Bytes | null, _keyOwned = false, _valueOwned = false): void {
    if (this.env.inTransaction) {
      this.writeDirect(key, value);
      return;
    }
    this.checkSize(key); // now rather than at flush
    if (value === null && this.absent.size > 0 && this.absent.has(bytesToKeyString(key))) {
      // In neither lmdb nor (now) the buffer. The buffered put it drops was counted: uncounted,
      // or the environment's count grew by one per such pair and, past the streams runtime's
      // threshold, made its thread flush at every commit (the correlation app, within seconds).
      if (this.pending.remove(key)) this.env.forgetBuffered();
      return;
    }
    if (this.pending.set(key, value)) this.env.noteBuffered();
  }

  /**
   * With `limit`, a forward scan stops reading lmdb once it has `limit` entries (the buffered
   * writes in the range are still all looked at: they are what came since the last flush). A
   * reverse scan with a limit reads the whole range (nothing needs it bounded).
   */
  range(
    from: Bytes | undefined,
    to: Bytes | undefined,
    reverse: boolean,
    limit = Number.POSITIVE_INFINITY,
  ): KeyValue<Bytes, Bytes>[] {
    // The buffered writes in range, sorted for the merge below, without keeping an order of the
    // buffer for later scans (every write until the flush would pay for it).
    const buffered = this.pending.range(from, to);
    const start = from === undefined ? (this.prefixed ? PREFIX_START : undefined) : this.encode(from);
    const end = to === undefined ? (this.prefixed ? PREFIX_END : undefined) : this.encode(to);
    const out: KeyValue<Bytes, Bytes>[] = [];
    if (from !== undefined && to !== undefined && Buffer.compare(from, to) > 0) return out;
    const max = reverse ? Number.POSITIVE_INFINITY : limit;
    if (max <= 0) return out;
    let i = 0;
    for (const e of this.db.getRange({
      start: start as Buffer | undefined,
      end: end as Buffer | undefined,
      inclusiveEnd: to !== undefined,
    })) {
      const k = this.decodeKey(e.key);
      while (i < buffered.length && Buffer.compare(buffered[i]!.key, k) < 0) {
        const b = buffered[i++]!;
        if (b.value !== null) out.push({ key: b.key, value: b.value });
      }
      if (i < buffered.length && Buffer.compare(buffered[i]!.key, k) === 0) {
        const b = buffered[i++]!;
        if (b.value !== null) out.push({ key: b.key, value: b.value });
      } else {
        out.push({ key: k, value: e.value });
      }
      if (out.length >= max) break;
    }
    for (; i < buffered.length && out.length < max; i++) {
      const b = buffered[i]!;
      if (b.value !== null) out.push({ key: b.key, value: b.value });
    }
    if (out.length > max) out.length = max;
    if (!reverse) return out;
    out.reverse();
    if (out.length > limit) out.length = limit;
    return out;
  }

  /** Committed entries adjusted by the buffered inserts and deletes (costs one lookup per buffered key). */
  size(): number {
    let n = this.db.getKeysCount();
    this.pending.forEach((key, value) => {
      const exists = this.db.doesExist(this.encode(key) as Buffer);
      if (value === null && exists) n--;
      else if (value !== null && !exists) n++;
    });
    return n;
  }

  clear(): void {
    this.discardBuffered();
    this.db.clearSync();
  }

  /** Applies buffered writes; call inside an lmdb write transaction. */
  applyBuffered(meanwhile?: () => void): number {
    this.absent.clear();
    const n = this.pending.size + this.behind.length;
    if (n === 0) return 0;
    let i = 0;
    // lmdb copies a key into its write instruction at once: the read scratch buffer serves.
    for (const e of this.behind) {
      const k = this.lookupKey(e.key) as Buffer;
      if (e.value === null) this.db.removeSync(k);
      else this.db.putSync(k, staged(e.value));
      if (++i % MEANWHILE_EVERY === 0) meanwhile?.();
    }
    this.behind = [];
    // In write order, not key order: the final state is the same (one entry per key), and sorting
    // the buffer at every flush (tens of thousands of keys) cost more than lmdb gains from sorted
    // puts (the coupons app's flushes: 7.8-8.0 -> 6.0-6.5 % of its thread).
    this.pending.forEach((key, value) => {
      const k = this.lookupKey(key) as Buffer;
      if (value === null) this.db.removeSync(k);
      else this.db.putSync(k, staged(value));
      if (++i % MEANWHILE_EVERY === 0) meanwhile?.();
    });
    this.pending.clear();
    return n;
  }

  /** Writes straight to lmdb (restore); call inside an lmdb write transaction. */
  writeDirect(key: Bytes, value: Bytes | null): void {
    this.pending.remove(key);
    if (this.absent.size > 0) this.absent.delete(bytesToKeyString(key));
    const k = this.encode(key) as Buffer;
    if (value === null) this.db.removeSync(k);
    else this.db.putSync(k, value as Buffer);
  }
}

const LMDB_MAGIC = 0xbeefc0de;
const P_META = 0x08;

/**
 * lmdb trusts its file: garbage in the meta page can crash the process inside the native
 * code, so the header is checked first. (Damage deeper in the B-tree is not detected: the
 * local state is a cache of the changelogs; wipe it and restore.)
 */
function checkDataFile(dir: string): void {
  const file = join(dir, "data.mdb");
  if (!existsSync(file)) return;
  const size = statSync(file).size;
  if (size === 0) return;
  const head = Buffer.alloc(32);
  const fd = openSync(file, "r");
  let n: number;
  try {
    n = readSync(fd, head, 0, 32, 0);
  } finally {
    closeSync(fd);
  }
  const fail = (why: string) => {
    throw new StateStoreError(
      "STORE_IO",
      dir,
      `${file} is not a valid lmdb file (${why}); delete the directory to rebuild the state from its changelogs`,
    );
  };
  if (n < 32) fail(`${size} bytes, shorter than a meta page header`);
  if ((head.readUInt16LE(18) & P_META) === 0) fail("page 0 is not a meta page (flags at byte 18)");
  const magic = head.readUInt32LE(24);
  if (magic !== LMDB_MAGIC)
    fail(`magic 0x${magic.toString(16)} at byte 24, expected 0x${LMDB_MAGIC.toString(16)}`);
}

export interface FlushOptions {
  /**
   * false: return once the transaction is committed, with the fsync still running on lmdb's
   * thread (the next flush throws if it failed; close waits for it). Safe against a killed
   * process, whose committed transactions the OS still writes; a machine crash may lose the
   * last flushes, which the changelogs restore. Default true.
   */
  readonly waitForSync?: boolean;
  /**
   * Called every few hundred writes while the transaction is applied (a flush is one synchronous
   * block of several ms): the streams runtime answers waiting worker threads' broker calls there.
   * It must not use this environment.
   */
  readonly meanwhile?: () => void;
}

/** Writes applied between two calls of FlushOptions.meanwhile. */
const MEANWHILE_EVERY = 256;

export class LmdbEnvironment {
  readonly path: string;
  private readonly root: RootDatabase;
  private readonly meta: Database<number | boolean, string>;
  private readonly databases = new Map<string, LmdbOrderedBytes>();
  private readonly pendingMeta = new Map<string, number>();
  private readonly maxBufferedEntries: number;
  private readonly writeCheckpoint: boolean;
  private buffered = 0;
  private closed = false;
  /** Inside transact(): store writes go straight to lmdb instead of the buffer. */
  inTransaction = false;
  /** True when the last session crashed after spilling unflushed writes (see file comment). */
  readonly needsFullRestore: boolean;

  private constructor(path: string, options: LmdbEnvironmentOptions) {
    this.path = path;
    this.maxBufferedEntries = options.maxBufferedEntries ?? 500_000;
    this.writeCheckpoint = options.checkpointFile ?? false;
    mkdirSync(path, { recursive: true });
    checkDataFile(path);
    try {
      this.root = open({
        path,
        noSync: true, // fsync only at flush (env.sync)
        maxDbs: options.maxDbs ?? 2000,
        mapSize: options.mapSizeBytes ?? 64 * 2 ** 30,
      });
    } catch (e) {
      throw new StateStoreError("STORE_IO", path, `cannot open lmdb environment: ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.meta = this.root.openDB<number | boolean, string>(META_DB, { encoding: "json" });
    this.needsFullRestore = this.meta.get("dirty") === true;
    this.dirtyOnDisk = this.needsFullRestore;
    if (!this.writeCheckpoint) rmSync(join(path, CHECKPOINT_FILE_NAME), { force: true });
  }

  /** The `dirty` meta flag is set in lmdb (a spill since the last flush): the next flush clears it. */
  private dirtyOnDisk: boolean;
  /** Databases whose writes a spill put in lmdb before their owner's flush (see flush's `scope`). */
  private readonly spilled = new Set<string>();

  static open(path: string, options: LmdbEnvironmentOptions = {}): LmdbEnvironment {
    return new LmdbEnvironment(path, options);
  }

  private checkOpen(): void {
    if (this.closed) throw new StateStoreError("STORE_CLOSED", this.path, "lmdb environment is closed");
  }

  /** The named database, opened (and created) on first use. */
  database(name: string, prefixed: boolean): LmdbOrderedBytes {
    this.checkOpen();
    let d = this.databases.get(name);
    if (d === undefined) {
      let db: Database<Buffer, Buffer>;
      try {
        db = this.root.openDB<Buffer, Buffer>(name, { keyEncoding: "binary", encoding: "binary" });
      } catch (e) {
        throw new StateStoreError(
          "STORE_IO",
          name,
          `cannot open lmdb database in ${this.path}: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      }
      d = new LmdbOrderedBytes(this, name, db, prefixed);
      this.databases.set(name, d);
    }
    return d;
  }

  /** Names of the named databases starting with `prefix` (committed ones and open ones). */
  databaseNames(prefix: string): string[] {
    this.checkOpen();
    const names = new Set<string>();
    for (const k of this.root.getKeys({})) {
      if (typeof k === "string" && k.startsWith(prefix) && k !== META_DB) names.add(k);
    }
    for (const k of this.databases.keys()) if (k.startsWith(prefix)) names.add(k);
    return [...names];
  }

  dropDatabase(name: string): void {
    this.checkOpen();
    const d = this.databases.get(name) ?? this.database(name, false);
    this.buffered -= d.bufferedCount;
    d.discardBuffered();
    d.db.dropSync();
    this.databases.delete(name);
    this.spilled.delete(name);
  }

  /** Drops every database whose name starts with `prefix`, and their checkpoints and stream times. */
  dropDatabases(prefix: string): void {
    for (const n of this.databaseNames(prefix)) this.dropDatabase(n);
    const metaKeys: string[] = [];
    for (const k of this.meta.getKeys({})) {
      if (typeof k !== "string") continue;
      const colon = k.indexOf(":");
      if (colon > 0 && k.slice(colon + 1).startsWith(prefix)) metaKeys.push(k);
    }
    for (const k of [...this.pendingMeta.keys()]) {
      if (k.slice(k.indexOf(":") + 1).startsWith(prefix)) this.pendingMeta.delete(k);
    }
    if (metaKeys.length > 0) {
      this.transact(() => {
        for (const k of metaKeys) this.meta.removeSync(k);
      });
    }
  }

  getMeta(key: string): number | undefined {
    const p = this.pendingMeta.get(key);
    if (p !== undefined) return p;
    const v = this.meta.get(key);
    return typeof v === "number" ? v : undefined;
  }

  setMeta(key: string, value: number): void {
    this.pendingMeta.set(key, value);
  }

  noteBuffered(): void {
    if (++this.buffered >= this.maxBufferedEntries) this.spill();
  }

  /** A buffered write counted by noteBuffered was dropped before any flush. */
  forgetBuffered(): void {
    if (this.buffered > 0) this.buffered--;
  }

  /** Bounded memory: writes unflushed data to lmdb, flagged dirty until the next flush. */
  private spill(): void {
    this.root.transactionSync(() => {
      this.meta.putSync("dirty", true);
      for (const d of this.databases.values()) if (d.applyBuffered() > 0) this.spilled.add(d.dbName);
    });
    this.dirtyOnDisk = true;
    this.buffered = 0;
  }

  /** Runs `fn` in one lmdb write transaction (restore batches). */
  transact<T>(fn: () => T): T {
    this.checkOpen();
    if (this.inTransaction) return fn();
    this.inTransaction = true;
    try {
      return this.root.transactionSync(fn);
    } finally {
      this.inTransaction = false;
    }
  }

  /** Writes buffered in memory (all stores), not yet flushed or spilled. */
  get bufferedEntries(): number {
    return this.buffered;
  }

  /**
   * Commits buffered writes and the given checkpoints (store -> next changelog offset) in one
   * lmdb transaction and fsyncs (then mirrors the checkpoints to `.checkpoint` when the
   * `checkpointFile` option asks for it). `scope` (database name prefixes, e.g. `"0_1."`)
   * limits the flush to those stores' writes and stream times: a stream thread commits only its
   * own tasks, never another thread's writes of a transaction that is still open. The
   * checkpoints given are written whatever the scope.
   */
  async flush(
    checkpoints?: ReadonlyMap<string, number>,
    scope?: readonly string[],
    options: FlushOptions = {},
  ): Promise<void> {
    this.checkOpen();
    this.throwSyncFailure();
    const inScope = (name: string) => scope === undefined || scope.some((p) => name.startsWith(p));
    const meta: [string, number][] = [];
    for (const [k, v] of this.pendingMeta) {
      if (inScope(k.slice(k.indexOf(":") + 1))) meta.push([k, v]);
    }
    for (const [k] of meta) this.pendingMeta.delete(k);
    if (checkpoints !== undefined) for (const [s, o] of checkpoints) meta.push([`offset:${s}`, o]);
    if (scope === undefined) this.spilled.clear();
    else for (const n of [...this.spilled]) if (inScope(n)) this.spilled.delete(n);
    const clean = this.dirtyOnDisk && this.spilled.size === 0;
    let applied = 0;
    this.root.transactionSync(() => {
      for (const d of this.databases.values())
        if (inScope(d.dbName)) applied += d.applyBuffered(options.meanwhile);
      for (const [k, v] of meta) this.meta.putSync(k, v);
      if (clean) this.meta.removeSync("dirty");
    });
    if (clean) this.dirtyOnDisk = false;
    this.buffered = scope === undefined ? 0 : Math.max(0, this.buffered - applied);
    const synced = this.synced(++this.committedGeneration).then(() => {
      if (this.writeCheckpoint && meta.some(([k]) => k.startsWith("offset:")) && !this.closed) {
        writeCheckpointFile(join(this.path, CHECKPOINT_FILE_NAME), this.checkpoints());
      }
    });
    if (options.waitForSync === false) {
      // Remembered, thrown by the next flush (the failure is not lost).
      synced.catch((e: unknown) => {
        this.syncFailure ??= e;
      });
      return;
    }
    await synced;
  }

  /** Transactions committed by flush(); the ones fsynced so far; an fsync is running. */
  private committedGeneration = 0;
  private syncedGeneration = 0;
  private syncRunning = false;
  private syncWaiters: { generation: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private syncFailure: unknown;

  private throwSyncFailure(): void {
    if (this.syncFailure !== undefined) throw this.syncFailure;
  }

  /**
   * Resolves once transaction `generation` is on disk. One fsync at a time, and one fsync covers
   * every transaction committed before it starts: flushes that come while one runs share the next.
   */
  private synced(generation: number): Promise<void> {
    if (this.syncedGeneration >= generation) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.syncWaiters.push({ generation, resolve, reject }));
    this.startSync();
    return p;
  }

  private startSync(): void {
    if (this.syncRunning || this.syncWaiters.length === 0) return;
    this.syncRunning = true;
    const target = this.committedGeneration;
    const root = this.root as unknown as { sync(cb: (err: unknown) => void): void };
    root.sync((err: unknown) => {
      this.syncRunning = false;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      if (err) {
        const e = new StateStoreError("STORE_IO", this.path, `fsync failed: ${String(err)}`, { cause: err });
        this.syncFailure ??= e;
        for (const w of waiters) w.reject(e);
        return;
      }
      this.syncedGeneration = target;
      for (const w of waiters) {
        if (w.generation <= target) w.resolve();
        else this.syncWaiters.push(w);
      }
      this.startSync();
    });
  }

  /** Resolves when every flushed transaction is on disk (close waits for it). */
  private async allSynced(): Promise<void> {
    try {
      await this.synced(this.committedGeneration);
    } catch {
      // closing anyway: the failure was reported to the flush that asked for it
    }
  }

  /** Store -> next changelog offset to restore from, as of the last flush or restore batch. */
  checkpoints(): Map<string, number> {
    const out = new Map<string, number>();
    for (const { key, value } of this.meta.getRange({ start: "offset:", end: "offset;" })) {
      if (typeof value === "number") out.set(key.slice("offset:".length), value);
    }
    return out;
  }

  checkpoint(store: string): number | undefined {
    const v = this.meta.get(`offset:${store}`);
    return typeof v === "number" ? v : undefined;
  }

  /** Records a checkpoint inside the current transaction (restore). */
  writeCheckpointInTxn(store: string, nextOffset: number): void {
    this.meta.putSync(`offset:${store}`, nextOffset);
  }

  /** Closes without flushing: unflushed writes are lost, as after a crash. */
  async close(): Promise<void> {
    if (this.closed) return;
    // An fsync still running on lmdb's thread must end before the environment is closed.
    await this.allSynced();
    if (this.closed) return;
    this.closed = true;
    this.databases.clear();
    await this.root.close();
  }

  /** Closes and deletes the environment's files (task migrated away, application reset). */
  async destroy(): Promise<void> {
    await this.close();
    rmSync(this.path, { recursive: true, force: true });
  }
}

function backendFor(env: LmdbEnvironment, name: string): StoreBackend {
  return {
    persistent: true,
    flush: () => env.flush(),
    close() {},
    loadStreamTime: () => env.getMeta(`streamTime:${name}`),
    saveStreamTime: (t) => {
      if (Number.isFinite(t)) env.setMeta(`streamTime:${name}`, t);
    },
    restore: (fn, nextOffset) =>
      env.transact(() => {
        fn();
        if (nextOffset !== undefined) env.writeCheckpointInTxn(name, nextOffset);
      }),
    checkpoint: () => env.checkpoint(name),
  };
}

export class LmdbSegmentSet implements SegmentSet {
  readonly intervalMs: number;
  private readonly env: LmdbEnvironment;
  private readonly store: string;
  private readonly segments = new Map<number, LmdbOrderedBytes>();
  private sortedIds: number[] | undefined;

  constructor(env: LmdbEnvironment, store: string, intervalMs: number) {
    this.env = env;
    this.store = store;
    this.intervalMs = intervalMs;
    for (const n of env.databaseNames(`${store}#`)) {
      const id = Number(n.slice(store.length + 1));
      if (Number.isSafeInteger(id)) this.segments.set(id, env.database(n, false));
    }
  }

  get(id: number, create: boolean): OrderedBytes | undefined {
    let s = this.segments.get(id);
    if (s === undefined && create) {
      s = this.env.database(`${this.store}#${id}`, false);
      this.segments.set(id, s);
      this.sortedIds = undefined;
    }
    return s;
  }

  ids(): number[] {
    if (this.sortedIds === undefined) this.sortedIds = [...this.segments.keys()].sort((a, b) => a - b);
    return this.sortedIds;
  }

  drop(id: number): void {
    const s = this.segments.get(id);
    if (s === undefined) return;
    this.env.dropDatabase(s.dbName);
    this.segments.delete(id);
    this.sortedIds = undefined;
  }

  dropAll(): void {
    for (const id of [...this.segments.keys()]) this.drop(id);
  }
}

export class LmdbKeyValueStore extends KeyValueStore {
  readonly env: LmdbEnvironment;
  constructor(env: LmdbEnvironment, name: string) {
    super(name, env.database(name, true), backendFor(env, name));
    this.env = env;
  }
}

export class LmdbWindowStore extends WindowStore {
  readonly env: LmdbEnvironment;
  constructor(env: LmdbEnvironment, name: string, options: WindowStoreOptions) {
    super(
      name,
      options,
      new LmdbSegmentSet(
        env,
        name,
        options.segmentIntervalMs ?? defaultSegmentIntervalMs(options.retentionMs),
      ),
      backendFor(env, name),
    );
    this.env = env;
  }
}

export class LmdbSessionStore extends SessionStore {
  readonly env: LmdbEnvironment;
  constructor(env: LmdbEnvironment, name: string, options: SessionStoreOptions) {
    super(
      name,
      options,
      new LmdbSegmentSet(
        env,
        name,
        options.segmentIntervalMs ?? defaultSegmentIntervalMs(options.retentionMs),
      ),
      backendFor(env, name),
    );
    this.env = env;
  }
}

export function lmdbKeyValueStore(env: LmdbEnvironment, name: string): LmdbKeyValueStore {
  return new LmdbKeyValueStore(env, name);
}

export function lmdbWindowStore(
  env: LmdbEnvironment,
  name: string,
  options: WindowStoreOptions,
): LmdbWindowStore {
  return new LmdbWindowStore(env, name, options);
}

export function lmdbSessionStore(
  env: LmdbEnvironment,
  name: string,
  options: SessionStoreOptions,
): LmdbSessionStore {
  return new LmdbSessionStore(env, name, options);
}
