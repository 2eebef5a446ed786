// Worker-thread placement of the rewards apps: apps run in worker threads (their own event loops,
// their own cores when free), over links to the embedded broker that stays on the main thread. On
// this 2-core machine the three apps and the broker otherwise share one event loop, and the
// pipeline is CPU bound on one core (docs/rewards.md, "Performance").
//
// A worker builds its apps exactly as the inline placement does (startInlineApp); only the cluster
// differs. The main thread keeps a handle per app (WorkerRewardsApp) that answers state(),
// figures() and close() through messages to the worker hosting it.
import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  parentPort,
  Worker,
  workerData,
} from "node:worker_threads";
import { type ClusterLink, EmbeddedCluster } from "../../src/cluster/index.ts";
import type { KafkaStreamsState } from "../../src/streams/index.ts";
import type { CorrelationOptions } from "./correlation-app.ts";
import {
  type AppFigures,
  type InlineRewardsApp,
  REWARDS_APPS,
  type RewardsApp,
  type RewardsAppName,
  RewardsApps,
  type RewardsAppsOptions,
  startInlineApp,
} from "./pipeline.ts";
import type { TopicTable } from "./reference-table.ts";
import { APP_IDS } from "./topics.ts";

/**
 * Where the apps run by default with placement "workers": the correlation (full decoding, the
 * heaviest app) in a worker thread, the header decoding and the coupons beside the broker on the
 * main thread. Each thread is an isolate with its own heap, collector and compiled code, and a
 * linked client pays a cross-thread call per broker call, so more threads is not faster on two
 * cores. `npm run bench -- rewards` (BENCH_MAIN_THREAD_APPS, BENCH_WORKER_GROUPS), sustained
 * frames/s on this 2-core machine: this split 22.4-24.4 k (65-71 us CPU per frame); a thread per
 * app 19-21 k (90-97 us); all inline 20.4 k (70 us, 1.4 cores busy); coupons on main with
 * frames+correlation in one worker 21.4 k; correlation on main 19.6 k.
 */
export const DEFAULT_MAIN_THREAD_APPS: readonly RewardsAppName[] = ["frames", "coupons"];
/** Which of the apps run in workers share one (default none: a thread each). */
export const DEFAULT_WORKER_GROUPS: readonly (readonly RewardsAppName[])[] = [];

/** What a worker needs to build its apps: the serialisable part of RewardsAppsOptions. */
interface AppWorkerInit {
  readonly rewardsApps: readonly { readonly name: RewardsAppName; readonly port: number }[];
  readonly link: MessagePort;
  readonly stateDir: string;
  readonly partitions: number | undefined;
  readonly host: string | undefined;
  readonly livenessWorker: boolean | undefined;
  readonly correlation: CorrelationOptions | undefined;
  readonly commitIntervalMs: number | undefined;
  readonly idleCommitAfterMs: number | null | undefined;
  readonly numStreamThreads: number | undefined;
}

interface StartedApp {
  readonly name: RewardsAppName;
  readonly url: string;
  readonly livenessUrl: string | undefined;
  readonly state: KafkaStreamsState;
}

type ToWorker =
  | { readonly type: "figures"; readonly id: number; readonly app: RewardsAppName }
  | { readonly type: "close" };

type FromWorker =
  | { readonly type: "started"; readonly apps: readonly StartedApp[] }
  | { readonly type: "state"; readonly app: RewardsAppName; readonly state: KafkaStreamsState }
  | { readonly type: "figures"; readonly id: number; readonly figures: AppFigures }
  | { readonly type: "closed" }
  | { readonly type: "failed"; readonly message: string; readonly code: string | undefined };

/** One worker thread and the apps it hosts, seen from the main thread. */
class AppWorker {
  readonly apps: WorkerRewardsApp[] = [];
  private readonly worker: Worker;
  private readonly link: ClusterLink;
  private readonly exited: Promise<void>;
  private nextId = 0;
  private readonly waiting = new Map<number, (f: AppFigures | null) => void>();
  private closing: Promise<void> | undefined;
  /** Why the worker is gone, once it is. */
  private gone: string | undefined;

