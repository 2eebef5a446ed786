// EmbeddedCluster: the Cluster contract over the in-process broker.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  type ConsumedRecord,
  type Consumer,
  EmbeddedCluster,
  type EmbeddedClusterOptions,
  KafkaError,
  partitionForKey,
  type TopicPartition,
} from "../../src/cluster/index.ts";

const enc = (s: string) => Buffer.from(s, "utf8");
const str = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString("utf8"));

async function open(t: { after(fn: () => unknown): void }, extra: Partial<EmbeddedClusterOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "courant-cluster-"));
  const cluster = await EmbeddedCluster.open({
    dataDir: dir,
    timerIntervalMs: 20,
    groupMinSessionTimeoutMs: 10,
    ...extra,
  });
  t.after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { cluster, dir };
}

async function pollUntil(c: Consumer, n: number, timeoutMs = 10_000): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`got ${out.length} of ${n} records before the deadline`);
    out.push(...(await c.poll({ maxWaitMs: 200 })));
  }
  return out;
}

test("produce keyed records with Kafka's partitioner and consume them with a group", async (t) => {
  const { cluster } = await open(t);
  const admin = cluster.admin();
  await admin.createTopics([{ name: "t", partitions: 3 }]);
  const producer = await cluster.createProducer();
  const md = await producer.send(
    ["k1", "k2", "k3", "k4"].map((k) => ({ topic: "t", key: enc(k), value: enc(`v-${k}`) })),
  );
  for (const [i, m] of md.entries()) assert.equal(m.partition, partitionForKey(enc(`k${i + 1}`), 3));
  const consumer = await cluster.createConsumer({ groupId: "g", autoOffsetReset: "earliest" });
  const assigned: TopicPartition[][] = [];
  await consumer.subscribe(["t"], { onPartitionsAssigned: (tps) => void assigned.push([...tps]) });
  const got = await pollUntil(consumer, 4);
  assert.deepEqual(got.map((r) => str(r.value)).sort(), ["v-k1", "v-k2", "v-k3", "v-k4"]);
  assert.equal(assigned[0]!.length, 3);
  await consumer.commit();
  const committed = await consumer.committed([{ topic: "t", partition: md[0]!.partition }]);
  assert.ok((committed.get(`t:${md[0]!.partition}`) ?? 0) > md[0]!.offset);
  const lag = await admin.describeLag("g");
  assert.ok(lag.every((l) => l.lag === 0));
  await consumer.close();
});

test("poll waits on the data hook: a record produced later wakes it up", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const consumer = await cluster.createConsumer();
  consumer.assign([{ topic: "t", partition: 0 }]);
  await consumer.seekToBeginning([{ topic: "t", partition: 0 }]);
  const producer = await cluster.createProducer();
  const started = Date.now();
  const polled = consumer.poll({ maxWaitMs: 10_000 });
  setTimeout(() => void producer.send([{ topic: "t", key: null, value: enc("late") }]), 20);
  const got = await polled;
  assert.deepEqual(
    got.map((r) => str(r.value)),
    ["late"],
  );
  assert.ok(Date.now() - started < 5000, "woken by the append, not by the timeout");
});

test("assign without a group: seek, position, pause/resume, beginning/end offsets", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const producer = await cluster.createProducer();
  await producer.send(
    ["a", "b", "c", "d"].map((v) => ({ topic: "t", partition: 0, key: null, value: enc(v) })),
  );
  const tp = { topic: "t", partition: 0 };
  const c = await cluster.createConsumer({ autoOffsetReset: "earliest" });
  c.assign([tp]);
  assert.equal(await c.position(tp), 0);
  assert.deepEqual([...(await c.endOffsets([tp]))], [["t:0", 4]]);
  assert.deepEqual([...(await c.beginningOffsets([tp]))], [["t:0", 0]]);
  c.seek(tp, 2);
  assert.deepEqual(
    (await c.poll({ maxWaitMs: 100 })).map((r) => str(r.value)),
    ["c", "d"],
  );
  assert.equal(await c.position(tp), 4);
  c.seek(tp, 0);
  c.pause([tp]);
  assert.deepEqual(await c.poll({ maxWaitMs: 30 }), []);
  c.resume([tp]);
  assert.equal((await c.poll({ maxWaitMs: 100, maxRecords: 1 })).length, 1);
  assert.throws(() => c.seek({ topic: "t", partition: 5 }, 0), KafkaError);
  await assert.rejects(c.commit(), (e: unknown) => e instanceof KafkaError && e.code === "INVALID_GROUP_ID");
});

