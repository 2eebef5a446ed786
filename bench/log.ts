// bench/log: append and read throughput of the partition log for 100-byte records in batches of 1,000,
// for each flush policy, with the machine's raw sequential write speed (writeSync + fsync) as the ceiling.
// Run: node bench/log.ts   (env BENCH_LOG_RECORDS=N for records per policy, default 5,000,000)
// Last stdout line: JSON figures.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { crc32cImplementation, encodeRecordBatch, LogManager, readBatchHeader } from "../src/log/index.ts";

const RECORD_BYTES = 100;
const BATCH = 1000;
const TOTAL = Number(process.env.BENCH_LOG_RECORDS ?? 5_000_000);
/** Interval of the "interval" policy here: short, so the run includes several background fsyncs. */
const FLUSH_MS = 200;
const BATCHES = Math.max(1, Math.floor(TOTAL / BATCH));

function mkBatches(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let b = 0; b < n; b++) {
    const recs = [];
    for (let i = 0; i < BATCH; i++) {
      const v = Buffer.alloc(RECORD_BYTES, (b * 31 + i) & 0xff);
      v.writeUInt32BE(b * BATCH + i, 0);
      recs.push({ key: null, value: v, timestamp: 1_700_000_000_000 + i });
    }
    out.push(encodeRecordBatch(recs));
  }
  return out;
}

function rawWrite(dir: string): { mbPerS: number } {
  const file = path.join(dir, "raw.bin");
  const buf = Buffer.alloc(1024 * 1024, 7);
  const total = 256;
  const fd = fs.openSync(file, "w");
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < total; i++) fs.writeSync(fd, buf, 0, buf.length, i * buf.length);
  fs.fsyncSync(fd);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.closeSync(fd);
  fs.unlinkSync(file);
  return { mbPerS: total / s };
}

interface Row {
  policy: string;
  appendRecPerS: number;
  appendMBPerS: number;
  readRecPerS: number;
  readMBPerS: number;
  decodeRecPerS: number;
  /** Same, per second of this process's CPU time (user + system): robust on a shared, loaded machine. */
  appendRecPerCpuS: number;
  readRecPerCpuS: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function runPolicy(root: string, policy: string, pool: Buffer[], batches: number): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(root, `${policy}-`));
  const mgr = await LogManager.open({ dataDir: dir, maintenanceIntervalMs: 0 });
  mgr.createTopic("bench", 1, { "flush.policy": policy, "flush.ms": String(FLUSH_MS) });
  const log = mgr.partition("bench", 0);
  let bytes = 0;
  const c0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < batches; i++) {
    const b = pool[i % pool.length]!;
    log.append(b);
    bytes += b.length;
    // Let timers run (the interval flush), as they do between produce requests in a broker.
    if (i % 64 === 63) await new Promise((r) => setImmediate(r));
  }
  if (policy !== "os") log.flush();
  const appendS = Number(process.hrtime.bigint() - t0) / 1e9;
  const appendCpu = cpuSeconds() - c0;
  const records = batches * BATCH;

  // Fetch path: stored batch bytes, 1 MiB per fetch, as a consumer/wire server reads them.
  let offset = 0;
  let readBytes = 0;
  let readRecords = 0;
  const c1 = cpuSeconds();
  const t1 = process.hrtime.bigint();
  while (offset < log.highWatermark) {
    const r = log.read(offset, 1024 * 1024);
    let p = 0;
    while (p < r.records.length) {
      const h = readBatchHeader(r.records, p);
      readRecords += h.recordCount;
      offset = h.lastOffset + 1;
      p += h.sizeInBytes;
    }
    readBytes += r.records.length;
  }
  const readS = Number(process.hrtime.bigint() - t1) / 1e9;
  const readCpu = cpuSeconds() - c1;
  if (readRecords !== records) throw new Error(`read ${readRecords} records, appended ${records}`);

  // Decoded path (in-process consumer): records as objects, for a sample of the log.
  const sample = Math.min(records, 1_000_000);
  let decoded = 0;
  let next = 0;
  const t2 = process.hrtime.bigint();
  while (decoded < sample) {
    const r = log.readRecords(next, { maxBytes: 1024 * 1024 });
    decoded += r.records.length;
    next = r.nextOffset;
  }
  const decodeS = Number(process.hrtime.bigint() - t2) / 1e9;
  await mgr.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    policy,
    appendRecPerS: records / appendS,
    appendMBPerS: bytes / appendS / 1e6,
    readRecPerS: readRecords / readS,
    readMBPerS: readBytes / readS / 1e6,
    decodeRecPerS: decoded / decodeS,
    appendRecPerCpuS: records / appendCpu,
    readRecPerCpuS: readRecords / readCpu,
  };
}

