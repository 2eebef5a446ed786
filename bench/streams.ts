// Streams benchmark: `node bench/streams.ts` (or `npm run bench -- streams`).
// Task-level throughput of operators (records pushed through the real processor graph of one
// task, with real serdes and stores; outputs serialized and handed to a collector), end-to-end
// runs on the embedded broker (at-least-once vs exactly-once; 1 vs 2 app processes over the
// wire), and restore time of 1 M keys. Throughputs are per CPU-second of the process doing the
// processing ("per core"; the machine is shared), wall-clock figures are given too.
// COURANT_BENCH_SCALE scales the record counts (default 1).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConsumedRecord, EmbeddedCluster } from "../src/cluster/index.ts";
import { MetricsRegistry, waitFor } from "../src/observe/index.ts";
import { Serdes } from "../src/serde/index.ts";
import { RecordCache, StateDirectory } from "../src/state/index.ts";
import type { RecordCollector } from "../src/streams/internals/context.ts";
import { memoryStoreProvider, type StoreProvider, StreamTask } from "../src/streams/internals/task.ts";
import { restoreTask } from "../src/streams/runtime/restore.ts";
import {
  JoinWindows,
  KafkaStreams,
  SlidingWindows,
  StreamsBuilder,
  TimeWindows,
  type Topology,
  WindowedSerdes,
} from "../src/streams/index.ts";
import { serveBroker } from "../src/wire/index.ts";

const SCALE = Number(process.env.COURANT_BENCH_SCALE ?? "1");
const root = mkdtempSync(join(tmpdir(), "courant-bench-streams-"));
const rows: [string, string, string][] = [];
const figures: Record<string, number> = {};
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const enc = new TextEncoder();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const S = Serdes.String;

type MutableRecord = { -readonly [K in keyof ConsumedRecord]: ConsumedRecord[K] };

const discard: RecordCollector = { send() {}, partitionsFor: () => 1 };
let stateN = 0;

/** Runs `n` records through one task of `topology`; returns records per CPU-second and per wall-second. */
function taskRun(
  name: string,
  topology: Topology,
  n: number,
  make: (i: number, r: MutableRecord) => void,
  options: {
    persistent?: boolean;
    preload?: (task: StreamTask) => void;
    flushEvery?: number;
    cacheBytes?: number;
  } = {},
): { cpu: number; wall: number } {
  topology.internal.applicationId = "bench";
  let provider: StoreProvider = memoryStoreProvider;
  let dir: StateDirectory | undefined;
  if (options.persistent) {
    dir = new StateDirectory(join(root, `state${stateN++}`), "bench");
    provider = dir.storeProvider();
  }
  const task = new StreamTask(topology.internal, 0, 0, {
    applicationId: "bench",
    clock: { now: () => 0 },
    collector: discard,
    storeProvider: provider,
    globalStores: new Map(),
    cache: new RecordCache(options.cacheBytes ?? 0),
  });
  task.initialize();
  options.preload?.(task);
  const rec: MutableRecord = {
    topic: "in",
    partition: 0,
    offset: 0,
    timestamp: 0,
    timestampType: "CreateTime",
    key: null,
    value: null,
    headers: [],
  };
  const flushEvery = options.flushEvery ?? 10_000;
  const pending: Promise<void>[] = [];
  const c0 = cpuMs();
  const w0 = performance.now();
  for (let i = 0; i < n; i++) {
    make(i, rec);
    rec.offset = i;
    task.processRecord(rec);
    if (i % flushEvery === flushEvery - 1) {
      // A commit: caches flushed (forwarding coalesced updates), then local state made durable.
      task.flushCaches();
      if (dir) pending.push(dir.flush());
    }
  }
  const c1 = cpuMs();
  const w1 = performance.now();
  const r = { cpu: (n / (c1 - c0)) * 1000, wall: (n / (w1 - w0)) * 1000 };
  rows.push([name, `${fmt(r.cpu)} rec/s per core`, `${fmt(r.wall)} rec/s wall`]);
  void Promise.all(pending).then(() => dir?.close());
  return r;
}

