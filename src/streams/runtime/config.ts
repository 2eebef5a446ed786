// KafkaStreams options: validated with zod so a wrong option fails at construction with a message
// naming the option and the reason.
import { z } from "zod";
import type { Cluster, ConsumedRecord } from "../../cluster/index.ts";
import type { Clock, Logger, MetricsRegistry } from "../../observe/index.ts";
import { StreamsError } from "../errors.ts";
import type { StoreProvider } from "../internals/task.ts";

export type ProcessingGuarantee = "at_least_once" | "exactly_once_v2";

/** What to do when a stream thread fails (Kafka's StreamsUncaughtExceptionHandler responses). */
export type UncaughtErrorResponse = "REPLACE_THREAD" | "SHUTDOWN_CLIENT" | "SHUTDOWN_APPLICATION";

/**
 * An uncaughtErrorHandler that replaces a failed stream thread (a fresh thread rejoins the group and
 * restores the failed one's tasks from their changelogs) unless `max` threads already failed within
 * the last `withinMs`: then the client shuts down (state ERROR), as a failure that comes back at once
 * is not transient.
 */
export function replaceThreadUpTo(
  max: number,
  withinMs: number,
  now: () => number = Date.now,
): (error: Error) => UncaughtErrorResponse {
  const failures: number[] = [];
  return () => {
    const t = now();
    while (failures.length > 0 && t - failures[0]! > withinMs) failures.shift();
    failures.push(t);
    return failures.length > max ? "SHUTDOWN_CLIENT" : "REPLACE_THREAD";
  };
}

export type DeserializationErrorPolicy =
  | "logAndFail"
  | "logAndContinue"
  /** Sends the bad record to this topic with the reason and source coordinates in headers, then continues. */
  | { readonly deadLetterTopic: string };

export interface RestoreProgress {
  readonly store: string;
  readonly taskId: string;
  readonly changelog: string;
  readonly partition: number;
  readonly restored: number;
  readonly total: number;
  readonly done: boolean;
}

export interface KafkaStreamsOptions {
  readonly applicationId: string;
  readonly cluster: Cluster;
  readonly processingGuarantee?: ProcessingGuarantee;
  /** Stream threads of this instance (cooperative loops sharing the event loop; scale across cores with more instances). */
  readonly numStreamThreads?: number;
  /** Default 30 000 ms at-least-once, 100 ms exactly-once (as Kafka Streams). */
  readonly commitIntervalMs?: number;
  /**
   * Commit early when idle: a thread whose input is drained and that holds processed, uncommitted
   * work commits once this many ms have passed since its last commit, instead of waiting for
   * `commitIntervalMs`. Under exactly-once a downstream app sees records only once committed, so
   * each hop of a pipeline otherwise adds half a commit interval on average; with this, about its
   * processing time. Under load (input never drained) commits stay at `commitIntervalMs`, so it
   * costs commits only when there is time for them. Off by default: Kafka Streams commits at the
   * interval only.
   */
  readonly idleCommitAfterMs?: number;
  /**
   * How often a commit also makes the local (lmdb) state durable with its changelog checkpoints:
   * at the first commit this long after the previous state flush, or when more than 50 000
   * writes are buffered, and always at rebalance and close. Default 1000 ms; 0 = every commit.
   * Between flushes the writes stay in memory (reads see them); after a crash, restore replays
   * the committed changelog from the last flushed checkpoint, so a longer interval only means a
   * longer changelog tail to replay. Kafka Streams under exactly-once likewise checkpoints only
   * every 10 000 records, not at each commit.
   */
  readonly stateFlushIntervalMs?: number;
  /**
   * The state flush interval while the stream thread's event loop is saturated (busy more than
   * 90 % of the last ~250 ms: a backlog being worked off, or more load than the thread can take).
   * Default: `stateFlushIntervalMs`. A flush costs less per write the more writes it takes (lmdb
   * rewrites a page per randomly placed key and flush), so a longer interval works a backlog off
   * with less CPU; the longer stall of each flush matters little when records wait anyway.
   */
  readonly saturatedStateFlushIntervalMs?: number;
  /**
   * Leave V8's allocation-site pretenuring on (a process-wide V8 flag). Default false: starting
   * a KafkaStreams turns it off for the process. Pretenuring allocates the objects of an
   * allocation site directly in the old generation once enough of them survived; for a stream
   * thread's records that is wrong often enough to hurt: dead records in the old generation keep
   * the young objects they point to alive until the next full collection, so every scavenge
   * promotes what it should have freed. Measured in the rewards pipeline: in about half the runs
   * a thread promoted ~280 MB instead of ~50 MB in 5 s, for ~13 % more CPU per frame; off, in none.
   */
  readonly allocationSitePretenuring?: boolean;
  /** Local state root; the instance uses `<stateDir>/<applicationId>/`. Default ./data/state. */
  readonly stateDir?: string;
  /** Record cache budget (bytes); 0 disables caching. */
  readonly cacheMaxBytes?: number;
  readonly numStandbyReplicas?: number;
  /** Stable identity of this instance across restarts: fences its previous incarnation at once. */
  readonly instanceId?: string;
  /** Join the group with a static member id derived from instanceId (KIP-345): a restart takes over at once. */
  readonly staticMembership?: boolean;
  /** "host:port" other instances give to clients for interactive queries. */
  readonly applicationServer?: string;
  readonly pollMs?: number;
  readonly maxPollRecords?: number;
  readonly sessionTimeoutMs?: number;
  readonly transactionTimeoutMs?: number;
  readonly deserializationErrors?: DeserializationErrorPolicy;
  readonly uncaughtErrorHandler?: (error: Error) => UncaughtErrorResponse;
  readonly onRestore?: (p: RestoreProgress) => void;
  readonly metrics?: MetricsRegistry;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Override where stores live (tests); default lmdb for persistent stores, memory otherwise. */
  readonly storeProvider?: StoreProvider;
}

