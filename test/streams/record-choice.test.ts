// How a task picks its next record across its input partitions (Kafka's PartitionGroup): the
// smallest head timestamp first; among equal timestamps a table's input before a stream's, so a
// stream-table join sees the table updates of its own instant whichever input was fetched first.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { ConsumedRecord } from "../../src/cluster/index.ts";
import { MetricsRegistry, waitFor } from "../../src/observe/index.ts";
import { Serdes } from "../../src/serde/index.ts";
import { KafkaStreams, StreamsBuilder } from "../../src/streams/index.ts";
import { memoryStoreProvider, StreamTask } from "../../src/streams/internals/task.ts";
import { openTestCluster } from "../fixtures/streams/test-cluster.ts";

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

/** Processes everything buffered, run after run (a run ends when an input runs dry). */
function drain(task: StreamTask): number {
  let n = 0;
  for (let k = task.process(100); k > 0; k = task.process(100)) n += k;
  return n;
}

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
    assert.equal(drain(task), 6);
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
  assert.equal(drain(task), 6);
  // "early" precedes u0's profile, e2 precedes u1's (1001 < 1002); e3 shares u1's instant.
  assert.deepEqual(enriched, ["e1@r0", "e3@r1"]);
});

test("a run ends at the record that empties an input while another input still holds records", () => {
  const { task, enriched } = enrichTask();
  task.addRecords("profiles", 0, [
    rec("profiles", 0, 1000, "u0", "r0"),
    rec("profiles", 1, 1002, "u0", "r1"),
  ]);
  task.addRecords(
    "events",
    0,
    [1001, 1003, 1004].map((ts, i) => rec("events", i, ts, "u0", `e${i}`)),
  );
  // r0, e0, r1: the table's queue is empty, its next update may be on the broker (the thread
  // checks its lag before going on), so e1 waits even though 97 more records were allowed.
  assert.equal(task.process(100), 3);
  assert.deepEqual(enriched, ["e0@r0"]);
  assert.equal(task.process(100), 2, "the stream's queue empties last: nothing else waits");
  assert.deepEqual(enriched, ["e0@r0", "e1@r1", "e2@r1"]);
});

// The runtime's half of the rule: a task waits while one of its inputs is empty but has data on
// the broker. A table whose backlog takes many fetches empties between them; every event must join
// the table version of its own timestamp, not an earlier one loaded so far.
test("a stream-table join over a table backlog of many fetches: each event joins the version of its timestamp", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-record-choice-"));
  const cluster = await openTestCluster(dir);
  let app: KafkaStreams | undefined;
  t.after(async () => {
    await app?.close();
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const admin = cluster.admin();
  await admin.createTopics(["events", "profiles", "enriched"].map((name) => ({ name, partitions: 1 })));
  // Versions v0..v2999 of one profile at even milliseconds; 600 events at odd ones across them.
  const VERSIONS = 3000;
  const EVENTS = 600;
  const at = Date.now() - 60_000;
  const producer = await cluster.createProducer();
  for (let j = 0; j < VERSIONS; j += 500)
    await producer.send(
      Array.from({ length: 500 }, (_, k) => ({
        topic: "profiles",
        key: enc("u"),
        value: enc(`v${j + k}`),
        timestamp: at + 2 * (j + k),
      })),
    );
  const version = (i: number) => Math.floor((i * VERSIONS) / EVENTS) + (i % 3);
  await producer.send(
    Array.from({ length: EVENTS }, (_, i) => ({
      topic: "events",
      key: enc("u"),
      value: enc(`e${i}`),
      timestamp: at + 2 * version(i) + 1,
    })),
  );
  const b = new StreamsBuilder();
  b.stream("events", { keySerde: Serdes.String, valueSerde: Serdes.String })
    .join(b.table("profiles", { keySerde: Serdes.String, valueSerde: Serdes.String }), (e, v) => `${e}@${v}`)
    .to("enriched", { keySerde: Serdes.String, valueSerde: Serdes.String });
  app = new KafkaStreams(b.build(), {
    applicationId: "record-choice",
    cluster,
    stateDir: join(dir, "state"),
    // Fetches of 100 records: the table's backlog takes 30 of them.
    maxPollRecords: 100,
    commitIntervalMs: 50,
    pollMs: 20,
    metrics: new MetricsRegistry(),
  });
  await app.start();
  const consumer = await cluster.createConsumer();
  const tp = { topic: "enriched", partition: 0 };
  consumer.assign([tp]);
  await consumer.seekToBeginning([tp]);
  const enriched: string[] = [];
  await waitFor(
    async () => {
      for (const r of await consumer.poll({ maxWaitMs: 50 })) enriched.push(dec(r.value)!);
      return enriched.length >= EVENTS;
    },
    { timeoutMs: 30_000, what: `${EVENTS} enriched events` },
  );
  await consumer.close();
  const wrong = enriched.filter((s) => {
    const [e, v] = s.split("@") as [string, string];
    return v !== `v${version(Number(e.slice(1)))}`;
  });
  assert.deepEqual(
    wrong,
    [],
    `${wrong.length} of ${EVENTS} events joined another version than their timestamp's`,
  );
  assert.equal(enriched.length, EVENTS);
});

test("a task lets go of each record once processed, not when its queue drains", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const b = new StreamsBuilder();
  b.stream("events", { keySerde: Serdes.String, valueSerde: Serdes.String })
    .mapValues((v) => v.toUpperCase())
    .to("upper", { keySerde: Serdes.String, valueSerde: Serdes.String });
  const topology = b.build();
  const out: string[] = [];
  const task = new StreamTask(topology.internal, 0, 0, {
    applicationId: "release",
    clock: { now: () => 0 },
    collector: { send: (_t, _k, value) => void out.push(dec(value)!), partitionsFor: () => 1 },
    storeProvider: memoryStoreProvider,
    globalStores: new Map(),
  });
  task.initialize();
  // Made in a function of their own: nothing here keeps them but the WeakRefs and the task.
  const refs = ((): WeakRef<ConsumedRecord>[] => {
    const records = [0, 1, 2].map((i) => rec("events", i, 1000 + i, `u${i}`, `e${i}`));
    task.addRecords("events", 0, records);
    return records.map((r) => new WeakRef(r));
  })();
  assert.equal(task.process(2), 2);
  assert.deepEqual(out, ["E0", "E1"]);
  await new Promise((r) => setImmediate(r)); // WeakRef targets are kept until the job ends
  gc();
  // (The last processed record may still be the task's current record context.)
  assert.equal(refs[0]!.deref(), undefined, "the first processed record is garbage");
  assert.notEqual(refs[2]!.deref(), undefined, "the queued record is kept");
  assert.equal(task.bufferedRecords, 1);
  assert.equal(task.process(10), 1);
  assert.deepEqual(out, ["E0", "E1", "E2"]);
});