const N = Math.round(1_000_000 * SCALE);
const keys = Array.from({ length: 10_000 }, (_, i) => enc.encode(`key-${i}`));
const values = Array.from({ length: 100 }, (_, i) => enc.encode(`value-${i}-some-payload`));
/** Record i: keys and values taken in turn, event time i * step ms. */
const cycling =
  (step: number) =>
  (i: number, rec: MutableRecord): void => {
    rec.key = keys[i % keys.length]!;
    rec.value = values[i % values.length]!;
    rec.timestamp = i * step;
  };

// 1. Stateless map/filter (strings in and out).
{
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .mapValues((v) => v.toUpperCase())
    .filter((_k, v) => v.length > 3)
    .to("out", { keySerde: S, valueSerde: S });
  const r = taskRun("stateless mapValues+filter (String serdes)", b.build(), N, cycling(1));
  figures.stateless_records_per_s_per_core = Math.round(r.cpu);
  const b2 = new StreamsBuilder();
  b2.stream("in", { keySerde: Serdes.Bytes, valueSerde: Serdes.Bytes })
    .mapValues((v) => v)
    .filter((_k, v) => v.length > 3)
    .to("out", { keySerde: Serdes.Bytes, valueSerde: Serdes.Bytes });
  const r2 = taskRun("stateless mapValues+filter (Bytes serdes)", b2.build(), N, cycling(1));
  figures.stateless_bytes_records_per_s_per_core = Math.round(r2.cpu);
}

// 2. Count per key on lmdb (10 000 keys, changelog on, flush every 10 000 records).
{
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .count({ storeName: "counts" })
    .toStream()
    .to("out", { keySerde: S, valueSerde: Serdes.Int64 });
  const r = taskRun("count per key on lmdb (no record cache)", b.build(), Math.round(N / 2), cycling(1), {
    persistent: true,
  });
  figures.count_lmdb_records_per_s_per_core = Math.round(r.cpu);
  const b2 = new StreamsBuilder();
  b2.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .count({ storeName: "counts" })
    .toStream()
    .to("out", { keySerde: S, valueSerde: Serdes.Int64 });
  const r2 = taskRun(
    "count per key on lmdb (10 MB record cache, commit every 10k)",
    b2.build(),
    Math.round(N / 2),
    cycling(1),
    { persistent: true, cacheBytes: 10 * 1024 * 1024 },
  );
  figures.count_lmdb_cached_records_per_s_per_core = Math.round(r2.cpu);
}

// 3. Tumbling window count (60 s windows, 1 ms between records).
{
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 1_000))
    .count({ storeName: "tumbling" })
    .toStream()
    .to("out", { keySerde: WindowedSerdes.timeWindowed(S, 60_000), valueSerde: Serdes.Int64 });
  const r = taskRun("tumbling window count on lmdb", b.build(), Math.round(N / 2), cycling(1), {
    persistent: true,
  });
  figures.tumbling_records_per_s_per_core = Math.round(r.cpu);
}

// 4. Sliding window sum (10 s difference).
{
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: S })
    .groupByKey()
    .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10_000, 1_000))
    .aggregate(
      () => 0,
      (_k, v, a) => a + v.length,
      { storeName: "sliding", valueSerde: Serdes.Int32 },
    )
    .toStream()
    .to("out", { keySerde: WindowedSerdes.timeWindowed(S, 10_000), valueSerde: Serdes.Int32 });
  const r = taskRun("sliding window aggregate on lmdb", b.build(), Math.round(N / 4), cycling(10), {
    persistent: true,
  });
  figures.sliding_records_per_s_per_core = Math.round(r.cpu);
  const r2 = taskRun(
    "sliding window aggregate in memory",
    (() => {
      const b2 = new StreamsBuilder();
      b2.stream("in", { keySerde: S, valueSerde: S })
        .groupByKey()
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10_000, 1_000))
        .aggregate(
          () => 0,
          (_k, v, a) => a + v.length,
          { storeName: "sliding", valueSerde: Serdes.Int32, storeType: "inMemory" },
        )
        .toStream()
        .to("out", { keySerde: WindowedSerdes.timeWindowed(S, 10_000), valueSerde: Serdes.Int32 });
      return b2.build();
    })(),
    Math.round(N / 4),
    cycling(10),
  );
  figures.sliding_memory_records_per_s_per_core = Math.round(r2.cpu);
}

