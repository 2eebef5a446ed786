// Runs the rewards apps as Courant applications: each one a KafkaStreams instance with
// exactly_once_v2, its own metrics registry and its own ops server (/metrics, /health, /ready,
// interactive queries for the coupons app). Used by `courant rewards run`, `courant start`,
// the end-to-end and crash tests and the benchmark.
import { join } from "node:path";
import type { Cluster } from "../../src/cluster/index.ts";
import { createLogger, type Logger, MetricsRegistry } from "../../src/observe/index.ts";
import { OpsServer, QueryError, type ReadinessReport } from "../../src/server/index.ts";
import {
  KafkaStreams,
  type KafkaStreamsState,
  type RestoreProgress,
  type Topology,
} from "../../src/streams/index.ts";
import { buildCorrelationTopology, type CorrelationOptions } from "./correlation-app.ts";
import { buildCouponsTopology, type ReferenceTables, STORES } from "./coupons-app.ts";
import { buildFramesTopology } from "./frames-app.ts";
import { type RewardsMetrics, rewardsMetrics } from "./metrics.ts";
import { rewardsQueryRoutes, type StoreLookup } from "./queries.ts";
import { TopicTable } from "./reference-table.ts";
import { APP_IDS, ensureRewardsTopics, TOPICS } from "./topics.ts";

export type RewardsAppName = keyof typeof APP_IDS;
export const DEFAULT_COMMIT_INTERVAL_MS = 10;
export const REWARDS_APPS: readonly RewardsAppName[] = ["frames", "correlation", "coupons"];

export interface RewardsAppsOptions {
  readonly cluster: Cluster;
  /** Root of local state; each app uses `<stateDir>/<applicationId>/`. */
  readonly stateDir: string;
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
   * Default 10 ms. Kafka Streams' exactly-once default is 100 ms, but every hop of the pipeline
   * waits for the upstream commit (read_committed): 4 hops x 100 ms put the frame -> coupon p99
   * near 0.5-0.8 s; 10 ms brings it under ~0.1 s here with no loss of throughput (measured with
   * bench/rewards.ts, BENCH_COMMIT_MS).
   */
  readonly commitIntervalMs?: number;
  readonly numStreamThreads?: number;
  readonly logger?: Logger;
  /** Wall clock for latency measurement. */
  readonly now?: () => number;
}

/** One running rewards app. */
export interface RewardsApp {
  readonly name: RewardsAppName;
  readonly applicationId: string;
  readonly streams: KafkaStreams;
  readonly ops: OpsServer;
  readonly registry: MetricsRegistry;
  readonly metrics: RewardsMetrics;
  readonly url: string;
}

export class RewardsApps {
  readonly apps: readonly RewardsApp[];
  /** The reference tables read outside the topology (campaigns, coupons). */
  readonly tables: readonly TopicTable[];
  private closed = false;

  constructor(apps: readonly RewardsApp[], tables: readonly TopicTable[] = []) {
    this.apps = apps;
    this.tables = tables;
  }

  get(name: RewardsAppName): RewardsApp | undefined {
    return this.apps.find((a) => a.name === name);
  }

  /** True once every app is RUNNING (state restored, group joined). */
  get running(): boolean {
    return this.apps.every((a) => a.streams.state === "RUNNING");
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
    await Promise.all(this.apps.map((a) => a.streams.close()));
    await Promise.all(this.apps.map((a) => a.ops.close()));
    await Promise.all(this.tables.map((t) => t.close()));
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
      return buildCouponsTopology({ metrics, now: o.now, log, tables });
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

/** Starts the rewards apps (creating the pipeline's topics first). */
export async function startRewardsApps(options: RewardsAppsOptions): Promise<RewardsApps> {
  const names = options.apps ?? REWARDS_APPS;
  const log = options.logger ?? createLogger("rewards");
  await ensureRewardsTopics(options.cluster.admin(), options.partitions ?? 4);
  const started: RewardsApp[] = [];
  const opened: TopicTable[] = [];
  try {
    let tables: ReferenceTables | undefined;
    if (names.includes("coupons")) {
      const campaigns = await TopicTable.open(options.cluster, TOPICS.campaigns, log);
      opened.push(campaigns);
      const coupons = await TopicTable.open(options.cluster, TOPICS.coupons, log);
      opened.push(coupons);
      tables = { campaigns, coupons };
    }
    let port = options.basePort ?? 0;
    for (const name of names) {
      const applicationId = APP_IDS[name];
      const registry = new MetricsRegistry({ app: applicationId });
      const restores: RestoreBoard = new Map();
      const metrics = rewardsMetrics(registry);
      const streams = new KafkaStreams(topologyOf(name, options, metrics, log, tables), {
        applicationId,
        cluster: options.cluster,
        processingGuarantee: "exactly_once_v2",
        stateDir: options.stateDir,
        instanceId: `${applicationId}-1`,
        commitIntervalMs: options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS,
        numStreamThreads: options.numStreamThreads,
        metrics: registry,
        logger: log.child({ app: applicationId }),
        onRestore: (p) => restores.set(`${p.taskId}/${p.store}/${p.partition}`, p),
      });
      const ops = new OpsServer({
        name: applicationId,
        host: options.host,
        port,
        metrics: registry,
        ready: readiness(streams, restores),
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
      if (port !== 0) port++;
      await streams.start();
      started.push({ name, applicationId, streams, ops, registry, metrics, url });
    }
  } catch (e) {
    await new RewardsApps(started, opened).close();
    throw e;
  }
  return new RewardsApps(started, opened);
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
