// The runtime on the embedded cluster: processing, exactly-once commits, restore, DLQ, IQ,
// state listener, uncaught-error handling, option validation.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Cluster, type ConsumedRecord, EmbeddedCluster } from "../../src/cluster/index.ts";
import { MetricsRegistry, waitFor } from "../../src/observe/index.ts";
import { Serdes } from "../../src/serde/index.ts";
import {
  DLQ_HEADERS,
  KafkaStreams,
  type KafkaStreamsOptions,
  type KafkaStreamsState,
  replaceThreadUpTo,
  StreamsBuilder,
  type Topology,
} from "../../src/streams/index.ts";
import { openTestCluster } from "../fixtures/streams/test-cluster.ts";

const S = Serdes.String;
const N = Serdes.Json<number>();
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

async function setup(t: { after(fn: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), "courant-streams-"));
  const cluster = await openTestCluster(dir);
  t.after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { cluster, dir };
}

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

async function produce(cluster: Cluster, topic: string, values: [string | null, string][]) {
  const p = await cluster.createProducer();
  await p.send(
    values.map(([k, v]) => ({
      topic,
      key: k === null ? null : enc(k),
      value: enc(v),
      timestamp: Date.now(),
    })),
  );
  await p.close();
}

async function readAll(
  cluster: Cluster,
  topic: string,
  until: (recs: ConsumedRecord[]) => boolean,
  committed = true,
) {
  const c = await cluster.createConsumer({
    isolationLevel: committed ? "read_committed" : "read_uncommitted",
  });
  const parts = (await cluster.admin().describeTopics([topic]))[0]!.partitions.length;
  const tps = Array.from({ length: parts }, (_, p) => ({ topic, partition: p }));
  c.assign(tps);
  await c.seekToBeginning(tps);
  const out: ConsumedRecord[] = [];
  await waitFor(
    async () => {
      out.push(...(await c.poll({ maxWaitMs: 50 })));
      return until(out);
    },
    { timeoutMs: 20_000, what: `records on ${topic}` },
  );
  await c.close();
  return out;
}

function latestCounts(recs: ConsumedRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of recs) m.set(dec(r.key)!, Number(dec(r.value)));
  return m;
}

function options(
  cluster: Cluster,
  dir: string,
  extra: Partial<KafkaStreamsOptions> = {},
): KafkaStreamsOptions {
  return {
    applicationId: "wc",
    cluster,
    stateDir: join(dir, "state"),
    commitIntervalMs: 50,
    pollMs: 20,
    sessionTimeoutMs: 500,
    metrics: new MetricsRegistry(),
    ...extra,
  };
}

for (const guarantee of ["at_least_once", "exactly_once_v2"] as const) {
  test(`word count runs on the embedded cluster (${guarantee}); state restores after a restart`, async (t) => {
    const { cluster, dir } = await setup(t);
    await cluster.admin().createTopics([
      { name: "lines", partitions: 2 },
      { name: "counts", partitions: 2 },
    ]);
    const states: KafkaStreamsState[] = [];
    const app = new KafkaStreams(wordCount(), options(cluster, dir, { processingGuarantee: guarantee }));
    app.onStateChange((s) => states.push(s));
    await app.start();
    await waitFor(() => app.state === "RUNNING", { timeoutMs: 20_000, what: "RUNNING" });
    await produce(cluster, "lines", [
      [null, "the quick fox"],
      [null, "the lazy dog"],
      ["x", "The end"],
    ]);
    const out = await readAll(cluster, "counts", (r) => latestCounts(r).get("the") === 3);
    assert.deepEqual(Object.fromEntries(latestCounts(out)), {
      the: 3,
      quick: 1,
      fox: 1,
      lazy: 1,
      dog: 1,
      end: 1,
    });
    await waitFor(() => app.keyValueStore<string, number>("counts").get("the") === 3, {
      what: "IQ sees the count",
    });
    const md = await app.queryMetadataForKey("counts", "the", S);
    assert.equal(md.local, true);
    const topics = await cluster.admin().listTopics({ includeInternal: true });
    assert.ok(topics.includes("wc-counts-changelog"), "changelog topic created");
    assert.ok(
      topics.some((x) => x.endsWith("-repartition")),
      "repartition topic created",
    );
    await app.close();
    assert.equal(app.state, "NOT_RUNNING");
    assert.deepEqual(states.slice(0, 2), ["REBALANCING", "RUNNING"]);
    assert.ok(states.includes("PENDING_SHUTDOWN"));

    // A new instance restores "the" = 3 from local state / the changelog and keeps counting.
    const app2 = new KafkaStreams(wordCount(), options(cluster, dir, { processingGuarantee: guarantee }));
    await app2.start();
    await waitFor(() => app2.state === "RUNNING", { timeoutMs: 20_000, what: "RUNNING again" });
    await produce(cluster, "lines", [[null, "the"]]);
    await readAll(cluster, "counts", (r) => latestCounts(r).get("the") === 4);
    await app2.close();
  });
}

