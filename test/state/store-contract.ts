// Behaviour every KeyValue/Window/Session bytes store must have, run against each implementation.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KeyValueBytesStore, SessionBytesStore, WindowBytesStore } from "../../src/state/index.ts";

export const b = (s: string): Uint8Array => new TextEncoder().encode(s);
export const s = (u: Uint8Array | undefined): string | undefined =>
  u === undefined ? undefined : new TextDecoder().decode(u);
const keys = (it: Iterable<{ key: Uint8Array }>) => [...it].map((kv) => s(kv.key));

type Maybe<T> = T | Promise<T>;

export function keyValueContract(label: string, make: () => Maybe<KeyValueBytesStore>): void {
  test(`${label}: put/get/delete/putIfAbsent`, async () => {
    const st = await make();
    assert.equal(st.get(b("a")), undefined);
    st.put(b("a"), b("1"));
    assert.equal(s(st.get(b("a"))), "1");
    st.put(b("a"), b("2"));
    assert.equal(s(st.get(b("a"))), "2");
    assert.equal(s(st.putIfAbsent(b("a"), b("3"))), "2");
    assert.equal(st.putIfAbsent(b("z"), b("9")), undefined);
    assert.equal(s(st.get(b("z"))), "9");
    assert.equal(s(st.delete(b("a"))), "2");
    assert.equal(st.delete(b("a")), undefined);
    assert.equal(st.get(b("a")), undefined);
    st.put(b("z"), null);
    assert.equal(st.get(b("z")), undefined);
    assert.equal(st.approximateNumEntries(), 0);
    await st.close();
  });

  test(`${label}: caller may reuse key/value buffers after put`, async () => {
    const st = await make();
    const k = b("k1");
    const v = b("v1");
    st.put(k, v);
    k[1] = 0x32;
    v[1] = 0x32;
    assert.equal(s(st.get(b("k1"))), "v1");
    // Buffer#slice is a view, not a copy: stores must copy Buffers too
    const bk = Buffer.from("k3");
    const bv = Buffer.from("v3");
    st.put(bk, bv);
    bk[1] = 0x34;
    bv[1] = 0x34;
    assert.equal(s(st.get(b("k3"))), "v3");
    assert.equal(st.get(b("k4")), undefined);
    await st.close();
  });

  test(`${label}: ranges compare keys as unsigned bytes`, async () => {
    const st = await make();
    const ks = [[0x00], [0x01], [0x7f], [0x80], [0xff], [0x01, 0x00], [0xff, 0xff]].map(
      (x) => new Uint8Array(x),
    );
    for (const k of [...ks].reverse()) st.put(k, new Uint8Array([k.length]));
    const hex = (it: Iterable<{ key: Uint8Array }>) =>
      [...it].map((kv) => Buffer.from(kv.key).toString("hex"));
    assert.deepEqual(hex(st.all()), ["00", "01", "0100", "7f", "80", "ff", "ffff"]);
    assert.deepEqual(hex(st.range(new Uint8Array([0x01]), new Uint8Array([0x80]))), [
      "01",
      "0100",
      "7f",
      "80",
    ]);
    assert.deepEqual(hex(st.range(new Uint8Array([0x7f]), undefined)), ["7f", "80", "ff", "ffff"]);
    assert.deepEqual(hex(st.range(undefined, new Uint8Array([0x01]))), ["00", "01"]);
    assert.deepEqual(hex(st.reverseRange(new Uint8Array([0x01]), new Uint8Array([0x80]))), [
      "80",
      "7f",
      "0100",
      "01",
    ]);
    assert.deepEqual(hex(st.reverseRange(undefined, undefined)), [
      "ffff",
      "ff",
      "80",
      "7f",
      "0100",
      "01",
      "00",
    ]);
    assert.deepEqual(hex(st.range(new Uint8Array([0x80]), new Uint8Array([0x01]))), []);
    assert.equal(st.approximateNumEntries(), 7);
    await st.clear();
    assert.deepEqual(hex(st.all()), []);
    await st.close();
  });

  test(`${label}: range with a limit returns the first entries of the range`, async () => {
    const st = await make();
    const k = (i: number) => `k${String(i).padStart(2, "0")}`;
    for (let i = 0; i < 40; i++) st.put(b(k(i)), b(String(i)));
    for (let i = 0; i < 40; i += 3) st.delete(b(k(i))); // a third deleted (buffered, on lmdb)
    st.put(b("k05"), b("five"));
    st.put(b("k105"), b("new"));
    const pairs = (it: Iterable<{ key: Uint8Array; value: Uint8Array }>) =>
      [...it].map((kv) => [s(kv.key), s(kv.value)]);
    const full = pairs(st.range(undefined, undefined));
    assert.equal(full.length, 27);
    for (const from of [undefined, "k00", "k10", "k105", "k11", "k39", "k4"]) {
      for (const limit of [0, 1, 2, 7, 26, 27, 100]) {
        assert.deepEqual(
          pairs(st.range(from === undefined ? undefined : b(from), undefined, limit)),
          full.filter(([key]) => from === undefined || key! >= from).slice(0, limit),
          `from ${from}, limit ${limit}`,
        );
      }
    }
    assert.deepEqual(keys(st.range(b("k10"), b("k14"), 10)), ["k10", "k105", "k11", "k13", "k14"]);
    assert.deepEqual(keys(st.range(b("k10"), b("k14"), 2)), ["k10", "k105"]);
    await st.close();
  });

  test(`${label}: many keys interleaved with scans stay ordered`, async () => {
    const st = await make();
    const model = new Map<string, string>();
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 3000; i++) {
      const k = `k${(rnd() % 1500).toString().padStart(5, "0")}`;
      if (rnd() % 5 === 0) {
        st.delete(b(k));
        model.delete(k);
      } else {
        st.put(b(k), b(String(i)));
        model.set(k, String(i));
      }
      if (i % 500 === 0) assert.deepEqual(keys(st.all()), [...model.keys()].sort());
    }
    assert.deepEqual(keys(st.all()), [...model.keys()].sort());
    assert.deepEqual(
      [...st.range(b("k00100"), b("k00200"))].map((kv) => [s(kv.key), s(kv.value)]),
      [...model.entries()]
        .filter(([k]) => k >= "k00100" && k <= "k00200")
        .sort(([a], [c]) => (a < c ? -1 : 1)),
    );
    await st.close();
  });
}

