// Main-thread side of the worker-thread liveness endpoint: owns the heartbeat the worker reads.
import { Worker } from "node:worker_threads";

export interface LivenessWorkerOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly maxLoopStallMs: number;
  /** How often the main loop stamps its heartbeat (default 100 ms). */
  readonly beatIntervalMs?: number;
  /** True once the service has failed: the heartbeat then says so and /health answers 503. */
  readonly failed?: () => boolean;
}

/** Heartbeat value of a failed service (a timestamp is never negative). */
export const FAILED_BEAT = -1n;

export class LivenessWorker {
  private readonly options: LivenessWorkerOptions;
  private readonly heartbeat = new SharedArrayBuffer(8);
  private readonly beat = new BigInt64Array(this.heartbeat);
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private boundUrl: string | undefined;

  constructor(options: LivenessWorkerOptions) {
    this.options = options;
  }

  async start(): Promise<string> {
    this.stamp();
    this.timer = setInterval(() => this.stamp(), this.options.beatIntervalMs ?? 100);
    this.timer.unref();
    const worker = new Worker(new URL("./liveness-thread.ts", import.meta.url), {
      workerData: {
        heartbeat: this.heartbeat,
        host: this.options.host,
        port: this.options.port,
        maxLoopStallMs: this.options.maxLoopStallMs,
        name: this.options.name,
      },
    });
    this.worker = worker;
    const port = await new Promise<number>((resolve, reject) => {
      worker.once("message", (m: { port?: number; error?: string }) =>
        m.port !== undefined ? resolve(m.port) : reject(new Error(`liveness worker: ${m.error}`)),
      );
      worker.once("error", reject);
    });
    worker.unref();
    const h = this.options.host.includes(":") ? `[${this.options.host}]` : this.options.host;
    this.boundUrl = `http://${h}:${port}`;
    return this.boundUrl;
  }

  get url(): string | undefined {
    return this.boundUrl;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private stamp(): void {
    let failed = false;
    try {
      failed = this.options.failed?.() ?? false;
    } catch {
      failed = true;
    }
    Atomics.store(this.beat, 0, failed ? FAILED_BEAT : BigInt(Date.now()));
  }
}