test("deserialization errors go to a dead-letter topic with reason and coordinates, processing continues", async (t) => {
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "nums", partitions: 1 },
    { name: "doubled", partitions: 1 },
    { name: "dlq", partitions: 1 },
  ]);
  const b = new StreamsBuilder();
  b.stream("nums", { keySerde: S, valueSerde: N })
    .mapValues((v) => v * 2)
    .to("doubled", { keySerde: S, valueSerde: N });
  const app = new KafkaStreams(
    b.build(),
    options(cluster, dir, { applicationId: "dlq-app", deserializationErrors: { deadLetterTopic: "dlq" } }),
  );
  await app.start();
  await produce(cluster, "nums", [
    ["a", "1"],
    ["b", "{oops"],
    ["c", "3"],
  ]);
  const out = await readAll(cluster, "doubled", (r) => r.length >= 2);
  assert.deepEqual(
    out.map((r) => dec(r.value)),
    ["2", "6"],
  );
  const dlq = await readAll(cluster, "dlq", (r) => r.length >= 1);
  const h = Object.fromEntries(dlq[0]!.headers.map((x) => [x.key, dec(x.value)]));
  assert.equal(dec(dlq[0]!.value), "{oops");
  assert.equal(h[DLQ_HEADERS.topic], "nums");
  assert.equal(h[DLQ_HEADERS.partition], "0");
  assert.equal(h[DLQ_HEADERS.offset], "1");
  assert.match(h[DLQ_HEADERS.reason]!, /cannot deserialize record nums-0@1/);
  await app.close();
});

test("uncaught errors: REPLACE_THREAD keeps going, SHUTDOWN_CLIENT ends in ERROR", async (t) => {
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "in", partitions: 1 },
    { name: "out", partitions: 1 },
  ]);
  let failOnce = true;
  const build = () => {
    const b = new StreamsBuilder();
    b.stream("in", { keySerde: S, valueSerde: S })
      .mapValues((v) => {
        if (v === "boom" && failOnce) {
          failOnce = false;
          throw new Error("boom");
        }
        return v;
      })
      .to("out", { keySerde: S, valueSerde: S });
    return b.build();
  };
  const errors: string[] = [];
  const app = new KafkaStreams(
    build(),
    options(cluster, dir, {
      applicationId: "replace",
      processingGuarantee: "exactly_once_v2",
      uncaughtErrorHandler: (e) => {
        errors.push(e.message);
        return "REPLACE_THREAD";
      },
    }),
  );
  await app.start();
  await produce(cluster, "in", [
    ["k", "a"],
    ["k", "boom"],
    ["k", "c"],
  ]);
  const out = await readAll(cluster, "out", (r) => r.length >= 3);
  assert.deepEqual(
    out.map((r) => dec(r.value)),
    ["a", "boom", "c"],
    "exactly once: the aborted attempt left nothing visible; the replacement thread redid it",
  );
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /boom/);
  await app.close();

  failOnce = true;
  const app2 = new KafkaStreams(
    build(),
    options(cluster, dir, { applicationId: "shutdown", uncaughtErrorHandler: () => "SHUTDOWN_CLIENT" }),
  );
  await app2.start();
  await produce(cluster, "in", [["k", "boom"]]);
  await waitFor(() => app2.state === "ERROR", { timeoutMs: 20_000, what: "ERROR state" });
});

