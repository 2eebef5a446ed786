import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  CachingKeyValueStore,
  LmdbEnvironment,
  RecordCache,
  lmdbKeyValueStore,
  lmdbMirroredWindowStore,
  lmdbSessionStore,
  lmdbWindowStore,
  readCheckpointFile,
  windowEntryKey,
} from "../../src/state/index.ts";
import { b, keyValueContract, s, sessionContract, windowContract } from "./store-contract.ts";

const root = mkdtempSync(join(tmpdir(), "courant-state-lmdb-"));
const envs: LmdbEnvironment[] = [];
let n = 0;
function freshEnv(): LmdbEnvironment {
  const env = LmdbEnvironment.open(join(root, `env-${n++}`));
  envs.push(env);
  return env;
}
after(async () => {
  for (const e of envs) await e.close();
  rmSync(root, { recursive: true, force: true });
});

keyValueContract("lmdb kv (buffered)", () => lmdbKeyValueStore(freshEnv(), "kv"));
keyValueContract("lmdb kv (flushed)", () => {
  // Every put is flushed before the assertions read: exercises the committed path.
  const env = freshEnv();
  const st = lmdbKeyValueStore(env, "kv");
  const put = st.put.bind(st);
  st.put = (k, v) => {
    put(k, v);
    void env.flush();
  };
  return st;
});
windowContract("lmdb window", (o) => lmdbWindowStore(freshEnv(), "win", o));
windowContract("lmdb window mirrored in memory", (o) => lmdbMirroredWindowStore(freshEnv(), "win", o));
sessionContract("lmdb session", (o) => lmdbSessionStore(freshEnv(), "sess", o));
// Same contracts with every write committed at once: reads come from lmdb, not the buffer.
// (flush() commits synchronously; only its fsync is awaited.)
windowContract("lmdb window (flushed)", (o) => {
  const env = freshEnv();
  const st = lmdbWindowStore(env, "win", o);
  const put = st.put.bind(st);
  st.put = (k, v, t) => {
    put(k, v, t);
    void env.flush();
  };
  return st;
});
sessionContract("lmdb session (flushed)", (o) => {
  const env = freshEnv();
  const st = lmdbSessionStore(env, "sess", o);
  const put = st.put.bind(st);
  const remove = st.remove.bind(st);
  st.put = (k, v) => {
    put(k, v);
    void env.flush();
  };
  st.remove = (k) => {
    remove(k);
    void env.flush();
  };
  return st;
});

test("lmdb session store: sessions survive reopen", async () => {
  const dir = join(root, "sess-reopen");
  let env = LmdbEnvironment.open(dir);
  lmdbSessionStore(env, "s", { retentionMs: 1_000_000 }).put(
    { key: b("u"), windowStart: 5, windowEnd: 50 },
    b("v"),
  );
  await env.flush();
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  const st = lmdbSessionStore(env, "s", { retentionMs: 1_000_000 });
  assert.equal(s(st.fetchSession(b("u"), 5, 50)), "v");
  assert.equal(st.findSessions(b("u"), 0, 100).length, 1);
});

test("caching over an lmdb store: forwarded updates are durable after flush", async () => {
  const dir = join(root, "cache-lmdb");
  let env = LmdbEnvironment.open(dir);
  const fwd: string[] = [];
  const st = new CachingKeyValueStore(lmdbKeyValueStore(env, "c"), new RecordCache(1 << 16), (k, v) =>
    fwd.push(`${s(k)}=${s(v!)}`),
  );
  st.put(b("a"), b("1"));
  st.put(b("a"), b("2"));
  await st.flush();
  assert.deepEqual(fwd, ["a=2"]);
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  assert.equal(s(lmdbKeyValueStore(env, "c").get(b("a"))), "2");
});

test("lmdb kv: ranges merge buffered writes and deletes with committed data", async () => {
  const env = freshEnv();
  const st = lmdbKeyValueStore(env, "kv");
  for (const k of ["a", "c", "e", "g"]) st.put(b(k), b(`${k}1`));
  await st.flush();
  st.put(b("b"), b("b2")); // new, buffered
  st.put(b("c"), b("c2")); // overwrite, buffered
  st.delete(b("e")); // delete, buffered
  st.put(b(""), b("empty")); // lmdb forbids empty keys: the store must not
  assert.deepEqual(
    st.all().map((kv) => [s(kv.key), s(kv.value)]),
    [
      ["", "empty"],
      ["a", "a1"],
      ["b", "b2"],
      ["c", "c2"],
      ["g", "g1"],
    ],
  );
  assert.deepEqual(
    st.reverseRange(b("b"), b("f")).map((kv) => s(kv.key)),
    ["c", "b"],
  );
  assert.equal(s(st.get(b("c"))), "c2");
  assert.equal(st.get(b("e")), undefined);
});

