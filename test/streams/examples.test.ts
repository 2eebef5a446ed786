// The examples run: word count and the windowed-join ad attribution, through the test driver
// (and word count also on the embedded cluster in runtime.test.ts's shape).
import assert from "node:assert/strict";
import { test } from "node:test";
import { adAttributionTopology, type Attribution } from "../../examples/ad-attribution.ts";
import { wordCountTopology } from "../../examples/wordcount.ts";
import { Serdes } from "../../src/serde/index.ts";
import { TopologyTestDriver, WindowedSerdes } from "../../src/streams/index.ts";

test("examples/wordcount.ts counts words", () => {
  const d = new TopologyTestDriver(wordCountTopology(), { applicationId: "wordcount" });
  const lines = d.createInputTopic("text-lines", Serdes.String, Serdes.String);
  lines.pipeInput(null, "Hello Kafka Streams");
  lines.pipeInput(null, "All streams lead to Kafka");
  lines.pipeInput(null, "Join Kafka Summit");
  const out = d
    .createOutputTopic("words-with-counts", Serdes.String, Serdes.Json<number>())
    .readKeyValuesToMap();
  assert.equal(out.get("kafka"), 3);
  assert.equal(out.get("streams"), 2);
  assert.equal(out.get("summit"), 1);
  assert.equal(d.getKeyValueStore<string, number>("counts-store").get("kafka"), 3);
});

test("examples/ad-attribution.ts: clicks within 10 s attribute; unclicked impressions emitted when their window closes", () => {
  const d = new TopologyTestDriver(adAttributionTopology(), { applicationId: "ads" });
  const imp = d.createInputTopic(
    "impressions",
    Serdes.String,
    Serdes.Json<{ campaign: string; ad: string }>(),
  );
  const clk = d.createInputTopic("clicks", Serdes.String, Serdes.Json<{ ad: string }>());
  const out = d.createOutputTopic("attributions", Serdes.String, Serdes.Json<Attribution>());
  const perCampaign = d.createOutputTopic(
    "campaign-clicks",
    WindowedSerdes.timeWindowed(Serdes.String, 60_000),
    Serdes.Json<number>(),
  );
  imp.pipeInput("i1", { campaign: "spring", ad: "a1" }, 1_000);
  imp.pipeInput("i2", { campaign: "spring", ad: "a2" }, 2_000);
  clk.pipeInput("i1", { ad: "a1" }, 5_000); // 4 s after i1: attributed
  clk.pipeInput("i2", { ad: "a2" }, 30_000); // 28 s after i2: too late to attribute
  assert.deepEqual(out.readKeyValuesToList(), [
    { key: "i1", value: { campaign: "spring", ad: "a1", clicked: true } },
    { key: "i2", value: { campaign: "spring", ad: "a2", clicked: false } },
  ]);
  assert.ok(perCampaign.isEmpty(), "the minute is not closed yet");
  // Stream time of the counting sub-topology advances only with records reaching it: a click
  // attributed at 71 s closes [0, 60 s) + 5 s grace there.
  imp.pipeInput("i3", { campaign: "summer", ad: "a3" }, 70_000);
  clk.pipeInput("i3", { ad: "a3" }, 71_000);
  const final = perCampaign.readKeyValuesToList();
  assert.deepEqual(
    final.map((kv) => [kv.key!.key, kv.key!.window.start, kv.value]),
    [["spring", 0, 1]],
  );
});
