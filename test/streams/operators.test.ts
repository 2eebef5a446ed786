// Every DSL operator and the Processor API through the TopologyTestDriver.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Serdes } from "../../src/serde/index.ts";
import {
  type KeyValueStore,
  type ProcessorContext,
  Record,
  SessionWindows,
  SlidingWindows,
  StreamsBuilder,
  Stores,
  Suppressed,
  TimeWindows,
  Topology,
  TopologyTestDriver,
  type Windowed,
  WindowedSerdes,
} from "../../src/streams/index.ts";

const S = Serdes.String;
const N = Serdes.Json<number>();

function run(
  build: (b: StreamsBuilder) => void,
  inputs: [string, string | null, string | null, number][],
  out = "out",
) {
  const b = new StreamsBuilder();
  build(b);
  const d = new TopologyTestDriver(b.build(), { applicationId: "ops" });
  for (const [topic, k, v, ts] of inputs) d.createInputTopic(topic, S, S).pipeInput(k, v, ts);
  return {
    d,
    out: d
      .createOutputTopic(out, S, S)
      .readKeyValuesToList()
      .map((kv) => [kv.key, kv.value]),
  };
}

test("map, mapValues, filter, filterNot, selectKey, flatMap, flatMapValues, peek", () => {
  const seen: string[] = [];
  const { out } = run(
    (b) =>
      b
        .stream("in", { keySerde: S, valueSerde: S })
        .peek((k) => seen.push(k))
        .filter((_k, v) => v !== "drop")
        .filterNot((_k, v) => v === "also-drop")
        .mapValues((v) => v.toUpperCase())
        .map((k, v) => [`${k}!`, `${v}?`] as [string, string])
        .selectKey((k) => k.toLowerCase())
        .flatMapValues((v) => [v, v])
        .flatMap((k, v) => [[k, `${v}1`] as [string, string]])
        .to("out", { keySerde: S, valueSerde: S }),
    [
      ["in", "A", "x", 1],
      ["in", "B", "drop", 2],
      ["in", "C", "also-drop", 3],
    ],
  );
  assert.deepEqual(seen, ["A", "B", "C"]);
  assert.deepEqual(out, [
    ["a!", "X?1"],
    ["a!", "X?1"],
  ]);
});

test("split into branches with a default branch; merge; foreach", () => {
  const each: string[] = [];
  const { out } = run(
    (b) => {
      const branches = b
        .stream("in", { keySerde: S, valueSerde: S })
        .split("s")
        .branch((_k, v) => v.startsWith("a"), "as")
        .branch((_k, v) => v.startsWith("b"), "bs")
        .defaultBranch("rest");
      branches["s-as"]!.mapValues((v) => `A:${v}`).to("out", { keySerde: S, valueSerde: S });
      branches["s-bs"]!.merge(branches["s-rest"]!).foreach((_k, v) => each.push(v));
    },
    [
      ["in", "k", "apple", 1],
      ["in", "k", "banana", 2],
      ["in", "k", "cherry", 3],
    ],
  );
  assert.deepEqual(out, [["k", "A:apple"]]);
  assert.deepEqual(each, ["banana", "cherry"]);
});

test("to() with a per-record topic extractor, and record headers flow to the output", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S }).to((_k, v) => `out-${v}`, { keySerde: S, valueSerde: S });
  const d = new TopologyTestDriver(b.build());
  const h = [{ key: "trace", value: new TextEncoder().encode("t1") }];
  d.createInputTopic("in", S, S).pipeInput("k", "x", 5, h);
  d.createInputTopic("in", S, S).pipeInput("k", "y", 6);
  const rx = d.createOutputTopic("out-x", S, S).readRecordsToList();
  assert.equal(rx.length, 1);
  assert.equal(rx[0]!.timestamp, 5);
  assert.deepEqual(rx[0]!.headers, h);
  assert.equal(d.createOutputTopic("out-y", S, S).readValue(), "y");
});

test("a key change followed by an aggregation repartitions through <appId>-<name>-repartition", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .selectKey((_k, v) => v)
    .groupByKey({ keySerde: S, valueSerde: S, name: "by-value" })
    .count({ storeName: "counts" });
  const t = b.build();
  const desc = t.describe();
  assert.equal(desc.subtopologies.length, 2);
  assert.match(desc.toString(), /Sink: .* \(topic: by-value-repartition\)/);
  const d = new TopologyTestDriver(t, { applicationId: "app" });
  assert.match(t.describe().toString(), /topic: app-by-value-repartition/);
  const i = d.createInputTopic("in", S, S);
  i.pipeInput("1", "x", 1);
  i.pipeInput("2", "x", 2);
  i.pipeInput("3", "y", 3);
  assert.deepEqual(d.getKeyValueStore<string, number>("counts").all(), [
    { key: "x", value: 2 },
    { key: "y", value: 1 },
  ]);
  assert.ok(!d.producedTopicNames().includes("app-by-value-repartition"), "internal topics are not outputs");
});

