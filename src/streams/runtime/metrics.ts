// Kafka Streams' metrics under Courant's registry (prefix courant_): process rate and latency,
// commit latency, records lag, end-to-end latency per source topic, dropped records, rebalances,
// restore progress, state. Updated per poll batch or commit, never per record.
import type { MetricsRegistry } from "../../observe/index.ts";

export function streamsMetrics(r: MetricsRegistry, applicationId: string) {
  const app = { application_id: applicationId };
  const processed = r.counter("streams_process_total", "records processed (process-rate = rate of this)", [
    "application_id",
    "thread",
  ]);
  const processLatency = r.histogram(
    "streams_process_latency_seconds",
    "average processing time per record of a poll batch",
    ["application_id", "thread"],
    [1e-7, 5e-7, 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 1e-3, 1e-2],
  );
  const commitLatency = r.histogram(
    "streams_commit_latency_seconds",
    "time to commit (flush outputs, commit transaction/offsets, flush stores)",
    ["application_id", "thread"],
  );
  const commits = r.counter("streams_commit_total", "commits", ["application_id", "thread"]);
  const recordsLag = r.gauge(
    "streams_records_lag",
    "records-lag: end offset minus position per input partition",
    ["application_id", "topic", "partition"],
  );
  const e2eLatency = r.histogram(
    "streams_record_e2e_latency_seconds",
    "record-e2e-latency: wall-clock time minus record timestamp when polled, per source topic",
    ["application_id", "topic"],
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300],
  );
  const dropped = r.counter(
    "streams_dropped_records_total",
    "dropped-records by reason (late, null-key, deserialization, ...)",
    ["application_id", "reason", "task"],
  );
  const rebalances = r.counter("streams_rebalances_total", "rebalances seen by stream threads", [
    "application_id",
  ]);
  const restoredRecords = r.counter("streams_restore_records_total", "changelog records restored", [
    "application_id",
    "task",
  ]);
  const deserializationErrors = r.counter(
    "streams_deserialization_errors_total",
    "records that could not be deserialized",
    ["application_id", "topic"],
  );
  const state = r.gauge("streams_state", "1 for the current state of the instance", [
    "application_id",
    "state",
  ]);
  const aliveThreads = r.gauge("streams_alive_stream_threads", "stream threads running", ["application_id"]);
  return {
    processed: { inc: (l: { thread: string }, n = 1) => processed.inc({ ...app, ...l }, n) },
    processLatency: {
      observe: (l: { thread: string }, v: number) => processLatency.observe({ ...app, ...l }, v),
    },
    commitLatency: {
      observe: (l: { thread: string }, v: number) => commitLatency.observe({ ...app, ...l }, v),
    },
    commits: { inc: (l: { thread: string }) => commits.inc({ ...app, ...l }) },
    recordsLag: {
      set: (l: { topic: string; partition: string }, v: number) => recordsLag.set({ ...app, ...l }, v),
    },
    e2eLatency: { observe: (l: { topic: string }, v: number) => e2eLatency.observe({ ...app, ...l }, v) },
    dropped: { inc: (l: { reason: string; task: string }, n = 1) => dropped.inc({ ...app, ...l }, n) },
    rebalances: { inc: () => rebalances.inc(app) },
    restoredRecords: { inc: (l: { task: string }, n = 1) => restoredRecords.inc({ ...app, ...l }, n) },
    deserializationErrors: { inc: (l: { topic: string }) => deserializationErrors.inc({ ...app, ...l }) },
    state: {
      set: (s: string, all: readonly string[]) => {
        for (const x of all) state.set({ ...app, state: x }, x === s ? 1 : 0);
      },
    },
    aliveThreads: { set: (n: number) => aliveThreads.set(app, n) },
  };
}

export type StreamsMetrics = ReturnType<typeof streamsMetrics>;
