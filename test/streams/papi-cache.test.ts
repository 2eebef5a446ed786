// Record caching on Processor API stores (Stores.keyValueStore({ caching: true })): a key's writes
// between two commits reach the store and its changelog once, reads see the latest write, and
// under exactly-once the coalesced changelog restores the exact state.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { ConsumedRecord } from "../../src/cluster/index.ts";
import { MetricsRegistry, waitFor } from "../../src/observe/index.ts";
import { Serdes } from "../../src/serde/index.ts";
import { RecordCache, StateDirectory } from "../../src/state/index.ts";
import {
  KafkaStreams,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type Record,
  Stores,
  Topology,
} from "../../src/streams/index.ts";
import { memoryStoreProvider, StreamTask } from "../../src/streams/internals/task.ts";
import { openTestCluster } from "../fixtures/streams/test-cluster.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

/** Adds each record's value (a number) to its key's running total and forwards the total. */
class Totals implements Processor<string, number, string, number> {
  private ctx!: ProcessorContext<string, number>;
  private store!: KeyValueStore<string, number>;
  init(ctx: ProcessorContext<string, number>): void {
    this.ctx = ctx;
    this.store = ctx.getStateStore("totals");
  }
  process(r: Record<string, number>): void {
    const total = (this.store.get(r.key!) ?? 0) + r.value!;
    this.store.put(r.key!, total);
    this.ctx.forward(r.withValue(total));
  }
}

function totalsTopology(caching: boolean): Topology {
  return new Topology()
    .addSource("in", "amounts", { keySerde: Serdes.String, valueSerde: Serdes.Json<number>() })
    .addProcessor("totals", () => new Totals(), "in")
    .addStateStore(
      Stores.keyValueStore({
        name: "totals",
        keySerde: Serdes.String,
        valueSerde: Serdes.Json<number>(),
        caching,
      }),
      "totals",
    )
    .addSink("out", "totals-out", { keySerde: Serdes.String, valueSerde: Serdes.Json<number>() }, "totals");
}

for (const persistent of [false, true]) {
  test(`a cached Processor API store coalesces a key's writes until the commit (${persistent ? "lmdb" : "memory"})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "courant-papi-cache-"));
    const states: StateDirectory[] = [];
    t.after(async () => {
      for (const s of states) await s.close();
      rmSync(dir, { recursive: true, force: true });
    });
    for (const caching of [false, true]) {
      const state = persistent ? new StateDirectory(join(dir, String(caching)), "app") : undefined;
      if (state !== undefined) states.push(state);
      const topology = totalsTopology(caching);
      topology.internal.applicationId = `app${caching ? "-cached" : ""}`;
      const sent: { topic: string; key: string | null; value: string | null }[] = [];
      const task = new StreamTask(topology.internal, 0, 0, {
        applicationId: topology.internal.applicationId,
        clock: { now: () => 0 },
        collector: {
          send: (topic, key, value) => sent.push({ topic, key: dec(key), value: dec(value) }),
          partitionsFor: () => 1,
        },
        storeProvider: state?.storeProvider() ?? memoryStoreProvider,
        globalStores: new Map(),
        cache: new RecordCache(1 << 20),
      });
      task.initialize();
      const rec = (i: number): ConsumedRecord => ({
        topic: "amounts",
        partition: 0,
        offset: i,
        timestamp: i,
        timestampType: "CreateTime",
        key: enc(`k${i % 3}`),
        value: enc(String(i)),
        headers: [],
      });
      for (let i = 0; i < 30; i++) task.processRecord(rec(i));
      const changelog = () => sent.filter((s) => s.topic.endsWith("-totals-changelog"));
      // Every record's total is forwarded at once, computed from the latest (cached) value.
      const outs = sent.filter((s) => s.topic === "totals-out").map((s) => Number(s.value));
      const want = [0, 0, 0];
      assert.deepEqual(
        outs,
        Array.from({ length: 30 }, (_, i) => (want[i % 3] += i)),
      );
      assert.equal(changelog().length, caching ? 0 : 30, "changelog writes before the commit");
      task.flushCaches();
      const final = changelog().slice(caching ? 0 : -3);
      assert.deepEqual(
        Object.fromEntries(final.map((s) => [s.key, Number(s.value)])),
        { k0: 135, k1: 145, k2: 155 },
        "the changelog ends with each key's total",
      );
      assert.equal(changelog().length, caching ? 3 : 30, "one changelog write per key per commit");
      // The store holds the totals (through the cache and after it flushed).
      const store = task.ctx.getStore("totals") as KeyValueStore<string, number>;
      assert.deepEqual([store.get("k0"), store.get("k1"), store.get("k2")], [135, 145, 155]);
      await task.close();
    }
  });
}

test("exactly-once with a cached Processor API store on lmdb: totals restore exactly from the coalesced changelog", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-papi-cache-eos-"));
  const cluster = await openTestCluster(dir);
  t.after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await cluster.admin().createTopics([
    { name: "amounts", partitions: 1 },
    { name: "totals-out", partitions: 1 },
  ]);
  const start = async (stateDir: string) => {
    const app = new KafkaStreams(totalsTopology(true), {
      applicationId: "totals",
      cluster,
      stateDir,
      processingGuarantee: "exactly_once_v2",
      commitIntervalMs: 200,
      pollMs: 20,
      sessionTimeoutMs: 500,
      metrics: new MetricsRegistry(),
    });
    await app.start();
    await waitFor(() => app.state === "RUNNING", { timeoutMs: 20_000, what: "RUNNING" });
    return app;
  };
  const produce = async (from: number, to: number) => {
    const p = await cluster.createProducer();
    const recs = [];
    for (let i = from; i < to; i++) recs.push({ topic: "amounts", key: enc(`k${i % 3}`), value: enc("1") });
    await p.send(recs);
    await p.close();
  };
  const readTotals = async (until: (m: Map<string, number>) => boolean) => {
    const c = await cluster.createConsumer({ isolationLevel: "read_committed" });
    c.assign([{ topic: "totals-out", partition: 0 }]);
    await c.seekToBeginning([{ topic: "totals-out", partition: 0 }]);
    const m = new Map<string, number>();
    let n = 0;
    await waitFor(
      async () => {
        for (const r of await c.poll({ maxWaitMs: 50 })) {
          m.set(dec(r.key)!, Number(dec(r.value)));
          n++;
        }
        return until(m);
      },
      { timeoutMs: 20_000, what: "totals" },
    );
    await c.close();
    return { m, n };
  };

  const app = await start(join(dir, "state-a"));
  await produce(0, 300);
  const first = await readTotals((m) => m.get("k0") === 100 && m.get("k1") === 100 && m.get("k2") === 100);
  assert.equal(first.n, 300, "one output per input");
  const changelog = await cluster.createConsumer({ isolationLevel: "read_committed" });
  changelog.assign([{ topic: "totals-totals-changelog", partition: 0 }]);
  await changelog.seekToBeginning([{ topic: "totals-totals-changelog", partition: 0 }]);
  const logged = await changelog.poll({ maxWaitMs: 200 });
  await changelog.close();
  assert.ok(logged.length > 0 && logged.length < 300, `changelog coalesced: ${logged.length} writes for 300`);
  await app.close();

  // Another instance with no local state restores the totals from the changelog alone.
  const app2 = await start(join(dir, "state-b"));
  await produce(300, 303);
  const second = await readTotals((m) => m.get("k0") === 101 && m.get("k1") === 101 && m.get("k2") === 101);
  assert.equal(second.n, 303, "exactly one output per input across both instances");
  await app2.close();
});