test("replaceThreadUpTo: replaces a failed thread up to max times within the window, then shuts down; old failures age out", async (t) => {
  let now = 0;
  const policy = replaceThreadUpTo(2, 60_000, () => now);
  const e = new Error("boom");
  assert.equal(policy(e), "REPLACE_THREAD");
  now = 1_000;
  assert.equal(policy(e), "REPLACE_THREAD");
  now = 2_000;
  assert.equal(policy(e), "SHUTDOWN_CLIENT", "a third failure within a minute is not transient");
  now = 200_000;
  assert.equal(policy(e), "REPLACE_THREAD", "failures of long ago do not count");

  // In an application: a record that fails every time ends in ERROR after max replacements.
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "in", partitions: 1 },
    { name: "out", partitions: 1 },
  ]);
  let attempts = 0;
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .mapValues((v) => {
      if (v === "poison") {
        attempts++;
        throw new Error("poison");
      }
      return v;
    })
    .to("out", { keySerde: S, valueSerde: S });
  const app = new KafkaStreams(
    b.build(),
    options(cluster, dir, {
      applicationId: "replace-up-to",
      processingGuarantee: "exactly_once_v2",
      uncaughtErrorHandler: replaceThreadUpTo(2, 60_000),
    }),
  );
  await app.start();
  await produce(cluster, "in", [["k", "poison"]]);
  await waitFor(() => app.state === "ERROR", { timeoutMs: 30_000, what: "ERROR state" });
  assert.equal(attempts, 3, "the first thread and its two replacements each tried the record once");
});

test("options are validated with clear errors; missing source topics are reported", async (t) => {
  const { cluster, dir } = await setup(t);
  assert.throws(
    () => new KafkaStreams(wordCount(), { applicationId: "bad id!", cluster }),
    /invalid KafkaStreams options: applicationId: may only contain/,
  );
  assert.throws(
    () => new KafkaStreams(wordCount(), { applicationId: "x", cluster, numStreamThreads: 0 }),
    /numStreamThreads/,
  );
  assert.throws(
    () => new KafkaStreams(wordCount(), { applicationId: "x", cluster, idleCommitAfterMs: -1 }),
    /idleCommitAfterMs/,
  );
  const app = new KafkaStreams(wordCount(), options(cluster, dir, { applicationId: "missing" }));
  await assert.rejects(app.start(), /source topic\(s\) lines do not exist/);
  assert.equal(app.state, "ERROR");
});

test("application reset deletes internal topics, committed offsets and local state (library and CLI)", async (t) => {
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "lines", partitions: 1 },
    { name: "counts", partitions: 1 },
  ]);
  const app = new KafkaStreams(wordCount(), options(cluster, dir, { applicationId: "rst" }));
  await app.start();
  await produce(cluster, "lines", [[null, "a b"]]);
  await readAll(cluster, "counts", (r) => r.length >= 2);
  await app.close();
  const { resetApplication } = await import("../../src/streams/index.ts");
  const r = await resetApplication(cluster, "rst", { stateDir: join(dir, "state") });
  assert.ok(r.deletedTopics.includes("rst-counts-changelog"));
  assert.ok(r.deletedTopics.some((x) => x.endsWith("-repartition")));
  assert.equal(r.deletedGroup, true);
  assert.equal(r.deletedStateDir, join(dir, "state", "rst"));
  const left = await cluster.admin().listTopics({ includeInternal: true });
  assert.ok(!left.some((x) => x.startsWith("rst-")));
  assert.ok(left.includes("lines") && left.includes("counts"), "user topics stay");
});

test("courant app reset --application-id ID --data DIR", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-reset-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cluster = await EmbeddedCluster.open({ dataDir: dir, timerIntervalMs: 20 });
  await cluster.admin().createTopics([
    { name: "cli-x-changelog", partitions: 1 },
    { name: "cli-counts-changelog", partitions: 1 },
    { name: "keep", partitions: 1 },
  ]);
  await cluster.close();
  const { spawnSync } = await import("node:child_process");
  const res = spawnSync(
    process.execPath,
    ["src/cli/main.ts", "app", "reset", "--application-id", "cli", "--data", dir],
    {
      encoding: "utf8",
    },
  );
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /internal topics deleted: cli-counts-changelog, cli-x-changelog/);
  const c2 = await EmbeddedCluster.open({ dataDir: dir, timerIntervalMs: 20 });
  assert.deepEqual((await c2.admin().listTopics()).sort(), ["keep"]);
  await c2.close();
});