test("two consumers split the partitions (range); the second join revokes and reassigns", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 4 }]);
  const events: string[] = [];
  const listener = (name: string) => ({
    onPartitionsRevoked: (tps: readonly TopicPartition[]) =>
      void events.push(`${name}-revoked:${tps.length}`),
    onPartitionsAssigned: (tps: readonly TopicPartition[]) =>
      void events.push(`${name}-assigned:${tps.length}`),
  });
  const opts = {
    groupId: "g",
    assignors: ["range" as const],
    heartbeatIntervalMs: 20,
    sessionTimeoutMs: 5000,
  };
  const a = await cluster.createConsumer(opts);
  await a.subscribe(["t"], listener("a"));
  await a.poll({ maxWaitMs: 10 });
  assert.equal(a.assignment().length, 4);
  const b = await cluster.createConsumer(opts);
  await b.subscribe(["t"], listener("b"));
  // Both poll concurrently so the join phase completes.
  const pa = (async () => {
    for (let i = 0; i < 100 && a.assignment().length !== 2; i++) await a.poll({ maxWaitMs: 20 });
  })();
  const pb = (async () => {
    for (let i = 0; i < 100 && b.assignment().length !== 2; i++) await b.poll({ maxWaitMs: 20 });
  })();
  await Promise.all([pa, pb]);
  assert.equal(a.assignment().length, 2);
  assert.equal(b.assignment().length, 2);
  assert.ok(events.includes("a-revoked:4"), `eager: a gives everything back first (${events})`);
  const all = [...a.assignment(), ...b.assignment()].map((x) => x.partition).sort();
  assert.deepEqual(all, [0, 1, 2, 3]);
  const d = await cluster.admin().describeGroups(["g"]);
  assert.equal(d[0]!.state, "Stable");
  assert.equal(d[0]!.members.length, 2);
  await b.close();
  for (let i = 0; i < 100 && a.assignment().length !== 4; i++) await a.poll({ maxWaitMs: 20 });
  assert.equal(a.assignment().length, 4, "b's partitions return to a after it leaves");
});

test("enforceRebalance: the next poll rejoins a new generation; the listener hears of it though nothing moves", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 2 }]);
  for (const assignor of ["range", "cooperative-sticky"] as const) {
    const events: string[] = [];
    const c = await cluster.createConsumer({
      groupId: `g-${assignor}`,
      assignors: [assignor],
      heartbeatIntervalMs: 20,
      sessionTimeoutMs: 5000,
    });
    await c.subscribe(["t"], {
      onPartitionsRevoked: (tps) => void events.push(`revoked:${tps.length}`),
      onPartitionsAssigned: (tps) => void events.push(`assigned:${tps.length}`),
    });
    await c.poll({ maxWaitMs: 10 });
    assert.deepEqual(events, ["assigned:2"]);
    const generation = c.groupMetadata().generationId;
    events.length = 0;
    c.enforceRebalance?.();
    for (let i = 0; i < 100 && !events.some((e) => e.startsWith("assigned")); i++)
      await c.poll({ maxWaitMs: 20 });
    // Eager: everything back and again; cooperative: owned partitions kept, none added.
    assert.deepEqual(events, assignor === "range" ? ["revoked:2", "assigned:2"] : ["assigned:0"], assignor);
    assert.equal(c.assignment().length, 2);
    assert.equal(c.groupMetadata().generationId, generation + 1);
    await c.close();
  }
});

