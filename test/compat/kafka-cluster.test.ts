// KafkaCluster (Cluster over @platformatic/kafka) against Courant's own wire server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KafkaCluster } from "../../src/cluster/kafka-cluster.ts";
import { type ConsumedRecord, type TopicPartition, tpKey } from "../../src/cluster/types.ts";
import { waitFor } from "../../src/observe/index.ts";
import { startBroker, type TestBroker } from "./harness.ts";

const enc = (s: string): Uint8Array => Buffer.from(s);
const dec = (b: Uint8Array | null): string => (b === null ? "<null>" : Buffer.from(b).toString());

describe("KafkaCluster over the wire server", () => {
  let b: TestBroker;
  let cluster: KafkaCluster;
  before(async () => {
    b = await startBroker();
    cluster = new KafkaCluster({ bootstrapBrokers: [b.bootstrap], clientId: "kc-test" });
  });
  after(async () => {
    await cluster?.close();
    await b?.close();
  });

  test("admin: create, describe, alter config, list offsets, delete records, partitions, delete", async () => {
    const admin = cluster.admin();
    await admin.createTopics([{ name: "kc-admin", partitions: 2, config: { "cleanup.policy": "compact" } }]);
    await admin.createTopics([{ name: "kc-admin", partitions: 2 }], { ifNotExists: true });
    await assert.rejects(admin.createTopics([{ name: "kc-admin", partitions: 2 }]), {
      code: "TOPIC_ALREADY_EXISTS",
    });
    assert.ok((await admin.listTopics()).includes("kc-admin"));
    const [d] = await admin.describeTopics(["kc-admin"]);
    assert.equal(d!.partitions.length, 2);
    assert.equal(d!.config["cleanup.policy"], "compact");
    await admin.alterTopicConfig("kc-admin", { "retention.ms": "12345" });
    const [d2] = await admin.describeTopics(["kc-admin"]);
    assert.equal(d2!.config["retention.ms"], "12345");
    assert.equal(d2!.config["cleanup.policy"], "compact", "incremental alter keeps other overrides");
    const p = await cluster.createProducer();
    await p.send(
      Array.from({ length: 10 }, (_, i) => ({
        topic: "kc-admin",
        partition: 0,
        key: enc(`k${i}`),
        value: enc(`v${i}`),
      })),
    );
    await p.close();
    const tp = { topic: "kc-admin", partition: 0 };
    assert.equal((await admin.listOffsets([tp], "latest")).get(tpKey(tp)), 10);
    assert.equal(await admin.deleteRecords(tp, 4), 4);
    assert.equal((await admin.listOffsets([tp], "earliest")).get(tpKey(tp)), 4);
    await admin.createPartitions("kc-admin", 3);
    assert.equal((await admin.describeTopics(["kc-admin"]))[0]!.partitions.length, 3);
    await admin.deleteTopics(["kc-admin"]);
    assert.ok(!(await admin.listTopics()).includes("kc-admin"));
  });

  test("producer and assigned consumer: keyed partitioning, offsets, seek, end offsets", async () => {
    await cluster.admin().createTopics([{ name: "kc-pc", partitions: 3 }]);
    const p = await cluster.createProducer({ compression: "gzip" });
    const md = await p.send(
      Array.from({ length: 30 }, (_, i) => ({
        topic: "kc-pc",
        key: enc(`key-${i % 5}`),
        value: enc(`v${i}`),
      })),
    );
    await p.close();
    // the same key always lands on the same partition, offsets are consecutive per partition
    const byKey = new Map<number, number>();
    const perPartition = new Map<number, number[]>();
    md.forEach((m, i) => {
      const k = i % 5;
      if (byKey.has(k)) assert.equal(byKey.get(k), m.partition);
      byKey.set(k, m.partition);
      perPartition.set(m.partition, [...(perPartition.get(m.partition) ?? []), m.offset]);
    });
    for (const offs of perPartition.values())
      assert.deepEqual(
        offs,
        offs.map((_, i) => i),
      );
    const c = await cluster.createConsumer({ isolationLevel: "read_uncommitted" });
    const parts: TopicPartition[] = [0, 1, 2].map((partition) => ({ topic: "kc-pc", partition }));
    c.assign(parts);
    const got: ConsumedRecord[] = [];
    await waitFor(
      async () => {
        got.push(...(await c.poll({ maxWaitMs: 200 })));
        return got.length >= 30;
      },
      { timeoutMs: 15_000, what: "30 records" },
    );
    assert.deepEqual(
      got.map((r) => dec(r.value)).sort(),
      Array.from({ length: 30 }, (_, i) => `v${i}`).sort(),
    );
    const ends = await c.endOffsets(parts);
    assert.equal(
      [...ends.values()].reduce((a, x) => a + x, 0),
      30,
    );
    const first = got[0]!;
    c.seek(first, first.offset);
    const again = await c.poll({ maxWaitMs: 1000 });
    assert.equal(again[0]?.offset, first.offset);
    assert.equal(
      await c.position(first),
      again.filter((r) => r.partition === first.partition).at(-1)!.offset + 1,
    );
    await c.close();
  });

  test("group consumers split partitions, call rebalance listeners, commit", async () => {
    await cluster.admin().createTopics([{ name: "kc-grp", partitions: 4 }]);
    const p = await cluster.createProducer();
    await p.send(
      Array.from({ length: 40 }, (_, i) => ({
        topic: "kc-grp",
        partition: i % 4,
        key: null,
        value: enc(`m${i}`),
      })),
    );
    await p.close();
    const assigned: Record<string, TopicPartition[]> = { a: [], b: [] };
    const revoked: Record<string, TopicPartition[]> = { a: [], b: [] };
    const mk = async (name: string) => {
      const c = await cluster.createConsumer({
        groupId: "kc-g",
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 300,
      });
      return {
        c,
        listener: {
          onPartitionsAssigned: (ps: readonly TopicPartition[]) => void assigned[name]!.push(...ps),
          onPartitionsRevoked: (ps: readonly TopicPartition[]) => void revoked[name]!.push(...ps),
        },
      };
    };
    const a = await mk("a");
    await a.c.subscribe(["kc-grp"], a.listener);
    const seen = new Set<string>();
    // a alone gets all 4
    await waitFor(
      async () => {
        for (const r of await a.c.poll({ maxWaitMs: 100 })) seen.add(dec(r.value));
        return a.c.assignment().length === 4;
      },
      { timeoutMs: 15_000, what: "a assigned 4" },
    );
    const bb = await mk("b");
    const bJoin = bb.c.subscribe(["kc-grp"], bb.listener);
    await waitFor(
      async () => {
        for (const r of await a.c.poll({ maxWaitMs: 100 })) seen.add(dec(r.value));
        return a.c.assignment().length === 2;
      },
      { timeoutMs: 20_000, what: "a down to 2 partitions" },
    );
    await bJoin;
    await waitFor(
      async () => {
        for (const c of [a.c, bb.c]) for (const r of await c.poll({ maxWaitMs: 50 })) seen.add(dec(r.value));
        return seen.size === 40;
      },
      { timeoutMs: 20_000, what: "all 40 records" },
    );
    const aKeys = new Set(a.c.assignment().map(tpKey));
    assert.equal(bb.c.assignment().length, 2);
    assert.ok(
      bb.c.assignment().every((x) => !aKeys.has(tpKey(x))),
      "disjoint assignments",
    );
    assert.equal(revoked.a!.length, 2, "a's listener saw its two partitions revoked");
    await a.c.commit();
    await bb.c.commit();
    const committed = await a.c.committed([0, 1, 2, 3].map((partition) => ({ topic: "kc-grp", partition })));
    assert.equal(
      [...committed.values()].reduce((s: number, x) => s + (x ?? 0), 0),
      40,
    );
    const lag = await cluster.admin().describeLag("kc-g");
    assert.equal(
      lag.reduce((s, l) => s + l.lag, 0),
      0,
    );
    await bb.c.close();
    await a.c.close();
  });

  test("enforceRebalance: a later poll applies the new generation; onPartitionsAssigned though nothing moved", async () => {
    await cluster.admin().createTopics([{ name: "kc-er", partitions: 2 }]);
    const events: string[] = [];
    const c = await cluster.createConsumer({
      groupId: "kc-er",
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 300,
    });
    await c.subscribe(["kc-er"], {
      onPartitionsRevoked: (ps) => void events.push(`revoked:${ps.length}`),
      onPartitionsAssigned: (ps) => void events.push(`assigned:${ps.length}`),
    });
    await waitFor(
      async () => {
        await c.poll({ maxWaitMs: 20 });
        return events.length > 0;
      },
      { timeoutMs: 15_000, what: "the first assignment" },
    );
    assert.deepEqual(events, ["assigned:2"]);
    const generation = c.groupMetadata().generationId;
    events.length = 0;
    c.enforceRebalance?.();
    await waitFor(
      async () => {
        await c.poll({ maxWaitMs: 20 });
        return events.length > 0;
      },
      { timeoutMs: 15_000, what: "the rebalance's listener call" },
    );
    assert.deepEqual(events, ["assigned:0"]);
    assert.equal(c.assignment().length, 2);
    assert.ok(c.groupMetadata().generationId > generation, "a new generation");
    await c.close();
  });

  test("a member that has not applied a rebalance commits with its assignment's generation: refused", async () => {
    await cluster.admin().createTopics([{ name: "kc-stale", partitions: 2 }]);
    const p = await cluster.createProducer();
    await p.send(
      Array.from({ length: 20 }, (_, i) => ({
        topic: "kc-stale",
        partition: i % 2,
        key: null,
        value: enc(`m${i}`),
      })),
    );
    await p.close();
    const opts = { groupId: "kc-stale", sessionTimeoutMs: 6000, heartbeatIntervalMs: 100 };
    const a = await cluster.createConsumer(opts);
    await a.subscribe(["kc-stale"]);
    let read = 0;
    await waitFor(
      async () => {
        read += (await a.poll({ maxWaitMs: 50 })).length;
        return read === 20;
      },
      { timeoutMs: 15_000, what: "a reads both partitions" },
    );
    const first = a.groupMetadata().generationId;
    // b's join completes once a has rejoined, which platformatic does in the background (a
    // heartbeat answered REBALANCE_IN_PROGRESS): a has not polled, its listener has not run, it
    // still processes both partitions while one of them is b's in the new generation.
    const b = await cluster.createConsumer(opts);
    await b.subscribe(["kc-stale"]);
    assert.equal(b.assignment().length, 1);
    assert.equal(a.assignment().length, 2);
    assert.equal(a.groupMetadata().generationId, first, "a commits with its assignment's generation");
    await assert.rejects(a.commit(), { code: "ILLEGAL_GENERATION" });
    const tx = await cluster.createProducer({ transactionalId: "kc-stale-tx" });
    tx.beginTransaction();
    await assert.rejects(
      tx.sendOffsetsToTransaction(
        [0, 1].map((partition) => ({ topic: "kc-stale", partition, offset: 10 })),
        a.groupMetadata(),
      ),
      (e: unknown) =>
        JSON.stringify(e).includes("ILLEGAL_GENERATION") || String(e).includes("ILLEGAL_GENERATION"),
    );
    await tx.abortTransaction().catch(() => {});
    await tx.close();
    const tps = [0, 1].map((partition) => ({ topic: "kc-stale", partition }));
    assert.deepEqual([...(await b.committed(tps)).values()], [null, null], "nothing committed by a");
    // Its next poll applies the rebalance; then it commits what is still its own.
    await waitFor(
      async () => {
        await a.poll({ maxWaitMs: 10 });
        return a.assignment().length === 1;
      },
      { timeoutMs: 10_000, what: "a applies the rebalance" },
    );
    assert.ok(a.groupMetadata().generationId > first);
    await a.commit();
    const mine = a.assignment()[0]!;
    assert.equal((await a.committed([mine])).get(tpKey(mine)), 10);
    await b.close();
    await a.close();
  });

  test("exactly-once: consume-transform-produce with offsets in the transaction; abort is invisible", async () => {
    await cluster.admin().createTopics([
      { name: "kc-in", partitions: 2 },
      { name: "kc-out", partitions: 2 },
    ]);
    const seed = await cluster.createProducer();
    await seed.send(
      Array.from({ length: 20 }, (_, i) => ({
        topic: "kc-in",
        partition: i % 2,
        key: null,
        value: enc(String(i)),
      })),
    );
    await seed.close();
    const consumer = await cluster.createConsumer({ groupId: "kc-eos", isolationLevel: "read_committed" });
    await consumer.subscribe(["kc-in"]);
    const producer = await cluster.createProducer({ transactionalId: "kc-eos-tx" });
    let processed = 0;
    let abortedOnce = false;
    await waitFor(
      async () => {
        const recs = await consumer.poll({ maxWaitMs: 200, maxRecords: 5 });
        if (recs.length === 0) return processed === 20;
        producer.beginTransaction();
        await producer.send(
          recs.map((r) => ({
            topic: "kc-out",
            partition: r.partition,
            key: null,
            value: enc(`x${dec(r.value)}`),
          })),
        );
        const next = new Map<string, { topic: string; partition: number; offset: number }>();
        for (const r of recs)
          next.set(tpKey(r), { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
        await producer.sendOffsetsToTransaction([...next.values()], consumer.groupMetadata());
        if (!abortedOnce) {
          abortedOnce = true;
          await producer.abortTransaction();
          for (const o of next.values()) {
            const c = (await consumer.committed([o])).get(tpKey(o));
            consumer.seek(o, c ?? 0);
          }
          return false;
        }
        await producer.commitTransaction();
        processed += recs.length;
        return processed === 20;
      },
      { timeoutMs: 30_000, what: "20 records processed" },
    );
    const committed = await consumer.committed([0, 1].map((partition) => ({ topic: "kc-in", partition })));
    assert.equal(
      [...committed.values()].reduce((s: number, x) => s + (x ?? 0), 0),
      20,
    );
    await consumer.close();
    await producer.close();
    const check = await cluster.createConsumer({ isolationLevel: "read_committed" });
    const outParts = [0, 1].map((partition) => ({ topic: "kc-out", partition }));
    check.assign(outParts);
    const out: string[] = [];
    await waitFor(
      async () => {
        out.push(...(await check.poll({ maxWaitMs: 200 })).map((r) => dec(r.value)));
        return out.length >= 20;
      },
      { timeoutMs: 15_000, what: "20 committed outputs" },
    );
    const extra = await check.poll({ maxWaitMs: 300 });
    assert.equal(extra.length, 0);
    assert.deepEqual(
      out.sort(),
      Array.from({ length: 20 }, (_, i) => `x${i}`).sort(),
      "no aborted or duplicate output",
    );
    // the aborted batch is in the log: read_uncommitted sees more
    const ru = await cluster.createConsumer({ isolationLevel: "read_uncommitted" });
    ru.assign(outParts);
    const all: ConsumedRecord[] = [];
    await waitFor(
      async () => {
        all.push(...(await ru.poll({ maxWaitMs: 200 })));
        return all.length > 20;
      },
      { timeoutMs: 10_000, what: "aborted records visible to read_uncommitted" },
    );
    await ru.close();
    await check.close();
  });

  test("a second producer with the same transactional id fences the first", async () => {
    await cluster.admin().createTopics([{ name: "kc-fence", partitions: 1 }]);
    const a = await cluster.createProducer({ transactionalId: "kc-fence-tx" });
    a.beginTransaction();
    await a.send([{ topic: "kc-fence", partition: 0, key: null, value: enc("a") }]);
    const b2 = await cluster.createProducer({ transactionalId: "kc-fence-tx" });
    await assert.rejects(
      (async () => {
        await a.send([{ topic: "kc-fence", partition: 0, key: null, value: enc("a2") }]);
        await a.commitTransaction();
      })(),
      (e: { code?: string }) =>
        ["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "INVALID_TXN_STATE"].includes(e.code ?? ""),
    );
    await a.close();
    b2.beginTransaction();
    await b2.send([{ topic: "kc-fence", partition: 0, key: null, value: enc("b") }]);
    await b2.commitTransaction();
    await b2.close();
    const c = await cluster.createConsumer({ isolationLevel: "read_committed" });
    c.assign([{ topic: "kc-fence", partition: 0 }]);
    const got: string[] = [];
    await waitFor(
      async () => {
        got.push(...(await c.poll({ maxWaitMs: 200 })).map((r) => dec(r.value)));
        return got.length >= 1;
      },
      { timeoutMs: 10_000, what: "b's record" },
    );
    await c.close();
    assert.deepEqual(got, ["b"]);
  });
});