test("the record cache coalesces a key's updates between commits; the final count is exact", async (t) => {
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "lines", partitions: 1 },
    { name: "counts", partitions: 1 },
  ]);
  const app = new KafkaStreams(
    wordCount(),
    options(cluster, dir, { applicationId: "cached", commitIntervalMs: 300 }),
  );
  await app.start();
  await waitFor(() => app.state === "RUNNING", { timeoutMs: 20_000, what: "RUNNING" });
  await produce(
    cluster,
    "lines",
    Array.from({ length: 200 }, () => [null, "hot"] as [null, string]),
  );
  const out = await readAll(cluster, "counts", (r) => latestCounts(r).get("hot") === 200);
  assert.ok(out.length < 200, `coalesced: ${out.length} updates for 200 records`);
  const changelog = await readAll(cluster, "cached-counts-changelog", (r) => r.length > 0);
  assert.ok(changelog.length < 200, "changelog writes are coalesced too");
  await app.close();
});

test("standby replicas keep a warm copy: a migrated task restores only the changelog tail", async (t) => {
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "lines", partitions: 2 },
    { name: "counts", partitions: 2 },
  ]);
  const restoredBy = new Map<string, number>();
  const mk = (name: string) =>
    new KafkaStreams(
      wordCount(),
      options(cluster, dir, {
        applicationId: "standby",
        stateDir: join(dir, `state-${name}`),
        numStandbyReplicas: 1,
        commitIntervalMs: 50,
        onRestore: (p) => {
          if (p.store === "counts") restoredBy.set(`${name}:${p.taskId}`, p.total);
        },
      }),
    );
  const a = mk("a");
  const b = mk("b");
  await a.start();
  await b.start();
  const tasksOf = (s: KafkaStreams) => s.localThreadsMetadata().flatMap((m) => m.activeTasks);
  await waitFor(
    () =>
      a.state === "RUNNING" && b.state === "RUNNING" && tasksOf(a).length === 2 && tasksOf(b).length === 2,
    { timeoutMs: 30_000, what: "tasks spread over both instances" },
  );
  const words = Array.from({ length: 300 }, (_, i) => [null, `w${i % 30}`] as [null, string]);
  await produce(cluster, "lines", words);
  await readAll(cluster, "counts", (r) => [...latestCounts(r).values()].reduce((x, y) => x + y, 0) === 300);
  const bStandbys = b.localThreadsMetadata().flatMap((m) => m.standbyTasks);
  assert.ok(
    bStandbys.some((id) => id.startsWith("1_")),
    `b mirrors a's counting task (${bStandbys})`,
  );
  // Stop a: b takes its tasks over, restoring from where its standby copy had got to.
  await a.close();
  await waitFor(() => tasksOf(b).length === 4 && b.state === "RUNNING", {
    timeoutMs: 30_000,
    what: "b runs every task",
  });
  const migrated = bStandbys.find((id) => id.startsWith("1_"))!;
  const changelogSize = (await cluster.admin().describeTopics(["standby-counts-changelog"]))[0]!.partitions[
    Number(migrated.split("_")[1])
  ]!.highWatermark;
  const tail = restoredBy.get(`b:${migrated}`) ?? 0;
  assert.ok(
    changelogSize > 0 && tail < changelogSize,
    `restored ${tail} of ${changelogSize} changelog records`,
  );
  assert.equal(
    [...b.keyValueStore<string, number>("counts").all()].reduce((x, e) => x + e.value, 0),
    300,
    "b answers for every word after the takeover",
  );
  await b.close();
});

test("group errors count as task migration (rejoin), other errors do not", async () => {
  const { isTaskMigration } = await import("../../src/streams/runtime/thread.ts");
  const { KafkaError } = await import("../../src/cluster/index.ts");
  assert.equal(isTaskMigration(new KafkaError("ILLEGAL_GENERATION", "TxnOffsetCommit failed")), true);
  assert.equal(
    isTaskMigration(new Error("commit failed", { cause: new KafkaError("UNKNOWN_MEMBER_ID", "x") })),
    true,
  );
  assert.equal(isTaskMigration(new KafkaError("PRODUCER_FENCED", "a newer instance took over")), false);
  assert.equal(isTaskMigration(new Error("boom")), false);
});