test("cooperative-sticky: a joining member takes only what must move; the owner keeps the rest", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 4 }]);
  const revokedA: number[][] = [];
  const opts = {
    groupId: "g",
    assignors: ["cooperative-sticky" as const],
    heartbeatIntervalMs: 20,
    sessionTimeoutMs: 5000,
  };
  const a = await cluster.createConsumer(opts);
  await a.subscribe(["t"], { onPartitionsRevoked: (tps) => void revokedA.push(tps.map((x) => x.partition)) });
  await a.poll({ maxWaitMs: 10 });
  const before = a.assignment().map((x) => x.partition);
  assert.equal(before.length, 4);
  const b = await cluster.createConsumer(opts);
  await b.subscribe(["t"]);
  const done = () => a.assignment().length === 2 && b.assignment().length === 2;
  await Promise.all([
    (async () => {
      for (let i = 0; i < 200 && !done(); i++) await a.poll({ maxWaitMs: 20 });
    })(),
    (async () => {
      for (let i = 0; i < 200 && !done(); i++) await b.poll({ maxWaitMs: 20 });
    })(),
  ]);
  assert.ok(done(), `a=${a.assignment().length} b=${b.assignment().length}`);
  assert.deepEqual(revokedA.flat().length, 2, "a revoked exactly the two partitions that moved");
  const kept = a.assignment().map((x) => x.partition);
  for (const p of kept) assert.ok(before.includes(p));
  assert.deepEqual(
    b
      .assignment()
      .map((x) => x.partition)
      .sort(),
    revokedA.flat().sort(),
    "b received exactly what a revoked",
  );
});

test("consume-transform-produce in a transaction: output and offsets commit together; abort leaves neither", async (t) => {
  const { cluster } = await open(t);
  const admin = cluster.admin();
  await admin.createTopics([
    { name: "in", partitions: 1 },
    { name: "out", partitions: 1 },
  ]);
  const plain = await cluster.createProducer();
  await plain.send(["1", "2", "3"].map((v) => ({ topic: "in", key: null, value: enc(v) })));
  const consumer = await cluster.createConsumer({
    groupId: "app",
    autoOffsetReset: "earliest",
    isolationLevel: "read_committed",
  });
  await consumer.subscribe(["in"]);
  const records = await pollUntil(consumer, 3);
  const producer = await cluster.createProducer({ transactionalId: "app-0" });
  const reader = await cluster.createConsumer({
    isolationLevel: "read_committed",
    autoOffsetReset: "earliest",
  });
  reader.assign([{ topic: "out", partition: 0 }]);

  // Aborted attempt.
  producer.beginTransaction();
  await producer.send(records.map((r) => ({ topic: "out", key: null, value: enc(`x${str(r.value)}`) })));
  await producer.sendOffsetsToTransaction(
    [{ topic: "in", partition: 0, offset: 3 }],
    consumer.groupMetadata(),
  );
  assert.deepEqual(await reader.poll({ maxWaitMs: 30 }), [], "open transaction invisible");
  await producer.abortTransaction();
  assert.deepEqual((await consumer.committed([{ topic: "in", partition: 0 }])).get("in:0"), null);

  // Committed attempt.
  producer.beginTransaction();
  await producer.send(records.map((r) => ({ topic: "out", key: null, value: enc(`y${str(r.value)}`) })));
  await producer.sendOffsetsToTransaction(
    [{ topic: "in", partition: 0, offset: 3 }],
    consumer.groupMetadata(),
  );
  await producer.commitTransaction();
  const out = await pollUntil(reader, 3);
  assert.deepEqual(
    out.map((r) => str(r.value)),
    ["y1", "y2", "y3"],
  );
  assert.equal((await consumer.committed([{ topic: "in", partition: 0 }])).get("in:0"), 3);
  const uncommittedReader = await cluster.createConsumer({ autoOffsetReset: "earliest" });
  uncommittedReader.assign([{ topic: "out", partition: 0 }]);
  assert.equal(
    (await pollUntil(uncommittedReader, 6)).length,
    6,
    "read_uncommitted sees the aborted ones too",
  );
});

