// The live view's line: what the pipeline did, and why coupons stop rising when they do.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type DashboardSnapshot, formatSnapshot } from "../../apps/rewards/dashboard.ts";

const base: DashboardSnapshot = {
  frames: 1000,
  framesPerSecond: 2000,
  bets: 400,
  couponsIssued: 120,
  couponsCanceled: 3,
  couponsSkipped: {},
  budgetUsedCents: 24_000,
  budgetTotalCents: 100_000,
  dlq: 2,
  unmatched: 1,
  lag: { "rewards-frames": 5, "rewards-coupons": Number.NaN },
  latencyP50Ms: 7.4,
  latencyP99Ms: 35.2,
  apps: [
    { name: "frames", state: "RUNNING", restarts: 0 },
    { name: "correlation", state: "RUNNING", restarts: 0 },
  ],
};

test("the live view's line names the figures; skips appear only when there are some, largest first", () => {
  const line = formatSnapshot(base);
  assert.match(line, /2000 frames\/s {2}bets 400 {2}coupons \+120 -3 {2}budget 240\/1000 € \(24\.0%\)/);
  assert.match(line, /dlq 2 {2}unmatched 1 {2}lag 5 {2}frame→coupon p50 7 ms p99 35 ms/);
  assert.doesNotMatch(line, /not issued/);
  const capped = formatSnapshot({
    ...base,
    couponsSkipped: { budget_exhausted: 4, cap_reached: 812, no_coupon_code: 1, some_new_reason: 2 },
  });
  assert.match(
    capped,
    /coupons \+120 -3 {2}not issued cap 812, budget 4, some_new_reason 2, no code 1 {2}budget/,
  );
});

test("the live view names an app that is not running, or whose thread was started again", () => {
  assert.doesNotMatch(formatSnapshot(base), /RUNNING|restarted/);
  const line = formatSnapshot({
    ...base,
    apps: [
      { name: "frames", state: "RUNNING", restarts: 0 },
      { name: "correlation", state: "REBALANCING", restarts: 1 },
      { name: "coupons", state: "ERROR", restarts: 0 },
    ],
  });
  assert.match(line, /p99 35 ms {2}correlation REBALANCING \(thread restarted 1×\) {2}coupons ERROR$/);
  assert.match(
    formatSnapshot({ ...base, apps: [{ name: "correlation", state: "RUNNING", restarts: 2 }] }),
    /correlation RUNNING \(thread restarted 2×\)$/,
  );
});

test("recent frame→coupon latencies are those of the last minute, at most the last 8192", async () => {
  const { LatencyWindow } = await import("../../apps/rewards/metrics.ts");
  let now = 0;
  const w = new LatencyWindow(4, 60_000, () => now);
  assert.ok(Number.isNaN(w.percentile(99)));
  w.record(800); // a restart's catch-up
  w.record(900);
  now = 30_000;
  w.record(5);
  assert.equal(w.percentile(99), 900);
  now = 61_000; // the catch-up is over a minute old
  assert.equal(w.percentile(50), 5);
  assert.equal(w.percentile(99), 5);
  for (const ms of [1, 2, 3, 4]) w.record(ms); // the ring keeps the last 4
  assert.equal(w.percentile(100), 4);
  now = 200_000;
  assert.ok(Number.isNaN(w.percentile(50)), "none in the last minute");
  assert.equal(w.total, 7);
});

test("the ingest header reads back as the time it was written; anything else is not a time", async () => {
  const { ingestHeaderMs, ingestHeaderValue } = await import("../../apps/rewards/metrics.ts");
  for (const ms of [0, 7, 1_781_234_567_890, Number.MAX_SAFE_INTEGER])
    assert.equal(ingestHeaderMs(ingestHeaderValue(ms)), ms);
  for (const bad of ["", "12a", "-5", "1.5", " 12", "12345678901234567"])
    assert.ok(Number.isNaN(ingestHeaderMs(Buffer.from(bad, "latin1"))), JSON.stringify(bad));
});