test("lmdb kv: data flushed before close survives reopen; unflushed writes are lost like a crash", async () => {
  const dir = join(root, "reopen");
  let env = LmdbEnvironment.open(dir);
  let st = lmdbKeyValueStore(env, "counts");
  st.put(b("x"), b("1"));
  st.put(b("y"), b("2"));
  await env.flush(new Map([["counts", 42]]));
  st.put(b("z"), b("unflushed"));
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  st = lmdbKeyValueStore(env, "counts");
  assert.deepEqual(
    st.all().map((kv) => [s(kv.key), s(kv.value)]),
    [
      ["x", "1"],
      ["y", "2"],
    ],
  );
  assert.equal(st.checkpoint(), 42);
  // The offsets live in lmdb, committed with the data; no file is written by default.
  assert.throws(() => readFileSync(join(dir, ".checkpoint")), { code: "ENOENT" });
  assert.equal(env.needsFullRestore, false);
});

/** The environment's lmdb root, whose `sync` the tests below replace to count or fail fsyncs. */
function rootOf(env: LmdbEnvironment): { sync(cb: (err: unknown) => void): void } {
  return (env as unknown as { root: { sync(cb: (err: unknown) => void): void } }).root;
}

test("flush without waiting for the fsync: committed at once, fsyncs shared, close waits for the running one", async () => {
  const dir = join(root, "background-sync");
  let env = LmdbEnvironment.open(dir);
  let st = lmdbKeyValueStore(env, "counts");
  const r = rootOf(env);
  const realSync = r.sync.bind(r);
  const held: (() => void)[] = [];
  let syncs = 0;
  // Every fsync is held until released: the flushes below must not wait for it.
  r.sync = (cb) => {
    syncs++;
    held.push(() => realSync(cb));
  };
  for (let i = 0; i < 5; i++) {
    st.put(b(`k${i}`), b(`${i}`));
    await env.flush(new Map([["counts", i + 1]]), undefined, { waitForSync: false });
  }
  // All five transactions are committed (readable from lmdb, not the buffer) while the first
  // fsync still runs; the four later flushes share one fsync, started when the first ends.
  assert.equal(env.bufferedEntries, 0);
  assert.equal(st.all().length, 5);
  assert.equal(syncs, 1);
  const closing = env.close();
  held.shift()!();
  await new Promise<void>((resolve) => {
    const wait = () => (held.length > 0 ? resolve() : setImmediate(wait));
    wait();
  });
  assert.equal(syncs, 2);
  held.shift()!();
  await closing;
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  st = lmdbKeyValueStore(env, "counts");
  assert.equal(st.all().length, 5);
  assert.equal(st.checkpoint(), 5);
});

test("flush calls `meanwhile` every few hundred writes it applies; all of them are committed", async () => {
  const dir = join(root, "meanwhile");
  let env = LmdbEnvironment.open(dir);
  let st = lmdbKeyValueStore(env, "kv");
  for (let i = 0; i < 1000; i++) st.put(b(`k${String(i).padStart(4, "0")}`), b(`${i}`));
  let calls = 0;
  await env.flush(new Map([["kv", 1000]]), undefined, {
    meanwhile: () => {
      calls++;
    },
  });
  assert.equal(calls, 3); // after 256, 512 and 768 of the 1000 writes
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  st = lmdbKeyValueStore(env, "kv");
  assert.equal(st.all().length, 1000);
  assert.equal(st.checkpoint(), 1000);
});

test("a failed background fsync is not lost: the next flush throws it as STORE_IO", async () => {
  const env = freshEnv();
  const st = lmdbKeyValueStore(env, "kv");
  rootOf(env).sync = (cb) => setImmediate(() => cb(new Error("EIO: disk gone")));
  st.put(b("a"), b("1"));
  await env.flush(undefined, undefined, { waitForSync: false });
  // A waited flush reports its own fsync's failure...
  await assert.rejects(env.flush(), (e: Error & { code?: string }) => {
    assert.equal(e.code, "STORE_IO");
    assert.match(e.message, /fsync failed: Error: EIO: disk gone/);
    return true;
  });
  // ...and every later flush refuses: the state on disk can no longer be trusted.
  await assert.rejects(env.flush(undefined, undefined, { waitForSync: false }), /fsync failed/);
});

