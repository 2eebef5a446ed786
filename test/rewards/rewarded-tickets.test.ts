// The ledger's filter of rewarded tickets: a "no" must never be wrong, whether the rewards store
// was empty at start, restored with thousands of rewards (scanned by steps), or churned past the
// filter's size (built again).
import assert from "node:assert/strict";
import { test } from "node:test";
import { RewardedTickets, SCAN_BATCH, StringBloomFilter } from "../../apps/rewards/rewarded-tickets.ts";
import { Serdes } from "../../src/serde/index.ts";
import { inMemoryKeyValueStore } from "../../src/state/index.ts";
import { TypedKeyValueStore } from "../../src/streams/stores.ts";

function rewardsStore(): TypedKeyValueStore<string, string> {
  return new TypedKeyValueStore(inMemoryKeyValueStore("rewards"), Serdes.String, Serdes.String, "t");
}

const key = (i: number) => `C${i % 3}|T${String(i).padStart(8, "0")}`;

test("keys(): a range's keys in order, without values, bounded by limit", () => {
  const s = rewardsStore();
  for (const k of ["b", "a", "d", "c"]) s.put(k, `value of ${k}`);
  assert.deepEqual(s.keys(), ["a", "b", "c", "d"]);
  assert.deepEqual(s.keys("b", undefined, 2), ["b", "c"]);
  assert.deepEqual(s.keys("b", "c"), ["b", "c"]);
  assert.deepEqual(s.keys("e"), []);
});

test("Bloom filter: no false negative; false positives near the design rate at capacity", () => {
  const f = new StringBloomFilter(20_000);
  for (let i = 0; i < 20_000; i++) f.add(key(i));
  for (let i = 0; i < 20_000; i++) assert.equal(f.mightContain(key(i)), true, key(i));
  let fp = 0;
  for (let i = 20_000; i < 120_000; i++) if (f.mightContain(key(i))) fp++;
  // 10 bits and 7 hashes per key: ~0.8 %; the bound leaves room for the hashes' imperfection.
  assert.ok(fp / 100_000 < 0.02, `false positive rate ${fp / 100_000}`);
});

test("an empty store: the filter answers at once, and learns the keys written", () => {
  const s = rewardsStore();
  const r = new RewardedTickets(s);
  assert.equal(r.ready, true);
  assert.equal(r.mightContain(key(1)), false);
  s.put(key(1), "reward");
  r.add(key(1));
  assert.equal(r.mightContain(key(1)), true);
});

test("a restored store: every stored key is a 'maybe' before, during and after the scan", () => {
  const s = rewardsStore();
  const n = 3 * SCAN_BATCH + 17;
  for (let i = 0; i < n; i++) s.put(key(i), "reward");
  const r = new RewardedTickets(s);
  assert.equal(r.ready, false, "one batch scanned at construction, more to go");
  // A key far in the scan order is not in the filter yet: the answer must still be "maybe".
  const last = key(n - 1);
  assert.equal(r.mightContain(last), true);
  // Written during the scan, behind or ahead of its cursor: known either way.
  s.put("A|early", "reward");
  r.add("A|early");
  s.put("Z|late", "reward");
  r.add("Z|late");
  let steps = 0;
  while (!r.step()) steps++;
  assert.ok(steps >= 1);
  assert.equal(r.ready, true);
  for (let i = 0; i < n; i++) assert.equal(r.mightContain(key(i)), true, key(i));
  assert.equal(r.mightContain("A|early"), true);
  assert.equal(r.mightContain("Z|late"), true);
  let fp = 0;
  for (let i = n; i < n + 10_000; i++) if (r.mightContain(key(i))) fp++;
  assert.ok(fp < 200, `${fp} false positives in 10 000`);
});

test("a filter filled past its size is built again from the store, still without a false 'no'", () => {
  const s = rewardsStore();
  const r = new RewardedTickets(s);
  // Churn: keys written then deleted (retention) until the filter has seen more than it was sized for.
  const capacity = 1 << 18;
  for (let i = 0; i <= capacity; i++) {
    const k = key(i);
    if (i >= capacity - 5) s.put(k, "reward");
    r.add(k);
  }
  // Rebuilt from the store: the 5 kept keys (and whatever comes next) are known, deleted ones gone.
  assert.equal(r.ready, true);
  for (let i = capacity - 5; i <= capacity; i++) assert.equal(r.mightContain(key(i)), true);
  let known = 0;
  for (let i = 0; i < 10_000; i++) if (r.mightContain(key(i))) known++;
  assert.ok(known < 200, `deleted keys left the filter: ${known} of 10 000 still 'maybe'`);
});
