import assert from "node:assert/strict";
import { test } from "node:test";
import { MetricsRegistry } from "../../src/observe/index.ts";

test("tallyCounter: counts kept per label set are added to the counter when it is collected", async () => {
  const m = new MetricsRegistry();
  const frames = m.tallyCounter("frames_total", "frames", ["direction"]);
  const q = frames.tally("Q");
  const r = frames.tally("R");
  for (let i = 0; i < 5; i++) q.inc();
  r.inc(3);
  frames.tally("Q").inc(); // a second handle on the same label set adds to the same count
  const first = await frames.counter.get();
  const byDir = Object.fromEntries(first.values.map((v) => [v.labels.direction, v.value]));
  assert.deepEqual(byDir, { Q: 6, R: 3 });
  // Collected counts are not added twice; new ones are.
  q.inc(2);
  const text = await m.text();
  assert.match(text, /courant_frames_total\{direction="Q"\} 8/);
  assert.match(text, /courant_frames_total\{direction="R"\} 3/);
});

test("latestGauge: the last value set per label set is what a collection reports", async () => {
  const m = new MetricsRegistry();
  const used = m.latestGauge("budget_used", "budget used", ["campaign"]);
  const a = used.slot("A");
  a.set(100);
  a.set(250); // only the latest counts
  used.slot("B").set(7);
  assert.match(await m.text(), /courant_budget_used\{campaign="A"\} 250/);
  const first = await used.gauge.get();
  assert.deepEqual(Object.fromEntries(first.values.map((v) => [v.labels.campaign, v.value])), {
    A: 250,
    B: 7,
  });
  // A value going down is reported as such, and an untouched slot keeps its last value.
  used.slot("A").set(40);
  const text = await m.text();
  assert.match(text, /courant_budget_used\{campaign="A"\} 40/);
  assert.match(text, /courant_budget_used\{campaign="B"\} 7/);
});
