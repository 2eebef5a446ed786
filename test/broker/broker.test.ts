// The broker's Kafka API semantics over a real data directory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeRecordBatches } from "../../src/log/index.ts";
import { ManualClock, MetricsRegistry } from "../../src/observe/index.ts";
import { batch, dec, openBroker, produceOne, readValues, tempDir } from "./helpers.ts";

test("topics: create, describe, errors for bad name, duplicates, bad config, bad partition count, internal names", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  t.after(() => b.close());
  const r = b.createTopics({
    topics: [
      { name: "orders", numPartitions: 3, configs: { "cleanup.policy": "compact" } },
      { name: "bad name!", numPartitions: 1 },
      { name: "zero", numPartitions: 0 },
      { name: "cfg", numPartitions: 1, configs: { "retention.ms": "soon" } },
      { name: "unknown-cfg", numPartitions: 1, configs: { "no.such.config": "1" } },
      { name: "__consumer_offsets", numPartitions: 1 },
    ],
  });
  assert.deepEqual(
    r.map((x) => x.errorCode),
    [
      "NONE",
      "INVALID_TOPIC_EXCEPTION",
      "INVALID_PARTITIONS",
      "INVALID_CONFIG",
      "INVALID_CONFIG",
      "INVALID_REQUEST",
    ],
  );
  assert.match(r[3]!.errorMessage!, /cfg.*retention\.ms/);
  assert.equal(
    b.createTopics({ topics: [{ name: "orders", numPartitions: 1 }] })[0]!.errorCode,
    "TOPIC_ALREADY_EXISTS",
  );
  const md = b.metadata({ topics: null });
  const orders = md.topics.find((x) => x.name === "orders")!;
  assert.equal(orders.partitions.length, 3);
  assert.equal(orders.partitions[0]!.leaderId, 0);
  assert.equal(md.controllerId, 0);
  assert.ok(md.topics.find((x) => x.name === "__consumer_offsets")!.isInternal);
  const cfg = b.describeConfigs({ resources: [{ resourceType: "topic", resourceName: "orders" }] })[0]!;
  assert.equal(cfg.configs.find((c) => c.name === "cleanup.policy")!.value, "compact");
  assert.equal(cfg.configs.find((c) => c.name === "cleanup.policy")!.isDefault, false);
  assert.equal(
    b.alterConfigs({
      resources: [{ resourceType: "topic", resourceName: "orders", configs: { "segment.bytes": "-5" } }],
    })[0]!.errorCode,
    "INVALID_CONFIG",
  );
  assert.equal(
    b.createPartitions({ topics: [{ name: "orders", count: 2 }] })[0]!.errorCode,
    "INVALID_PARTITIONS",
  );
  assert.equal(b.createPartitions({ topics: [{ name: "orders", count: 5 }] })[0]!.errorCode, "NONE");
  assert.equal(b.partitionCount("orders"), 5);
  assert.deepEqual(
    b.deleteTopics({ names: ["orders", "nope"] }).map((x) => x.errorCode),
    ["NONE", "UNKNOWN_TOPIC_OR_PARTITION"],
  );
  assert.equal(b.partitionCount("orders"), undefined);
});

test("metadata auto-creates topics only when enabled and allowed", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir, { autoCreateTopics: true, defaultPartitions: 2 });
  t.after(() => b.close());
  assert.equal(
    b.metadata({ topics: ["x"], allowAutoTopicCreation: false }).topics[0]!.errorCode,
    "UNKNOWN_TOPIC_OR_PARTITION",
  );
  const md = b.metadata({ topics: ["x"], allowAutoTopicCreation: true });
  assert.equal(md.topics[0]!.errorCode, "NONE");
  assert.equal(md.topics[0]!.partitions.length, 2);
  assert.equal(b.metadata({ topics: ["bad/name"] }).topics[0]!.errorCode, "INVALID_TOPIC_EXCEPTION");
});