test("global tables load before processing; interactive-query metadata points at the owning instance; SHUTDOWN_APPLICATION stops every instance", async (t) => {
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "regions", partitions: 1 },
    { name: "orders", partitions: 2 },
    { name: "enriched", partitions: 2 },
  ]);
  await produce(cluster, "regions", [
    ["FR", "Europe"],
    ["BR", "Americas"],
  ]);
  const build = () => {
    const b = new StreamsBuilder();
    const regions = b.globalTable("regions", { keySerde: S, valueSerde: S }, { storeName: "regions" });
    b.stream("orders", { keySerde: S, valueSerde: S })
      .mapValues((v) => {
        if (v === "poison") throw new Error("poison order");
        return v;
      })
      .join(
        regions,
        (country) => country,
        (order, region) => `${order}@${region}`,
      )
      .to("enriched", { keySerde: S, valueSerde: S });
    b.stream("orders-by-id", { keySerde: S, valueSerde: S }).groupByKey().count({ storeName: "per-id" });
    return b.build();
  };
  await cluster.admin().createTopics([{ name: "orders-by-id", partitions: 2 }]);
  const mk = (server: string) =>
    new KafkaStreams(
      build(),
      options(cluster, dir, {
        applicationId: "glob",
        stateDir: join(dir, `state-${server}`),
        applicationServer: server,
        uncaughtErrorHandler: () => "SHUTDOWN_APPLICATION",
      }),
    );
  const a = mk("a.example:1");
  const b = mk("b.example:2");
  await a.start();
  await b.start();
  const tasksOf = (s: KafkaStreams) => s.localThreadsMetadata().flatMap((m) => m.activeTasks);
  await waitFor(
    () => tasksOf(a).length > 0 && tasksOf(b).length > 0 && a.state === "RUNNING" && b.state === "RUNNING",
    {
      timeoutMs: 30_000,
      what: "both instances running",
    },
  );
  assert.equal(a.keyValueStore<string, string>("regions").get("FR"), "Europe", "global store loaded");
  await produce(cluster, "orders", [
    ["FR", "o1"],
    ["BR", "o2"],
  ]);
  const out = await readAll(cluster, "enriched", (r) => r.length >= 2);
  assert.deepEqual(out.map((r) => dec(r.value)).sort(), ["o1@Europe", "o2@Americas"]);
  // Which instance owns key "x" of per-id? Both agree, and exactly one says local.
  const ma = await a.queryMetadataForKey("per-id", "x", S);
  const mb = await b.queryMetadataForKey("per-id", "x", S);
  assert.equal(ma.partition, mb.partition);
  assert.equal(ma.activeHost, mb.activeHost);
  assert.ok(ma.local !== mb.local);
  assert.ok(ma.activeHost === "a.example:1" || ma.activeHost === "b.example:2");
  // A poison order fails one instance, which asks the whole application to stop.
  await produce(cluster, "orders", [
    ["FR", "poison"],
    ["BR", "poison"],
  ]);
  await waitFor(() => a.state === "ERROR" && b.state === "ERROR", {
    timeoutMs: 30_000,
    what: "both instances in ERROR",
  });
});

test("numStreamThreads: two stream threads share the tasks of one instance", async (t) => {
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "lines", partitions: 4 },
    { name: "counts", partitions: 4 },
  ]);
  const app = new KafkaStreams(
    wordCount(),
    options(cluster, dir, { applicationId: "threads", numStreamThreads: 2 }),
  );
  await app.start();
  await waitFor(
    () => app.state === "RUNNING" && app.localThreadsMetadata().every((m) => m.activeTasks.length > 0),
    { timeoutMs: 30_000, what: "both threads with tasks" },
  );
  const md = app.localThreadsMetadata();
  assert.equal(md.length, 2);
  assert.equal(md.flatMap((m) => m.activeTasks).length, 8, "4 partitions x 2 sub-topologies");
  await produce(
    cluster,
    "lines",
    Array.from({ length: 100 }, (_, i) => [null, `w${i % 10}`] as [null, string]),
  );
  const out = await readAll(
    cluster,
    "counts",
    (r) => [...latestCounts(r).values()].reduce((x, y) => x + y, 0) === 100,
  );
  assert.equal(latestCounts(out).size, 10);
  await app.close();
});

