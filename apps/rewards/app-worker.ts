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
import type { LedgerRetentionOptions } from "./coupons-app.ts";
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

/** A worker thread that dies is started again up to this many times in WORKER_RESTART_WINDOW_MS. */
export const WORKER_RESTARTS = 3;
export const WORKER_RESTART_WINDOW_MS = 60_000;

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
  readonly instance: string | undefined;
  readonly partitions: number | undefined;
  readonly host: string | undefined;
  readonly livenessWorker: boolean | undefined;
  readonly correlation: CorrelationOptions | undefined;
  readonly ledgerRetention: LedgerRetentionOptions | undefined;
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

/** A worker thread as started: the thread, its link to the broker, and what its apps reported. */
interface SpawnedWorker {
  readonly worker: Worker;
  readonly link: ClusterLink;
  readonly exited: Promise<void>;
  readonly started: readonly StartedApp[];
}

/**
 * One worker thread and the apps it hosts, seen from the main thread. A thread that dies (a fatal
 * error in it, out of memory, terminated) is started again, up to `maxRestarts` times in
 * WORKER_RESTART_WINDOW_MS: its apps restore from their changelogs and checkpoints and go on from
 * their last commit, exactly once, as after a kill of the process. Past that, its apps stay in
 * ERROR and their /health answers 503.
 */
class AppWorker {
  readonly apps: WorkerRewardsApp[] = [];
  private worker!: Worker;
  private link!: ClusterLink;
  private exited!: Promise<void>;
  private nextId = 0;
  private readonly waiting = new Map<number, (f: AppFigures | null) => void>();
  private closing: Promise<void> | undefined;
  /** Why the worker is gone, once it is for good. */
  private gone: string | undefined;
  /** Set while a dead thread is being started again. */
  private restarting: Promise<void> | undefined;
  /** When each restart happened (performance.now), for the restart budget. */
  private readonly restartTimes: number[] = [];
  /** Restarts so far (reported in the apps' figures). */
  restarts = 0;
  private readonly group: readonly { readonly name: RewardsAppName; readonly port: number }[];
  private readonly options: RewardsAppsOptions;
  private readonly cluster: EmbeddedCluster;
  private readonly label: string;

  private constructor(
    group: readonly { readonly name: RewardsAppName; readonly port: number }[],
    options: RewardsAppsOptions,
    cluster: EmbeddedCluster,
    spawned: SpawnedWorker,
  ) {
    this.group = group;
    this.options = options;
    this.cluster = cluster;
    this.label = labelOf(group);
    for (const s of spawned.started) this.apps.push(new WorkerRewardsApp(this, s));
    this.adopt(spawned);
  }

  /** Takes `spawned` as the current thread of these apps and watches it. */
  private adopt(spawned: SpawnedWorker): void {
    const { worker } = spawned;
    this.worker = worker;
    this.link = spawned.link;
    this.exited = spawned.exited;
    for (const s of spawned.started) {
      const a = this.apps.find((x) => x.name === s.name);
      if (a) a.started = s;
    }
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
    let failure: string | undefined;
    worker.on("error", (e) => {
      failure = `its worker thread failed: ${e.message}`;
      for (const a of this.apps) a.current = "ERROR";
    });
    worker.once("exit", (code) => {
      for (const w of this.waiting.values()) w(null);
      this.waiting.clear();
      if (this.closing) return;
      const why = failure ?? `its worker thread exited (code ${code})`;
      for (const a of this.apps) if (a.current !== "NOT_RUNNING") a.current = "ERROR";
      void this.link.close();
      this.restarting = this.restart(why).finally(() => {
        this.restarting = undefined;
      });
    });
  }

  /** Starts the apps' thread again after it died, within the restart budget. */
  private async restart(why: string): Promise<void> {
    const log = this.options.logger;
    const max = this.options.maxWorkerRestarts ?? WORKER_RESTARTS;
    const now = performance.now();
    while (this.restartTimes.length > 0 && now - this.restartTimes[0]! > WORKER_RESTART_WINDOW_MS)
      this.restartTimes.shift();
    if (this.restartTimes.length >= max) {
      this.gone = why;
      log?.error(
        { apps: this.label, restarts: this.restarts, reason: why },
        `${this.label}: ${why}; not started again (${max} restarts in ${WORKER_RESTART_WINDOW_MS / 1000} s): its apps stay in ERROR`,
      );
      return;
    }
    this.restartTimes.push(now);
    this.restarts++;
    log?.warn(
      { apps: this.label, restart: this.restarts, reason: why },
      `${this.label}: ${why}; starting its thread again (its apps resume from their last commit)`,
    );
    for (const a of this.apps) a.current = "REBALANCING";
    try {
      const spawned = await AppWorker.spawn(this.group, this.options, this.cluster);
      if (this.closing) {
        // closed meanwhile: the new thread is not wanted
        await spawned.worker.terminate();
        await spawned.link.close();
        return;
      }
      this.adopt(spawned);
    } catch (e) {
      this.gone = `${why}; starting it again failed: ${(e as Error).message}`;
      for (const a of this.apps) a.current = "ERROR";
      log?.error({ apps: this.label, err: (e as Error).message }, `${this.label}: ${this.gone}`);
    }
  }