test("produce and fetch: offsets, stored bytes, fetch beyond the end, unknown partitions, internal topics", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  t.after(() => b.close());
  b.createTopics({ topics: [{ name: "t", numPartitions: 2 }] });
  const p0 = produceOne(b, "t", 0, batch(["a", "b", "c"]));
  assert.equal(p0.errorCode, "NONE");
  assert.equal(p0.baseOffset, 0);
  assert.equal(produceOne(b, "t", 0, batch(["d"])).baseOffset, 3);
  assert.equal(produceOne(b, "t", 7, batch(["x"])).errorCode, "UNKNOWN_TOPIC_OR_PARTITION");
  assert.equal(produceOne(b, "__consumer_offsets", 0, batch(["x"])).errorCode, "INVALID_TOPIC_EXCEPTION");
  const f = await b.fetch({ topics: [{ name: "t", partitions: [{ index: 0, fetchOffset: 1 }] }] });
  const part = f.responses[0]!.partitions[0]!;
  assert.equal(part.errorCode, "NONE");
  assert.equal(part.highWatermark, 4);
  assert.equal(part.lastStableOffset, 4);
  const values = decodeRecordBatches(part.records).flatMap((x) =>
    x.records.filter((r) => r.offset >= 1).map((r) => dec(r.value)),
  );
  assert.deepEqual(values, ["b", "c", "d"]);
  const beyond = await b.fetch({ topics: [{ name: "t", partitions: [{ index: 0, fetchOffset: 99 }] }] });
  assert.equal(beyond.responses[0]!.partitions[0]!.errorCode, "OFFSET_OUT_OF_RANGE");
  const atEnd = await b.fetch({ topics: [{ name: "t", partitions: [{ index: 0, fetchOffset: 4 }] }] });
  assert.equal(atEnd.responses[0]!.partitions[0]!.errorCode, "NONE");
  assert.equal(atEnd.responses[0]!.partitions[0]!.records.length, 0);
  const lo = b.listOffsets({
    topics: [
      {
        name: "t",
        partitions: [
          { partitionIndex: 0, timestamp: -2 },
          { partitionIndex: 1, timestamp: -1 },
        ],
      },
    ],
  });
  assert.deepEqual(
    lo.topics[0]!.partitions.map((p) => p.offset),
    [0, 0],
  );
  assert.equal(
    b.deleteRecords({ topics: [{ name: "t", partitions: [{ partitionIndex: 0, offset: 2 }] }] })[0]!
      .partitions[0]!.lowWatermark,
    2,
  );
  assert.equal(
    b.deleteRecords({ topics: [{ name: "t", partitions: [{ partitionIndex: 0, offset: 50 }] }] })[0]!
      .partitions[0]!.errorCode,
    "OFFSET_OUT_OF_RANGE",
  );
});

test("fetch long-polls until data arrives, and ends on abort", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  t.after(() => b.close());
  b.createTopics({ topics: [{ name: "t", numPartitions: 1 }] });
  const req = {
    maxWaitMs: 10_000,
    minBytes: 1,
    topics: [{ name: "t", partitions: [{ index: 0, fetchOffset: 0 }] }],
  };
  const pending = b.fetch(req);
  setImmediate(() => produceOne(b, "t", 0, batch(["late"])));
  const got = await pending;
  assert.ok(got.responses[0]!.partitions[0]!.records.length > 0);
  const ac = new AbortController();
  const waiting = b.fetch(
    { ...req, topics: [{ name: "t", partitions: [{ index: 0, fetchOffset: 1 }] }] },
    ac.signal,
  );
  setImmediate(() => ac.abort());
  const empty = await waiting;
  assert.equal(empty.responses[0]!.partitions[0]!.records.length, 0);
});

