// The specialised in-memory window store must agree with the generic segmented WindowStore
// (the one lmdb uses) on every operation: a seeded random walk compares them step by step.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryWindowStore } from "../../src/state/index.ts";
import { MemorySegmentSet } from "../../src/state/ordered.ts";
import { memoryBackend, WindowStore } from "../../src/state/stores.ts";

const STEPS = process.env.COURANT_SOAK === "1" ? 200_000 : 20_000;

for (const retainDuplicates of [false, true]) {
  test(`MemoryWindowStore == WindowStore on a random walk (retainDuplicates=${retainDuplicates})`, () => {
    const opts = { windowSizeMs: 100, retentionMs: 5_000, retainDuplicates, segmentIntervalMs: 1_000 };
    const fast = new MemoryWindowStore("w", opts);
    const ref = new WindowStore("w", opts, new MemorySegmentSet(1_000), memoryBackend());
    const logFast: string[] = [];
    const logRef: string[] = [];
    fast.onEntryWrite = (k, v) =>
      logFast.push(`${Buffer.from(k).toString("hex")}=${v && Buffer.from(v).toString("hex")}`);
    ref.onEntryWrite = (k, v) =>
      logRef.push(`${Buffer.from(k).toString("hex")}=${v && Buffer.from(v).toString("hex")}`);
    let seed = retainDuplicates ? 11 : 5;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const keys = ["a", "ab", "b", "", "zz"].map((k) => new TextEncoder().encode(k));
    let time = 0;
    const norm = (x: unknown) =>
      JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
    for (let i = 0; i < STEPS; i++) {
      time += rnd(30);
      const ts = time - rnd(3_000); // out of order, sometimes beyond retention
      const k = keys[rnd(keys.length)]!;
      const op = rnd(10);
      if (op < 6) {
        const v = rnd(8) === 0 ? null : new Uint8Array([i & 0xff, rnd(256)]);
        fast.put(k, v, ts);
        ref.put(k, v, ts);
      } else if (op === 6) {
        assert.equal(norm(fast.fetch(k, ts)), norm(ref.fetch(k, ts)), `fetch step ${i}`);
      } else if (op === 7) {
        assert.equal(
          norm(fast.fetchRange(k, ts - 500, ts + 500)),
          norm(ref.fetchRange(k, ts - 500, ts + 500)),
          `fetchRange step ${i}`,
        );
      } else if (op === 8) {
        assert.equal(
          norm(fast.fetchAll(ts - 300, ts)),
          norm(ref.fetchAll(ts - 300, ts)),
          `fetchAll step ${i}`,
        );
      } else if (rnd(20) === 0) {
        fast.expire(time);
        ref.expire(time);
      }
    }
    assert.equal(norm(fast.all()), norm(ref.all()));
    assert.deepEqual(logFast, logRef);
    // restoring the log into a fresh store rebuilds the same contents
    const restored = new MemoryWindowStore("w", opts);
    const recs = logFast.map((l) => {
      const [k, v] = l.split("=");
      return { key: Buffer.from(k!, "hex"), value: v === "null" ? null : Buffer.from(v!, "hex") };
    });
    restored.restoreBatch(recs);
    restored.expire(time);
    fast.expire(time);
    assert.equal(norm(restored.all()), norm(fast.all()));
  });
}