export function windowContract(
  label: string,
  make: (o: {
    windowSizeMs: number;
    retentionMs: number;
    retainDuplicates?: boolean;
  }) => Maybe<WindowBytesStore>,
): void {
  test(`${label}: window put/fetch/fetchRange/fetchAll ordering`, async () => {
    const st = await make({ windowSizeMs: 10, retentionMs: 1000 });
    st.put(b("b"), b("b0"), 0);
    st.put(b("a"), b("a10"), 10);
    st.put(b("a"), b("a0"), 0);
    st.put(b("ab"), b("ab0"), 0); // shares the prefix of "a": must not leak into fetches of "a"
    st.put(b("a"), b("a20"), 20);
    assert.equal(s(st.fetch(b("a"), 10)), "a10");
    assert.equal(st.fetch(b("a"), 5), undefined);
    assert.deepEqual(
      [...st.fetchRange(b("a"), 0, 15)].map((kv) => [kv.key, s(kv.value)]),
      [
        [0, "a0"],
        [10, "a10"],
      ],
    );
    assert.deepEqual(
      [...st.fetchAll(0, 10)].map((kv) => [s(kv.key.key), kv.key.windowStart, kv.key.windowEnd, s(kv.value)]),
      [
        ["a", 0, 10, "a0"],
        ["ab", 0, 10, "ab0"],
        ["b", 0, 10, "b0"],
        ["a", 10, 20, "a10"],
      ],
    );
    assert.equal([...st.all()].length, 5);
    st.put(b("a"), b("a10bis"), 10);
    assert.equal(s(st.fetch(b("a"), 10)), "a10bis");
    st.put(b("a"), null, 10);
    assert.equal(st.fetch(b("a"), 10), undefined);
    await st.close();
  });

  test(`${label}: retainDuplicates keeps every put in insertion order and ignores null`, async () => {
    const st = await make({ windowSizeMs: 10, retentionMs: 1000, retainDuplicates: true });
    st.put(b("k"), b("x"), 5);
    st.put(b("k"), b("y"), 5);
    st.put(b("k"), b("z"), 3);
    st.put(b("k"), null, 5);
    assert.deepEqual(
      [...st.fetchRange(b("k"), 0, 10)].map((kv) => [kv.key, s(kv.value)]),
      [
        [3, "z"],
        [5, "x"],
        [5, "y"],
      ],
    );
    assert.deepEqual(
      [...st.fetchAll(0, 10)].map((kv) => s(kv.value)),
      ["z", "x", "y"],
    );
    await st.close();
  });

  test(`${label}: windows older than retention expire on put and expire()`, async () => {
    const st = await make({ windowSizeMs: 100, retentionMs: 60_000 });
    st.put(b("k"), b("old"), 0);
    st.put(b("k"), b("mid"), 50_000);
    assert.equal(s(st.fetch(b("k"), 0)), "old");
    st.put(b("k"), b("new"), 60_000); // observed stream time 60000: cutoff 0, window 0 expires
    assert.equal(st.fetch(b("k"), 0), undefined);
    assert.deepEqual(
      [...st.fetchRange(b("k"), 0, 100_000)].map((kv) => kv.key),
      [50_000, 60_000],
    );
    st.put(b("k"), b("late"), 0); // too late: dropped
    assert.equal(st.fetch(b("k"), 0), undefined);
    st.expire(200_000);
    assert.deepEqual([...st.all()], []);
    assert.deepEqual([...st.fetchRange(b("k"), 0, 300_000)], []);
    await st.close();
  });

  test(`${label}: rejects bad window options`, async () => {
    await assert.rejects(
      async () => make({ windowSizeMs: 0, retentionMs: 10 }),
      (e: Error & { code?: string }) => e.code === "STORE_INVALID_ARGUMENT" && /windowSizeMs/.test(e.message),
    );
    await assert.rejects(
      async () => make({ windowSizeMs: 100, retentionMs: 10 }),
      (e: Error & { code?: string }) => e.code === "STORE_INVALID_ARGUMENT" && /retentionMs/.test(e.message),
    );
  });
}

