// A task lets go of the last record's headers once a run is processed: they are views of the
// fetched batch (a whole fetch buffer kept alive per idle task), and nothing after the run (a
// wall-clock punctuation, a commit) is that record's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Serdes } from "../../src/serde/index.ts";
import { StreamsBuilder } from "../../src/streams/index.ts";
import { memoryStoreProvider, StreamTask } from "../../src/streams/internals/task.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

test("a processed run's outputs carry its records' headers; the task keeps none of them afterwards", () => {
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: Serdes.String, valueSerde: Serdes.String })
    .mapValues((v) => v.toUpperCase())
    .to("out", { keySerde: Serdes.String, valueSerde: Serdes.String });
  const topology = b.build();
  topology.internal.applicationId = "task-headers";
  const sent: { value: string | null; headers: string[] }[] = [];
  const task = new StreamTask(topology.internal, 0, 0, {
    applicationId: "task-headers",
    clock: { now: () => 0 },
    collector: {
      send: (_topic, _key, value, _ts, headers) =>
        sent.push({ value: dec(value), headers: headers.map((h) => `${h.key}=${dec(h.value)}`) }),
      partitionsFor: () => 1,
    },
    storeProvider: memoryStoreProvider,
    globalStores: new Map(),
  });
  task.initialize();
  task.addRecords("in", 0, [
    {
      topic: "in",
      partition: 0,
      offset: 0,
      timestamp: 10,
      timestampType: "CreateTime",
      key: enc("k"),
      value: enc("a"),
      headers: [{ key: "trace", value: enc("t-1") }],
    },
  ]);
  assert.equal(task.process(100), 1);
  assert.deepEqual(sent, [{ value: "A", headers: ["trace=t-1"] }]);
  assert.equal(task.ctx.headers.length, 0);
});