test("a zombie is fenced: a second incarnation with the same instanceId takes over, outputs stay exactly-once", async (t) => {
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "in", partitions: 2 },
    { name: "out", partitions: 2 },
  ]);
  const build = () => {
    const b = new StreamsBuilder();
    b.stream("in", { keySerde: S, valueSerde: S })
      .mapValues((v) => `${v}!`)
      .to("out", { keySerde: S, valueSerde: S });
    return b.build();
  };
  const errors: string[] = [];
  const mk = (name: string) =>
    new KafkaStreams(
      build(),
      options(cluster, dir, {
        applicationId: "zombie",
        stateDir: join(dir, `state-${name}`),
        processingGuarantee: "exactly_once_v2",
        instanceId: "same-instance",
        uncaughtErrorHandler: (e) => {
          errors.push(`${name}: ${e.message}`);
          return "SHUTDOWN_CLIENT";
        },
      }),
    );
  const a = mk("a");
  await a.start();
  await waitFor(() => a.state === "RUNNING", { timeoutMs: 20_000, what: "a running" });
  let n = 0;
  const feed = async (count: number) => {
    const batch: [string, string][] = [];
    for (let i = 0; i < count; i++, n++) batch.push([`k${n % 7}`, `v${n}`]);
    await produce(cluster, "in", batch);
  };
  await feed(50);
  const b = mk("b");
  await b.start();
  for (let i = 0; i < 10; i++) await feed(20);
  await waitFor(() => a.state === "ERROR", { timeoutMs: 30_000, what: "the zombie (a) to be fenced" });
  assert.ok(
    errors.some((e) => e.startsWith("a:") && /fenc|epoch/i.test(e)),
    errors.join("; "),
  );
  const out = await readAll(cluster, "out", (r) => new Set(r.map((x) => dec(x.value))).size >= n);
  const values = out.map((r) => dec(r.value)!);
  assert.equal(values.length, n, "no duplicate output");
  assert.equal(new Set(values).size, n);
  await b.close();
});

test("idleCommitAfterMs: a drained thread commits at once under exactly-once; without it, commits wait for the interval", async (t) => {
  const { cluster, dir } = await setup(t);
  await cluster.admin().createTopics([
    { name: "in", partitions: 1 },
    { name: "out-idle", partitions: 1 },
    { name: "out-interval", partitions: 1 },
  ]);
  const upper = (to: string) => {
    const b = new StreamsBuilder();
    b.stream("in", { keySerde: S, valueSerde: S })
      .mapValues((v) => v.toUpperCase())
      .to(to, { keySerde: S, valueSerde: S });
    return b.build();
  };
  // An hour between interval commits: only an idle commit can make the outputs visible.
  const hour = 3_600_000;
  const eager = new KafkaStreams(
    upper("out-idle"),
    options(cluster, dir, {
      applicationId: "eager",
      processingGuarantee: "exactly_once_v2",
      commitIntervalMs: hour,
      idleCommitAfterMs: 1,
    }),
  );
  const lazyMetrics = new MetricsRegistry();
  const lazy = new KafkaStreams(
    upper("out-interval"),
    options(cluster, join(dir, "lazy"), {
      applicationId: "lazy",
      processingGuarantee: "exactly_once_v2",
      commitIntervalMs: hour,
      metrics: lazyMetrics,
    }),
  );
  t.after(() => Promise.all([eager.close(), lazy.close()]));
  await Promise.all([eager.start(), lazy.start()]);
  await waitFor(() => eager.state === "RUNNING" && lazy.state === "RUNNING", {
    timeoutMs: 20_000,
    what: "RUNNING",
  });
  await produce(cluster, "in", [
    ["a", "x"],
    ["b", "y"],
    ["c", "z"],
  ]);
  const committed = await readAll(cluster, "out-idle", (r) => r.length >= 3);
  assert.deepEqual(
    committed.map((r) => dec(r.value)),
    ["X", "Y", "Z"],
  );
  // The interval-only app has processed the records but not committed them.
  const processed = async () => {
    const line = (await lazyMetrics.text())
      .split("\n")
      .find((l) => l.startsWith("courant_streams_process_total"));
    return Number(line?.split(" ").pop() ?? 0);
  };
  await waitFor(async () => (await processed()) >= 3, { timeoutMs: 20_000, what: "the lazy app processing" });
  const c = await cluster.createConsumer({ isolationLevel: "read_committed" });
  c.assign([{ topic: "out-interval", partition: 0 }]);
  await c.seekToBeginning([{ topic: "out-interval", partition: 0 }]);
  assert.equal((await c.poll({ maxWaitMs: 50 })).length, 0);
  await c.close();
});