  private constructor(
    worker: Worker,
    link: ClusterLink,
    exited: Promise<void>,
    started: readonly StartedApp[],
  ) {
    this.worker = worker;
    this.link = link;
    this.exited = exited;
    for (const s of started) this.apps.push(new WorkerRewardsApp(this, s));
    worker.on("message", (m: FromWorker) => {
      if (m.type === "state") {
        const a = this.apps.find((x) => x.name === m.app);
        if (a) a.current = m.state;
      } else if (m.type === "figures") {
        this.waiting.get(m.id)?.(m.figures);
        this.waiting.delete(m.id);
      } else if (m.type === "failed") {
        for (const a of this.apps) if (a.current !== "NOT_RUNNING") a.current = "ERROR";
      }
    });
    worker.on("error", (e) => {
      this.gone ??= `its worker thread failed: ${e.message}`;
      for (const a of this.apps) a.current = "ERROR";
    });
    worker.once("exit", (code) => {
      this.gone ??= `its worker thread exited (code ${code})`;
      for (const a of this.apps) if (a.current !== "NOT_RUNNING") a.current = "ERROR";
      for (const w of this.waiting.values()) w(null);
      this.waiting.clear();
    });
  }

  static async start(
    group: readonly { readonly name: RewardsAppName; readonly port: number }[],
    options: RewardsAppsOptions,
    cluster: EmbeddedCluster,
  ): Promise<AppWorker> {
    const { port1, port2 } = new MessageChannel();
    const link = cluster.serveLink(port1);
    const init: AppWorkerInit = {
      rewardsApps: group,
      link: port2,
      stateDir: options.stateDir,
      partitions: options.partitions,
      host: options.host,
      livenessWorker: options.livenessWorker,
      correlation: options.correlation,
      commitIntervalMs: options.commitIntervalMs,
      idleCommitAfterMs: options.idleCommitAfterMs,
      numStreamThreads: options.numStreamThreads,
    };
    const label = group.map((g) => APP_IDS[g.name]).join("+");
    const worker = new Worker(new URL(import.meta.url), {
      workerData: init,
      transferList: [port2],
      name: label,
    });
    let exit!: () => void;
    const exited = new Promise<void>((r) => {
      exit = r;
    });
    worker.once("exit", () => exit());
    try {
      const started = await new Promise<readonly StartedApp[]>((resolve, reject) => {
        worker.on("message", (m: FromWorker) => {
          if (m.type === "started") resolve(m.apps);
          else if (m.type === "failed")
            reject(Object.assign(new Error(`${label} failed to start: ${m.message}`), { code: m.code }));
        });
        worker.once("error", reject);
        worker.once("exit", (code) =>
          reject(new Error(`${label} worker exited (code ${code}) while starting`)),
        );
      });
      worker.removeAllListeners("message");
      worker.removeAllListeners("error");
      worker.removeAllListeners("exit");
      worker.once("exit", () => exit());
      return new AppWorker(worker, link, exited, started);
    } catch (e) {
      await worker.terminate();
      await link.close();
      throw e;
    }
  }