/** Tail workload (the shape of the rewards job): small transactional batches, a commit marker every
 * few batches, and a read_committed consumer decoding right behind the producer. Encode included. */
const TAIL_RECORDS = Math.min(TOTAL, 400_000);
const TAIL_BATCH = 10;
const TAIL_BATCHES_PER_TXN = 4;
interface TailRow {
  recPerS: number;
  recPerCpuS: number;
}
async function runTail(root: string): Promise<TailRow> {
  const dir = fs.mkdtempSync(path.join(root, "tail-"));
  const mgr = await LogManager.open({ dataDir: dir, maintenanceIntervalMs: 0 });
  mgr.createTopic("tail", 1, { "flush.policy": "interval", "flush.ms": String(FLUSH_MS) });
  const log = mgr.partition("tail", 0);
  const enc = new TextEncoder();
  const keys = Array.from({ length: 200 }, (_, i) => enc.encode(`terminal-${i}`));
  const values = Array.from({ length: 16 }, (_, i) => enc.encode("v".repeat(60 + i * 5)));
  const producerId = 7;
  let seq = 0;
  let consumed = 0;
  let next = 0;
  const c0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < TAIL_RECORDS; ) {
    for (let b = 0; b < TAIL_BATCHES_PER_TXN; b++, n += TAIL_BATCH) {
      const recs = [];
      for (let i = 0; i < TAIL_BATCH; i++) {
        recs.push({
          key: keys[(n + i) % keys.length]!,
          value: values[(n + i) % values.length]!,
          timestamp: 1_780_000_000_000 + n + i,
        });
      }
      log.append(
        encodeRecordBatch(recs, { producerId, producerEpoch: 0, baseSequence: seq, transactional: true }),
      );
      seq += TAIL_BATCH;
    }
    log.appendControlMarker({ producerId, producerEpoch: 0, type: "commit", coordinatorEpoch: 0 });
    for (;;) {
      const r = log.readRecords(next, { isolation: "read_committed", maxRecords: 500 });
      consumed += r.records.length;
      next = r.nextOffset;
      if (r.records.length === 0) break;
    }
    if (n % 6400 === 0) await new Promise((r) => setImmediate(r));
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds() - c0;
  if (consumed !== TAIL_RECORDS) throw new Error(`tail: consumed ${consumed} of ${TAIL_RECORDS}`);
  await mgr.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { recPerS: TAIL_RECORDS / s, recPerCpuS: TAIL_RECORDS / cpu };
}

/** Poll workload: an in-process consumer taking 500 records per poll from 1,250-record batches (the
 * shape of a backlog produced in large sends), read_uncommitted. */
