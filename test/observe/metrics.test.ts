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