test("repartition() with a name and a partition count; groupByKey without key change does not repartition", () => {
  const b = new StreamsBuilder();
  const s = b.stream("in", { keySerde: S, valueSerde: S });
  s.repartition({ name: "rp", numberOfPartitions: 3 }).to("out", { keySerde: S, valueSerde: S });
  s.groupByKey().count({ storeName: "c" });
  const t = b.build();
  assert.equal(t.internal.internalTopics.get("rp-repartition")?.numPartitions, 3);
  const d = new TopologyTestDriver(t);
  d.createInputTopic("in", S, S).pipeInput("k", "v", 1);
  assert.deepEqual(d.createOutputTopic("out", S, S).readKeyValuesToList(), [{ key: "k", value: "v" }]);
  assert.equal(t.describe().subtopologies.length, 2);
});

test("toTable and table toStream; table filter and mapValues (materialized) keep tombstone semantics", () => {
  const b = new StreamsBuilder();
  const t = b
    .stream("in", { keySerde: S, valueSerde: S })
    .toTable({ storeName: "latest" })
    .filter((_k, v) => v !== "hide")
    .mapValues((v) => v.length, { storeName: "lengths", valueSerde: N });
  t.toStream().to("out", { keySerde: S, valueSerde: N });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, S);
  i.pipeInput("a", "xyz", 1);
  i.pipeInput("a", "hide", 2);
  i.pipeInput("b", "hide", 3);
  i.pipeInput("c", "q", 4);
  i.pipeInput("c", null, 5);
  const out = d.createOutputTopic("out", S, N).readKeyValuesToList();
  assert.deepEqual(out, [
    { key: "a", value: 3 },
    { key: "a", value: null },
    { key: "c", value: 1 },
    { key: "c", value: null },
  ]);
  assert.equal(d.getKeyValueStore<string, string>("latest").get("b"), "hide");
  assert.equal(d.getKeyValueStore<string, number>("lengths").get("a"), undefined);
});

test("count, reduce on grouped streams; null keys and values are dropped and counted", () => {
  const b = new StreamsBuilder();
  const g = b.stream("in", { keySerde: S, valueSerde: S }).groupByKey();
  g.count({ storeName: "n" });
  g.reduce((a, v) => `${a}+${v}`, { storeName: "r", valueSerde: S });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, S);
  i.pipeInput("k", "a", 1);
  i.pipeInput("k", "b", 2);
  i.pipeInput(null, "c", 3);
  i.pipeInput("k", null, 4);
  assert.equal(d.getKeyValueStore<string, number>("n").get("k"), 2);
  assert.equal(d.getKeyValueStore<string, string>("r").get("k"), "a+b");
  assert.equal(d.droppedRecords()["null-key"], 2);
  assert.equal(d.droppedRecords()["null-value"], 2);
  assert.equal(d.getTimestampedKeyValueStore<string, number>("n").get("k")?.timestamp, 2);
});

test("tumbling windows with grace: out-of-order within grace counted, late beyond grace dropped and counted", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
    .count({ storeName: "w" })
    .toStream()
    .map((w, c) => [`${w.key}@${w.window.start}-${w.window.end}`, String(c)] as [string, string])
    .to("out", { keySerde: S, valueSerde: S });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, S);
  i.pipeInput("k", "a", 1);
  i.pipeInput("k", "b", 12);
  i.pipeInput("k", "c", 8); // out of order, window [0,10) still open (12 - 5 = 7 < 10)
  i.pipeInput("k", "d", 16);
  i.pipeInput("k", "e", 9); // late: 16 - 5 = 11 >= 10
  const out = d.createOutputTopic("out", S, S).readKeyValuesToList();
  assert.deepEqual(
    out.map((kv) => `${kv.key}=${kv.value}`),
    ["k@0-10=1", "k@10-20=1", "k@0-10=2", "k@10-20=2"],
  );
  assert.equal(d.droppedRecords().late, 1);
  assert.deepEqual(d.getWindowStore<string, number>("w").fetchRange("k", 0, 100), [
    { key: 0, value: 2 },
    { key: 10, value: 2 },
  ]);
});

