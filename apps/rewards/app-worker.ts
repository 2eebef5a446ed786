// Worker-thread placement of the rewards apps: each app runs in a worker thread of its own (its
// own event loop, its own core when one is free), over a link to the embedded broker that stays
// on the main thread. On this 2-core machine the three apps and the broker share one event loop
// otherwise, and the pipeline is CPU bound on one core (docs/rewards.md, "Throughput").
//
// The worker builds its app exactly as the inline placement does (startInlineApp); only the
// cluster differs. The main thread keeps a handle (WorkerRewardsApp) that answers state(),
// figures() and close() through messages.
import {
  isMainThread,
  MessageChannel,
  type MessagePort,
  parentPort,
  Worker,
  workerData,
} from "node:worker_threads";
import { EmbeddedCluster } from "../../src/cluster/index.ts";
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

/** What a worker needs to build its app: the serialisable part of RewardsAppsOptions. */
interface AppWorkerInit {
  readonly rewardsApp: RewardsAppName;
  readonly link: MessagePort;
  readonly stateDir: string;
  readonly partitions: number | undefined;
  readonly host: string | undefined;
  readonly port: number;
  readonly livenessWorker: boolean | undefined;
  readonly correlation: CorrelationOptions | undefined;
  readonly commitIntervalMs: number | undefined;
  readonly numStreamThreads: number | undefined;
}

type ToWorker = { readonly type: "figures"; readonly id: number } | { readonly type: "close" };

type FromWorker =
  | {
      readonly type: "started";
      readonly url: string;
      readonly livenessUrl: string | undefined;
      readonly state: KafkaStreamsState;
    }
  | { readonly type: "state"; readonly state: KafkaStreamsState }
  | { readonly type: "figures"; readonly id: number; readonly figures: AppFigures }
  | { readonly type: "closed" }
  | { readonly type: "failed"; readonly message: string; readonly code: string | undefined };

/** The main thread's handle on an app running in a worker thread. */
class WorkerRewardsApp implements RewardsApp {
  readonly name: RewardsAppName;
  readonly applicationId: string;
  readonly url: string;
  readonly livenessUrl: string | undefined;
  private readonly worker: Worker;
  private readonly link: { close(): Promise<void> };
  private current: KafkaStreamsState;
  private nextId = 0;
  private readonly waiting = new Map<number, (f: AppFigures) => void>();
  private exited: Promise<void>;
  private failure: Error | undefined;

  private constructor(
    name: RewardsAppName,
    worker: Worker,
    link: { close(): Promise<void> },
    started: { url: string; livenessUrl: string | undefined; state: KafkaStreamsState },
    exited: Promise<void>,
  ) {
    this.name = name;
    this.applicationId = APP_IDS[name];
    this.worker = worker;
    this.link = link;
    this.url = started.url;
    this.livenessUrl = started.livenessUrl;
    this.current = started.state;
    this.exited = exited;
    worker.on("message", (m: FromWorker) => {
      if (m.type === "state") this.current = m.state;
      else if (m.type === "figures") {
        this.waiting.get(m.id)?.(m.figures);
        this.waiting.delete(m.id);
      } else if (m.type === "failed") {
        this.failure = Object.assign(new Error(`${this.applicationId}: ${m.message}`), { code: m.code });
        this.current = "ERROR";
      }
    });
  }

  static async start(
    name: RewardsAppName,
    options: RewardsAppsOptions,
    port: number,
    cluster: EmbeddedCluster,
  ): Promise<WorkerRewardsApp> {
    const { port1, port2 } = new MessageChannel();
    const link = cluster.serveLink(port1);
    const init: AppWorkerInit = {
      rewardsApp: name,
      link: port2,
      stateDir: options.stateDir,
      partitions: options.partitions,
      host: options.host,
      port,
      livenessWorker: options.livenessWorker,
      correlation: options.correlation,
      commitIntervalMs: options.commitIntervalMs,
      numStreamThreads: options.numStreamThreads,
    };
    const worker = new Worker(new URL(import.meta.url), {
      workerData: init,
      transferList: [port2],
      name: APP_IDS[name],
    });
    let exit!: () => void;
    const exited = new Promise<void>((r) => {
      exit = r;
    });
    worker.once("exit", () => exit());
    try {
      type Started = { url: string; livenessUrl: string | undefined; state: KafkaStreamsState };
      const started = await new Promise<Started>((resolve, reject) => {
        const onMessage = (m: FromWorker) => {
          if (m.type === "started") resolve(m);
          else if (m.type === "failed")
            reject(
              Object.assign(new Error(`${APP_IDS[name]} failed to start: ${m.message}`), { code: m.code }),
            );
        };
        worker.on("message", onMessage);
        worker.once("error", reject);
        worker.once("exit", (code) =>
          reject(new Error(`${APP_IDS[name]} worker exited (code ${code}) while starting`)),
        );
      });
      worker.removeAllListeners("message");
      worker.removeAllListeners("error");
      worker.on("error", () => {}); // reported through "failed" and state(); never an unhandled event
      return new WorkerRewardsApp(name, worker, link, started, exited);
    } catch (e) {
      await worker.terminate();
      await link.close();
      throw e;
    }
  }