test("a second producer with the same transactional id fences the first", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "out", partitions: 1 }]);
  const zombie = await cluster.createProducer({ transactionalId: "tx" });
  zombie.beginTransaction();
  await zombie.send([{ topic: "out", key: null, value: enc("zombie") }]);
  const fresh = await cluster.createProducer({ transactionalId: "tx" });
  await assert.rejects(
    zombie.commitTransaction(),
    (e: unknown) => e instanceof KafkaError && e.code === "PRODUCER_FENCED",
  );
  await assert.rejects(
    zombie.send([{ topic: "out", key: null, value: enc("again") }]),
    (e: unknown) => e instanceof KafkaError && e.code === "PRODUCER_FENCED",
  );
  fresh.beginTransaction();
  await fresh.send([{ topic: "out", key: null, value: enc("fresh") }]);
  await fresh.commitTransaction();
  const reader = await cluster.createConsumer({
    isolationLevel: "read_committed",
    autoOffsetReset: "earliest",
  });
  reader.assign([{ topic: "out", partition: 0 }]);
  assert.deepEqual(
    (await pollUntil(reader, 1)).map((r) => str(r.value)),
    ["fresh"],
  );
});

test("sendOffsetsToTransaction with a stale generation is rejected (KIP-447)", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "in", partitions: 1 }]);
  const consumer = await cluster.createConsumer({ groupId: "g" });
  await consumer.subscribe(["in"]);
  await consumer.poll({ maxWaitMs: 10 });
  const meta = consumer.groupMetadata();
  const producer = await cluster.createProducer({ transactionalId: "tx" });
  producer.beginTransaction();
  await assert.rejects(
    producer.sendOffsetsToTransaction([{ topic: "in", partition: 0, offset: 1 }], {
      ...meta,
      generationId: meta.generationId + 5,
    }),
    (e: unknown) => e instanceof KafkaError && e.code === "ILLEGAL_GENERATION",
  );
  await producer.abortTransaction();
});

test("admin: topics, configs, partitions, offsets, groups", async (t) => {
  const { cluster } = await open(t);
  const admin = cluster.admin();
  await admin.createTopics([{ name: "a", partitions: 2, config: { "retention.ms": "1000" } }]);
  await admin.createTopics([{ name: "a", partitions: 2 }], { ifNotExists: true });
  await assert.rejects(
    admin.createTopics([{ name: "a", partitions: 2 }]),
    (e: unknown) => (e as KafkaError).code === "TOPIC_ALREADY_EXISTS",
  );
  await assert.rejects(
    admin.createTopics([{ name: "b", partitions: 1, config: { "cleanup.policy": "sideways" } }]),
    (e: unknown) =>
      (e as KafkaError).code === "INVALID_CONFIG" && /cleanup\.policy/.test((e as Error).message),
  );
  assert.deepEqual(await admin.listTopics(), ["a"]);
  assert.ok((await admin.listTopics({ includeInternal: true })).includes("__consumer_offsets"));
  await admin.alterTopicConfig("a", { "retention.ms": "2000" });
  assert.equal((await admin.describeTopics(["a"]))[0]!.config["retention.ms"], "2000");
  await admin.createPartitions("a", 3);
  assert.equal((await admin.describeTopics(["a"]))[0]!.partitions.length, 3);
  const p = await cluster.createProducer();
  await p.send(
    [0, 1, 2].map((i) => ({
      topic: "a",
      partition: 0,
      key: null,
      value: enc(String(i)),
      timestamp: 1000 + i,
    })),
  );
  assert.equal((await admin.listOffsets([{ topic: "a", partition: 0 }], "latest")).get("a:0"), 3);
  assert.equal((await admin.listOffsets([{ topic: "a", partition: 0 }], { timestamp: 1001 })).get("a:0"), 1);
  assert.equal(await admin.deleteRecords({ topic: "a", partition: 0 }, 1), 1);
  assert.equal((await admin.listOffsets([{ topic: "a", partition: 0 }], "earliest")).get("a:0"), 1);
  const c = await cluster.createConsumer({ groupId: "g" });
  c.assign([{ topic: "a", partition: 0 }]);
  await c.commit([{ topic: "a", partition: 0, offset: 2 }]);
  assert.deepEqual(await admin.listGroupOffsets("g"), [
    { topic: "a", partition: 0, offset: 2, metadata: undefined },
  ]);
  assert.deepEqual(await admin.describeLag("g"), [
    { topic: "a", partition: 0, committed: 2, endOffset: 3, lag: 1 },
  ]);
  assert.deepEqual(
    (await admin.listGroups()).map((g) => g.groupId),
    ["g"],
  );
  await admin.deleteGroups(["g"]);
  assert.deepEqual(await admin.listGroups(), []);
  await admin.deleteTopics(["a"]);
  assert.deepEqual(await admin.listTopics(), []);
});