test("hopping windows put a record in every window that contains it", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(10, 100).advanceBy(5))
    .count({ storeName: "h" });
  const d = new TopologyTestDriver(b.build());
  d.createInputTopic("in", S, S).pipeInput("k", "a", 7);
  assert.deepEqual(
    d
      .getWindowStore<string, number>("h")
      .fetchRange("k", 0, 100)
      .map((e) => e.key),
    [0, 5],
  );
});

test("sliding windows (KIP-450): windows defined by records; aggregates match Kafka's algorithm", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: N })
    .groupByKey()
    .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10, 100))
    .aggregate(
      () => 0,
      (_k, v, a) => a + v,
      { storeName: "s", valueSerde: N },
    );
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, N);
  i.pipeInput("k", 1, 20);
  i.pipeInput("k", 2, 25);
  i.pipeInput("k", 4, 40);
  const windows = d
    .getWindowStore<string, number>("s")
    .fetchRange("k", 0, 100)
    .map((e) => `[${e.key},${e.key + 10}]=${e.value}`);
  // [10,20]: 1; [15,25]: 1+2; [21,31] (right window of 20): 2; [26,36] (right of 25) is empty: not created;
  // [30,40]: 4.
  assert.deepEqual(windows, ["[10,20]=1", "[15,25]=3", "[21,31]=2", "[30,40]=4"]);
});

test("session windows merge and retract the merged sessions with tombstones", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 10))
    .count({ storeName: "sess" })
    .toStream()
    .to("out", { keySerde: WindowedSerdes.sessionWindowed(S), valueSerde: N });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, S);
  i.pipeInput("k", "a", 0);
  i.pipeInput("k", "b", 10);
  i.pipeInput("k", "c", 5); // bridges [0,0] and [10,10]
  const out = d
    .createOutputTopic("out", WindowedSerdes.sessionWindowed(S), N)
    .readKeyValuesToList()
    .map((kv) => `${kv.key!.window.start}-${kv.key!.window.end}=${kv.value}`);
  assert.deepEqual(out, ["0-0=1", "10-10=1", "0-0=null", "10-10=null", "0-10=3"]);
  assert.deepEqual(
    d
      .getSessionStore<string, number>("sess")
      .fetch("k")
      .map((e) => [e.key.window.start, e.key.window.end, e.value]),
    [[0, 10, 3]],
  );
});

test("suppress(untilWindowCloses) emits one final result per window once stream time passes end + grace", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(10, 2))
    .count()
    .suppress(Suppressed.untilWindowCloses())
    .toStream()
    .map((w: Windowed<string>, c) => [`${w.key}@${w.window.start}`, String(c)] as [string, string])
    .to("out", { keySerde: S, valueSerde: S });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, S);
  const o = d.createOutputTopic("out", S, S);
  i.pipeInput("k", "a", 1);
  i.pipeInput("k", "b", 5);
  i.pipeInput("k", "c", 11);
  assert.deepEqual(o.readKeyValuesToList(), []);
  i.pipeInput("k", "d", 12); // 12 - 2 >= 10: window [0,10) closes
  assert.deepEqual(o.readKeyValuesToList(), [{ key: "k@0", value: "2" }]);
});

test("emitStrategy onWindowClose equals suppress; closeWhenIdleMs closes windows on wall-clock time", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(10, 0))
    .count()
    .suppress(Suppressed.untilWindowCloses({}, { closeWhenIdleMs: 1000 }))
    .toStream()
    .map((w: Windowed<string>, c) => [`${w.key}@${w.window.start}`, String(c)] as [string, string])
    .to("out", { keySerde: S, valueSerde: S });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, S);
  const o = d.createOutputTopic("out", S, S);
  i.pipeInput("k", "a", 3);
  d.advanceWallClockTime(500);
  assert.deepEqual(o.readKeyValuesToList(), []);
  d.advanceWallClockTime(10_000); // idle long enough: stream time treated as advanced by the idle time
  assert.deepEqual(o.readKeyValuesToList(), [{ key: "k@0", value: "1" }]);

  const b2 = new StreamsBuilder();
  b2.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(10, 0))
    .emitStrategy("onWindowClose")
    .count()
    .toStream()
    .mapValues((c) => String(c))
    .selectKey((w) => `${w.key}@${w.window.start}`)
    .to("out", { keySerde: S, valueSerde: S });
  const d2 = new TopologyTestDriver(b2.build());
  const i2 = d2.createInputTopic("in", S, S);
  i2.pipeInput("k", "a", 1);
  i2.pipeInput("k", "b", 2);
  i2.pipeInput("k", "c", 10);
  assert.deepEqual(d2.createOutputTopic("out", S, S).readKeyValuesToList(), [{ key: "k@0", value: "2" }]);
});