  figures(app: RewardsAppName, applicationId: string): Promise<AppFigures> {
    if (this.gone) return Promise.reject(new Error(`${applicationId} is not running: ${this.gone}`));
    const id = this.nextId++;
    return new Promise<AppFigures>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${applicationId} did not report its figures within 10 s`));
      }, 10_000);
      this.waiting.set(id, (f) => {
        clearTimeout(timer);
        if (f === null) reject(new Error(`${applicationId} is not running: ${this.gone}`));
        else resolve(f);
      });
      this.worker.postMessage({ type: "figures", id, app } satisfies ToWorker);
    });
  }

  /** Graceful stop of every app of the worker (idempotent). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.worker.postMessage({ type: "close" } satisfies ToWorker);
      // A clean close commits and leaves the groups; bounded, then the thread is stopped (the
      // next start recovers from the last commit, as after a crash).
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 30_000).unref());
      if ((await Promise.race([this.exited, timeout])) === "timeout") await this.worker.terminate();
      for (const a of this.apps) a.current = "NOT_RUNNING";
      await this.link.close();
    })();
    return this.closing;
  }
}

/** The main thread's handle on an app running in a worker thread. */
class WorkerRewardsApp implements RewardsApp {
  readonly name: RewardsAppName;
  readonly applicationId: string;
  readonly url: string;
  readonly livenessUrl: string | undefined;
  current: KafkaStreamsState;
  private readonly host: AppWorker;

  constructor(host: AppWorker, started: StartedApp) {
    this.host = host;
    this.name = started.name;
    this.applicationId = APP_IDS[started.name];
    this.url = started.url;
    this.livenessUrl = started.livenessUrl;
    this.current = started.state;
  }

  state(): KafkaStreamsState {
    return this.current;
  }

  figures(): Promise<AppFigures> {
    return this.host.figures(this.name, this.applicationId);
  }

  /** Stops the worker hosting this app, with the other apps it hosts. */
  close(): Promise<void> {
    return this.host.close();
  }
}

/** Starts the apps in worker threads (grouped as `groups` says) over links to `options.cluster`. */
export async function startAppWorkers(
  options: RewardsAppsOptions,
  groups: readonly (readonly RewardsAppName[])[] = options.workerGroups ?? DEFAULT_WORKER_GROUPS,
): Promise<RewardsApps> {
  const cluster = options.cluster;
  if (!(cluster instanceof EmbeddedCluster))
    throw new Error(
      'placement "workers" runs the apps over links to an embedded broker; with a Kafka cluster use placement "inline" (one process per app scales instead)',
    );
  const names = options.apps ?? REWARDS_APPS;
  const base = options.basePort ?? 0;
  const portOf = (n: RewardsAppName) => (base === 0 ? 0 : base + names.indexOf(n));
  const onMain = names.filter((n) => (options.mainThreadApps ?? DEFAULT_MAIN_THREAD_APPS).includes(n));
  const inWorkers = names.filter((n) => !onMain.includes(n));
  // Every app of `names` in exactly one group: listed groups first, the rest one per worker.
  const placed = new Set<RewardsAppName>();
  const plan: { name: RewardsAppName; port: number }[][] = [];
  for (const g of groups) {
    const members = g.filter((n) => inWorkers.includes(n) && !placed.has(n));
    for (const n of members) placed.add(n);
    if (members.length > 0) plan.push(members.map((name) => ({ name, port: portOf(name) })));
  }
  for (const n of inWorkers) if (!placed.has(n)) plan.push([{ name: n, port: portOf(n) }]);
  const settled = await Promise.allSettled(plan.map((g) => AppWorker.start(g, options, cluster)));
  const workers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = settled.find((s) => s.status === "rejected");
  const apps: RewardsApp[] = workers.flatMap((w) => w.apps);
  const opened: TopicTable[] = [];
  try {
    if (failed) throw failed.reason;
    for (const n of onMain) apps.push(await startInlineApp(n, options, portOf(n), opened));
  } catch (e) {
    await new RewardsApps(apps, opened).close();
    throw e;
  }
  // In the order asked for, as the inline placement.
  return new RewardsApps(
    names.map((n) => apps.find((a) => a.name === n)!),
    opened,
  );
}

// ---- the worker side ---------------------------------------------------------------------------

async function runWorker(init: AppWorkerInit): Promise<void> {
  const port = parentPort!;
  const post = (m: FromWorker) => port.postMessage(m);
  const cluster = EmbeddedCluster.attach(init.link);
  const opened: TopicTable[] = [];
  const apps: InlineRewardsApp[] = [];
  const closeAll = async () => {
    await Promise.all(apps.map((a) => a.close()));
    await Promise.all(opened.map((t) => t.close()));
    await cluster.close();
  };
  try {
    for (const { name, port: opsPort } of init.rewardsApps) {
      apps.push(
        await startInlineApp(
          name,
          {
            cluster,
            stateDir: init.stateDir,
            partitions: init.partitions,
            host: init.host,
            livenessWorker: init.livenessWorker,
            correlation: init.correlation,
            commitIntervalMs: init.commitIntervalMs,
            idleCommitAfterMs: init.idleCommitAfterMs,
            numStreamThreads: init.numStreamThreads,
          },
          opsPort,
          opened,
        ),
      );
    }
  } catch (e) {
    post({ type: "failed", message: (e as Error).message, code: (e as { code?: string }).code });
    await closeAll().catch(() => {});
    process.exit(1);
  }
  for (const app of apps) {
    app.streams.onStateChange((to) => {
      post({ type: "state", app: app.name, state: to });
      if (to === "ERROR")
        post({
          type: "failed",
          message: `${app.applicationId} stopped on an error (see its log)`,
          code: undefined,
        });
    });
  }
  post({
    type: "started",
    apps: apps.map((a) => ({ name: a.name, url: a.url, livenessUrl: a.livenessUrl, state: a.streams.state })),
  });
  port.on("message", (m: ToWorker) => {
    if (m.type === "figures") {
      const app = apps.find((a) => a.name === m.app);
      if (app) void app.figures().then((figures) => post({ type: "figures", id: m.id, figures }));
    } else if (m.type === "close") {
      void closeAll().then(() => {
        post({ type: "closed" });
        port.close();
      });
    }
  });
}

if (!isMainThread && (workerData as Partial<AppWorkerInit> | null)?.rewardsApps !== undefined) {
  await runWorker(workerData as AppWorkerInit);
}
