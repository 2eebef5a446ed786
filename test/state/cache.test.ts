import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CachingKeyValueStore,
  CachingWindowStore,
  inMemoryKeyValueStore,
  inMemoryWindowStore,
  RecordCache,
} from "../../src/state/index.ts";
import { b, s } from "./store-contract.ts";

type Fwd = [string, string | null, string | null];

test("cache coalesces updates per key and forwards the latest value with the old one at flush", () => {
  const inner = inMemoryKeyValueStore("counts");
  inner.put(b("k2"), b("0"));
  const fwd: Fwd[] = [];
  const st = new CachingKeyValueStore(inner, new RecordCache(1 << 20), (k, v, old) =>
    fwd.push([s(k)!, v === null ? null : s(v)!, old === null ? null : s(old)!]),
  );
  for (let i = 1; i <= 3; i++) st.put(b("k1"), b(String(i)));
  st.put(b("k2"), b("1"));
  st.put(b("k2"), b("2"));
  assert.equal(s(st.get(b("k1"))), "3", "reads see cached writes");
  assert.equal(inner.get(b("k1")), undefined, "nothing reaches the store before flush");
  assert.deepEqual(fwd, []);
  st.flush();
  assert.deepEqual(fwd, [
    ["k1", "3", null],
    ["k2", "2", "0"],
  ]);
  assert.equal(s(inner.get(b("k1"))), "3");
  st.flush();
  assert.equal(fwd.length, 2, "clean entries are not forwarded again");
});

test("evicting a dirty entry flushes its store's dirty entries in last-write order", () => {
  const inner = inMemoryKeyValueStore("kv");
  const fwd: string[] = [];
  // each entry is 64 + 1 + 1 = 66 bytes: room for two
  const cache = new RecordCache(140);
  const st = new CachingKeyValueStore(inner, cache, (k, v) => fwd.push(`${s(k)}=${s(v!)}`));
  st.put(b("a"), b("1"));
  st.put(b("b"), b("1"));
  st.put(b("a"), b("2")); // a is now most recently used and last written
  assert.deepEqual(fwd, []);
  st.put(b("c"), b("1")); // over budget: b (LRU) is dirty -> flush all dirty: b, a, c
  assert.deepEqual(fwd, ["b=1", "a=2", "c=1"]);
  assert.equal(cache.entries, 2);
  assert.equal(cache.stats.evictions, 1);
  assert.equal(s(st.get(b("b"))), "1", "evicted entries are read from the store");
});

test("a zero-byte cache forwards every write at once", () => {
  const fwd: string[] = [];
  const st = new CachingKeyValueStore(inMemoryKeyValueStore("kv"), new RecordCache(0), (k, v) =>
    fwd.push(`${s(k)}=${v === null ? "null" : s(v)}`),
  );
  st.put(b("a"), b("1"));
  st.put(b("a"), b("2"));
  st.delete(b("a"));
  assert.deepEqual(fwd, ["a=1", "a=2", "a=null"]);
  assert.equal(st.get(b("a")), undefined);
});

test("cache ranges merge cached writes and deletes over the store", () => {
  const inner = inMemoryKeyValueStore("kv");
  for (const k of ["a", "c", "e"]) inner.put(b(k), b("store"));
  const st = new CachingKeyValueStore(inner, new RecordCache(1 << 20));
  st.put(b("b"), b("cache"));
  st.put(b("c"), b("cache"));
  st.delete(b("e"));
  assert.deepEqual(
    st.all().map((kv) => `${s(kv.key)}=${s(kv.value)}`),
    ["a=store", "b=cache", "c=cache"],
  );
  assert.deepEqual(
    st.reverseRange(b("b"), b("z")).map((kv) => s(kv.key)),
    ["c", "b"],
  );
  st.flush();
  assert.equal(inner.get(b("e")), undefined);
});

test("one cache budget is shared by several stores", () => {
  const cache = new RecordCache(200);
  const f1: string[] = [];
  const f2: string[] = [];
  const s1 = new CachingKeyValueStore(inMemoryKeyValueStore("one"), cache, (k) => f1.push(s(k)!));
  const s2 = new CachingKeyValueStore(inMemoryKeyValueStore("two"), cache, (k) => f2.push(s(k)!));
  s1.put(b("x"), b("1"));
  s2.put(b("y"), b("1"));
  s2.put(b("z"), b("1"));
  s2.put(b("w"), b("1")); // evicts x (LRU, store one): only store one is flushed
  assert.deepEqual(f1, ["x"]);
  assert.deepEqual(f2, []);
});

test("window cache coalesces per (key, window) and merges fetches with the store", () => {
  const inner = inMemoryWindowStore("win", { windowSizeMs: 10, retentionMs: 1000 });
  inner.put(b("k"), b("stored0"), 0);
  const fwd: string[] = [];
  const st = new CachingWindowStore(inner, new RecordCache(1 << 20), (wk, v, old) =>
    fwd.push(
      `${s(wk.key)}@${wk.windowStart}-${wk.windowEnd}=${s(v!)} (was ${old === null ? "null" : s(old)})`,
    ),
  );
  st.put(b("k"), b("1"), 10);
  st.put(b("k"), b("2"), 10);
  st.put(b("k"), b("x"), 0);
  assert.equal(s(st.fetch(b("k"), 10)), "2");
  assert.deepEqual(
    st.fetchRange(b("k"), 0, 20).map((kv) => `${kv.key}=${s(kv.value)}`),
    ["0=x", "10=2"],
  );
  assert.deepEqual(
    st.fetchAll(0, 20).map((kv) => `${kv.key.windowStart}=${s(kv.value)}`),
    ["0=x", "10=2"],
  );
  st.flush();
  assert.deepEqual(fwd, ["k@10-20=2 (was null)", "k@0-10=x (was stored0)"]);
  assert.throws(
    () =>
      new CachingWindowStore(
        inMemoryWindowStore("dups", { windowSizeMs: 10, retentionMs: 100, retainDuplicates: true }),
        new RecordCache(10),
      ),
    /retains duplicates/,
  );
});

test("record cache rejects a negative size", () => {
  assert.throws(() => new RecordCache(-1), /non-negative/);
});

test("a cached store's range with a limit is the first entries of its full range (cached deletes hide stored ones)", () => {
  const inner = inMemoryKeyValueStore("kv");
  const k = (i: number) => `k${String(i).padStart(3, "0")}`;
  for (let i = 0; i < 200; i++) inner.put(b(k(i)), b(`stored${i}`));
  const st = new CachingKeyValueStore(inner, new RecordCache(1 << 20));
  // In the cache only: a run of deletes (more than any limit below), overwrites, new keys.
  for (let i = 10; i < 60; i++) st.delete(b(k(i)));
  for (let i = 100; i < 110; i++) st.put(b(k(i)), b(`cached${i}`));
  for (let i = 0; i < 5; i++) st.put(b(`${k(150 + i)}x`), b("new"));
  const pairs = (xs: { key: Uint8Array; value: Uint8Array }[]) =>
    xs.map((kv) => `${s(kv.key)}=${s(kv.value)}`);
  const full = pairs(st.range(undefined, undefined));
  assert.equal(full.length, 200 - 50 + 5);
  for (const from of [undefined, k(0), k(9), k(10), k(55), k(99), k(150), k(199)]) {
    for (const limit of [0, 1, 3, 10, 40, 49, 50, 51, 200]) {
      assert.deepEqual(
        pairs(st.range(from === undefined ? undefined : b(from), undefined, limit)),
        full.filter((e) => from === undefined || e >= from).slice(0, limit),
        `from ${from}, limit ${limit}`,
      );
    }
  }
});