test("suppress(untilTimeLimit) rate-limits updates per key", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .count()
    .suppress(Suppressed.untilTimeLimit(10))
    .toStream()
    .to("out", { keySerde: S, valueSerde: N });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, S);
  i.pipeInput("k", "a", 0);
  i.pipeInput("k", "b", 5);
  i.pipeInput("j", "c", 10); // k's first update (time 0 + 10) is due
  assert.deepEqual(d.createOutputTopic("out", S, N).readKeyValuesToList(), [{ key: "k", value: 2 }]);
});

test("cogroup aggregates several grouped streams into one table", () => {
  const b = new StreamsBuilder();
  const clicks = b.stream("clicks", { keySerde: S, valueSerde: S }).groupByKey();
  const views = b.stream("views", { keySerde: S, valueSerde: S }).groupByKey();
  clicks
    .cogroup<{ c: number; v: number }>((_k, _v, a) => ({ ...a, c: a.c + 1 }))
    .cogroup(views, (_k, _v, a) => ({ ...a, v: a.v + 1 }))
    .aggregate(() => ({ c: 0, v: 0 }), { storeName: "cg" });
  const d = new TopologyTestDriver(b.build());
  d.createInputTopic("clicks", S, S).pipeInput("u", "x", 1);
  d.createInputTopic("views", S, S).pipeInput("u", "y", 2);
  d.createInputTopic("views", S, S).pipeInput("u", "z", 3);
  assert.deepEqual(d.getKeyValueStore<string, { c: number; v: number }>("cg").get("u"), { c: 1, v: 2 });
});

test("table groupBy count, reduce with subtractor", () => {
  const b = new StreamsBuilder();
  const t = b.table("t", { keySerde: S, valueSerde: S });
  t.groupBy((_k, v) => [v, v] as const, { keySerde: S, valueSerde: S }).count({ storeName: "cnt" });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("t", S, S);
  i.pipeInput("a", "x", 1);
  i.pipeInput("b", "x", 2);
  i.pipeInput("a", "y", 3);
  assert.deepEqual(d.getKeyValueStore<string, number>("cnt").all(), [
    { key: "x", value: 1 },
    { key: "y", value: 1 },
  ]);
});

test("Processor API: stores, record context, stream-time and wall-clock punctuators, forward to a named child", () => {
  const t = new Topology()
    .addSource("src", "in", { keySerde: S, valueSerde: S })
    .addProcessor(
      "proc",
      () => {
        let ctx!: ProcessorContext<string, string>;
        let store!: KeyValueStore<string, number>;
        return {
          init(c: ProcessorContext<string, string>) {
            ctx = c;
            store = c.getStateStore<KeyValueStore<string, number>>("seen");
            c.schedule(10, "streamTime", (ts) => ctx.forward(new Record("tick", `stream@${ts}`, ts), "sink"));
            c.schedule(1000, "wallClockTime", (ts) =>
              ctx.forward(new Record("tick", `wall@${ts}`, ts), "sink"),
            );
          },
          process(r: Record<string, string>) {
            store.put(r.key, (store.get(r.key) ?? 0) + 1);
            const m = ctx.recordMetadata()!;
            ctx.forward(
              r.withValue(`${r.value}@${m.topic}/${m.partition}/${m.offset}/${ctx.currentStreamTimeMs()}`),
              "sink",
            );
          },
        };
      },
      "src",
    )
    .addStateStore(
      Stores.keyValueStore({ name: "seen", keySerde: S, valueSerde: N, persistent: false }),
      "proc",
    )
    .addSink("sink", "out", { keySerde: S, valueSerde: S }, "proc");
  const d = new TopologyTestDriver(t);
  const i = d.createInputTopic("in", S, S);
  i.pipeInput("a", "x", 3);
  i.pipeInput("a", "y", 12);
  d.advanceWallClockTime(1000);
  assert.deepEqual(d.createOutputTopic("out", S, S).readValuesToList(), [
    "x@in/0/0/3",
    "stream@3",
    "y@in/0/1/12",
    "stream@12",
    "wall@1000",
  ]);
  assert.equal(d.getKeyValueStore<string, number>("seen").get("a"), 2);
});

