// Part 2 of bench/rewards.ts: the real pipeline (embedded broker, three KafkaStreams apps with
// exactly_once_v2 and lmdb state) — sustained throughput, then frame -> coupon latency at a paced
// rate, measured from the moment a bet's response frame is acknowledged by the broker to the
// moment its coupon is readable in `rewards` by a read_committed consumer.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { join } from "node:path";
import { couponPoolKey } from "../../apps/rewards/coupon-pool.ts";
import {
  DEFAULT_COMMIT_INTERVAL_MS,
  DEFAULT_IDLE_COMMIT_AFTER_MS,
  type RewardsApps,
  startRewardsApps,
  threadCpuMs,
} from "../../apps/rewards/pipeline.ts";
import type { SimulatedFrame } from "../../apps/rewards/simulator/day.ts";
import { ensureRewardsTopics, TOPICS } from "../../apps/rewards/topics.ts";
import { type Cluster, EmbeddedCluster, type ProducerRecord } from "../../src/cluster/index.ts";
import { BENCH_CAMPAIGNS } from "./campaigns.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 4);
/** Commit interval of the apps (default: the pipeline's, 10 ms; Kafka Streams' EOS default is 100 ms). */
const COMMIT_MS = process.env.BENCH_COMMIT_MS ? Number(process.env.BENCH_COMMIT_MS) : undefined;
/** BENCH_IDLE_COMMIT_MS: an idle app's early commit (ms after the last one), or "off". */
const IDLE_COMMIT_MS =
  process.env.BENCH_IDLE_COMMIT_MS === "off"
    ? null
    : process.env.BENCH_IDLE_COMMIT_MS
      ? Number(process.env.BENCH_IDLE_COMMIT_MS)
      : undefined;
/** The paced runs start with this long a warm-up whose coupons are not counted (BENCH_WARMUP_MS). */
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 3000);
/** The sustained runs' warm-up: this fraction of the day, consumed before the measured rest (BENCH_SUSTAINED_WARMUP). */
const WARMUP_FRACTION = Number(process.env.BENCH_SUSTAINED_WARMUP ?? 0.25);
/** Where the apps run: each in a worker thread (default), or all on the main thread's event loop. */
const PLACEMENT: "workers" | "inline" = process.env.BENCH_PLACEMENT === "inline" ? "inline" : "workers";
/** Apps sharing a worker thread, e.g. "frames,correlation/coupons" (default: the pipeline's). */
const MAIN_THREAD_APPS = process.env.BENCH_MAIN_THREAD_APPS?.split(",") as
  | ("frames" | "correlation" | "coupons")[]
  | undefined;
const WORKER_GROUPS = process.env.BENCH_WORKER_GROUPS?.split("/").map(
  (g) => g.split(",") as ("frames" | "correlation" | "coupons")[],
);

async function prepare(cluster: Cluster, codes: number): Promise<void> {
  await ensureRewardsTopics(cluster.admin(), PARTITIONS);
  const p = await cluster.createProducer();
  const recs: ProducerRecord[] = BENCH_CAMPAIGNS.map((c) => ({
    topic: TOPICS.campaigns,
    key: enc.encode(c.id),
    value: enc.encode(JSON.stringify(c.spec)),
  }));
  for (const c of BENCH_CAMPAIGNS) {
    for (let i = 0; i < codes; i++)
      recs.push({
        topic: TOPICS.coupons,
        key: enc.encode(couponPoolKey(c.id, i)),
        value: enc.encode(`${c.id}${i}`),
      });
  }
  for (let i = 0; i < recs.length; i += 5000) await p.send(recs.slice(i, i + 5000));
  await p.close();
}

/**
 * The day's frames as the runtime part needs them: the records' bytes packed in one buffer, and
 * the ticket of each accepted bet's response. Records are built per send, so the main thread's
 * heap holds the broker's data, not the day (as decoded frames, 100 MB whose marking made the
 * main thread's garbage collection a third of its CPU; as 113 k record objects, still hundreds of
 * thousands of objects to mark in every major collection, which showed as latency).
 */
