// Runs the rewards apps as Courant applications: each one a KafkaStreams instance with
// exactly_once_v2, its own metrics registry and its own ops server (/metrics, /health, /ready,
// interactive queries for the coupons app). Used by `courant rewards run`, `courant start`,
// the end-to-end and crash tests and the benchmark.
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import type { Cluster } from "../../src/cluster/index.ts";
import { createLogger, type Logger, MetricsRegistry } from "../../src/observe/index.ts";
import type { Counter } from "prom-client";
import { OpsServer, QueryError, type ReadinessReport } from "../../src/server/index.ts";
import {
  KafkaStreams,
  type KafkaStreamsState,
  type RestoreProgress,
  replaceThreadUpTo,
  type Topology,
} from "../../src/streams/index.ts";
import { buildCorrelationTopology, type CorrelationOptions } from "./correlation-app.ts";
import { PackedCouponPools } from "./coupon-pool.ts";
import {
  buildCouponsTopology,
  type LedgerRetentionOptions,
  type ReferenceTables,
  STORES,
} from "./coupons-app.ts";
import { type BudgetAccountState, Campaign } from "./domain/index.ts";
import { buildFramesTopology } from "./frames-app.ts";
import { type RewardsMetrics, rewardsMetrics } from "./metrics.ts";
import { rewardsQueryRoutes, type StoreLookup } from "./queries.ts";
import { TopicTable } from "./reference-table.ts";
import { APP_IDS, ensureRewardsTopics, TOPICS } from "./topics.ts";

export type RewardsAppName = keyof typeof APP_IDS;
/**
 * Each app commits (exactly-once) every 5 ms: a coupon crosses four transactional hops (frames,
 * correlation, the coupons app's repartition by campaign, the ledger) and each waits for its
 * commit to be visible downstream. Measured at 20 000 frames/s: p50 15 ms, p99 35-52 ms at 5 ms;
 * p50 29 ms, p99 55-72 ms at 10 ms, for the same CPU; at 10 000 frames/s it costs ~20 % more CPU.
 */
export const DEFAULT_COMMIT_INTERVAL_MS = 5;
/**
 * And an app whose input is drained commits at once, 2 ms after its last commit at the earliest
 * (the streams option `idleCommitAfterMs`): a hop then costs about its processing time instead of
 * half a commit interval. Measured at 20 000 frames/s (bench/rewards.ts, BENCH_IDLE_COMMIT_MS):
 * p50 15-17 ms -> 7.6-8.5 ms with the same CPU; at 1 ms the extra commits cost 0.1-0.2 cores and
 * the tail grew, at 3 ms p50 was 11 ms. Under load the input is never drained: commits stay at
 * the interval and the sustained rate is unchanged.
 */
export const DEFAULT_IDLE_COMMIT_AFTER_MS = 2;
/**
 * How often each app applies its buffered state writes to lmdb. The apply runs on the app's thread
 * and is proportional to the writes since the last one: at the runtime's default (1 s) it took
 * 40-140 ms per app at 10 000 frames/s, a stall every second that set the latency's tail.
 */
export const STATE_FLUSH_INTERVAL_MS = 100;
/**
 * The state flush interval while an app's thread is saturated (working off a backlog, or more load
 * than it can take): lmdb rewrites a page per random key per flush, so fewer, larger flushes cost
 * the coupons app less CPU per coupon; paced runs, whose threads have idle time, keep 100 ms (the
 * longer stall of a flush would cost their tail). 500 ms was best while the write buffer held one
 * object per write (every one promoted before a long flush); with the buffer as bytes (WriteBuffer),
 * 250 ms was best in four interleaved rounds of three sustained runs against 500 ms: medians
 * 108 100 / 114 800 / 112 800 / 109 400 frames/s against 91 300 / 103 400 / 109 100 / 106 400
 * (100 ms: 100 900 / 107 500; 1 000 ms: 98 400 / 99 000).
 */
export const SATURATED_STATE_FLUSH_INTERVAL_MS = 250;

/** A failed stream thread is replaced, up to this many times in THREAD_REPLACEMENT_WINDOW_MS. */
export const THREAD_REPLACEMENTS = 3;
export const THREAD_REPLACEMENT_WINDOW_MS = 60_000;
export const REWARDS_APPS: readonly RewardsAppName[] = ["frames", "correlation", "coupons"];

