import assert from "node:assert/strict";
import { test } from "node:test";
import { couponPoolKey, PackedCouponPools } from "../../apps/rewards/coupon-pool.ts";

test("PackedCouponPools answers as a Map would, over random puts, overwrites and deletes", () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const pools = new PackedCouponPools();
  const oracle = new Map<string, string>();
  const campaigns = ["QUINTE-2026", "A", "B.2"];
  for (let step = 0; step < 20_000; step++) {
    const c = campaigns[rnd(campaigns.length)]!;
    const key = couponPoolKey(c, rnd(3000));
    if (rnd(5) === 0) {
      assert.equal(pools.delete(key), oracle.delete(key));
    } else {
      const code = `${c.slice(0, 3)}-${rnd(1e9).toString(36)}`.slice(0, 1 + rnd(16));
      pools.set(key, code);
      oracle.set(key, code);
    }
  }
  assert.equal(pools.size, oracle.size);
  for (const [k, v] of oracle) assert.equal(pools.get(k), v);
  assert.deepEqual(new Map(pools.entries()), oracle);
  assert.equal(pools.get(couponPoolKey("QUINTE-2026", 99_999)), undefined);
  assert.equal(pools.get(couponPoolKey("NOPE", 1)), undefined);
});

test("PackedCouponPools keeps keys and codes that do not fit the packed form, as given", () => {
  const pools = new PackedCouponPools();
  const odd: [string, string][] = [
    ["no-position", "CODE1"],
    [couponPoolKey("C", 1), "a code with spaces"],
    [couponPoolKey("C", 2), "X".repeat(17)],
    [couponPoolKey("C", 3), "é"],
    [couponPoolKey("C", 1 << 27), "FAR"],
  ];
  for (const [k, v] of odd) pools.set(k, v);
  pools.set(couponPoolKey("C", 0), "PACKED");
  assert.equal(pools.size, odd.length + 1);
  for (const [k, v] of odd) assert.equal(pools.get(k), v);
  assert.equal(pools.get(couponPoolKey("C", 0)), "PACKED");
  // A code that fits again replaces its odd form; deleting either form works.
  pools.set(couponPoolKey("C", 2), "SHORT");
  assert.equal(pools.get(couponPoolKey("C", 2)), "SHORT");
  assert.equal(pools.size, odd.length + 1);
  assert.equal(pools.delete("no-position"), true);
  assert.equal(pools.delete(couponPoolKey("C", 2)), true);
  assert.equal(pools.delete(couponPoolKey("C", 2)), false);
  assert.equal(pools.size, odd.length - 1);
});
