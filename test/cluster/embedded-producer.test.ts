// EmbeddedProducer's answers: per-record metadata and per-partition ranges for sends that interleave
// topics and partitions, checked against what the log holds.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { EmbeddedCluster, type EmbeddedProducer, type ProducerRecord } from "../../src/cluster/index.ts";

const enc = (s: string) => Buffer.from(s, "utf8");

async function open(t: { after(fn: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), "courant-producer-"));
  const cluster = await EmbeddedCluster.open({ dataDir: dir, timerIntervalMs: 20 });
  t.after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await cluster.admin().createTopics([
    { name: "a", partitions: 3 },
    { name: "b", partitions: 2 },
  ]);
  return cluster;
}

/** Records spread over both topics, with explicit, keyed and unkeyed (sticky) partitions, interleaved. */
function mixed(n: number, tag: string): ProducerRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    topic: i % 3 === 1 ? "b" : "a",
    partition: i % 4 === 0 ? i % 2 : undefined,
    key: i % 5 === 0 ? null : enc(`k${i % 7}`),
    value: enc(`${tag}-${i}`),
    timestamp: i % 2 === 0 ? 1_000 + i : undefined,
    headers: i % 3 === 0 ? [{ key: "i", value: enc(String(i)) }] : undefined,
  }));
}

async function readAll(cluster: EmbeddedCluster) {
  const c = await cluster.createConsumer({ autoOffsetReset: "earliest" });
  const tps = [0, 1, 2].map((partition) => ({ topic: "a", partition }));
  tps.push({ topic: "b", partition: 0 }, { topic: "b", partition: 1 });
  c.assign(tps);
  const byValue = new Map<string, { topic: string; partition: number; offset: number; timestamp: number }>();
  for (let idle = 0; idle < 3; ) {
    const rs = await c.poll({ maxWaitMs: 50 });
    if (rs.length === 0) idle++;
    for (const r of rs)
      byValue.set(Buffer.from(r.value!).toString(), {
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        timestamp: r.timestamp,
      });
  }
  await c.close();
  return byValue;
}

test("send() answers each record with where the log put it, whatever the interleaving of topics and partitions", async (t) => {
  const cluster = await open(t);
  const p = await cluster.createProducer();
  const first = await p.send(mixed(50, "x"));
  const second = await p.send(mixed(7, "y")); // sequences continue per partition across sends
  const one = await p.send([{ topic: "b", partition: 1, key: null, value: enc("z-0") }]);
  const stored = await readAll(cluster);
  const check = (md: typeof first, recs: ProducerRecord[]) =>
    md.forEach((m, i) => {
      const s = stored.get(Buffer.from(recs[i]!.value!).toString())!;
      assert.deepEqual(
        { topic: m.topic, partition: m.partition, offset: m.offset },
        {
          topic: s.topic,
          partition: s.partition,
          offset: s.offset,
        },
      );
      assert.equal(m.timestamp, s.timestamp);
      if (recs[i]!.timestamp !== undefined) assert.equal(m.timestamp, recs[i]!.timestamp);
    });
  check(first, mixed(50, "x"));
  check(second, mixed(7, "y"));
  check(one, [{ topic: "b", partition: 1, key: null, value: enc("z-0") }]);
  assert.equal(stored.size, 58);
});

test("sendForPartitions() answers one offset range per partition written, matching the log", async (t) => {
  const cluster = await open(t);
  const p = (await cluster.createProducer({ transactionalId: "ranges" })) as EmbeddedProducer;
  p.beginTransaction();
  const recs = mixed(40, "r");
  const ranges = await p.sendForPartitions(recs);
  const again = p.sendSyncForPartitions(mixed(3, "s"));
  assert.deepEqual(await p.sendForPartitions([]), []);
  await p.commitTransaction();
  const stored = await readAll(cluster);
  for (const [set, tag] of [
    [ranges, "r"],
    [again, "s"],
  ] as const) {
    const seen = new Set<string>();
    let total = 0;
    for (const r of set) {
      const k = `${r.topic}-${r.partition}`;
      assert.ok(!seen.has(k), `one range per partition (${k})`);
      seen.add(k);
      const offsets = [...stored.entries()]
        .filter(([v, s]) => v.startsWith(`${tag}-`) && s.topic === r.topic && s.partition === r.partition)
        .map(([, s]) => s.offset)
        .sort((x, y) => x - y);
      assert.deepEqual(
        offsets,
        Array.from({ length: r.lastOffset - r.baseOffset + 1 }, (_, i) => r.baseOffset + i),
      );
      total += offsets.length;
    }
    assert.equal(total, tag === "r" ? 40 : 3);
  }
});

test("sends made without waiting keep their call order, also when some give the event loop a turn", async (t) => {
  const cluster = await open(t);
  const producer = (await cluster.createProducer()) as EmbeddedProducer;
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < 6; i++) {
    // Past the producer's time slice, a send yields before appending: a later one must not overtake it.
    const busyUntil = performance.now() + 6;
    while (performance.now() < busyUntil);
    const record = { topic: "a", partition: 0, key: null, value: enc(`v${i}`) };
    sends.push(i % 2 === 0 ? producer.send([record]) : producer.sendForPartitions([record]));
    sends.push(producer.sendForPartitions([{ ...record, value: enc(`w${i}`) }]));
    if (i % 3 === 2) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(sends);
  const c = await cluster.createConsumer();
  c.assign([{ topic: "a", partition: 0 }]);
  await c.seekToBeginning([{ topic: "a", partition: 0 }]);
  const values: string[] = [];
  while (values.length < 12) {
    for (const r of await c.poll({ maxWaitMs: 200 })) values.push(Buffer.from(r.value!).toString());
  }
  assert.deepEqual(
    values,
    [0, 1, 2, 3, 4, 5].flatMap((i) => [`v${i}`, `w${i}`]),
  );
  await c.close();
});