// 5. Stream-stream window join (inner, 10 s windows; left and right alternate per key).
for (const storeType of ["persistent", "inMemory"] as const) {
  const b = new StreamsBuilder();
  const l = b.stream("left", { keySerde: S, valueSerde: S });
  const rr = b.stream("right", { keySerde: S, valueSerde: S });
  l.join(rr, (a, c) => `${a}|${c}`, JoinWindows.ofTimeDifferenceAndGrace(10_000, 1_000), { storeType }).to(
    "out",
    { keySerde: S, valueSerde: S },
  );
  const r = taskRun(
    `stream-stream window join (${storeType === "persistent" ? "lmdb" : "memory"})`,
    b.build(),
    Math.round(N / 2),
    (i, rec) => {
      rec.topic = i % 2 === 0 ? "left" : "right";
      rec.key = keys[(i >> 1) % keys.length]!;
      rec.value = values[i % values.length]!;
      rec.timestamp = i * 100;
    },
    { persistent: storeType === "persistent" },
  );
  figures[
    storeType === "persistent"
      ? "window_join_records_per_s_per_core"
      : "window_join_memory_records_per_s_per_core"
  ] = Math.round(r.cpu);
}

// 6. Stream-table join (10 000-row table on lmdb).
{
  const b = new StreamsBuilder();
  const t = b.table("table", { keySerde: S, valueSerde: S }, { storeName: "table" });
  b.stream("in", { keySerde: S, valueSerde: S })
    .join(t, (v, tv) => `${v}|${tv}`)
    .to("out", { keySerde: S, valueSerde: S });
  const r = taskRun(
    "stream-table join (lmdb table)",
    b.build(),
    N,
    (i, rec) => {
      rec.topic = "in";
      rec.key = keys[i % keys.length]!;
      rec.value = values[i % values.length]!;
      rec.timestamp = i;
    },
    {
      persistent: true,
      preload: (task) => {
        for (let i = 0; i < keys.length; i++) {
          task.processRecord({
            topic: "table",
            partition: 0,
            offset: i,
            timestamp: 0,
            timestampType: "CreateTime",
            key: keys[i]!,
            value: values[i % values.length]!,
            headers: [],
          });
        }
      },
    },
  );
  figures.stream_table_join_records_per_s_per_core = Math.round(r.cpu);
}

// ---- end to end on the embedded broker ----

async function openCluster(name: string) {
  return EmbeddedCluster.open({
    dataDir: join(root, name),
    timerIntervalMs: 20,
    groupInitialRebalanceDelayMs: 0,
    groupMinSessionTimeoutMs: 10,
  });
}

async function fill(cluster: EmbeddedCluster, topic: string, partitions: number, n: number) {
  await cluster.admin().createTopics([{ name: topic, partitions }]);
  const p = await cluster.createProducer();
  for (let i = 0; i < n; i += 5000) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 5000); j++)
      batch.push({ topic, key: keys[j % keys.length]!, value: values[j % values.length]! });
    await p.send(batch);
  }
  await p.close();
}

async function committedAll(
  cluster: EmbeddedCluster,
  group: string,
  topic: string,
  n: number,
): Promise<boolean> {
  const offs = await cluster.admin().listGroupOffsets(group);
  let sum = 0;
  for (const o of offs) if (o.topic === topic) sum += o.offset;
  return sum >= n;
}

function e2eTopology(): Topology {
  const b = new StreamsBuilder();
  b.stream("e2e-in", { keySerde: S, valueSerde: S })
    .mapValues((v) => v.toUpperCase())
    .filter((_k, v) => v.length > 3)
    .to("e2e-out", { keySerde: S, valueSerde: S });
  return b.build();
}

