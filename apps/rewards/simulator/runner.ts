// Produces simulated frames to a Cluster at a configurable rate, for a duration or a number of
// frames, reporting progress. `courant rewards simulate` and `npm start` are thin calls to this.
import type { Cluster, Producer, ProducerOptions, ProducerRecord } from "../../../src/cluster/index.ts";
import { generateDays, REQUESTS_TOPIC, RESPONSES_TOPIC, type SimulatedFrame } from "./day.ts";
import type { SimulatorOptions } from "./model.ts";

export interface RunSimulatorOptions extends SimulatorOptions {
  /** Target frames per second (wall clock); 0 or omitted: as fast as the cluster takes them. */
  readonly rate?: number;
  /** Stop after this much wall-clock time. */
  readonly durationMs?: number;
  /** Stop after this many frames. Without durationMs/maxFrames/signal, runs until the days are exhausted. */
  readonly maxFrames?: number;
  /** Records per producer send. Default 500. */
  readonly batchSize?: number;
  /** Create pdv.requests and pdv.responses when missing, with this many partitions (default 4; false: don't). */
  readonly createTopics?: { readonly partitions: number } | false;
  readonly producer?: ProducerOptions;
  /** Stops the run cleanly (the current batch is finished). */
  readonly signal?: AbortSignal;
  /** How often onProgress is called, ms. Default 250. */
  readonly progressIntervalMs?: number;
}

export interface SimulatorProgress {
  readonly frames: number;
  readonly requests: number;
  readonly responses: number;
  readonly bets: number;
  readonly malformed: number;
  readonly duplicates: number;
  readonly elapsedMs: number;
  /** Average frames per second since the start. */
  readonly framesPerSecond: number;
  /** Event time of the last frame sent (epoch ms), 0 before the first. */
  readonly simulatedTime: number;
  /** Target total when known (maxFrames), else null. */
  readonly total: number | null;
  readonly done: boolean;
}

export type SimulatorSummary = SimulatorProgress & {
  readonly stoppedBy: "maxFrames" | "duration" | "signal" | "exhausted";
};

const encoder = new TextEncoder();

/** Produces the simulation to `cluster`; resolves with a summary when stopped. */
export async function runSimulator(
  cluster: Cluster,
  options: RunSimulatorOptions = {},
  onProgress?: (p: SimulatorProgress) => void,
): Promise<SimulatorSummary> {
  const rate = options.rate ?? 0;
  const batchSize = options.batchSize ?? 500;
  if (!(rate >= 0)) throw new RangeError("rate must be >= 0 frames/s");
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError("batchSize must be an integer >= 1");
  if (options.createTopics !== false) {
    const partitions = options.createTopics?.partitions ?? 4;
    await cluster.admin().createTopics(
      [
        { name: REQUESTS_TOPIC, partitions },
        { name: RESPONSES_TOPIC, partitions },
      ],
      { ifNotExists: true },
    );
  }
  const producer: Producer = await cluster.createProducer({
    clientId: "courant-simulator",
    ...options.producer,
  });
  const frames = generateDays({ ...options, days: options.days ?? Infinity });
  const keys = new Map<string, Uint8Array>();
  const started = performance.now();
  const maxFrames = options.maxFrames ?? Infinity;
  const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;
  const interval = options.progressIntervalMs ?? 250;
  let lastReport = 0;
  const stats = {
    frames: 0,
    requests: 0,
    responses: 0,
    bets: 0,
    malformed: 0,
    duplicates: 0,
    simulatedTime: 0,
  };
  const progress = (done: boolean): SimulatorProgress => {
    const elapsedMs = performance.now() - started;
    return {
      ...stats,
      elapsedMs,
      framesPerSecond: elapsedMs > 0 ? (stats.frames * 1000) / elapsedMs : 0,
      total: Number.isFinite(maxFrames) ? maxFrames : null,
      done,
    };
  };
  let stoppedBy: SimulatorSummary["stoppedBy"] = "exhausted";
  try {
    for (;;) {
      if (options.signal?.aborted) {
        stoppedBy = "signal";
        break;
      }
      if (stats.frames >= maxFrames) {
        stoppedBy = "maxFrames";
        break;
      }
      const now = performance.now();
      if (now >= deadline) {
        stoppedBy = "duration";
        break;
      }
      // Pacing: never get ahead of rate x elapsed time.
      if (rate > 0) {
        const due = started + (stats.frames / rate) * 1000;
        if (due > now) await pause(Math.min(due - now, deadline - now), options.signal);
      }
      const n = Math.min(
        batchSize,
        maxFrames - stats.frames,
        rate > 0 ? Math.max(1, Math.ceil(rate / 20)) : batchSize,
      );
      const batch: ProducerRecord[] = [];
      let exhausted = false;
      for (let i = 0; i < n; i++) {
        const next = frames.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        batch.push(toRecord(next.value, keys));
        count(stats, next.value);
      }
      if (batch.length > 0) await producer.send(batch);
      if (onProgress && performance.now() - lastReport >= interval) {
        lastReport = performance.now();
        onProgress(progress(false));
      }
      if (exhausted) break;
    }
  } finally {
    await producer.close();
  }
  const summary = { ...progress(true), stoppedBy };
  onProgress?.(summary);
  return summary;
}

function toRecord(f: SimulatedFrame, keys: Map<string, Uint8Array>): ProducerRecord {
  let key = keys.get(f.key);
  if (key === undefined) {
    key = encoder.encode(f.key);
    keys.set(f.key, key);
  }
  return { topic: f.topic, key, value: f.value, timestamp: f.timestamp };
}

function count(
  s: {
    frames: number;
    requests: number;
    responses: number;
    bets: number;
    malformed: number;
    duplicates: number;
    simulatedTime: number;
  },
  f: SimulatedFrame,
): void {
  s.frames++;
  if (f.topic === REQUESTS_TOPIC) s.requests++;
  else s.responses++;
  if (f.kind === "malformed") s.malformed++;
  else if (f.kind === "bet" && f.frame.header.direction === "Q" && !f.duplicate) s.bets++;
  if (f.duplicate) s.duplicates++;
  s.simulatedTime = f.timestamp;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