test("idempotence: retried batch is acknowledged with its first offset, gaps and stale epochs are rejected", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  t.after(() => b.close());
  b.createTopics({ topics: [{ name: "t", numPartitions: 1 }] });
  const { producerId, producerEpoch } = b.initProducerId({ transactionalId: null, transactionTimeoutMs: 0 });
  const first = batch(["a", "b"], { producerId, producerEpoch, baseSequence: 0 });
  assert.equal(produceOne(b, "t", 0, first).baseOffset, 0);
  const retry = produceOne(b, "t", 0, first);
  assert.equal(retry.errorCode, "NONE");
  assert.equal(retry.baseOffset, 0, "duplicate answered with the original offset");
  assert.equal(b.partitionLog("t", 0).highWatermark, 2, "nothing appended twice");
  const gap = produceOne(b, "t", 0, batch(["c"], { producerId, producerEpoch, baseSequence: 5 }));
  assert.equal(gap.errorCode, "OUT_OF_ORDER_SEQUENCE_NUMBER");
  assert.equal(
    produceOne(b, "t", 0, batch(["c"], { producerId, producerEpoch, baseSequence: 2 })).baseOffset,
    2,
  );
  // A bumped epoch starts at sequence 0 and fences the old one.
  assert.equal(
    produceOne(b, "t", 0, batch(["d"], { producerId, producerEpoch: producerEpoch + 1, baseSequence: 0 }))
      .errorCode,
    "NONE",
  );
  const stale = produceOne(b, "t", 0, batch(["e"], { producerId, producerEpoch, baseSequence: 3 }));
  assert.equal(stale.errorCode, "INVALID_PRODUCER_EPOCH");
  assert.deepEqual(readValues(b, "t", 0, "read_uncommitted"), ["a", "b", "c", "d"]);
});

test("transactions: produce needs AddPartitionsToTxn; read_committed never shows open or aborted records", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  t.after(() => b.close());
  b.createTopics({ topics: [{ name: "t", numPartitions: 1 }] });
  const p = b.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 60_000 });
  const auth = { transactionalId: "tx", producerId: p.producerId, producerEpoch: p.producerEpoch };
  const txBatch = (vals: string[], seq: number) =>
    batch(vals, {
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      baseSequence: seq,
      transactional: true,
    });
  assert.equal(produceOne(b, "t", 0, txBatch(["x"], 0), "tx").errorCode, "INVALID_TXN_STATE");
  b.addPartitionsToTxn({ ...auth, topics: [{ name: "t", partitions: [0] }] });
  assert.equal(produceOne(b, "t", 0, txBatch(["a1", "a2"], 0), "tx").errorCode, "NONE");
  const log = b.partitionLog("t", 0);
  assert.equal(log.lastStableOffset, 0, "an open transaction holds the LSO");
  assert.deepEqual(readValues(b, "t", 0, "read_committed"), []);
  assert.deepEqual(readValues(b, "t", 0, "read_uncommitted"), ["a1", "a2"]);
  assert.equal(b.endTxn({ ...auth, committed: false }).errorCode, "NONE");
  b.addPartitionsToTxn({ ...auth, topics: [{ name: "t", partitions: [0] }] });
  assert.equal(produceOne(b, "t", 0, txBatch(["c1"], 2), "tx").errorCode, "NONE");
  assert.equal(b.endTxn({ ...auth, committed: true }).errorCode, "NONE");
  assert.deepEqual(readValues(b, "t", 0, "read_committed"), ["c1"]);
  assert.equal(log.lastStableOffset, log.highWatermark);
  const f = await b.fetch({
    isolationLevel: "read_committed",
    topics: [{ name: "t", partitions: [{ index: 0, fetchOffset: 0 }] }],
  });
  assert.deepEqual(f.responses[0]!.partitions[0]!.abortedTransactions, [
    { producerId: p.producerId, firstOffset: 0 },
  ]);
  // Produce outside the transaction after the commit is refused.
  assert.equal(produceOne(b, "t", 0, txBatch(["late"], 3), "tx").errorCode, "INVALID_TXN_STATE");
});