export interface RewardsAppsOptions {
  readonly cluster: Cluster;
  /** Root of local state; each app uses `<stateDir>/<applicationId>/`. */
  readonly stateDir: string;
  /**
   * Which instance of each app this process runs (default "1"), when several processes run the
   * same apps against one Kafka cluster to share their partitions. Each gets its own static group
   * member and transactional ids from it: two processes with the same instance fence each other.
   * Processes on one machine also need their own `stateDir`. Letters, digits, ".", "_" and "-".
   */
  readonly instance?: string;
  /** Which apps to run (default all three). */
  readonly apps?: readonly RewardsAppName[];
  /** Partitions of the pipeline's topics when they are created (default 4). */
  readonly partitions?: number;
  /** Ops servers' host (default 127.0.0.1) and first port (0 = a random port each). */
  readonly host?: string;
  readonly basePort?: number;
  /** Serve a worker-thread liveness endpoint too (port 0 = random). */
  readonly livenessWorker?: boolean;
  readonly correlation?: CorrelationOptions;
  /**
   * How long the coupons app keeps each coupon (its reward, PDV index entry and PDV/day counter)
   * after its bet's Paris day, and how fast it sweeps older ones (docs/rewards.md, "Retention").
   * Default 35 days, 1000 entries a second per task.
   */
  readonly ledgerRetention?: LedgerRetentionOptions;
  /**
   * Default 10 ms. Kafka Streams' exactly-once default is 100 ms, but every hop of the pipeline
   * waits for the upstream commit (read_committed): 4 hops x 100 ms put the frame -> coupon p99
   * near 0.5-0.8 s; 10 ms brings it under ~0.1 s here with no loss of throughput (measured with
   * bench/rewards.ts, BENCH_COMMIT_MS).
   */
  readonly commitIntervalMs?: number;
  /** Default 2 ms (DEFAULT_IDLE_COMMIT_AFTER_MS); null: commit at the interval only, as Kafka Streams. */
  readonly idleCommitAfterMs?: number | null;
  readonly numStreamThreads?: number;
  /**
   * "inline" (default): every app on this thread's event loop. "workers": apps in worker threads
   * (those not in `mainThreadApps`), over links to this thread's embedded broker (needs an
   * EmbeddedCluster): the apps and the broker then use both cores. `logger` and `now` stay on this thread (the
   * workers log with their own logger and use the wall clock).
   */
  readonly placement?: "inline" | "workers";
  /** With placement "workers": which of the apps in workers share a thread (default none). */
  readonly workerGroups?: readonly (readonly RewardsAppName[])[];
  /**
   * With placement "workers": apps that stay on this thread, beside the broker (default frames and
   * coupons: only the correlation gets a worker; see DEFAULT_MAIN_THREAD_APPS for the figures).
   */
  readonly mainThreadApps?: readonly RewardsAppName[];
  /**
   * With placement "workers": how many times a worker thread that dies is started again within a
   * minute before its apps are left in ERROR (default 3; 0: never).
   */
  readonly maxWorkerRestarts?: number;
  readonly logger?: Logger;
  /** Wall clock for latency measurement. */
  readonly now?: () => number;
}

/** What the live view and the benchmark read of an app, wherever it runs. */
export interface AppFigures {
  readonly state: KafkaStreamsState;
  /** Frames whose header was decoded by this run (frames app). */
  readonly frames: number;
  /** Frames sent to frames.dlq by this run (header or body). */
  readonly dlq: number;
  /** Accepted bets written by this run (correlation app). */
  readonly betsAccepted: number;
  /** Requests declared unmatched by this run (correlation app). */
  readonly unmatchedRequests: number;
  /** Coupons issued by this run (coupons app). */
  readonly couponsIssuedThisRun: number;
  /**
   * Qualifying bets this run gave no coupon, by reason (cap_reached, budget_exhausted,
   * no_coupon_code, ...; coupons app, empty elsewhere). Duplicates are not counted.
   */
  readonly couponsSkippedThisRun: Readonly<Record<string, number>>;
  /** Totals since the first run, from the ledger state (coupons app; 0 elsewhere). */
  readonly ledger: {
    readonly issued: number;
    readonly canceled: number;
    readonly usedCents: number;
    readonly totalBudgetCents: number;
  };
  /** Recent frame -> coupon delays, ms (NaN before the first coupon). */
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** CPU time of the thread the app runs on, ms (shared by every inline app). */
  readonly threadCpuMs: number;
  /** Which thread that is (worker_threads' threadId; 0 on the main thread). */
  readonly threadId: number;
  /** Times the app's worker thread died and was started again (0 on the main thread). */
  readonly workerRestarts: number;
}