export class BenchDay {
  readonly length: number;
  private readonly bytes: Uint8Array;
  /** Per frame: start of its key, start of its value (= end of key), end of its value. */
  private readonly bounds: Int32Array;
  private readonly timestamps: Float64Array;
  private readonly onRequests: Uint8Array;
  /**
   * Tickets of accepted bets' responses, one string for the day: ticketBounds[i]..ticketBounds[i+1]
   * is frame i's (empty for other frames). As a Map of 126 000 strings it was most of the main
   * thread's old-generation objects, marked in every major collection of the measured run.
   */
  private readonly ticketText: string;
  private readonly ticketBounds: Int32Array;

  constructor(frames: readonly SimulatedFrame[]) {
    this.length = frames.length;
    const keys = frames.map((f) => enc.encode(f.key));
    let size = 0;
    for (let i = 0; i < frames.length; i++) size += keys[i]!.length + frames[i]!.value.length;
    this.bytes = new Uint8Array(size);
    this.bounds = new Int32Array(frames.length * 3);
    this.timestamps = new Float64Array(frames.length);
    this.onRequests = new Uint8Array(frames.length);
    this.ticketBounds = new Int32Array(frames.length + 1);
    const tickets: string[] = [];
    let ticketsAt = 0;
    let at = 0;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      this.bounds[i * 3] = at;
      this.bytes.set(keys[i]!, at);
      at += keys[i]!.length;
      this.bounds[i * 3 + 1] = at;
      this.bytes.set(f.value, at);
      at += f.value.length;
      this.bounds[i * 3 + 2] = at;
      this.timestamps[i] = f.timestamp;
      this.onRequests[i] = f.topic === TOPICS.requests ? 1 : 0;
      if (f.kind === "bet" && f.topic === TOPICS.responses && f.frame.header.status === 0 && !f.duplicate) {
        const ticket = String(f.frame.body?.["T031-TICKET-ID"] ?? "").trimEnd();
        tickets.push(ticket);
        ticketsAt += ticket.length;
      }
      this.ticketBounds[i + 1] = ticketsAt;
    }
    this.ticketText = tickets.join(""); // one flat string (join does not build a rope)
  }

  /** Records of frames [from, to). */
  records(from: number, to: number): ProducerRecord[] {
    const out: ProducerRecord[] = [];
    for (let i = from; i < Math.min(to, this.length); i++) {
      const b = i * 3;
      out.push({
        topic: this.onRequests[i] ? TOPICS.requests : TOPICS.responses,
        key: this.bytes.subarray(this.bounds[b]!, this.bounds[b + 1]!),
        value: this.bytes.subarray(this.bounds[b + 1]!, this.bounds[b + 2]!),
        timestamp: this.timestamps[i]!,
      });
    }
    return out;
  }

  /** The ticket of frame i when it is an accepted bet's (first) response. */
  ticket(i: number): string | undefined {
    const from = this.ticketBounds[i]!;
    const to = this.ticketBounds[i + 1]!;
    return to > from ? this.ticketText.slice(from, to) : undefined;
  }
}