test("a broker data dir is locked: a second open fails with a clear error", async (t) => {
  const { dir } = await open(t);
  await assert.rejects(EmbeddedCluster.open({ dataDir: dir }), (e: unknown) =>
    /already open|locked/i.test((e as Error).message),
  );
});

test("a member that stops heartbeating loses its partitions; it learns it on its next commit (onPartitionsLost)", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 4 }]);
  const lost: number[] = [];
  const silent = await cluster.createConsumer({
    groupId: "g",
    assignors: ["range"],
    sessionTimeoutMs: 150,
    heartbeatIntervalMs: 1_000_000_000,
  });
  await silent.subscribe(["t"], {
    onPartitionsLost: (tps) => void lost.push(...tps.map((x) => x.partition)),
  });
  await silent.poll({ maxWaitMs: 10 });
  assert.equal(silent.assignment().length, 4);
  const live = await cluster.createConsumer({
    groupId: "g",
    assignors: ["range"],
    sessionTimeoutMs: 5000,
    heartbeatIntervalMs: 20,
  });
  await live.subscribe(["t"]);
  // The live member's join waits for the silent one, whose session expires: then live gets everything.
  for (let i = 0; i < 200 && live.assignment().length !== 4; i++) await live.poll({ maxWaitMs: 20 });
  assert.equal(live.assignment().length, 4);
  await assert.rejects(silent.commit(), (e: unknown) =>
    ["UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION"].includes((e as KafkaError).code),
  );
  // It rejoins as a new member; both poll so the rebalance completes; it reports its old partitions lost.
  const both = () => silent.assignment().length === 2 && live.assignment().length === 2;
  await Promise.all([
    (async () => {
      for (let i = 0; i < 200 && !both(); i++) await silent.poll({ maxWaitMs: 20 });
    })(),
    (async () => {
      for (let i = 0; i < 200 && !both(); i++) await live.poll({ maxWaitMs: 20 });
    })(),
  ]);
  assert.deepEqual(lost.sort(), [0, 1, 2, 3]);
  assert.ok(both());
});

test("the leader rebalances when a subscribed topic gains partitions", async (t) => {
  const { cluster } = await open(t);
  const admin = cluster.admin();
  await admin.createTopics([{ name: "t", partitions: 1 }]);
  const c = await cluster.createConsumer({ groupId: "g" });
  await c.subscribe(["t", "later"]);
  await c.poll({ maxWaitMs: 10 });
  assert.equal(c.assignment().length, 1);
  await admin.createPartitions("t", 3);
  await admin.createTopics([{ name: "later", partitions: 2 }]);
  await c.poll({ maxWaitMs: 10 });
  assert.equal(c.assignment().length, 5);
});

test("offset reset: 'none' fails clearly, out-of-range positions reset by policy", async (t) => {
  const { cluster } = await open(t);
  const admin = cluster.admin();
  await admin.createTopics([{ name: "t", partitions: 1 }]);
  const p = await cluster.createProducer();
  await p.send(["a", "b", "c"].map((v) => ({ topic: "t", partition: 0, key: null, value: enc(v) })));
  const strict = await cluster.createConsumer({ groupId: "g", autoOffsetReset: "none" });
  strict.assign([{ topic: "t", partition: 0 }]);
  await assert.rejects(
    strict.poll({ maxWaitMs: 10 }),
    (e: unknown) => (e as KafkaError).code === "OFFSET_OUT_OF_RANGE",
  );
  const c = await cluster.createConsumer({ autoOffsetReset: "earliest" });
  c.assign([{ topic: "t", partition: 0 }]);
  c.seek({ topic: "t", partition: 0 }, 0);
  await admin.deleteRecords({ topic: "t", partition: 0 }, 2);
  assert.deepEqual(
    (await c.poll({ maxWaitMs: 50 })).map((r) => str(r.value)),
    ["c"],
  );
});