  static async start(
    group: readonly { readonly name: RewardsAppName; readonly port: number }[],
    options: RewardsAppsOptions,
    cluster: EmbeddedCluster,
  ): Promise<AppWorker> {
    return new AppWorker(group, options, cluster, await AppWorker.spawn(group, options, cluster));
  }

  private static async spawn(
    group: readonly { readonly name: RewardsAppName; readonly port: number }[],
    options: RewardsAppsOptions,
    cluster: EmbeddedCluster,
  ): Promise<SpawnedWorker> {
    const { port1, port2 } = new MessageChannel();
    const link = cluster.serveLink(port1);
    const init: AppWorkerInit = {
      rewardsApps: group,
      link: port2,
      stateDir: options.stateDir,
      instance: options.instance,
      partitions: options.partitions,
      host: options.host,
      livenessWorker: options.livenessWorker,
      correlation: options.correlation,
      ledgerRetention: options.ledgerRetention,
      commitIntervalMs: options.commitIntervalMs,
      idleCommitAfterMs: options.idleCommitAfterMs,
      numStreamThreads: options.numStreamThreads,
    };
    const label = labelOf(group);
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
      return { worker, link, exited, started };
    } catch (e) {
      await worker.terminate();
      await link.close();
      throw e;
    }
  }

  figures(app: RewardsAppName, applicationId: string): Promise<AppFigures> {
    if (this.gone) return Promise.reject(new Error(`${applicationId} is not running: ${this.gone}`));
    if (this.restarting) return Promise.reject(new Error(`${applicationId} is restarting its worker thread`));
    const id = this.nextId++;
    return new Promise<AppFigures>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${applicationId} did not report its figures within 10 s`));
      }, 10_000);
      this.waiting.set(id, (f) => {
        clearTimeout(timer);
        if (f === null) reject(new Error(`${applicationId} is not running: its worker thread ended`));
        else resolve({ ...f, workerRestarts: this.restarts });
      });
      this.worker.postMessage({ type: "figures", id, app } satisfies ToWorker);
    });
  }

  /**
   * Ends the worker thread at once, as a fatal error in it would: no commit, no leaving the group.
   * For failure drills and tests; the thread is then started again as after any death.
   */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  /** Resolves once a restart under way (if any) is over. */
  async settled(): Promise<void> {
    await this.restarting;
  }

  /** Graceful stop of every app of the worker (idempotent). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.restarting;
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

function labelOf(group: readonly { readonly name: RewardsAppName }[]): string {
  return group.map((g) => APP_IDS[g.name]).join("+");
}

/** The main thread's handle on an app running in a worker thread. */
export class WorkerRewardsApp implements RewardsApp {
  readonly name: RewardsAppName;
  readonly applicationId: string;
  current: KafkaStreamsState;
  /** What the app's current thread reported when it started (its URLs). */
  started: StartedApp;
  private readonly host: AppWorker;

  constructor(host: AppWorker, started: StartedApp) {
    this.host = host;
    this.name = started.name;
    this.applicationId = APP_IDS[started.name];
    this.started = started;
    this.current = started.state;
  }

  /** Base URL of the ops server (a thread started again with port 0 listens on a new port). */
  get url(): string {
    return this.started.url;
  }

  get livenessUrl(): string | undefined {
    return this.started.livenessUrl;
  }

  /** Times the app's worker thread died and was started again. */
  get workerRestarts(): number {
    return this.host.restarts;
  }

  state(): KafkaStreamsState {
    return this.current;
  }

  figures(): Promise<AppFigures> {
    return this.host.figures(this.name, this.applicationId);
  }

  /**
   * Ends the app's worker thread abruptly (with the other apps it hosts), as a fatal error in it
   * would; it is then started again within the restart budget. For failure drills and tests.
   */
  killThread(): Promise<void> {
    return this.host.kill();
  }

  /** Resolves once a restart of the app's thread under way (if any) is over. */
  restartSettled(): Promise<void> {
    return this.host.settled();
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
            instance: init.instance,
            partitions: init.partitions,
            host: init.host,
            livenessWorker: init.livenessWorker,
            correlation: init.correlation,
            ledgerRetention: init.ledgerRetention,
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
          message: `${app.applicationId} stopped on an error: ${app.streams.failure?.message ?? "see its log"}`,
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