test("lmdb checkpoint file: mirrored only on request; a stale mirror is deleted at open and never trusted", async () => {
  const dir = join(root, "mirror");
  let env = LmdbEnvironment.open(dir, { checkpointFile: true });
  const st = lmdbKeyValueStore(env, "counts");
  st.put(b("x"), b("1"));
  await env.flush(new Map([["counts", 7]]));
  assert.deepEqual(readCheckpointFile(join(dir, ".checkpoint")), new Map([["counts", 7]]));
  await env.close();
  // An older version's file, ahead of what lmdb committed: restore must follow lmdb.
  writeFileSync(join(dir, ".checkpoint"), `${JSON.stringify({ version: 1, offsets: { counts: 99 } })}\n`);
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  assert.equal(lmdbKeyValueStore(env, "counts").checkpoint(), 7);
  assert.throws(() => readFileSync(join(dir, ".checkpoint")), { code: "ENOENT" });
  await env.flush(new Map([["counts", 8]]));
  assert.throws(() => readFileSync(join(dir, ".checkpoint")), { code: "ENOENT" });
  assert.equal(lmdbKeyValueStore(env, "counts").checkpoint(), 8);
});

test("lmdb kv: keys over lmdb's size limit are refused with the store name and sizes", () => {
  const st = lmdbKeyValueStore(freshEnv(), "bigkeys");
  assert.throws(
    () => st.put(new Uint8Array(5000), b("v")),
    (e: Error & { code?: string }) =>
      e.code === "STORE_INVALID_ARGUMENT" && /bigkeys/.test(e.message) && /5000 bytes/.test(e.message),
  );
});

test("lmdb window: segments, stream time and expiry persist across reopen", async () => {
  const dir = join(root, "win-reopen");
  const opts = { windowSizeMs: 1000, retentionMs: 120_000 };
  let env = LmdbEnvironment.open(dir);
  let st = lmdbWindowStore(env, "w", opts);
  for (let t = 0; t < 300_000; t += 10_000) st.put(b("k"), b(String(t)), t);
  await st.flush();
  const segs = env.databaseNames("w#").length;
  assert.ok(segs <= 4, `expired segments were dropped (live: ${segs})`);
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  st = lmdbWindowStore(env, "w", opts);
  assert.equal(st.streamTime, 290_000);
  const starts = st.fetchRange(b("k"), 0, 1_000_000).map((kv) => kv.key);
  assert.equal(starts[0], 180_000); // 290000 - 120000 = 170000 is the cutoff
  assert.equal(starts.at(-1), 290_000);
  assert.equal(s(st.fetch(b("k"), 200_000)), "200000");
});

test("restoreBatch applies changelog records in one transaction and checkpoints them", async () => {
  const dir = join(root, "restore");
  let env = LmdbEnvironment.open(dir);
  let st = lmdbKeyValueStore(env, "agg");
  assert.equal(st.checkpoint(), undefined);
  const recs = Array.from({ length: 1000 }, (_, i) => ({ key: b(`k${i % 100}`), value: b(String(i)) }));
  st.restoreBatch(recs.slice(0, 500), 500);
  st.restoreBatch([...recs.slice(500), { key: b("k0"), value: null }], 1001);
  assert.equal(st.checkpoint(), 1001);
  assert.equal(st.get(b("k0")), undefined);
  assert.equal(s(st.get(b("k99"))), "999");
  await env.close(); // restore batches are committed even without flush (fsync happens at the next flush)
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  st = lmdbKeyValueStore(env, "agg");
  assert.equal(st.checkpoint(), 1001);
  assert.equal(st.approximateNumEntries(), 99);
  // restart from the checkpoint: only the tail is applied
  st.restoreBatch([{ key: b("k5"), value: b("tail") }], 1002);
  assert.equal(s(st.get(b("k5"))), "tail");
  assert.equal(st.checkpoint(), 1002);
});

test("window restore keeps duplicate sequence numbers so new duplicates never overwrite them", () => {
  const st = lmdbWindowStore(freshEnv(), "join", {
    windowSizeMs: 100,
    retentionMs: 10_000,
    retainDuplicates: true,
  });
  st.restoreBatch([
    { key: windowEntryKey(b("k"), 5, 1), value: b("r1") },
    { key: windowEntryKey(b("k"), 5, 2), value: b("r2") },
  ]);
  st.put(b("k"), b("new"), 5);
  assert.deepEqual(
    st.fetchRange(b("k"), 0, 10).map((kv) => s(kv.value)),
    ["r1", "r2", "new"],
  );
});

