import assert from "node:assert/strict";
import { test } from "node:test";
import { DeadlineHeap } from "../../apps/rewards/correlation-app.ts";

test("DeadlineHeap pops (deadline, key) pairs in deadline order, keys intact, across growth", () => {
  let seed = 11;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const heap = new DeadlineHeap();
  const oracle: { d: number; k: string }[] = [];
  const keyOf = (i: number) => {
    const k = new Uint8Array(12);
    new DataView(k.buffer).setUint32(8, i);
    k[0] = i & 0xff;
    return k;
  };
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 3000; i++) {
      const d = rnd(100_000);
      const k = keyOf(round * 10_000 + i);
      heap.push(d, k);
      oracle.push({ d, k: Buffer.from(k).toString("hex") });
    }
    heap.push(1, new Uint8Array(5)); // not a correlation key: ignored
    oracle.sort((a, b) => a.d - b.d);
    for (let i = 0; i < 1000; i++) {
      const want = oracle.shift()!;
      assert.equal(heap.peek(), want.d);
      const got = heap.pop();
      assert.equal(got.d, want.d);
      // Equal deadlines may come out in any order: compare the key among those of that deadline.
      if (Buffer.from(got.k).toString("hex") !== want.k) {
        const j = oracle.findIndex((o) => o.d === got.d && o.k === Buffer.from(got.k).toString("hex"));
        assert.ok(j >= 0, "popped key was pushed with that deadline");
        oracle.splice(j, 1, want);
      }
    }
  }
  assert.equal(heap.size, oracle.length);
});