const E2E = Math.round(500_000 * SCALE);
// Alternating runs, best of two per guarantee: single runs swing with JIT warm-up and load.
const best: Record<string, { cpu: number; wall: number }> = {};
let e2eRun = 0;
for (const guarantee of ["at_least_once", "exactly_once_v2", "at_least_once", "exactly_once_v2"] as const) {
  const id = `e2e-${guarantee}-${e2eRun++}`;
  const cluster = await openCluster(id);
  await fill(cluster, "e2e-in", 1, E2E);
  await cluster.admin().createTopics([{ name: "e2e-out", partitions: 1 }]);
  const app = new KafkaStreams(e2eTopology(), {
    applicationId: id,
    cluster,
    processingGuarantee: guarantee,
    commitIntervalMs: 100,
    stateDir: join(root, `${id}-state`),
    metrics: new MetricsRegistry(),
    logger: undefined,
  });
  const c0 = cpuMs();
  const w0 = performance.now();
  await app.start();
  await waitFor(() => committedAll(cluster, id, "e2e-in", E2E), {
    timeoutMs: 600_000,
    intervalMs: 20,
    what: "all committed",
  });
  const wall = (E2E / (performance.now() - w0)) * 1000;
  const cpu = (E2E / (cpuMs() - c0)) * 1000;
  await app.close();
  await cluster.close();
  const b = best[guarantee];
  if (b === undefined || cpu > b.cpu) best[guarantee] = { cpu, wall };
}
for (const guarantee of ["at_least_once", "exactly_once_v2"] as const) {
  const key = guarantee === "at_least_once" ? "alos" : "eos";
  const r = best[guarantee]!;
  figures[`e2e_${key}_records_per_s`] = Math.round(r.wall);
  figures[`e2e_${key}_records_per_s_per_core`] = Math.round(r.cpu);
  rows.push([
    `end to end map/filter, ${guarantee}, commit 100 ms (broker in process, best of 2)`,
    `${fmt(r.cpu)} rec/s per core`,
    `${fmt(r.wall)} rec/s wall`,
  ]);
}
figures.eos_cost_percent =
  Math.round(
    (1 - figures.e2e_eos_records_per_s_per_core! / figures.e2e_alos_records_per_s_per_core!) * 1000,
  ) / 10;
rows.push(["exactly-once cost (per-core throughput)", `${figures.eos_cost_percent}%`, ""]);