export function sessionContract(
  label: string,
  make: (o: { retentionMs: number }) => Maybe<SessionBytesStore>,
): void {
  const sess = (k: string, start: number, end: number) => ({ key: b(k), windowStart: start, windowEnd: end });
  test(`${label}: session put/fetchSession/findSessions for merging`, async () => {
    const st = await make({ retentionMs: 100_000 });
    st.put(sess("a", 0, 10), b("a1"));
    st.put(sess("a", 20, 30), b("a2"));
    st.put(sess("a", 50, 50), b("a3"));
    st.put(sess("ab", 0, 100), b("ab"));
    st.put(sess("b", 15, 25), b("b"));
    assert.equal(s(st.fetchSession(b("a"), 20, 30)), "a2");
    assert.equal(st.fetchSession(b("a"), 20, 31), undefined);
    // A new record at t=25 with gap 5 overlaps sessions with end >= 20 and start <= 30.
    const found = [...st.findSessions(b("a"), 20, 30)].map((kv) => [
      kv.key.windowStart,
      kv.key.windowEnd,
      s(kv.value),
    ]);
    assert.deepEqual(found, [[20, 30, "a2"]]);
    assert.deepEqual(
      [...st.findSessions(b("a"), 0, 100)].map((kv) => s(kv.value)),
      ["a1", "a2", "a3"],
    );
    assert.deepEqual(
      [...st.findSessions(b("a"), 11, 19)].map((kv) => s(kv.value)),
      [],
    );
    st.remove(sess("a", 20, 30));
    assert.deepEqual(
      [...st.findSessions(b("a"), 0, 100)].map((kv) => s(kv.value)),
      ["a1", "a3"],
    );
    st.put(sess("a", 0, 10), null);
    assert.deepEqual(
      [...st.all()].map((kv) => [s(kv.key.key), kv.key.windowStart, kv.key.windowEnd]),
      [
        ["a", 50, 50],
        ["ab", 0, 100],
        ["b", 15, 25],
      ],
    );
    await st.close();
  });

  test(`${label}: sessions ending before stream time - retention expire`, async () => {
    const st = await make({ retentionMs: 60_000 });
    st.put(sess("k", 0, 1000), b("old"));
    st.put(sess("k", 100_000, 130_000), b("new")); // cutoff 70000
    assert.equal(st.fetchSession(b("k"), 0, 1000), undefined);
    assert.deepEqual(
      [...st.findSessions(b("k"), 0, Number.MAX_SAFE_INTEGER)].map((kv) => s(kv.value)),
      ["new"],
    );
    st.put(sess("k", 0, 2000), b("late"));
    assert.equal(st.fetchSession(b("k"), 0, 2000), undefined);
    st.expire(1_000_000);
    assert.deepEqual([...st.all()], []);
    await st.close();
  });
}