test("transaction timeout aborts, moves the LSO and fences the producer", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const clock = new ManualClock(Date.now());
  const b = await openBroker(dir, { clock });
  t.after(() => b.close());
  b.createTopics({ topics: [{ name: "t", numPartitions: 1 }] });
  const p = b.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 1000 });
  const auth = { transactionalId: "tx", producerId: p.producerId, producerEpoch: p.producerEpoch };
  b.addPartitionsToTxn({ ...auth, topics: [{ name: "t", partitions: [0] }] });
  produceOne(
    b,
    "t",
    0,
    batch(["open"], {
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      baseSequence: 0,
      transactional: true,
    }),
    "tx",
  );
  assert.equal(b.partitionLog("t", 0).lastStableOffset, 0);
  clock.advance(1001);
  b.tick();
  assert.equal(b.partitionLog("t", 0).lastStableOffset, b.partitionLog("t", 0).highWatermark);
  assert.deepEqual(readValues(b, "t", 0, "read_committed"), []);
  assert.equal(b.endTxn({ ...auth, committed: true }).errorCode, "PRODUCER_FENCED");
});

test("committed offsets, group generations and transaction state survive a restart", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  let b = await openBroker(dir);
  b.createTopics({
    topics: [
      { name: "in", numPartitions: 2 },
      { name: "out", numPartitions: 1 },
    ],
  });
  const commit = b.offsetCommit({
    groupId: "g",
    generationId: -1,
    memberId: "",
    topics: [
      { name: "in", partitions: [{ partitionIndex: 0, committedOffset: 17, committedMetadata: "m" }] },
    ],
  });
  assert.equal(commit[0]!.partitions[0]!.errorCode, "NONE");
  // A transaction with offsets: committed one applies, an aborted one does not.
  const p = b.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 60_000 });
  const auth = { transactionalId: "tx", producerId: p.producerId, producerEpoch: p.producerEpoch };
  const txOffsets = (offset: number) => ({
    ...auth,
    groupId: "g",
    topics: [{ name: "in", partitions: [{ partitionIndex: 1, committedOffset: offset }] }],
  });
  b.addOffsetsToTxn({ ...auth, groupId: "g" });
  assert.equal(b.txnOffsetCommit(txOffsets(5))[0]!.partitions[0]!.errorCode, "NONE");
  const unstable = b.offsetFetch({
    groupId: "g",
    topics: [{ name: "in", partitionIndexes: [1] }],
    requireStable: true,
  });
  assert.equal(unstable.topics[0]!.partitions[0]!.errorCode, "UNSTABLE_OFFSET_COMMIT");
  assert.equal(
    b.offsetFetch({ groupId: "g", topics: [{ name: "in", partitionIndexes: [1] }] }).topics[0]!.partitions[0]!
      .committedOffset,
    -1,
  );
  assert.equal(b.endTxn({ ...auth, committed: true }).errorCode, "NONE");
  b.addOffsetsToTxn({ ...auth, groupId: "g" });
  b.txnOffsetCommit(txOffsets(99));
  assert.equal(b.endTxn({ ...auth, committed: false }).errorCode, "NONE");
  // Leave one transaction open across the restart.
  b.addPartitionsToTxn({ ...auth, topics: [{ name: "out", partitions: [0] }] });
  produceOne(
    b,
    "out",
    0,
    batch(["pending"], {
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      baseSequence: 0,
      transactional: true,
    }),
    "tx",
  );
  await b.close();

  b = await openBroker(dir);
  t.after(() => b.close());
  const f = b.offsetFetch({ groupId: "g", topics: null });
  const byP = Object.fromEntries(
    f.topics[0]!.partitions.map((x) => [x.partitionIndex, [x.committedOffset, x.metadata]]),
  );
  assert.deepEqual(byP, { 0: [17, "m"], 1: [5, ""] });
  assert.equal(b.partitionLog("out", 0).lastStableOffset, 0, "the open transaction is still open");
  // A new instance of the producer fences the old epoch and aborts what it left open.
  const p2 = b.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 60_000 });
  assert.equal(p2.producerId, p.producerId);
  assert.ok(p2.producerEpoch > p.producerEpoch);
  assert.equal(b.partitionLog("out", 0).lastStableOffset, b.partitionLog("out", 0).highWatermark);
  assert.deepEqual(readValues(b, "out", 0, "read_committed"), []);
  assert.equal(b.endTxn({ ...auth, committed: true }).errorCode, "PRODUCER_FENCED");
  // Producer ids are not reused after a restart.
  const idem = b.initProducerId({ transactionalId: null, transactionTimeoutMs: 0 });
  assert.notEqual(idem.producerId, p.producerId);
});

