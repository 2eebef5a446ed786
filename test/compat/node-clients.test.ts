// Node clients against the broker: kafkajs 2.2.4 (non-flexible versions only) and @platformatic/kafka 2.x.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import { waitFor } from "../../src/observe/index.ts";
import { startBroker, type TestBroker } from "./harness.ts";

describe("kafkajs 2.2.4", () => {
  let b: TestBroker;
  let kafka: Kafka;
  before(async () => {
    b = await startBroker();
    kafka = new Kafka({
      brokers: [b.bootstrap],
      clientId: "kjs",
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    });
  });
  after(async () => {
    await b?.close();
  });

  test("admin, idempotent produce and group consume", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: "kjs-t", numPartitions: 3, configEntries: [{ name: "cleanup.policy", value: "delete" }] },
      ],
    });
    const md = await admin.fetchTopicMetadata({ topics: ["kjs-t"] });
    assert.equal(md.topics[0]!.partitions.length, 3);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const n = 300;
    await producer.send({
      topic: "kjs-t",
      messages: Array.from({ length: n }, (_, i) => ({ key: `k${i % 10}`, value: `v${i}` })),
    });
    await producer.disconnect();
    const consumer = kafka.consumer({
      groupId: "kjs-g",
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: "kjs-t", fromBeginning: true });
    const seen = new Set<string>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value!.toString());
      },
    });
    await waitFor(() => seen.size === n, { timeoutMs: 30_000, what: "kafkajs consumed everything" });
    await consumer.disconnect();
    const offsets = await admin.fetchOffsets({ groupId: "kjs-g", topics: ["kjs-t"] });
    const sum = offsets[0]!.partitions.reduce((s, p) => s + Number(p.offset), 0);
    assert.equal(sum, n);
    await admin.disconnect();
  });

  test("transactions: an aborted transaction is invisible, offsets sent in a committed one are applied", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "kjs-tx", numPartitions: 1 }] });
    const producer = kafka.producer({
      transactionalId: "kjs-tx-id",
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic: "kjs-tx", messages: [{ value: "aborted" }] });
    await t1.abort();
    const t2 = await producer.transaction();
    await t2.send({ topic: "kjs-tx", messages: [{ value: "committed" }] });
    await t2.sendOffsets({
      consumerGroupId: "kjs-eos",
      topics: [{ topic: "kjs-tx", partitions: [{ partition: 0, offset: "1" }] }],
    });
    await t2.commit();
    await producer.disconnect();
    // short long-polls: disconnect() waits for the fetch in flight
    const consumer = kafka.consumer({ groupId: "kjs-rc", readUncommitted: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: "kjs-tx", fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
      },
    });
    await waitFor(() => seen.length >= 1, { timeoutMs: 20_000, what: "kafkajs read_committed" });
    await consumer.disconnect();
    assert.deepEqual(seen, ["committed"]);
    const offsets = await admin.fetchOffsets({ groupId: "kjs-eos", topics: ["kjs-tx"] });
    assert.equal(offsets[0]!.partitions[0]!.offset, "1");
    await admin.disconnect();
  });
});

describe("@platformatic/kafka 2.x", () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(async () => {
    await b?.close();
  });

  test("produce, group consume, transactions (abort then commit)", async () => {
    await b.broker.createTopics({ topics: [{ name: "pf-t", numPartitions: 2 }] });
    const producer = new Producer({
      clientId: "pf",
      bootstrapBrokers: [b.bootstrap],
      serializers: stringSerializers,
      idempotent: true,
    });
    const n = 100;
    await producer.send({
      messages: Array.from({ length: n }, (_, i) => ({ topic: "pf-t", key: `k${i}`, value: `v${i}` })),
    });
    await producer.close();

    const consumer = new Consumer({
      clientId: "pf-c",
      groupId: "pf-g",
      bootstrapBrokers: [b.bootstrap],
      deserializers: stringDeserializers,
    });
    const stream = await consumer.consume({ topics: ["pf-t"], mode: "earliest", autocommit: false });
    const seen = new Set<string>();
    for await (const m of stream) {
      seen.add(m.value as string);
      await m.commit();
      if (seen.size === n) break;
    }
    await stream.close();
    await consumer.close(true);
    assert.equal(seen.size, n);
    const sum = b.broker.groupOffsets("pf-g").reduce((s, o) => s + o.value.offset, 0);
    assert.equal(sum, n);

    const tp = new Producer({
      clientId: "pf-tx",
      bootstrapBrokers: [b.bootstrap],
      serializers: stringSerializers,
      idempotent: true,
      transactionalId: "pf-tx-id",
    });
    // platformatic sends InitProducerId with producer id 0 / epoch 0 by default; Kafka accepts any id for a
    // transactional id it has no state for, Courant's coordinator wants -1 (reported). Ask with -1 explicitly.
    const aborted = await tp.beginTransaction({ producerId: -1n, producerEpoch: -1 });
    await aborted.send({ messages: [{ topic: "pf-t", partition: 0, value: "aborted" }] });
    await aborted.abort();
    const tx = await tp.beginTransaction();
    await tx.send({ messages: [{ topic: "pf-t", partition: 0, value: "committed" }] });
    await tx.commit();
    await tp.close();
    const end = b.broker.listOffsets({
      isolationLevel: "read_committed",
      topics: [{ name: "pf-t", partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
    });
    const lso = end.topics[0]!.partitions[0]!.offset;
    const hw = b.broker.partitionLog("pf-t", 0).highWatermark;
    assert.equal(lso, hw, "no transaction left open");
  });
});
