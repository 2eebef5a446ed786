// The streams runtime unchanged on KafkaCluster (the Kafka protocol, here against Courant's own
// wire server): word count with exactly-once, state restored by a second instance.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Cluster, type ConsumedRecord, KafkaCluster } from "../../src/cluster/index.ts";
import { MetricsRegistry, waitFor } from "../../src/observe/index.ts";
import { Serdes } from "../../src/serde/index.ts";
import {
  KafkaStreams,
  type KafkaStreamsOptions,
  StreamsBuilder,
  type Topology,
} from "../../src/streams/index.ts";
import { startBroker, type TestBroker } from "./harness.ts";

const S = Serdes.String;
const N = Serdes.Json<number>();
const enc = (s: string) => Buffer.from(s);
const dec = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString());

function wordCount(): Topology {
  const b = new StreamsBuilder();
  b.stream("lines", { keySerde: S, valueSerde: S })
    .flatMapValues((l) => l.toLowerCase().split(/\W+/).filter(Boolean))
    .groupBy((_k, w) => w, { keySerde: S, valueSerde: S })
    .count({ storeName: "counts" })
    .toStream()
    .to("counts", { keySerde: S, valueSerde: N });
  return b.build();
}

async function readCounts(
  cluster: Cluster,
  until: (m: Map<string, number>) => boolean,
): Promise<Map<string, number>> {
  const c = await cluster.createConsumer({ isolationLevel: "read_committed" });
  const tps = [0, 1].map((partition) => ({ topic: "counts", partition }));
  c.assign(tps);
  await c.seekToBeginning(tps);
  const latest = new Map<string, number>();
  const seen: ConsumedRecord[] = [];
  await waitFor(
    async () => {
      for (const r of await c.poll({ maxWaitMs: 100 })) {
        seen.push(r);
        latest.set(dec(r.key)!, Number(dec(r.value)));
      }
      return until(latest);
    },
    { timeoutMs: 60_000, what: "word counts" },
  );
  await c.close();
  return latest;
}

describe("streams runtime on KafkaCluster", () => {
  let b: TestBroker;
  let cluster: KafkaCluster;
  let dir: string;
  before(async () => {
    b = await startBroker();
    cluster = new KafkaCluster({ bootstrapBrokers: [b.bootstrap], clientId: "streams-on-kafka" });
    dir = mkdtempSync(join(tmpdir(), "courant-streams-kafka-"));
  });
  after(async () => {
    await cluster?.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("word count with exactly_once_v2; a second instance restores and keeps counting", async () => {
    await cluster.admin().createTopics([
      { name: "lines", partitions: 2 },
      { name: "counts", partitions: 2 },
    ]);
    const options = (): KafkaStreamsOptions => ({
      applicationId: "wc-kafka",
      cluster,
      processingGuarantee: "exactly_once_v2",
      stateDir: join(dir, "state"),
      commitIntervalMs: 100,
      pollMs: 50,
      sessionTimeoutMs: 6000,
      metrics: new MetricsRegistry(),
    });
    const app = new KafkaStreams(wordCount(), options());
    await app.start();
    await waitFor(() => app.state === "RUNNING", { timeoutMs: 60_000, what: "RUNNING" });
    const p = await cluster.createProducer();
    await p.send(
      ["the quick fox", "the lazy dog", "The end"].map((v) => ({ topic: "lines", key: null, value: enc(v) })),
    );
    const counts = await readCounts(cluster, (m) => m.get("the") === 3 && m.get("end") === 1);
    assert.deepEqual(Object.fromEntries(counts), { the: 3, quick: 1, fox: 1, lazy: 1, dog: 1, end: 1 });
    await app.close();

    const app2 = new KafkaStreams(wordCount(), options());
    await app2.start();
    await waitFor(() => app2.state === "RUNNING", { timeoutMs: 60_000, what: "RUNNING again" });
    await p.send([{ topic: "lines", key: null, value: enc("the") }]);
    const again = await readCounts(cluster, (m) => m.get("the") === 4);
    assert.equal(again.get("the"), 4);
    await p.close();
    await app2.close();
  });
});