test("a buffer spill marks the environment dirty so a crash before flush asks for a full restore", async () => {
  const dir = join(root, "spill");
  let env = LmdbEnvironment.open(dir, { maxBufferedEntries: 10 });
  const st = lmdbKeyValueStore(env, "big");
  for (let i = 0; i < 25; i++) st.put(b(`k${i}`), b("v"));
  assert.equal(st.approximateNumEntries(), 25);
  await env.close(); // crash: spilled writes are in lmdb but never flushed
  env = LmdbEnvironment.open(dir, { maxBufferedEntries: 10 });
  assert.equal(env.needsFullRestore, true);
  await env.flush();
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  assert.equal(env.needsFullRestore, false);
});

test("a scoped flush commits only those stores' writes and stream times; the others stay buffered", async () => {
  const dir = join(root, "scoped");
  let env = LmdbEnvironment.open(dir);
  const mine = lmdbKeyValueStore(env, "0_0.counts");
  const theirs = lmdbKeyValueStore(env, "0_1.counts");
  const win = lmdbWindowStore(env, "0_1.win", { windowSizeMs: 10, retentionMs: 100_000 });
  mine.put(b("a"), b("1"));
  theirs.put(b("b"), b("uncommitted"));
  win.put(b("w"), b("x"), 5_000);
  await env.flush(new Map([["0_0.counts", 3]]), ["0_0."]);
  assert.equal(env.bufferedEntries, 2, "0_1's two writes are still buffered");
  assert.equal(s(theirs.get(b("b"))), "uncommitted", "reads still see them");
  await env.close(); // crash
  env = LmdbEnvironment.open(dir);
  assert.equal(s(lmdbKeyValueStore(env, "0_0.counts").get(b("a"))), "1");
  assert.equal(lmdbKeyValueStore(env, "0_0.counts").checkpoint(), 3);
  assert.equal(lmdbKeyValueStore(env, "0_1.counts").get(b("b")), undefined);
  const win2 = lmdbWindowStore(env, "0_1.win", { windowSizeMs: 10, retentionMs: 100_000 });
  assert.equal(win2.streamTime, Number.NEGATIVE_INFINITY, "0_1's stream time was not flushed either");
  assert.equal(win2.fetch(b("w"), 5_000), undefined);
  await env.close();
  // A spill writes every store's buffer to lmdb: the environment stays dirty until every
  // spilled store has been flushed by its owner.
  env = LmdbEnvironment.open(dir, { maxBufferedEntries: 4 });
  const x = lmdbKeyValueStore(env, "0_0.counts");
  const y = lmdbKeyValueStore(env, "0_1.counts");
  x.put(b("x1"), b("v"));
  x.put(b("x2"), b("v"));
  y.put(b("y1"), b("v"));
  y.put(b("y2"), b("v")); // 4th buffered write: spill
  await env.flush(undefined, ["0_0."]);
  await env.close();
  env = LmdbEnvironment.open(dir);
  assert.equal(env.needsFullRestore, true, "0_1's spilled writes were never committed by its owner");
  await env.flush(undefined, ["0_1."]);
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  assert.equal(env.needsFullRestore, false);
});

test("lmdb kv: a key put and deleted between flushes after a read missed it leaves no tombstone; deletes of keys lmdb holds still apply", async () => {
  const dir = join(root, "absent");
  let env = LmdbEnvironment.open(dir);
  let st = lmdbKeyValueStore(env, "pending");
  st.put(b("old"), b("1"));
  await env.flush();
  assert.equal(st.get(b("req")), undefined); // the read that proves "req" is not in lmdb
  st.put(b("req"), b("frame"));
  assert.equal(s(st.get(b("req"))), "frame");
  assert.equal(s(st.delete(b("req"))), "frame");
  assert.equal(st.get(b("req")), undefined);
  assert.equal(st.delete(b("never")), undefined);
  st.put(b("never"), null);
  assert.equal(s(st.get(b("old"))), "1");
  assert.equal(s(st.delete(b("old"))), "1");
  // A restore batch writes a key a read had missed: a later delete must reach lmdb.
  assert.equal(st.get(b("restored")), undefined);
  st.restoreBatch([{ key: b("restored"), value: b("r") }], 10);
  assert.equal(s(st.get(b("restored"))), "r");
  st.delete(b("restored"));
  assert.deepEqual(st.all(), []);
  await env.flush();
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  st = lmdbKeyValueStore(env, "pending");
  assert.deepEqual(st.all(), []);
  assert.equal(st.approximateNumEntries(), 0);
  // After a flush the knowledge is dropped: a key written by the flush is deleted for real.
  assert.equal(st.get(b("k")), undefined);
  st.put(b("k"), b("v"));
  await env.flush();
  st.delete(b("k"));
  await env.flush();
  assert.equal(st.get(b("k")), undefined);
  assert.equal(st.approximateNumEntries(), 0);
});

