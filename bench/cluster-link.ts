// bench/cluster-link: produce and consume throughput through the cluster link (a worker thread's
// LinkedCluster against the embedded broker of the main thread) against the same in the main thread
// (local EmbeddedCluster), 100-byte values in sends/polls of 2,000 records; CPU per record on the
// broker's thread (what stays on the main core) and in the worker; the cost of one synchronous call
// over the link; two producing workers at once (both cores).
// Run: node bench/cluster-link.ts   (env BENCH_LINK_RECORDS=N records per run, default 1,000,000)
// Last stdout line: JSON figures.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  parentPort,
  Worker,
  workerData,
} from "node:worker_threads";
import { type Cluster, EmbeddedCluster, type ProducerRecord } from "../src/cluster/index.ts";

const RECORD_BYTES = 100;
const BATCH = 2000;
const TOTAL = Number(process.env.BENCH_LINK_RECORDS ?? 1_000_000);
const SYNC_CALLS = 20_000;

/** CPU seconds of the calling thread. */
function threadCpu(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1e6;
}

function records(topic: string, from: number): ProducerRecord[] {
  const out: ProducerRecord[] = [];
  for (let i = 0; i < BATCH; i++) {
    const v = Buffer.alloc(RECORD_BYTES, (from + i) & 0xff);
    v.writeUInt32BE(from + i, 0);
    out.push({ topic, partition: 0, key: null, value: v });
  }
  return out;
}

interface RunResult {
  records: number;
  seconds: number;
  cpuSeconds: number;
}

async function produce(cluster: Cluster, topic: string, count: number): Promise<RunResult> {
  const producer = await cluster.createProducer();
  const batches = [];
  for (let n = 0; n < count; n += BATCH) batches.push(records(topic, n));
  const t0 = performance.now();
  const c0 = threadCpu();
  for (const b of batches) await producer.send(b);
  const r = { records: count, seconds: (performance.now() - t0) / 1000, cpuSeconds: threadCpu() - c0 };
  await producer.close();
  return r;
}

async function consume(cluster: Cluster, topic: string, count: number): Promise<RunResult> {
  const consumer = await cluster.createConsumer();
  consumer.assign([{ topic, partition: 0 }]);
  await consumer.seekToBeginning([{ topic, partition: 0 }]);
  const t0 = performance.now();
  const c0 = threadCpu();
  let got = 0;
  let check = 0;
  while (got < count) {
    const recs = await consumer.poll({ maxWaitMs: 1000, maxRecords: BATCH });
    for (const r of recs) check += r.value!.length;
    got += recs.length;
  }
  const r = { records: got, seconds: (performance.now() - t0) / 1000, cpuSeconds: threadCpu() - c0 };
  if (check !== got * RECORD_BYTES) throw new Error("consumed values have the wrong size");
  await consumer.close();
  return r;
}

/** µs per call of partitionsFor (one synchronous broker call over the link, one direct call locally). */
async function syncCallMicros(cluster: Cluster, topic: string): Promise<number> {
  const producer = await cluster.createProducer({ idempotent: false });
  for (let i = 0; i < 1000; i++) await producer.partitionsFor(topic);
  const t0 = performance.now();
  for (let i = 0; i < SYNC_CALLS; i++) await producer.partitionsFor(topic);
  const us = ((performance.now() - t0) * 1000) / SYNC_CALLS;
  await producer.close();
  return us;
}

type Job = { task: "produce" | "consume" | "sync"; topic: string; count: number };