test("group protocol through the broker: rebalance on a second member, group listing and description", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  t.after(() => b.close());
  const join = (memberId: string) =>
    b.joinGroup({
      groupId: "g",
      memberId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array([0]) }],
      clientId: "cli",
    });
  const a = await join("");
  await b.syncGroup({ groupId: "g", generationId: a.generationId, memberId: a.memberId, assignments: [] });
  assert.deepEqual(b.listGroups(), [{ groupId: "g", protocolType: "consumer", groupState: "Stable" }]);
  const second = join("");
  assert.equal(
    b.heartbeat({ groupId: "g", generationId: 1, memberId: a.memberId }).errorCode,
    "REBALANCE_IN_PROGRESS",
  );
  const ra = await join(a.memberId);
  const rb = await second;
  assert.equal(ra.generationId, 2);
  assert.equal(rb.generationId, 2);
  assert.equal(b.describeGroups({ groupIds: ["g"] })[0]!.groupState, "CompletingRebalance");
  assert.equal(b.findCoordinator({ keyType: 0, keys: ["g"] })[0]!.nodeId, 0);
});

test("offset delete, describe/list transactions and describe producers", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  t.after(() => b.close());
  b.createTopics({ topics: [{ name: "t", numPartitions: 1 }] });
  b.offsetCommit({
    groupId: "g",
    generationId: -1,
    memberId: "",
    topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 3 }] }],
  });
  const del = b.offsetDelete({ groupId: "g", topics: [{ name: "t", partitions: [0] }] });
  assert.equal(del.topics[0]!.partitions[0]!.errorCode, "NONE");
  assert.equal(b.offsetFetch({ groupId: "g", topics: null }).topics.length, 0);
  assert.equal(b.offsetDelete({ groupId: "nope", topics: [] }).errorCode, "GROUP_ID_NOT_FOUND");

  const p = b.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 30_000 });
  b.addPartitionsToTxn({ transactionalId: "tx", ...p, topics: [{ name: "t", partitions: [0] }] });
  produceOne(b, "t", 0, batch(["x"], { ...p, baseSequence: 0, transactional: true }), "tx");
  const d = b.describeTransactions({ transactionalIds: ["tx", "other"] });
  assert.equal(d[0]!.transactionState, "Ongoing");
  assert.deepEqual(d[0]!.topics, [{ topic: "t", partitions: [0] }]);
  assert.equal(d[1]!.errorCode, "TRANSACTIONAL_ID_NOT_FOUND");
  assert.deepEqual(
    b.listTransactions({ stateFilters: ["Ongoing"] }).map((x) => x.transactionalId),
    ["tx"],
  );
  const prod = b.describeProducers({ topics: [{ name: "t", partitionIndexes: [0] }] });
  assert.equal(prod[0]!.partitions[0]!.activeProducers[0]!.producerId, p.producerId);
  assert.equal(prod[0]!.partitions[0]!.activeProducers[0]!.currentTxnStartOffset, 0);
});