test("corrupt checkpoint files are reported with STORE_CHECKPOINT_CORRUPT", () => {
  const p = join(root, "bad.checkpoint");
  writeFileSync(p, "{not json");
  assert.throws(
    () => readCheckpointFile(p),
    (e: Error & { code?: string }) => e.code === "STORE_CHECKPOINT_CORRUPT" && /not JSON/.test(e.message),
  );
  writeFileSync(p, JSON.stringify({ version: 1, offsets: { a: -3 } }));
  assert.throws(
    () => readCheckpointFile(p),
    (e: Error & { code?: string }) => e.code === "STORE_CHECKPOINT_CORRUPT" && /store 'a'/.test(e.message),
  );
  assert.deepEqual(readCheckpointFile(join(root, "missing")), new Map());
  assert.ok(readFileSync(p).length > 0);
});

test("mirrored window store: reloads from lmdb on reopen, keeps duplicate sequences, persists restores and expiry", async () => {
  const dir = join(root, "mirror");
  const opts = { windowSizeMs: 100, retentionMs: 60_000, retainDuplicates: true };
  let env = LmdbEnvironment.open(dir);
  let st = lmdbMirroredWindowStore(env, "join", opts);
  st.put(b("k"), b("a"), 1000);
  st.put(b("k"), b("b"), 1000);
  st.restoreBatch([{ key: windowEntryKey(b("j"), 2000, 77), value: b("restored") }], 5);
  await st.flush();
  st.put(b("k"), b("unflushed"), 1500);
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  st = lmdbMirroredWindowStore(env, "join", opts);
  assert.deepEqual(
    st.fetchRange(b("k"), 0, 5000).map((kv) => s(kv.value)),
    ["a", "b"],
  );
  assert.equal(s(st.fetch(b("j"), 2000)), "restored");
  assert.equal(st.checkpoint(), 5);
  st.put(b("j"), b("after"), 2000); // sequence continues after 77: no overwrite
  assert.deepEqual(
    st.fetchRange(b("j"), 0, 5000).map((kv) => s(kv.value)),
    ["restored", "after"],
  );
  st.put(b("x"), b("late"), 200_000); // expires everything before 140000, on disk too
  await st.flush();
  assert.deepEqual(env.databaseNames("join#").length, 1);
  await env.close();
  env = LmdbEnvironment.open(dir);
  envs.push(env);
  st = lmdbMirroredWindowStore(env, "join", opts);
  assert.deepEqual(
    st.all().map((kv) => s(kv.value)),
    ["late"],
  );
});

test("a corrupt lmdb file is reported as STORE_IO naming the directory, not a crash", async () => {
  const { mkdirSync } = await import("node:fs");
  const dir = join(root, "corrupt");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "data.mdb"), Buffer.alloc(64 * 1024, 0xab));
  assert.throws(
    () => LmdbEnvironment.open(dir),
    (e: Error & { code?: string }) =>
      e.code === "STORE_IO" && e.message.includes(dir) && /magic/.test(e.message),
  );
  writeFileSync(join(dir, "data.mdb"), Buffer.alloc(10));
  assert.throws(() => LmdbEnvironment.open(dir), /shorter than a meta page/);
});

test("lmdb kv: a put and delete that cancel out in the buffer leave the buffered count where it was", async () => {
  // The count drives the streams runtime's early state flush (STATE_FLUSH_MAX_BUFFERED) and the
  // spill: it used to keep one per cancelled pair, and the correlation app, which cancels one
  // pair per matched request, flushed at every commit after a few seconds.
  const env = LmdbEnvironment.open(join(root, "absent-count"));
  envs.push(env);
  const st = lmdbKeyValueStore(env, "pending");
  for (let i = 0; i < 1000; i++) {
    const k = b(`req-${i}`);
    assert.equal(st.get(k), undefined); // a miss: the key is known absent
    st.put(k, b("frame"));
    st.put(k, b("matched"));
    st.delete(k);
  }
  assert.equal(env.bufferedEntries, 0);
  st.put(b("kept"), b("1"));
  assert.equal(env.bufferedEntries, 1);
  await env.flush();
  assert.equal(env.bufferedEntries, 0);
  assert.deepEqual(
    st.all().map((e) => s(e.key)),
    ["kept"],
  );
});