if (!isMainThread) {
  const { port, job } = workerData as { port: MessagePort; job: Job };
  const cluster = EmbeddedCluster.attach(port);
  parentPort!.once("message", async () => {
    let out: unknown;
    if (job.task === "produce") out = await produce(cluster, job.topic, job.count);
    else if (job.task === "consume") out = await consume(cluster, job.topic, job.count);
    else out = { micros: await syncCallMicros(cluster, job.topic) };
    await cluster.close();
    parentPort!.postMessage(out);
  });
  parentPort!.postMessage("ready");
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "courant-bench-link-"));
  const cluster = await EmbeddedCluster.open({ dataDir: dir });
  const admin = cluster.admin();
  for (const name of ["local", "linked", "w0", "w1"]) await admin.createTopics([{ name, partitions: 1 }]);

  /** Runs jobs in workers at once; returns their results and the main thread's CPU meanwhile. */
  const inWorkers = async <T>(
    jobs: Job[],
    mainBusy = false,
  ): Promise<{ results: T[]; seconds: number; mainCpuSeconds: number }> => {
    const workers = jobs.map((job) => {
      const { port1, port2 } = new MessageChannel();
      cluster.serveLink(port1);
      const worker = new Worker(new URL(import.meta.url), {
        workerData: { port: port2, job },
        transferList: [port2],
      });
      const ready = new Promise<void>((resolve) => worker.once("message", () => resolve()));
      return { worker, ready };
    });
    await Promise.all(workers.map((w) => w.ready));
    const t0 = performance.now();
    const c0 = threadCpu();
    // An app sharing the broker's thread: CPU slices of 4 ms with a macrotask turn between (maybeYield's).
    let spinning = mainBusy;
    const spin = async () => {
      while (spinning) {
        const s = performance.now();
        while (performance.now() - s < 4);
        await new Promise((r) => setImmediate(r));
      }
    };
    const spun = spin();
    const results = await Promise.all(
      workers.map(
        (w) =>
          new Promise<T>((resolve, reject) => {
            w.worker.once("message", resolve);
            w.worker.once("error", reject);
            w.worker.postMessage("go");
          }),
      ),
    );
    spinning = false;
    await spun;
    const out = { results, seconds: (performance.now() - t0) / 1000, mainCpuSeconds: threadCpu() - c0 };
    await Promise.all(workers.map((w) => w.worker.terminate()));
    return out;
  };

  const localProduce = await produce(cluster, "local", TOTAL);
  const localConsume = await consume(cluster, "local", TOTAL);
  const lp = await inWorkers<RunResult>([{ task: "produce", topic: "linked", count: TOTAL }]);
  const lc = await inWorkers<RunResult>([{ task: "consume", topic: "local", count: TOTAL }]);
  const busyCount = Math.max(BATCH, Math.floor(TOTAL / 10 / BATCH) * BATCH);
  const busy = await inWorkers<RunResult>([{ task: "produce", topic: "linked", count: busyCount }], true);
  const two = await inWorkers<RunResult>([
    { task: "produce", topic: "w0", count: TOTAL / 2 },
    { task: "produce", topic: "w1", count: TOTAL / 2 },
  ]);
  const localCall = await syncCallMicros(cluster, "local");
  const syncRun = await inWorkers<{ micros: number }>([{ task: "sync", topic: "local", count: 0 }]);
  const linkCall = syncRun.results[0]!.micros;
  // The broker thread's CPU per call answered (the worker's 1,000 warm-up calls included).
  const linkCallMainCpu = (syncRun.mainCpuSeconds / (SYNC_CALLS + 1000)) * 1e6;
  await cluster.close();
  fs.rmSync(dir, { recursive: true, force: true });

  const perS = (r: { records: number; seconds: number }) => Math.round(r.records / r.seconds);
  const usPer = (cpu: number, n: number) => Math.round((cpu / n) * 1e9) / 1000;
  const rows: [string, number, number, number | string][] = [
    ["produce, local", perS(localProduce), usPer(localProduce.cpuSeconds, TOTAL), "-"],
    [
      "produce, worker via link",
      perS(lp.results[0]!),
      usPer(lp.mainCpuSeconds, TOTAL),
      usPer(lp.results[0]!.cpuSeconds, TOTAL),
    ],
    [
      "produce, 2 workers via link",
      Math.round(TOTAL / two.seconds),
      usPer(two.mainCpuSeconds, TOTAL),
      usPer(two.results[0]!.cpuSeconds + two.results[1]!.cpuSeconds, TOTAL),
    ],
    [
      "produce, worker, main busy",
      perS(busy.results[0]!),
      Number.NaN,
      usPer(busy.results[0]!.cpuSeconds, busyCount),
    ],
    ["consume, local", perS(localConsume), usPer(localConsume.cpuSeconds, TOTAL), "-"],
    [
      "consume, worker via link",
      perS(lc.results[0]!),
      usPer(lc.mainCpuSeconds, TOTAL),
      usPer(lc.results[0]!.cpuSeconds, TOTAL),
    ],
  ];
  console.log(`cluster link: ${TOTAL} records of ${RECORD_BYTES} B, sends/polls of ${BATCH}, 1 partition`);
  console.log(
    `${"run".padEnd(30)}${"records/s".padStart(12)}${"main µs/rec".padStart(13)}${"worker µs/rec".padStart(15)}`,
  );
  for (const [name, rate, main, worker] of rows)
    console.log(
      `${name.padEnd(30)}${String(rate).padStart(12)}${(Number.isNaN(main) ? "(busy)" : String(main)).padStart(13)}${String(worker).padStart(15)}`,
    );
  console.log(
    `synchronous call (partitionsFor): local ${localCall.toFixed(2)} µs, via link ${linkCall.toFixed(2)} µs (broker thread CPU ${linkCallMainCpu.toFixed(2)} µs a call)`,
  );
  console.log(
    JSON.stringify({
      records: TOTAL,
      local_produce_records_per_s: perS(localProduce),
      link_produce_records_per_s: perS(lp.results[0]!),
      link_produce_two_workers_records_per_s: Math.round(TOTAL / two.seconds),
      link_produce_main_busy_records_per_s: perS(busy.results[0]!),
      local_consume_records_per_s: perS(localConsume),
      link_consume_records_per_s: perS(lc.results[0]!),
      local_produce_main_cpu_us_per_record: usPer(localProduce.cpuSeconds, TOTAL),
      link_produce_main_cpu_us_per_record: usPer(lp.mainCpuSeconds, TOTAL),
      link_produce_worker_cpu_us_per_record: usPer(lp.results[0]!.cpuSeconds, TOTAL),
      local_consume_main_cpu_us_per_record: usPer(localConsume.cpuSeconds, TOTAL),
      link_consume_main_cpu_us_per_record: usPer(lc.mainCpuSeconds, TOTAL),
      link_consume_worker_cpu_us_per_record: usPer(lc.results[0]!.cpuSeconds, TOTAL),
      local_sync_call_us: Math.round(localCall * 100) / 100,
      link_sync_call_us: Math.round(linkCall * 100) / 100,
      link_sync_call_main_cpu_us: Math.round(linkCallMainCpu * 100) / 100,
    }),
  );
}