test("metrics: produce, fetch, rebalances and transactions are counted under courant_broker_*", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const metrics = new MetricsRegistry();
  const b = await openBroker(dir, { metrics });
  t.after(() => b.close());
  b.createTopics({ topics: [{ name: "t", numPartitions: 1 }] });
  produceOne(b, "t", 0, batch(["a", "b"]));
  produceOne(b, "nope", 0, batch(["a"]));
  await b.fetch({ topics: [{ name: "t", partitions: [{ index: 0, fetchOffset: 0 }] }] });
  const p = b.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 10_000 });
  b.addPartitionsToTxn({ transactionalId: "tx", ...p, topics: [{ name: "t", partitions: [0] }] });
  b.endTxn({ transactionalId: "tx", ...p, committed: true });
  const j = await b.joinGroup({
    groupId: "g",
    memberId: "",
    sessionTimeoutMs: 10_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array(0) }],
  });
  assert.equal(j.errorCode, "NONE");
  b.tick();
  const text = await metrics.text();
  assert.match(text, /courant_broker_produce_records_total\{topic="t"\} 2/);
  assert.match(text, /courant_broker_produce_errors_total\{code="UNKNOWN_TOPIC_OR_PARTITION"\} 1/);
  assert.match(text, /courant_broker_fetch_bytes_total\{topic="t"\} \d+/);
  assert.match(text, /courant_broker_transactions_total\{result="commit"\} 1/);
  assert.match(text, /courant_broker_group_rebalances_total 1/);
  assert.match(text, /courant_broker_groups\{state="CompletingRebalance"\} 1/);
});

test("after a restart the group keeps its generation; old members must rejoin", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  let b = await openBroker(dir);
  const req = {
    groupId: "g",
    sessionTimeoutMs: 10_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: new Uint8Array(0) }],
  };
  const a = await b.joinGroup({ ...req, memberId: "" });
  await b.syncGroup({ groupId: "g", generationId: a.generationId, memberId: a.memberId, assignments: [] });
  await b.close();
  b = await openBroker(dir);
  t.after(() => b.close());
  assert.equal(
    b.heartbeat({ groupId: "g", generationId: a.generationId, memberId: a.memberId }).errorCode,
    "UNKNOWN_MEMBER_ID",
  );
  assert.deepEqual(b.listGroups(), [{ groupId: "g", protocolType: "consumer", groupState: "Empty" }]);
  const again = await b.joinGroup({ ...req, memberId: "" });
  assert.equal(again.generationId, a.generationId + 1, "generation ids are never reused");
});

test("bad input gets Kafka error codes, never an exception", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  t.after(() => b.close());
  b.createTopics({ topics: [{ name: "t", numPartitions: 1 }] });
  const good = batch(["x"]);
  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 1]! ^= 0xff;
  const garbage = Buffer.from("this is not a record batch, not even close to one, no, not at all...");
  for (const [what, bytes, why] of [
    ["garbage", garbage, /magic/],
    ["bad crc", badCrc, /CRC-32C/],
    ["truncated", good.subarray(0, good.length - 3), /truncated/],
  ] as const) {
    const r = produceOne(b, "t", 0, bytes);
    assert.equal(r.errorCode, "CORRUPT_MESSAGE", what);
    assert.match(r.errorMessage!, why);
  }
  assert.equal(b.partitionLog("t", 0).highWatermark, 0, "nothing stored");
  const f = await b.fetch({
    topics: [
      {
        name: "t",
        partitions: [
          { index: 0, fetchOffset: -5 },
          { index: 0.5, fetchOffset: 0 },
        ],
      },
    ],
  });
  assert.deepEqual(
    f.responses[0]!.partitions.map((p) => p.errorCode),
    ["OFFSET_OUT_OF_RANGE", "UNKNOWN_TOPIC_OR_PARTITION"],
  );
  assert.equal(
    b.listOffsets({ topics: [{ name: "t", partitions: [{ partitionIndex: 0, timestamp: -77 }] }] }).topics[0]!
      .partitions[0]!.errorCode,
    "INVALID_REQUEST",
  );
  assert.equal(
    b.offsetCommit({
      groupId: "",
      generationId: -1,
      memberId: "",
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 1 }] }],
    })[0]!.partitions[0]!.errorCode,
    "INVALID_GROUP_ID",
  );
  assert.equal(
    b.createPartitions({ topics: [{ name: "t", count: 2.5 }] })[0]!.errorCode,
    "INVALID_PARTITIONS",
  );
  assert.equal(
    b.addPartitionsToTxn({
      transactionalId: "nope",
      producerId: 1,
      producerEpoch: 0,
      topics: [{ name: "t", partitions: [0] }],
    })[0]!.partitions[0]!.errorCode,
    "INVALID_PRODUCER_ID_MAPPING",
  );
  assert.equal(
    b.alterConfigs({ resources: [{ resourceType: "broker", resourceName: "0", configs: {} }] })[0]!.errorCode,
    "INVALID_REQUEST",
  );
});