  state(): KafkaStreamsState {
    return this.current;
  }

  /** The error that stopped the app, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  figures(): Promise<AppFigures> {
    const id = this.nextId++;
    return new Promise<AppFigures>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.applicationId} did not report its figures within 10 s`));
      }, 10_000);
      this.waiting.set(id, (f) => {
        clearTimeout(timer);
        resolve(f);
      });
      this.worker.postMessage({ type: "figures", id } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: "close" } satisfies ToWorker);
    // A clean close commits and leaves the group; bounded, then the thread is stopped (the next
    // start recovers from the last commit, as after a crash).
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 30_000).unref());
    if ((await Promise.race([this.exited, timeout])) === "timeout") await this.worker.terminate();
    await this.link.close();
  }
}

/** Starts each app in a worker thread of its own over links to `options.cluster`'s broker. */
export async function startAppWorkers(options: RewardsAppsOptions): Promise<RewardsApps> {
  const cluster = options.cluster;
  if (!(cluster instanceof EmbeddedCluster))
    throw new Error(
      'placement "workers" runs the apps over links to an embedded broker; with a Kafka cluster use placement "inline" (one process per app scales instead)',
    );
  const names = options.apps ?? REWARDS_APPS;
  const base = options.basePort ?? 0;
  const settled = await Promise.allSettled(
    names.map((n, i) => WorkerRewardsApp.start(n, options, base === 0 ? 0 : base + i, cluster)),
  );
  const started = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) {
    await new RewardsApps(started).close();
    throw failed.reason;
  }
  return new RewardsApps(started);
}

// ---- the worker side ---------------------------------------------------------------------------

async function runWorker(init: AppWorkerInit): Promise<void> {
  const port = parentPort!;
  const post = (m: FromWorker) => port.postMessage(m);
  const cluster = EmbeddedCluster.attach(init.link);
  const opened: TopicTable[] = [];
  let app: InlineRewardsApp;
  try {
    app = await startInlineApp(
      init.rewardsApp,
      {
        cluster,
        stateDir: init.stateDir,
        partitions: init.partitions,
        host: init.host,
        livenessWorker: init.livenessWorker,
        correlation: init.correlation,
        commitIntervalMs: init.commitIntervalMs,
        numStreamThreads: init.numStreamThreads,
      },
      init.port,
      opened,
    );
  } catch (e) {
    post({ type: "failed", message: (e as Error).message, code: (e as { code?: string }).code });
    await Promise.all(opened.map((t) => t.close().catch(() => {})));
    await cluster.close().catch(() => {});
    process.exit(1);
  }
  app.streams.onStateChange((to) => {
    post({ type: "state", state: to });
    if (to === "ERROR")
      post({ type: "failed", message: "the app stopped on an error (see its log)", code: undefined });
  });
  post({ type: "started", url: app.url, livenessUrl: app.livenessUrl, state: app.streams.state });
  port.on("message", (m: ToWorker) => {
    if (m.type === "figures") {
      void app.figures().then((figures) => post({ type: "figures", id: m.id, figures }));
    } else if (m.type === "close") {
      void (async () => {
        await app.close();
        await Promise.all(opened.map((t) => t.close()));
        await cluster.close();
        post({ type: "closed" });
        port.close();
      })();
    }
  });
}

if (!isMainThread && (workerData as Partial<AppWorkerInit> | null)?.rewardsApp !== undefined) {
  await runWorker(workerData as AppWorkerInit);
}
