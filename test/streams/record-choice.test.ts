// How a task picks its next record across its input partitions (Kafka's PartitionGroup): the
// smallest head timestamp first; among equal timestamps a table's input before a stream's, so a
// stream-table join sees the table updates of its own instant whichever input was fetched first.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConsumedRecord } from "../../src/cluster/index.ts";
import { Serdes } from "../../src/serde/index.ts";
import { StreamsBuilder } from "../../src/streams/index.ts";
import { memoryStoreProvider, StreamTask } from "../../src/streams/internals/task.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function enrichTask() {
  const b = new StreamsBuilder();
  const events = b.stream("events", { keySerde: Serdes.String, valueSerde: Serdes.String });
  const profiles = b.table("profiles", { keySerde: Serdes.String, valueSerde: Serdes.String });
  events
    .join(profiles, (e, region) => `${e}@${region}`)
    .to("enriched", { keySerde: Serdes.String, valueSerde: Serdes.String });
  const topology = b.build();
  topology.internal.applicationId = "record-choice";
  const enriched: string[] = [];
  const task = new StreamTask(topology.internal, 0, 0, {
    applicationId: "record-choice",
    clock: { now: () => 0 },
    collector: {
      send: (topic, _key, value) => {
        if (topic === "enriched") enriched.push(dec(value)!);
      },
      partitionsFor: () => 1,
    },
    storeProvider: memoryStoreProvider,
    globalStores: new Map(),
  });
  task.initialize();
  return { task, enriched };
}

const rec = (
  topic: string,
  offset: number,
  timestamp: number,
  key: string,
  value: string,
): ConsumedRecord => ({
  topic,
  partition: 0,
  offset,
  timestamp,
  timestampType: "CreateTime",
  key: enc(key),
  value: enc(value),
  headers: [],
});

for (const first of ["events", "profiles"] as const) {
  test(`a table's record goes before a stream record of the same timestamp (${first} fetched first)`, () => {
    const { task, enriched } = enrichTask();
    // One instant for both inputs (the crash campaign's profiles and first events were produced
    // within one millisecond): each event must find its user's profile.
    const events = ["u0", "u1", "u2"].map((u, i) => rec("events", i, 1000, u, `e${i}`));
    const profiles = ["u0", "u1", "u2"].map((u, i) => rec("profiles", i, 1000, u, `r${i}`));
    const inputs = { events, profiles };
    task.addRecords(first, 0, inputs[first]);
    const second = first === "events" ? "profiles" : "events";
    task.addRecords(second, 0, inputs[second]);
    assert.equal(task.process(100), 6);
    assert.deepEqual(enriched, ["e0@r0", "e1@r1", "e2@r2"]);
  });
}

test("timestamps still decide first: a stream record before the table's update does not see it", () => {
  const { task, enriched } = enrichTask();
  task.addRecords("profiles", 0, [
    rec("profiles", 0, 1000, "u0", "r0"),
    rec("profiles", 1, 1002, "u1", "r1"),
  ]);
  task.addRecords("events", 0, [
    rec("events", 0, 999, "u0", "early"),
    rec("events", 1, 1001, "u0", "e1"),
    rec("events", 2, 1001, "u1", "e2"),
    rec("events", 3, 1002, "u1", "e3"),
  ]);
  assert.equal(task.process(100), 6);
  // "early" precedes u0's profile, e2 precedes u1's (1001 < 1002); e3 shares u1's instant.
  assert.deepEqual(enriched, ["e1@r0", "e3@r1"]);
});