test("closing the broker ends a long-polling fetch with a retriable error", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  b.createTopics({ topics: [{ name: "t", numPartitions: 1 }] });
  const waiting = b.fetch({
    maxWaitMs: 60_000,
    topics: [{ name: "t", partitions: [{ index: 0, fetchOffset: 0 }] }],
  });
  await b.close();
  const r = await waiting;
  assert.equal(r.responses[0]!.partitions[0]!.errorCode, "NOT_LEADER_OR_FOLLOWER");
});

test("a topic's partition count is capped so one request cannot create millions of directories", async () => {
  const { dir, cleanup } = tempDir();
  const b = await openBroker(dir, { maxPartitionsPerTopic: 8 });
  try {
    const [r] = b.createTopics({ topics: [{ name: "big", numPartitions: 1_000_000 }] });
    assert.equal(r!.errorCode, "INVALID_PARTITIONS");
    assert.match(r!.errorMessage ?? "", /limit of 8/);
    assert.equal(b.createTopics({ topics: [{ name: "ok", numPartitions: 4 }] })[0]!.errorCode, "NONE");
    assert.equal(
      b.createPartitions({ topics: [{ name: "ok", count: 9 }] })[0]!.errorCode,
      "INVALID_PARTITIONS",
    );
  } finally {
    await b.close();
    cleanup();
  }
});

test("encodedInProcess skips re-checking only the encoder's own buffers: other bytes are checked in full", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const b = await openBroker(dir);
  t.after(() => b.close());
  b.createTopics({ topics: [{ name: "t", numPartitions: 1 }] });
  b.createTopics({ topics: [{ name: "c", numPartitions: 1, configs: { "cleanup.policy": "compact" } }] });
  const produce = (topic: string, records: Buffer) =>
    b.produceSync(
      { acks: -1, transactionalId: null, topics: [{ name: topic, partitions: [{ index: 0, records }] }] },
      { encodedInProcess: true },
    ).responses[0]!.partitions[0]!;
  // the encoder's buffer: appended, stored and read back like any other
  assert.equal(produce("t", batch(["a", "b"])).errorCode, "NONE");
  assert.deepEqual(readValues(b, "t", 0, "read_uncommitted"), ["a", "b"]);
  // the same bytes in another buffer (as from the wire or another thread), damaged: still refused
  const copy = Buffer.from(batch(["x"]));
  copy[copy.length - 1]! ^= 0xff;
  const r = produce("t", copy);
  assert.equal(r.errorCode, "CORRUPT_MESSAGE");
  assert.match(r.errorMessage!, /CRC-32C/);
  // keys are still required on a compacted topic
  assert.equal(produce("c", batch(["no key"])).errorCode, "INVALID_RECORD");
  assert.equal(produce("c", batch(["keyed"], { key: "k" })).errorCode, "NONE");
  assert.equal(b.partitionLog("t", 0).highWatermark, 2);
});