async function runPoll(root: string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(root, "poll-"));
  const mgr = await LogManager.open({ dataDir: dir, maintenanceIntervalMs: 0 });
  mgr.createTopic("poll", 1);
  const log = mgr.partition("poll", 0);
  const enc = new TextEncoder();
  for (let b = 0; b < 160; b++) {
    const recs = [];
    for (let i = 0; i < 1250; i++)
      recs.push({ key: enc.encode(`coupon-${b}-${i}`), value: enc.encode(`c${i}`) });
    log.append(encodeRecordBatch(recs));
  }
  const c0 = cpuSeconds();
  let next = 0;
  let n = 0;
  while (next < log.highWatermark) {
    const r = log.readRecords(next, { maxRecords: 500 });
    n += r.records.length;
    next = r.nextOffset;
  }
  const cpu = cpuSeconds() - c0;
  await mgr.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return n / cpu;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), "courant-bench-log-"));
try {
  const pool = mkBatches(16);
  const batchBytes = pool[0]!.length;
  const raw = rawWrite(root);
  const rows: Row[] = [];
  // warm-up (JIT) on a small log
  await runPolicy(root, "os", pool, Math.min(BATCHES, 500));
  for (const policy of ["interval", "os", "every-batch"]) {
    rows.push(
      await runPolicy(root, policy, pool, policy === "every-batch" ? Math.min(BATCHES, 1000) : BATCHES),
    );
  }
  await runTail(root); // warm-up
  const tail = await runTail(root);
  await runPoll(root); // warm-up
  const pollPerCpuS = await runPoll(root);
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(
    `log bench: ${fmt(TOTAL)} records of ${RECORD_BYTES} B per policy (every-batch: ${fmt(Math.min(BATCHES, 1000) * BATCH)}), batches of ${BATCH} (${batchBytes} B), interval flush.ms=${FLUSH_MS}, crc32c=${crc32cImplementation}, node ${process.version}`,
  );
  console.log(`raw sequential write (writeSync 1 MiB + fsync): ${raw.mbPerS.toFixed(0)} MB/s`);
  console.log(
    "policy       | append rec/s | append MB/s | read rec/s  | read MB/s | decoded rec/s | append rec/CPU-s | read rec/CPU-s",
  );
  for (const r of rows) {
    console.log(
      `${r.policy.padEnd(12)} | ${fmt(r.appendRecPerS).padStart(12)} | ${r.appendMBPerS.toFixed(0).padStart(11)} | ${fmt(r.readRecPerS).padStart(11)} | ${r.readMBPerS.toFixed(0).padStart(9)} | ${fmt(r.decodeRecPerS).padStart(13)} | ${fmt(r.appendRecPerCpuS).padStart(16)} | ${fmt(r.readRecPerCpuS).padStart(14)}`,
    );
  }
  console.log(
    `tail (encode ${TAIL_BATCH}-record txn batches, commit every ${TAIL_BATCHES_PER_TXN}, read_committed decode behind): ${fmt(tail.recPerS)} rec/s, ${fmt(tail.recPerCpuS)} rec/CPU-s`,
  );
  console.log(`poll (500 records per readRecords from 1,250-record batches): ${fmt(pollPerCpuS)} rec/CPU-s`);
  const json: Record<string, number> = { raw_write_mb_per_s: Math.round(raw.mbPerS) };
  json.tail_records_per_s = Math.round(tail.recPerS);
  json.tail_records_per_cpu_s = Math.round(tail.recPerCpuS);
  json.poll_records_per_cpu_s = Math.round(pollPerCpuS);
  for (const r of rows) {
    const k = r.policy.replace("-", "_");
    json[`append_records_per_s_${k}`] = Math.round(r.appendRecPerS);
    json[`append_mb_per_s_${k}`] = Math.round(r.appendMBPerS);
    json[`read_records_per_s_${k}`] = Math.round(r.readRecPerS);
    json[`read_mb_per_s_${k}`] = Math.round(r.readMBPerS);
    json[`decoded_records_per_s_${k}`] = Math.round(r.decodeRecPerS);
    json[`append_records_per_cpu_s_${k}`] = Math.round(r.appendRecPerCpuS);
    json[`read_records_per_cpu_s_${k}`] = Math.round(r.readRecPerCpuS);
  }
  console.log(JSON.stringify(json));
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