test("a processor reading a store it is not connected to fails with a clear error", () => {
  const t = new Topology()
    .addSource("src", "in", { keySerde: S, valueSerde: S })
    .addProcessor(
      "p",
      () => ({ init: (c: ProcessorContext<never, never>) => c.getStateStore("nope"), process() {} }),
      "src",
    );
  assert.throws(() => new TopologyTestDriver(t), /processor p has no access to store nope/);
});

test("mapValuesAsync keeps per-key order with bounded concurrency", async () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .mapValuesAsync(
      async (v) => {
        await new Promise((r) => setTimeout(r, v === "slow" ? 20 : 1));
        return v.toUpperCase();
      },
      { concurrency: 4 },
    )
    .to("out", { keySerde: S, valueSerde: S });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, S);
  i.pipeInput("k", "slow", 1);
  i.pipeInput("k", "fast", 2);
  i.pipeInput("j", "other", 3);
  await d.flushAsync();
  const out = d
    .createOutputTopic("out", S, S)
    .readKeyValuesToList()
    .map((kv) => `${kv.key}:${kv.value}`);
  assert.deepEqual(
    out.filter((x) => x.startsWith("k")),
    ["k:SLOW", "k:FAST"],
  );
  assert.ok(out.indexOf("j:OTHER") < out.indexOf("k:SLOW"), "other keys are not held back");
});

test("timestamp extractor sets event time; negative timestamps are dropped and counted", () => {
  const b = new StreamsBuilder();
  b.stream<string, string>("in", {
    keySerde: S,
    valueSerde: S,
    timestampExtractor: (r) => Number(r.value),
  }).to("out", { keySerde: S, valueSerde: S });
  const d = new TopologyTestDriver(b.build());
  const i = d.createInputTopic("in", S, S);
  i.pipeInput("k", "42", 1);
  i.pipeInput("k", "-1", 2);
  assert.deepEqual(
    d
      .createOutputTopic("out", S, S)
      .readRecordsToList()
      .map((r) => r.timestamp),
    [42],
  );
  assert.equal(d.droppedRecords()["negative-timestamp"], 1);
});

test("deserialization errors: fail by default with coordinates; a handler can continue", () => {
  const build = () => {
    const b = new StreamsBuilder();
    b.stream("in", { keySerde: S, valueSerde: N }).to("out", { keySerde: S, valueSerde: N });
    return b.build();
  };
  const d = new TopologyTestDriver(build());
  assert.throws(
    () => d.createInputTopic("in", S, S).pipeInput("k", "{not json", 1),
    /cannot deserialize record in-0@0/,
  );
  const seen: string[] = [];
  const d2 = new TopologyTestDriver(build(), {
    onDeserializationError: (r, e) => {
      seen.push(`${r.topic}@${r.offset}: ${e.message.slice(0, 20)}`);
      return "continue";
    },
  });
  d2.createInputTopic("in", S, S).pipeInput("k", "{bad", 1);
  d2.createInputTopic("in", S, N).pipeInput("k", 7, 2);
  assert.equal(seen.length, 1);
  assert.deepEqual(d2.createOutputTopic("out", S, N).readValuesToList(), [7]);
  assert.equal(d2.droppedRecords().deserialization, 1);
});

test("describe() lists sub-topologies, sources, processors, stores, sinks and global stores", () => {
  const b = new StreamsBuilder();
  const g = b.globalTable("g", { keySerde: S, valueSerde: S });
  b.stream("in", { keySerde: S, valueSerde: S })
    .join(
      g,
      (k) => k,
      (v, gv) => `${v}${gv}`,
    )
    .groupByKey()
    .count({ storeName: "c" });
  const desc = b.build().describe();
  assert.equal(desc.subtopologies.length, 1);
  assert.equal(desc.globalStores.length, 1);
  const text = desc.toString();
  assert.match(text, /Sub-topology: 0/);
  assert.match(text, /Source: KSTREAM-SOURCE-\d+ \(topics: \[in\]\)/);
  assert.match(text, /Processor: KSTREAM-AGGREGATE-\d+ \(stores: \[c\]\)/);
  assert.match(text, /for global store/);
  const agg = desc.subtopologies[0]!.nodes.find((n) => n.name.startsWith("KSTREAM-AGGREGATE"))!;
  assert.deepEqual(agg.stores, ["c"]);
  assert.ok(agg.predecessors.length === 1);
});