const schema = z.object({
  applicationId: z
    .string()
    .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, "may only contain letters, digits, '.', '_' and '-'"),
  cluster: z.custom<Cluster>(
    (c) => typeof c === "object" && c !== null && typeof (c as Cluster).createConsumer === "function",
    "must be a Cluster (EmbeddedCluster or KafkaCluster)",
  ),
  processingGuarantee: z.enum(["at_least_once", "exactly_once_v2"]).default("at_least_once"),
  numStreamThreads: z.number().int().min(1).max(64).default(1),
  commitIntervalMs: z.number().int().min(1).optional(),
  idleCommitAfterMs: z.number().int().min(0).optional(),
  stateFlushIntervalMs: z.number().int().min(0).default(1000),
  saturatedStateFlushIntervalMs: z.number().int().min(0).optional(),
  allocationSitePretenuring: z.boolean().default(false),
  stateDir: z.string().min(1).default("./data/state"),
  cacheMaxBytes: z
    .number()
    .int()
    .min(0)
    .default(10 * 1024 * 1024),
  numStandbyReplicas: z.number().int().min(0).default(0),
  instanceId: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional(),
  applicationServer: z
    .string()
    .regex(/^[^:]+:\d+$/, "must be host:port")
    .optional(),
  pollMs: z.number().int().min(0).default(100),
  maxPollRecords: z.number().int().min(1).default(1000),
  sessionTimeoutMs: z.number().int().min(1).default(10_000),
  transactionTimeoutMs: z.number().int().min(1).default(10_000),
  deserializationErrors: z
    .union([z.enum(["logAndFail", "logAndContinue"]), z.object({ deadLetterTopic: z.string().min(1) })])
    .default("logAndFail"),
});

export type ResolvedOptions = Omit<KafkaStreamsOptions, keyof z.infer<typeof schema>> &
  z.infer<typeof schema> & { commitIntervalMs: number };

export function resolveOptions(o: KafkaStreamsOptions): ResolvedOptions {
  const picked: Record<string, unknown> = {};
  for (const k of Object.keys(schema.shape)) picked[k] = (o as unknown as Record<string, unknown>)[k];
  const r = schema.safeParse(picked);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; ");
    throw new StreamsError("CONFIG_INVALID", `invalid KafkaStreams options: ${msg}`);
  }
  const v = r.data;
  return {
    ...o,
    ...v,
    commitIntervalMs: v.commitIntervalMs ?? (v.processingGuarantee === "exactly_once_v2" ? 100 : 30_000),
  };
}

/** Headers a dead-lettered record carries (reason and source coordinates). */
export const DLQ_HEADERS = {
  reason: "courant.dlq.reason",
  topic: "courant.dlq.source.topic",
  partition: "courant.dlq.source.partition",
  offset: "courant.dlq.source.offset",
  applicationId: "courant.dlq.application.id",
} as const;

export function deadLetterHeaders(rec: ConsumedRecord, error: Error, applicationId: string) {
  const enc = (s: string) => new TextEncoder().encode(s);
  return [
    ...rec.headers,
    { key: DLQ_HEADERS.reason, value: enc(error.message) },
    { key: DLQ_HEADERS.topic, value: enc(rec.topic) },
    { key: DLQ_HEADERS.partition, value: enc(String(rec.partition)) },
    { key: DLQ_HEADERS.offset, value: enc(String(rec.offset)) },
    { key: DLQ_HEADERS.applicationId, value: enc(applicationId) },
  ];
}
