// Rewards pipeline benchmark.
//   1. processing ceiling: the three topologies run in-process (TopologyTestDriver, in-memory
//      stores, no broker, no transactions) on a simulated day: the CPU cost of the logic itself.
//   2. the real pipeline (when the streams runtime is available): embedded broker, three apps
//      with exactly_once_v2, frames produced as fast as they are taken (sustained frames/s), then
//      at a paced 20 000 frames/s with frame -> coupon latency measured end to end (response
//      frame produced -> coupon readable in `rewards`, read_committed).
// Prints a table, and as the last line one JSON object of figures.
import { buildCorrelationTopology } from "../apps/rewards/correlation-app.ts";
import { couponPoolKey } from "../apps/rewards/coupon-pool.ts";
import { buildCouponsTopology } from "../apps/rewards/coupons-app.ts";
import { buildFramesTopology } from "../apps/rewards/frames-app.ts";
import { rewardsMetrics } from "../apps/rewards/metrics.ts";
import { type SimulatedFrame, simulateDay } from "../apps/rewards/simulator/day.ts";
import { TOPICS } from "../apps/rewards/topics.ts";
import { BENCH_CAMPAIGNS } from "./rewards/campaigns.ts";
import { MetricsRegistry } from "../src/observe/index.ts";
import { Serdes } from "../src/serde/index.ts";
import { type TestRecord, TopologyTestDriver } from "../src/streams/index.ts";

const DAY = "2026-06-14";
// The apps log state changes at info; the figures are what this prints.
process.env.COURANT_LOG_LEVEL ??= "warn";

// 700 terminals: a day of ~362 000 frames, enough for the paced run at 20 000 frames/s to last
// its whole warm-up + measurement (3 + 15 s). With 200 (113 559 frames) it ran out after 5.7 s and
// the percentiles covered 2.7 s of coupons.
const terminals = Number(process.env.BENCH_TERMINALS ?? 700);
const rows: [string, string][] = [];
const figures: Record<string, number> = {};

const t0 = performance.now();
const frames: SimulatedFrame[] = simulateDay({
  seed: 1,
  terminals,
  pdvs: Math.max(1, Math.floor(terminals / 4)),
  date: DAY,
});
rows.push([
  "simulated day",
  `${frames.length} frames, ${terminals} terminals (generated in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
]);
figures.day_frames = frames.length;

// ---- 1. processing ceiling -------------------------------------------------------------------
// In a function: its drivers and record lists must be garbage before part 2. (As a module-level
// block they stayed reachable, ~250 MB of the main thread's heap, and the marking of that heap
// during the paced runs showed up as latency.)
async function ceiling(): Promise<void> {
  const metrics = rewardsMetrics(new MetricsRegistry());
  const d1 = new TopologyTestDriver(buildFramesTopology({ metrics }), { applicationId: "rewards-frames" });
  const req = d1.createInputTopic(TOPICS.requests, Serdes.String, Serdes.Bytes);
  const resp = d1.createInputTopic(TOPICS.responses, Serdes.String, Serdes.Bytes);
  let t = performance.now();
  for (const f of frames) (f.topic === TOPICS.requests ? req : resp).pipeInput(f.key, f.value, f.timestamp);
  const s1 = (performance.now() - t) / 1000;
  const valid = d1.createOutputTopic(TOPICS.valid, Serdes.String, Serdes.Bytes).readRecordsToList();
  await d1.close();

  const d2 = new TopologyTestDriver(buildCorrelationTopology({ metrics }), {
    applicationId: "rewards-correlation",
  });
  const vin = d2.createInputTopic(TOPICS.valid, Serdes.String, Serdes.Bytes);
  t = performance.now();
  for (const r of valid) vin.pipeInput(r.key, r.value, r.timestamp, r.headers);
  const s2 = (performance.now() - t) / 1000;
  const bets = d2.createOutputTopic(TOPICS.bets, Serdes.String, Serdes.Bytes).readRecordsToList();
  const cancels = d2.createOutputTopic(TOPICS.betsCanceled, Serdes.String, Serdes.Bytes).readRecordsToList();
  await d2.close();

  const d3 = new TopologyTestDriver(buildCouponsTopology({ metrics }), { applicationId: "rewards-coupons" });
  const cin = d3.createInputTopic(TOPICS.campaigns, Serdes.String, Serdes.String);
  for (const c of BENCH_CAMPAIGNS) cin.pipeInput(c.id, JSON.stringify(c.spec), 0);
  const pool = d3.createInputTopic(TOPICS.coupons, Serdes.String, Serdes.String);
  for (const c of BENCH_CAMPAIGNS)
    for (let i = 0; i < bets.length; i++) pool.pipeInput(couponPoolKey(c.id, i), `${c.id}${i}`, 0);
  const bin = d3.createInputTopic(TOPICS.bets, Serdes.String, Serdes.Bytes);
  const xin = d3.createInputTopic(TOPICS.betsCanceled, Serdes.String, Serdes.Bytes);
  const merged: { r: TestRecord<string, Uint8Array>; cancel: boolean }[] = [
    ...bets.map((r) => ({ r, cancel: false })),
    ...cancels.map((r) => ({ r, cancel: true })),
  ].sort((a, b) => a.r.timestamp - b.r.timestamp);
  t = performance.now();
  for (const { r, cancel } of merged) (cancel ? xin : bin).pipeInput(r.key, r.value, r.timestamp, r.headers);
  const s3 = (performance.now() - t) / 1000;
  const issued = d3.createOutputTopic(TOPICS.rewards, Serdes.String, Serdes.Bytes).getQueueSize();
  await d3.close();

  const total = s1 + s2 + s3;
  rows.push(["ceiling: header decoding", `${Math.round(frames.length / s1)} frames/s`]);
  rows.push(["ceiling: correlation + full decoding", `${Math.round(valid.length / s2)} frames/s`]);
  rows.push(["ceiling: coupons", `${Math.round(merged.length / s3)} bets+cancels/s (${issued} coupons)`]);
  rows.push(["ceiling: whole pipeline, one core", `${Math.round(frames.length / total)} frames/s`]);
  figures.ceiling_header_frames_per_s = Math.round(frames.length / s1);
  figures.ceiling_correlation_frames_per_s = Math.round(valid.length / s2);
  figures.ceiling_coupons_records_per_s = Math.round(merged.length / s3);
  figures.ceiling_pipeline_frames_per_s = Math.round(frames.length / total);
}
await ceiling();

// ---- 2. the real pipeline --------------------------------------------------------------------
const streams = (await import("../src/streams/index.ts")) as Record<string, unknown>;
if (typeof streams.KafkaStreams === "function") {
  const { BenchDay, benchRuntime } = await import("./rewards/runtime.ts");
  const compact = new BenchDay(frames);
  frames.length = 0; // the decoded day is not needed any more (see BenchDay)
  await benchRuntime(compact, rows, figures);
} else {
  rows.push(["runtime", "the streams runtime (KafkaStreams) is not available in this build: skipped"]);
}

const w = Math.max(...rows.map((r) => r[0].length));
console.log("\nrewards benchmark");
for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
console.log(JSON.stringify(figures));