/**
 * BENCH_PROFILE=FILE: a CPU profile of this thread over the (last) sustained run (with
 * BENCH_PLACEMENT=inline, every app's thread), written as FILE (.cpuprofile, for Chrome DevTools).
 */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  const heap = process.env.BENCH_PROFILE_HEAP;
  if (heap === "1" || heap === "live") {
    // Every allocation site, collected or not: what the scavenger has to deal with.
    await session.post("HeapProfiler.enable");
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      // "live": only what is still reachable when the profile stops (what the collector keeps).
      includeObjectsCollectedByMajorGC: heap === "1",
      includeObjectsCollectedByMinorGC: heap === "1",
    });
    return async (file) => {
      const { profile } = await session.post("HeapProfiler.stopSampling");
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    };
  }
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 250 });
  await session.post("Profiler.start");
  return async (file) => {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/**
 * Writes the previous phase left in the page cache (the sustained run writes ~400 MB) are flushed
 * before a latency run starts: otherwise the kernel writes them back during the measurement, on
 * the same two cores.
 */
function settleDisk(): void {
  try {
    execFileSync("sync");
  } catch {
    // no sync(1): the figures may then include write-back
  }
}

async function groupLag(cluster: Cluster, groups: readonly string[]): Promise<number> {
  let n = 0;
  for (const g of groups) for (const p of await cluster.admin().describeLag(g)) n += Math.max(0, p.lag - 1);
  return n;
}

function pct(sorted: Float64Array, p: number): number {
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
    : Number.NaN;
}

/** Reference data loaded, then the three apps started as configured and running. */
async function readyApps(cluster: Cluster, dir: string, codes: number): Promise<RewardsApps> {
  await prepare(cluster, codes);
  const apps = await startRewardsApps({
    cluster,
    stateDir: join(dir, "state"),
    partitions: PARTITIONS,
    commitIntervalMs: COMMIT_MS,
    idleCommitAfterMs: IDLE_COMMIT_MS,
    placement: PLACEMENT,
    workerGroups: WORKER_GROUPS,
    mainThreadApps: MAIN_THREAD_APPS,
  });
  while (!apps.running) await new Promise((r) => setTimeout(r, 20));
  return apps;
}

/** One sustained run's figures and table rows. */
interface SustainedRun {
  rows: [string, string][];
  framesPerS: number;
  /** The whole day from the first send, JIT warm-up included. */
  coldFramesPerS: number;
  cpuUsPerFrame: number;
  coresBusy: number;
  logEntriesPerFrame: number;
}

/**
 * The apps are started and ready (state restored, reference tables loaded). The first
 * BENCH_SUSTAINED_WARMUP (default 0.25) of the day is produced and consumed by every group first:
 * the JIT warm-up of a fresh process and worker (V8's optimizing compiler took ~0.9 CPU s of the
 * run's first seconds, on the same two cores). Then the rest of the day is produced at once and
 * measured, from the first send until every group has consumed everything. The whole day from the
 * cold start is reported beside it.
 */
async function sustainedRun(frames: BenchDay): Promise<SustainedRun> {
  settleDisk();
  const out: SustainedRun = {
    rows: [],
    framesPerS: 0,
    coldFramesPerS: 0,
    cpuUsPerFrame: 0,
    coresBusy: 0,
    logEntriesPerFrame: 0,
  };
  const dir = mkdtempSync(join(tmpdir(), "courant-bench-rewards-"));
  const cluster = await EmbeddedCluster.open({ dataDir: join(dir, "data") });
  try {
    const apps = await readyApps(cluster, dir, frames.length);
    const groups = apps.apps.map((a) => a.applicationId);
    const warm = Math.floor(frames.length * WARMUP_FRACTION);
    const p = await cluster.createProducer();
    const produce = async (from: number, to: number) => {
      for (let i = from; i < to; i += 2000) await p.send(frames.records(i, Math.min(i + 2000, to)));
    };
    const tCold = performance.now();
    if (warm > 0) {
      await produce(0, warm);
      while ((await groupLag(cluster, groups)) > 0) await new Promise((r) => setTimeout(r, 20));
    }
    const cpu0 = process.cpuUsage();
    const main0 = threadCpuMs();
    const apps0 = await Promise.all(apps.apps.map((a) => a.figures()));
    const header0 = (await apps.get("frames")!.figures()).frames;
    const profile = process.env.BENCH_PROFILE ? await startProfile() : undefined;
    const t0 = performance.now();
    if (process.env.BENCH_MARKS) console.error(`MARK sustained-start ${Math.round(t0)}`);
    await produce(warm, frames.length);
    await p.close();
    const measured = frames.length - warm;
    // BENCH_PROFILE_HEAP=live: what is reachable 2 s into the run (records in flight), not at its end.
    let profiled = false;
    let headerDone = 0;
    let tHeader = t0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      if (process.env.BENCH_MARKS) {
        const m = process.memoryUsage();
        console.error(
          `MEM ${Math.round(performance.now())} heap ${(m.heapUsed / 1e6).toFixed(0)} ext ${(m.external / 1e6).toFixed(0)} ab ${(m.arrayBuffers / 1e6).toFixed(0)} rss ${(m.rss / 1e6).toFixed(0)}`,
        );
      }
      if (
        profile &&
        process.env.BENCH_PROFILE_HEAP === "live" &&
        !profiled &&
        performance.now() - t0 > 2000
      ) {
        profiled = true;
        await profile(process.env.BENCH_PROFILE ?? "");
      }
      const n = (await apps.get("frames")!.figures()).frames - header0;
      if (n !== headerDone) {
        headerDone = n;
        tHeader = performance.now();
      }
      if ((await groupLag(cluster, groups)) === 0) break;
    }
    const tEnd = performance.now();
    const seconds = (tEnd - t0) / 1000;
    const coldSeconds = (tEnd - tCold) / 1000;
    if (process.env.BENCH_MARKS) console.error(`MARK sustained-end ${Math.round(performance.now())}`);
    if (profile && process.env.BENCH_PROFILE && !profiled) await profile(process.env.BENCH_PROFILE);
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const mainCpu = (threadCpuMs() - main0) / 1000;
    // CPU of each app thread (apps sharing a worker report the same thread once).
    const threads = new Map<number, { names: string[]; seconds: number }>();
    for (const [i, a] of apps.apps.entries()) {
      const f = await a.figures();
      const t = threads.get(f.threadId);
      if (t) t.names.push(a.name);
      else
        threads.set(f.threadId, {
          names: [a.name],
          seconds: (f.threadCpuMs - apps0[i]!.threadCpuMs) / 1000,
        });
    }
    const issued = (await apps.get("coupons")!.figures()).couponsIssuedThisRun;
    await apps.close();
    // Records written per frame, by topic (outputs, changelogs, repartitions, transaction markers).
    const admin = cluster.admin();
    const written: [string, number][] = [];
    for (const topic of await admin.listTopics({ includeInternal: false })) {
      if (topic === TOPICS.requests || topic === TOPICS.responses || topic === TOPICS.coupons) continue;
      const n = (await admin.describeTopics([topic]))[0]!.partitions.length;
      const ends = await admin.listOffsets(
        Array.from({ length: n }, (_, partition) => ({ topic, partition })),
        "latest",
      );
      let sum = 0;
      for (const o of ends.values()) sum += Number(o);
      if (sum > 0) written.push([topic, sum]);
    }
    written.sort((a, b) => b[1] - a[1]);
    const totalWritten = written.reduce((x, [, n]) => x + n, 0);
    out.rows.push([
      "runtime: log entries written per frame",
      `${(totalWritten / frames.length).toFixed(2)} (${written.map(([t, n]) => `${t} ${(n / frames.length).toFixed(2)}`).join(", ")})`,
    ]);
    out.logEntriesPerFrame = Number((totalWritten / frames.length).toFixed(2));
    out.rows.push([
      `runtime: sustained, three apps (EOS, placement ${PLACEMENT})`,
      `${Math.round(measured / seconds)} frames/s (${measured} frames in ${seconds.toFixed(1)} s, after ${warm} frames of warm-up; ${issued} coupons in the day)`,
    ]);
    out.rows.push([
      "runtime: whole day from a cold start",
      `${Math.round(frames.length / coldSeconds)} frames/s (${frames.length} frames in ${coldSeconds.toFixed(1)} s, JIT warm-up included)`,
    ]);
    out.rows.push([
      "runtime: CPU per frame (all threads)",
      `${((cpuSeconds * 1e6) / measured).toFixed(1)} us (${cpuSeconds.toFixed(1)} CPU s, ${(cpuSeconds / seconds).toFixed(2)} cores busy)`,
    ]);
    const workers = [...threads].filter(([id]) => id !== 0).map(([, t]) => t);
    const appThreads = workers.reduce((x, t) => x + t.seconds, 0);
    out.rows.push([
      "runtime: CPU by thread",
      `main ${mainCpu.toFixed(1)} s${workers.map((t) => `; ${t.names.join("+")} ${t.seconds.toFixed(1)} s`).join("")}; other threads (GC, JIT, lmdb, I/O) ${(cpuSeconds - mainCpu - appThreads).toFixed(1)} s`,
    ]);
    out.rows.push([
      "runtime: header decoding app alone",
      `${Math.round(headerDone / ((tHeader - t0) / 1000))} frames/s while all three run`,
    ]);
    out.framesPerS = Math.round(measured / seconds);
    out.coldFramesPerS = Math.round(frames.length / coldSeconds);
    out.cpuUsPerFrame = Number(((cpuSeconds * 1e6) / measured).toFixed(1));
    out.coresBusy = Number((cpuSeconds / seconds).toFixed(2));
    return out;
  } finally {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRuntime(
  frames: BenchDay,
  rows: [string, string][],
  figures: Record<string, number>,
): Promise<void> {
  // ---- sustained throughput, BENCH_SUSTAINED_RUNS times (default 3: the machine's speed varies
  // by ±20 % from one run to the next; the median run is reported, with the range).
  // BENCH_SKIP_SUSTAINED=1 only measures latency at BENCH_RATE.
  if (process.env.BENCH_SKIP_SUSTAINED !== "1") {
    const n = Math.max(1, Number(process.env.BENCH_SUSTAINED_RUNS ?? 3));
    const runs: SustainedRun[] = [];
    for (let i = 0; i < n; i++) runs.push(await sustainedRun(frames));
    const sorted = [...runs].sort((a, b) => a.framesPerS - b.framesPerS);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    for (const r of median.rows) rows.push(r);
    if (n > 1)
      rows.push([
        `runtime: sustained, all ${n} runs (median above)`,
        `${runs.map((r) => Math.round(r.framesPerS)).join(", ")} frames/s; ${runs.map((r) => r.cpuUsPerFrame.toFixed(1)).join(", ")} us CPU per frame; from a cold start ${runs.map((r) => r.coldFramesPerS).join(", ")} frames/s`,
      ]);
    figures.log_entries_per_frame = median.logEntriesPerFrame;
    figures.sustained_frames_per_s = median.framesPerS;
    figures.sustained_min_frames_per_s = sorted[0]!.framesPerS;
    figures.sustained_max_frames_per_s = sorted[sorted.length - 1]!.framesPerS;
    const cold = runs.map((r) => r.coldFramesPerS).sort((a, b) => a - b);
    figures.cold_start_day_frames_per_s = cold[Math.floor((cold.length - 1) / 2)]!;
    figures.cpu_us_per_frame = median.cpuUsPerFrame;
    figures.cores_busy = median.coresBusy;
  }

  // ---- latency at a paced rate.
  const target = Number(process.env.BENCH_RATE ?? 20_000);
  // BENCH_SKIP_LATENCY=1 stops after the sustained run (profiling).
  const rates = process.env.BENCH_SKIP_LATENCY === "1" ? [] : [target];
  // And below capacity: half the target, or half the sustained rate when that is lower.
  const sustained = figures.sustained_frames_per_s ?? target;
  if (rates.length) rates.push(Math.max(100, Math.floor(Math.min(target, sustained) / 2)));
  for (const rate of rates) {
    settleDisk();
    const dir = mkdtempSync(join(tmpdir(), "courant-bench-rewards-"));
    const cluster = await EmbeddedCluster.open({ dataDir: join(dir, "data") });
    try {
      const apps = await readyApps(cluster, dir, frames.length);
      // Which response frame carries which ticket: its acknowledgement time starts the clock.
      const sentAt = new Map<string, number>();
      const consumer = await cluster.createConsumer({ isolationLevel: "read_committed" });
      const rtps = Array.from({ length: PARTITIONS }, (_, partition) => ({
        topic: TOPICS.rewards,
        partition,
      }));
      consumer.assign(rtps);
      await consumer.seekToEnd(rtps);
      const latencies: number[] = [];
      const dump: string[] = [];
      const loopDelay = monitorEventLoopDelay({ resolution: 5 });
      loopDelay.enable();
      const seen = new Set<string>();
      let producing = true;
      const reader = (async () => {
        while (producing || latencies.length < seen.size) {
          const recs = await consumer.poll({ maxWaitMs: 50 });
          const now = performance.now();
          for (const r of recs) {
            const ticket = r.key ? dec.decode(r.key) : "";
            if (seen.has(ticket)) continue;
            seen.add(ticket);
            const t = sentAt.get(ticket);
            if (t !== undefined) {
              latencies.push(now - t);
              if (process.env.BENCH_DUMP)
                dump.push(`${(performance.timeOrigin + t).toFixed(0)} ${(now - t).toFixed(1)}`);
            }
          }
          if (!producing && recs.length === 0) break;
        }
      })();
      const durationMs = Number(process.env.BENCH_LATENCY_MS ?? 15_000) + WARMUP_MS;
      const total = Math.min(frames.length, Math.floor((rate * durationMs) / 1000));
      const p = await cluster.createProducer();
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const batch = Math.max(1, Math.round(rate / 200)); // a send every 5 ms
      let behind = 0;
      for (let i = 0; i < total; i += batch) {
        const due = t0 + (i / rate) * 1000;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        else if (wait < -250) behind++;
        const end = Math.min(total, i + batch);
        await p.send(frames.records(i, end));
        const ack = performance.now();
        // Coupons of the warm-up (code compiled, caches filled) are not counted.
        if (ack - t0 < WARMUP_MS) continue;
        for (let j = i; j < end; j++) {
          const ticket = frames.ticket(j);
          if (ticket !== undefined && !sentAt.has(ticket)) sentAt.set(ticket, ack);
        }
      }
      const produced = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const coresBusy = (cpu.user + cpu.system) / 1e6 / produced;
      await p.close();
      // Let the pipeline drain (bounded), then stop reading.
      const drainUntil = performance.now() + 30_000;
      while (
        performance.now() < drainUntil &&
        (await groupLag(
          cluster,
          apps.apps.map((a) => a.applicationId),
        )) > 0
      ) {
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 500));
      producing = false;
      await reader;
      await consumer.close();
      await apps.close();
      if (process.env.BENCH_DUMP) writeFileSync(`${process.env.BENCH_DUMP}.${rate}`, dump.join("\n"));
      loopDelay.disable();
      if (process.env.BENCH_DUMP)
        console.error(
          `main event loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms max ${(loopDelay.max / 1e6).toFixed(1)} ms`,
        );
      const sorted = Float64Array.from(latencies).sort();
      const achieved = Math.round(total / produced);
      const key = `at_${rate}`;
      rows.push([
        `runtime: latency at ${rate} frames/s (commit ${COMMIT_MS ?? DEFAULT_COMMIT_INTERVAL_MS} ms, idle ${IDLE_COMMIT_MS === null ? "off" : `${IDLE_COMMIT_MS ?? DEFAULT_IDLE_COMMIT_AFTER_MS} ms`})`,
        `offered ${achieved} frames/s${behind > 0 ? " (producer fell behind)" : ""}; frame->coupon p50 ${pct(sorted, 50).toFixed(1)} ms, p99 ${pct(sorted, 99).toFixed(1)} ms, max ${pct(sorted, 100).toFixed(0)} ms over ${sorted.length} coupons; ${coresBusy.toFixed(2)} cores busy`,
      ]);
      figures[`cores_busy_${key}`] = Number(coresBusy.toFixed(2));
      figures[`latency_p50_ms_${key}`] = Number(pct(sorted, 50).toFixed(1));
      figures[`latency_p99_ms_${key}`] = Number(pct(sorted, 99).toFixed(1));
      figures[`offered_frames_per_s_${key}`] = achieved;
    } finally {
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