test("topology validation errors name the problem", () => {
  const t = new Topology().addSource("s", "a");
  assert.throws(() => t.addSource("s2", "a"), /topic a is already read by source s/);
  assert.throws(
    () => t.addProcessor("p", () => ({ process() {} }), "missing"),
    /parent processor missing of p/,
  );
  assert.throws(
    () => new Topology().addSource("x", "t").addSource("x", "u"),
    /a processor named x already exists/,
  );
  assert.throws(() => TimeWindows.ofSizeWithNoGrace(0), /window size must be an integer >= 1/);
});

test("KGroupedTable.reduce with adder and subtractor; windowed reduce; session aggregate with a merger", () => {
  const b = new StreamsBuilder();
  b.table("t", { keySerde: S, valueSerde: N })
    .groupBy((k, v) => [k.slice(0, 1), v] as [string, number], { keySerde: S, valueSerde: N })
    .reduce(
      (a, v) => a + v,
      (a, v) => a - v,
      { storeName: "sums", valueSerde: N },
    );
  b.stream("s", { keySerde: S, valueSerde: N })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(10, 0))
    .reduce((a, v) => Math.max(a, v), { storeName: "max", valueSerde: N, retentionMs: 100 });
  b.stream("s2", { keySerde: S, valueSerde: N })
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 100))
    .aggregate(
      () => 0,
      (_k, v, a) => a + v,
      (_k, a1, a2) => a1 + a2,
      { storeName: "sess-sum", valueSerde: N },
    );
  const d = new TopologyTestDriver(b.build());
  const t = d.createInputTopic("t", S, N);
  t.pipeInput("a1", 5, 1);
  t.pipeInput("a2", 7, 2);
  t.pipeInput("a1", 1, 3);
  t.pipeInput("a2", null, 4);
  assert.equal(d.getKeyValueStore<string, number>("sums").get("a"), 1);
  const s = d.createInputTopic("s", S, N);
  s.pipeInput("k", 3, 1);
  s.pipeInput("k", 9, 2);
  s.pipeInput("k", 4, 11);
  assert.deepEqual(d.getWindowStore<string, number>("max").fetchRange("k", 0, 100), [
    { key: 0, value: 9 },
    { key: 10, value: 4 },
  ]);
  const s2 = d.createInputTopic("s2", S, N);
  s2.pipeInput("k", 1, 0);
  s2.pipeInput("k", 2, 10);
  s2.pipeInput("k", 4, 5); // merges both sessions: 1 + 2 + 4
  assert.deepEqual(
    d
      .getSessionStore<string, number>("sess-sum")
      .fetch("k")
      .map((e) => [e.key.window.start, e.key.window.end, e.value]),
    [[0, 10, 7]],
  );
});

test("windowed cogroup and processValues (key kept, no repartition)", () => {
  const b = new StreamsBuilder();
  const a = b.stream("a", { keySerde: S, valueSerde: N }).groupByKey();
  const c = b.stream("c", { keySerde: S, valueSerde: N }).groupByKey();
  a.cogroup<number>((_k, v, agg) => agg + v)
    .cogroup(c, (_k, v, agg) => agg - v)
    .windowedBy(TimeWindows.ofSizeAndGrace(10, 0))
    .aggregate(() => 0, { storeName: "net", valueSerde: N, retentionMs: 100 });
  const pv = b.stream("p", { keySerde: S, valueSerde: S }).processValues(() => {
    let ctx!: ProcessorContext<string, number>;
    return {
      init: (x: ProcessorContext<string, number>) => {
        ctx = x;
      },
      process: (r: Record<string, string>) => ctx.forward(r.withValue(r.value.length)),
    };
  });
  pv.groupByKey().count({ storeName: "pv" });
  const t = b.build();
  assert.equal(
    t.describe().subtopologies.length,
    2,
    "cogroup + processValues/groupByKey: no repartition topic",
  );
  const d = new TopologyTestDriver(t);
  d.createInputTopic("a", S, N).pipeInput("k", 10, 1);
  d.createInputTopic("c", S, N).pipeInput("k", 3, 2);
  d.createInputTopic("a", S, N).pipeInput("k", 1, 12);
  assert.deepEqual(d.getWindowStore<string, number>("net").fetchRange("k", 0, 100), [
    { key: 0, value: 7 },
    { key: 10, value: 1 },
  ]);
  d.createInputTopic("p", S, S).pipeInput("x", "hello", 1);
  assert.equal(d.getKeyValueStore<string, number>("pv").get("x"), 1);
});