test("static membership: a restarted instance gets its partitions back without a new generation", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 2 }]);
  const first = await cluster.createConsumer({ groupId: "g", groupInstanceId: "node-1" });
  await first.subscribe(["t"]);
  await first.poll({ maxWaitMs: 10 });
  const gen = first.groupMetadata().generationId;
  await first.close(); // a static member does not leave the group
  const second = await cluster.createConsumer({ groupId: "g", groupInstanceId: "node-1" });
  await second.subscribe(["t"]);
  await second.poll({ maxWaitMs: 10 });
  assert.equal(second.assignment().length, 2);
  assert.equal(second.groupMetadata().generationId, gen);
  const d = await cluster.admin().describeGroups(["g"]);
  assert.equal(d[0]!.members.length, 1);
  assert.equal(d[0]!.members[0]!.groupInstanceId, "node-1");
});

test("read_committed consumer waits for a pending transactional offset before using it", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "in", partitions: 1 }]);
  const p = await cluster.createProducer();
  await p.send(["a", "b", "c"].map((v) => ({ topic: "in", partition: 0, key: null, value: enc(v) })));
  const tx = await cluster.createProducer({ transactionalId: "tx" });
  tx.beginTransaction();
  await tx.sendOffsetsToTransaction([{ topic: "in", partition: 0, offset: 2 }], {
    groupId: "g",
    generationId: -1,
    memberId: "",
  });
  const c = await cluster.createConsumer({
    groupId: "g",
    isolationLevel: "read_committed",
    autoOffsetReset: "earliest",
  });
  c.assign([{ topic: "in", partition: 0 }]);
  assert.deepEqual(await c.poll({ maxWaitMs: 30 }), [], "position unknown while the offset is pending");
  await tx.commitTransaction();
  assert.equal(await c.position({ topic: "in", partition: 0 }), 2);
  assert.deepEqual(
    (await c.poll({ maxWaitMs: 50 })).map((r) => str(r.value)),
    ["c"],
  );
});

test("clients of a closed broker fail with BROKER_NOT_AVAILABLE; a waiting poll ends", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-cluster-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cluster = await EmbeddedCluster.open({ dataDir: dir, timerIntervalMs: 0 });
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const p = await cluster.createProducer();
  const c = await cluster.createConsumer({ autoOffsetReset: "latest" });
  c.assign([{ topic: "t", partition: 0 }]);
  await c.position({ topic: "t", partition: 0 });
  const waiting = c.poll({ maxWaitMs: 60_000 });
  await cluster.broker.close();
  await assert.rejects(waiting, (e: unknown) => (e as KafkaError).code === "BROKER_NOT_AVAILABLE");
  await assert.rejects(
    p.send([{ topic: "t", key: null, value: enc("x") }]),
    (e: unknown) => (e as KafkaError).code === "BROKER_NOT_AVAILABLE",
  );
  await cluster.close();
});

test("every compression codec, headers, timestamps and LogAppendTime topics round-trip", async (t) => {
  const { cluster } = await open(t);
  const admin = cluster.admin();
  await admin.createTopics([
    { name: "t", partitions: 1 },
    { name: "la", partitions: 1, config: { "message.timestamp.type": "LogAppendTime" } },
  ]);
  for (const compression of ["none", "gzip", "zstd", "lz4", "snappy"] as const) {
    const p = await cluster.createProducer({ compression });
    await p.send([
      {
        topic: "t",
        partition: 0,
        key: enc(compression),
        value: enc(`v-${compression}`),
        timestamp: 1234,
        headers: [
          { key: "h", value: enc("x") },
          { key: "null", value: null },
        ],
      },
    ]);
  }
  const c = await cluster.createConsumer({ autoOffsetReset: "earliest" });
  c.assign([{ topic: "t", partition: 0 }]);
  const got = await pollUntil(c, 5);
  assert.deepEqual(
    got.map((r) => str(r.value)),
    ["v-none", "v-gzip", "v-zstd", "v-lz4", "v-snappy"],
  );
  for (const r of got) {
    assert.equal(r.timestamp, 1234);
    assert.equal(r.timestampType, "CreateTime");
    assert.deepEqual(
      r.headers.map((h) => [h.key, str(h.value)]),
      [
        ["h", "x"],
        ["null", null],
      ],
    );
  }
  const p = await cluster.createProducer();
  const before = Date.now();
  const [md] = await p.send([{ topic: "la", key: null, value: enc("x"), timestamp: 5 }]);
  assert.ok(md!.timestamp >= before, "LogAppendTime: the broker's time is returned");
  const la = await cluster.createConsumer({ autoOffsetReset: "earliest" });
  la.assign([{ topic: "la", partition: 0 }]);
  const [rec] = await pollUntil(la, 1);
  assert.equal(rec!.timestampType, "LogAppendTime");
  assert.equal(rec!.timestamp, md!.timestamp);
});