// 1 vs 2 app processes over the wire (4 partitions; the broker runs in this process).
{
  const appFile = join(root, "scale-app.ts");
  writeFileSync(
    appFile,
    `import { KafkaCluster } from ${JSON.stringify(new URL("../src/cluster/index.ts", import.meta.url).pathname)};
import { KafkaStreams, StreamsBuilder } from ${JSON.stringify(new URL("../src/streams/index.ts", import.meta.url).pathname)};
import { Serdes } from ${JSON.stringify(new URL("../src/serde/index.ts", import.meta.url).pathname)};
const [bootstrap, stateDir, id] = process.argv.slice(2);
const b = new StreamsBuilder();
b.stream("scale-in", { keySerde: Serdes.String, valueSerde: Serdes.String })
  .mapValues((v) => v.toUpperCase()).filter((_k, v) => v.length > 3)
  .to("scale-out", { keySerde: Serdes.String, valueSerde: Serdes.String });
const cluster = new KafkaCluster({ bootstrapBrokers: [bootstrap], clientId: id });
const app = new KafkaStreams(b.build(), { applicationId: "scale", cluster, commitIntervalMs: 100, stateDir, sessionTimeoutMs: 3000, maxPollRecords: 5000 });
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
await app.start();
`,
  );
  const SC = Math.round(400_000 * SCALE);
  const results: number[] = [];
  for (const procs of [1, 2]) {
    const cluster = await openCluster(`scale-${procs}`);
    const server = await serveBroker(cluster.broker, { port: 0 });
    await fill(cluster, "scale-in", 4, SC);
    await cluster.admin().createTopics([{ name: "scale-out", partitions: 4 }]);
    const children: ChildProcess[] = [];
    const w0 = performance.now();
    for (let i = 0; i < procs; i++) {
      children.push(
        spawn(
          process.execPath,
          [appFile, `127.0.0.1:${server.address.port}`, join(root, `scale-state-${procs}-${i}`), `p${i}`],
          {
            stdio: ["ignore", "ignore", "inherit"],
            env: { ...process.env, COURANT_LOG_LEVEL: "error" },
          },
        ),
      );
    }
    // Steady state only: from the moment every process holds partitions (startup and the
    // rebalance excluded) until everything is committed.
    await waitFor(
      async () => {
        const g = (await cluster.admin().describeGroups(["scale"]))[0];
        return (
          g !== undefined &&
          g.members.length === procs &&
          g.members.every((m) => m.assignment.length > 0) &&
          g.members.reduce((n, m) => n + m.assignment.length, 0) === 4
        );
      },
      { timeoutMs: 120_000, intervalMs: 20, what: "group stable" },
    );
    const committedAtStart = (await cluster.admin().listGroupOffsets("scale"))
      .filter((o) => o.topic === "scale-in")
      .reduce((n, o) => n + o.offset, 0);
    const t1 = performance.now();
    await waitFor(() => committedAll(cluster, "scale", "scale-in", SC), {
      timeoutMs: 600_000,
      intervalMs: 20,
      what: "scale run committed",
    });
    const wall = performance.now() - t1;
    void w0;
    const done = SC - committedAtStart;
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((r) => c.once("exit", r))));
    await server.close();
    await cluster.close();
    results.push((done / wall) * 1000);
    rows.push([
      `${procs} app process(es), 4 partitions, over the wire (steady state)`,
      "",
      `${fmt((done / wall) * 1000)} rec/s wall`,
    ]);
  }
  figures.one_process_records_per_s = Math.round(results[0]!);
  figures.two_processes_records_per_s = Math.round(results[1]!);
  figures.scaling_1_to_2 = Math.round((results[1]! / results[0]!) * 100) / 100;
}

// Restore 1 M keys from a changelog into lmdb.
{
  const R = Math.round(1_000_000 * SCALE);
  const cluster = await openCluster("restore");
  const b = new StreamsBuilder();
  b.stream("r-in", { keySerde: S, valueSerde: S }).groupByKey().count({ storeName: "rstore" });
  const topo = b.build();
  topo.internal.applicationId = "rbench";
  const changelog = "rbench-rstore-changelog";
  await cluster
    .admin()
    .createTopics([{ name: changelog, partitions: 1, config: { "cleanup.policy": "compact" } }]);
  const p = await cluster.createProducer();
  const val = new Uint8Array(9);
  for (let i = 0; i < R; i += 10_000) {
    const batch = [];
    for (let j = i; j < Math.min(R, i + 10_000); j++)
      batch.push({ topic: changelog, partition: 0, key: enc.encode(`key-${j}`), value: val });
    await p.send(batch);
  }
  await p.close();
  const dir = new StateDirectory(join(root, "restore-state"), "rbench");
  const task = new StreamTask(topo.internal, 0, 0, {
    applicationId: "rbench",
    clock: { now: () => 0 },
    collector: discard,
    storeProvider: dir.storeProvider(),
    globalStores: new Map(),
  });
  const consumer = await cluster.createConsumer({ isolationLevel: "read_committed" });
  const w0 = performance.now();
  const { restored, next } = await restoreTask(task, consumer, () => undefined);
  await dir.flush(new Map([...next].map(([s, o]) => [`0_0.${s}`, o])));
  const ms = performance.now() - w0;
  await consumer.close();
  await dir.close();
  await cluster.close();
  figures.restore_1m_keys_ms = Math.round(ms * (1_000_000 / R));
  rows.push([
    `restore ${fmt(restored)} keys from the changelog into lmdb (incl. fsync)`,
    "",
    `${fmt(ms)} ms`,
  ]);
}

rmSync(root, { recursive: true, force: true });
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`${"benchmark".padEnd(w)}  ${"per core".padEnd(28)}  wall`);
for (const [a, b2, c] of rows) console.log(`${a.padEnd(w)}  ${b2.padEnd(28)}  ${c}`);
console.log(JSON.stringify(figures));