/** One running rewards app: in this thread, or in a worker thread of its own. */
export interface RewardsApp {
  readonly name: RewardsAppName;
  readonly applicationId: string;
  /** Base URL of its ops server (/metrics, /health, /ready, queries). */
  readonly url: string;
  /** The worker-thread liveness endpoint, when served. */
  readonly livenessUrl: string | undefined;
  /** Times the app's worker thread died and was started again (placement "workers"). */
  readonly workerRestarts?: number;
  /** Lifecycle state of the app's KafkaStreams instance. */
  state(): KafkaStreamsState;
  figures(): Promise<AppFigures>;
  /** Graceful stop: commits and leaves the group, then closes the ops server. */
  close(): Promise<void>;
}

/** CPU time of the calling thread, ms. */
export function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

async function counterSum(
  c: Counter,
  filter?: (labels: Partial<Record<string, string | number>>) => boolean,
): Promise<number> {
  const m = await c.get();
  return m.values.reduce((n, v) => n + (filter && !filter(v.labels) ? 0 : v.value), 0);
}

async function counterByLabel(c: Counter, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await c.get()).values) {
    const k = String(v.labels[label] ?? "");
    if (v.value > 0) out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

/** An app whose KafkaStreams instance runs on this thread's event loop. */
export class InlineRewardsApp implements RewardsApp {
  readonly name: RewardsAppName;
  readonly applicationId: string;
  readonly streams: KafkaStreams;
  readonly ops: OpsServer;
  readonly registry: MetricsRegistry;
  readonly metrics: RewardsMetrics;
  readonly url: string;
  /** Reference tables read outside the topology (coupons app). */
  readonly tables: ReferenceTables | undefined;

  constructor(init: {
    name: RewardsAppName;
    applicationId: string;
    streams: KafkaStreams;
    ops: OpsServer;
    registry: MetricsRegistry;
    metrics: RewardsMetrics;
    url: string;
    tables: ReferenceTables | undefined;
  }) {
    this.name = init.name;
    this.applicationId = init.applicationId;
    this.streams = init.streams;
    this.ops = init.ops;
    this.registry = init.registry;
    this.metrics = init.metrics;
    this.url = init.url;
    this.tables = init.tables;
  }

  get livenessUrl(): string | undefined {
    return this.ops.livenessUrl;
  }

  state(): KafkaStreamsState {
    return this.streams.state;
  }

  async figures(): Promise<AppFigures> {
    const m = this.metrics;
    const ledger = { issued: 0, canceled: 0, usedCents: 0, totalBudgetCents: 0 };
    if (this.name === "coupons" && this.streams.state === "RUNNING") {
      const accounts = this.streams.keyValueStore<string, BudgetAccountState>(STORES.accounts);
      for (const { value } of accounts.all()) {
        ledger.issued += value.issuedCount;
        ledger.canceled += value.canceledCount;
        ledger.usedCents += value.usedCents;
      }
      for (const { value } of this.tables?.campaigns.all() ?? []) {
        try {
          ledger.totalBudgetCents += Campaign.from(JSON.parse(value)).totalBudgetCents;
        } catch {
          // an invalid campaign record is skipped by the app too
        }
      }
    }
    const lat = m.recentLatencies;
    return {
      state: this.streams.state,
      frames: await counterSum(m.frames),
      dlq: await counterSum(m.dlq),
      betsAccepted: await counterSum(m.bets, (l) => l.outcome === "accepted"),
      unmatchedRequests: await counterSum(m.unmatched, (l) => l.direction === "Q"),
      couponsIssuedThisRun: await counterSum(m.couponsIssued),
      couponsSkippedThisRun: await counterByLabel(m.couponsSkipped, "reason"),
      ledger,
      latencyP50Ms: lat.percentile(50),
      latencyP99Ms: lat.percentile(99),
      threadCpuMs: threadCpuMs(),
      threadId,
      workerRestarts: 0,
    };
  }

  async close(): Promise<void> {
    await this.streams.close();
    await this.ops.close();
  }
}

export class RewardsApps {
  readonly apps: readonly RewardsApp[];
  /** What closes after the apps (reference tables, worker links). */
  private readonly resources: readonly { close(): Promise<void> }[];
  private closed = false;

  constructor(apps: readonly RewardsApp[], resources: readonly { close(): Promise<void> }[] = []) {
    this.apps = apps;
    this.resources = resources;
  }

  get(name: RewardsAppName): RewardsApp | undefined {
    return this.apps.find((a) => a.name === name);
  }

  /** True once every app is RUNNING (state restored, group joined). */
  get running(): boolean {
    return this.apps.every((a) => a.state() === "RUNNING");
  }

  /** Consumer lag of each app's group (sum over its input partitions). */
  async lag(cluster: Cluster): Promise<Record<string, number>> {
    const admin = cluster.admin();
    const out: Record<string, number> = {};
    for (const a of this.apps) {
      try {
        out[a.name] = (await admin.describeLag(a.applicationId)).reduce((n, p) => n + Math.max(0, p.lag), 0);
      } catch {
        out[a.name] = Number.NaN;
      }
    }
    return out;
  }

  /** Graceful stop: every app commits and leaves its group, then the ops servers close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.apps.map((a) => a.close()));
    await Promise.all(this.resources.map((t) => t.close()));
  }
}

function topologyOf(
  name: RewardsAppName,
  o: RewardsAppsOptions,
  metrics: RewardsMetrics,
  log: Logger,
  tables: ReferenceTables | undefined,
): Topology {
  switch (name) {
    case "frames":
      return buildFramesTopology({ metrics, now: o.now });
    case "correlation":
      return buildCorrelationTopology({ metrics, ...o.correlation });
    case "coupons":
      return buildCouponsTopology({ metrics, now: o.now, log, tables, ...o.ledgerRetention });
  }
}

/** Restores in progress, per "<task>/<store>", as reported by the runtime. */
type RestoreBoard = Map<string, RestoreProgress>;

function readiness(streams: KafkaStreams, restores: RestoreBoard): () => ReadinessReport {
  return () => {
    const state: KafkaStreamsState = streams.state;
    const running = state === "RUNNING";
    const pending = [...restores.values()].filter((r) => !r.done);
    return {
      ready: running,
      checks: [
        {
          name: "state restored",
          ok: pending.length === 0,
          detail:
            pending.length === 0
              ? "all stores restored"
              : pending.map((r) => `${r.store} (task ${r.taskId}): ${r.restored}/${r.total}`).join(", "),
        },
        { name: "consumer group joined", ok: running, detail: `state ${state}` },
      ],
    };
  };
}

/** The instance name of `options` (default "1"); throws on a name that cannot go in an id. */
export function instanceOf(options: Pick<RewardsAppsOptions, "instance">): string {
  const i = options.instance ?? "1";
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(i))
    throw new RangeError(
      `instance "${i}" is not valid: 1-64 letters, digits, ".", "_" or "-" (it becomes part of group member and transactional ids)`,
    );
  return i;
}

/** Starts the rewards apps (creating the pipeline's topics first). */
export async function startRewardsApps(options: RewardsAppsOptions): Promise<RewardsApps> {
  instanceOf(options); // a bad instance name fails before anything starts
  await ensureRewardsTopics(options.cluster.admin(), options.partitions ?? 4);
  if ((options.placement ?? "inline") === "workers") {
    const { startAppWorkers } = await import("./app-worker.ts");
    return startAppWorkers(options);
  }
  const names = options.apps ?? REWARDS_APPS;
  const started: RewardsApp[] = [];
  const opened: TopicTable[] = [];
  let port = options.basePort ?? 0;
  try {
    for (const name of names) {
      started.push(await startInlineApp(name, options, port, opened));
      if (port !== 0) port++;
    }
  } catch (e) {
    await new RewardsApps(started, opened).close();
    throw e;
  }
  return new RewardsApps(started, opened);
}

/**
 * Starts one app on this thread (its topics must exist). Reference tables it opens are added to
 * `opened`, for the caller to close after the app.
 */
export async function startInlineApp(
  name: RewardsAppName,
  options: RewardsAppsOptions,
  port: number,
  opened: TopicTable[],
): Promise<InlineRewardsApp> {
  const log = options.logger ?? createLogger("rewards");
  let tables: ReferenceTables | undefined;
  if (name === "coupons") {
    const campaigns = await TopicTable.open(options.cluster, TOPICS.campaigns, log);
    opened.push(campaigns);
    const coupons = await TopicTable.open(options.cluster, TOPICS.coupons, log, new PackedCouponPools());
    opened.push(coupons);
    tables = { campaigns, coupons };
  }
  const applicationId = APP_IDS[name];
  const registry = new MetricsRegistry({ app: applicationId });
  const restores: RestoreBoard = new Map();
  const metrics = rewardsMetrics(registry);
  const streams = new KafkaStreams(topologyOf(name, options, metrics, log, tables), {
    applicationId,
    cluster: options.cluster,
    processingGuarantee: "exactly_once_v2",
    stateDir: options.stateDir,
    instanceId: `${applicationId}-${instanceOf(options)}`,
    // A restarted app (process killed, worker thread started again) takes its partitions back at
    // once instead of waiting out its dead predecessor's session (10 s).
    staticMembership: true,
    commitIntervalMs: options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
    idleCommitAfterMs:
      options.idleCommitAfterMs === null
        ? undefined
        : (options.idleCommitAfterMs ?? DEFAULT_IDLE_COMMIT_AFTER_MS),
    stateFlushIntervalMs: STATE_FLUSH_INTERVAL_MS,
    saturatedStateFlushIntervalMs: SATURATED_STATE_FLUSH_INTERVAL_MS,
    numStreamThreads: options.numStreamThreads,
    metrics: registry,
    logger: log.child({ app: applicationId }),
    onRestore: (p) => restores.set(`${p.taskId}/${p.store}/${p.partition}`, p),
    // A failed stream thread is replaced (it restores from the changelogs and goes on), unless
    // failures come back at once: then the app stops in ERROR and /health answers 503.
    uncaughtErrorHandler: replaceThreadUpTo(THREAD_REPLACEMENTS, THREAD_REPLACEMENT_WINDOW_MS),
  });
  const ops = new OpsServer({
    name: applicationId,
    host: options.host,
    port,
    metrics: registry,
    ready: readiness(streams, restores),
    failure: () =>
      streams.state === "ERROR" || streams.state === "PENDING_ERROR"
        ? `${applicationId} stopped processing after an error (state ${streams.state}): ${streams.failure?.message ?? "see its log"}`
        : undefined,
    ...(options.livenessWorker ? { livenessPort: 0 } : {}),
  });
  if (name === "coupons") {
    const lookup: StoreLookup = <V>(store: string) => {
      if (streams.state !== "RUNNING" && streams.state !== "REBALANCING") {
        throw new QueryError(503, "NOT_RUNNING", `${applicationId} is ${streams.state}`);
      }
      if (store === STORES.campaigns && tables) return [tables.campaigns as never];
      if (store === STORES.coupons && tables) return [tables.coupons as never];
      return [streams.keyValueStore<string, V>(store)];
    };
    ops.mountQueries("/rewards", rewardsQueryRoutes(lookup));
  }
  const url = await ops.start();
  try {
    await streams.start();
  } catch (e) {
    await ops.close();
    throw e;
  }
  return new InlineRewardsApp({ name, applicationId, streams, ops, registry, metrics, url, tables });
}

/** Where an app keeps its state under a data directory (`<data>/state`). */
export function rewardsStateDir(dataDir: string): string {
  return join(dataDir, "state");
}

/**
 * Resolves once the apps have nothing left to do: every group has consumed its inputs (at most
 * the one offset of a transaction marker per partition) and no output topic has grown for
 * `quietMs`. Used by `courant rewards run --until-idle` and the crash test.
 */
export async function waitUntilIdle(
  cluster: Cluster,
  apps: RewardsApps,
  options: { readonly quietMs?: number; readonly signal?: AbortSignal } = {},
): Promise<void> {
  const quietMs = options.quietMs ?? 2000;
  const admin = cluster.admin();
  let lastSize = -1;
  let quietSince = Date.now();
  for (;;) {
    if (options.signal?.aborted) return;
    let caughtUp = apps.running;
    for (const a of apps.apps) {
      const lag = await admin.describeLag(a.applicationId).catch(() => []);
      // Inputs written by the apps' transactions end with a commit marker the group never
      // "consumes": one offset of lag there is caught up; the source topics have no markers.
      const allowed = (topic: string) => (topic === TOPICS.requests || topic === TOPICS.responses ? 0 : 1);
      if (lag.length === 0 || lag.some((p) => p.lag > allowed(p.topic))) caughtUp = false;
    }
    const descs = await admin.describeTopics(Object.values(TOPICS)).catch(() => []);
    const size = descs.reduce((n, d) => n + d.partitions.reduce((m, p) => m + p.highWatermark, 0), 0);
    if (size !== lastSize || !caughtUp) {
      lastSize = size;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) {
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