test("a member that stops calling poll longer than its rebalance timeout leaves; its partitions move", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 2 }]);
  const opts = {
    groupId: "g",
    assignors: ["range" as const],
    heartbeatIntervalMs: 10,
    sessionTimeoutMs: 5000,
  };
  const lost: number[] = [];
  const slow = await cluster.createConsumer({ ...opts, rebalanceTimeoutMs: 100 });
  await slow.subscribe(["t"], { onPartitionsLost: (tps) => void lost.push(...tps.map((x) => x.partition)) });
  const busy = await cluster.createConsumer(opts);
  await busy.subscribe(["t"]);
  const split = () => slow.assignment().length === 1 && busy.assignment().length === 1;
  await Promise.all([
    (async () => {
      for (let i = 0; i < 200 && !split(); i++) await slow.poll({ maxWaitMs: 10 });
    })(),
    (async () => {
      for (let i = 0; i < 200 && !split(); i++) await busy.poll({ maxWaitMs: 10 });
    })(),
  ]);
  assert.ok(split());
  // slow stops polling; busy keeps going and ends up with both partitions.
  for (let i = 0; i < 300 && busy.assignment().length !== 2; i++) await busy.poll({ maxWaitMs: 10 });
  assert.equal(busy.assignment().length, 2);
  await slow.poll({ maxWaitMs: 0 }).catch(() => []);
  assert.equal(lost.length, 1, "the slow member reports its partition lost when it polls again");
});

test("busy produce/poll loops leave the event loop turns (timers keep firing)", async (t) => {
  const { cluster } = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const p = await cluster.createProducer();
  const c = await cluster.createConsumer({ autoOffsetReset: "earliest" });
  c.assign([{ topic: "t", partition: 0 }]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  t.after(() => clearInterval(timer));
  const until = Date.now() + 200;
  let loops = 0;
  while (Date.now() < until) {
    await p.send([{ topic: "t", partition: 0, key: null, value: enc("x") }]);
    await c.poll({ maxWaitMs: 0 });
    loops++;
  }
  assert.ok(loops > 10);
  assert.ok(ticks > 5, `timers ran ${ticks} times during ${loops} busy loops`);
});

test("subscribing to a missing topic creates it only when the broker auto-creates", async (t) => {
  const { cluster } = await open(t, { autoCreateTopics: true, defaultPartitions: 2 });
  const c = await cluster.createConsumer({ groupId: "g" });
  await c.subscribe(["fresh"]);
  await c.poll({ maxWaitMs: 10 });
  assert.equal(c.assignment().length, 2);
  const { cluster: strict } = await open(t);
  const s = await strict.createConsumer({ groupId: "g" });
  await s.subscribe(["fresh"]);
  await s.poll({ maxWaitMs: 10 });
  assert.deepEqual(s.assignment(), []);
  assert.deepEqual(await strict.admin().listTopics(), []);
});

test("wrap: clusters over one open broker share it; closing a cluster leaves the broker open", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-cluster-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { Broker } = await import("../../src/broker/index.ts");
  const broker = await Broker.open({ dataDir: dir, timerIntervalMs: 0 });
  t.after(() => broker.close());
  const app1 = EmbeddedCluster.wrap(broker);
  const app2 = EmbeddedCluster.wrap(broker);
  await app1.admin().createTopics([{ name: "t", partitions: 1 }]);
  const p = await app1.createProducer();
  await p.send([{ topic: "t", key: null, value: enc("shared") }]);
  await app1.close();
  assert.equal(broker.isClosed, false);
  const c = await app2.createConsumer({ autoOffsetReset: "earliest" });
  c.assign([{ topic: "t", partition: 0 }]);
  assert.deepEqual(
    (await pollUntil(c, 1)).map((r) => str(r.value)),
    ["shared"],
  );
  await app2.close();
});
