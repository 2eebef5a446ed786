// Async operators: call out (HTTP, database) per record with bounded concurrency while keeping
// the order of results per key. Results are forwarded with the context of their input record.
// The task stops taking new records while `concurrency` calls are in flight and waits for all
// of them before it commits, so a commit never covers a record whose result was not produced.
import { StreamsError } from "../errors.ts";
import type { Headers } from "../types.ts";
import type { TaskContext } from "./context.ts";
import { ProcessorNode } from "./node.ts";

interface Pending {
  key: unknown;
  ts: number;
  topic: string | null;
  partition: number;
  offset: number;
  headers: Headers;
  done: boolean;
  result: unknown;
}

export class AsyncMapValuesNode extends ProcessorNode {
  private readonly fn: (v: unknown, k: unknown) => Promise<unknown>;
  private readonly concurrency: number;
  private inFlight = 0;
  /** Per key, the queue of calls in input order; heads are forwarded as they complete. */
  private readonly queues = new Map<unknown, Pending[]>();
  private waiters: (() => void)[] = [];
  private error: unknown;
  constructor(name: string, fn: (v: unknown, k: unknown) => Promise<unknown>, concurrency: number) {
    super(name);
    this.fn = fn;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new StreamsError(
        "CONFIG_INVALID",
        `async operator ${name}: concurrency must be >= 1, got ${concurrency}`,
      );
    }
    this.concurrency = concurrency;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    ctx.asyncOperators.push({
      pending: () => this.inFlight,
      full: () => this.inFlight >= this.concurrency,
      drain: () => this.drain(),
    });
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (this.error !== undefined) throw this.error;
    const ctx = this.ctx;
    const p: Pending = {
      key,
      ts,
      topic: ctx.topic,
      partition: ctx.partition,
      offset: ctx.offset,
      headers: ctx.headers,
      done: false,
      result: undefined,
    };
    const id = typeof key === "object" && key !== null ? JSON.stringify(key) : key;
    let q = this.queues.get(id);
    if (q === undefined) this.queues.set(id, (q = []));
    q.push(p);
    this.inFlight++;
    this.fn(value, key).then(
      (r) => {
        p.done = true;
        p.result = r;
        this.flushKey(id);
      },
      (e) => {
        this.error = new StreamsError(
          "PROCESSING",
          `async operator ${this.name} failed on record ${p.topic}-${p.partition}@${p.offset}: ${(e as Error)?.message ?? e}`,
          { cause: e },
        );
        this.inFlight--;
        this.wake();
      },
    );
  }
  private flushKey(key: unknown): void {
    const q = this.queues.get(key);
    if (q === undefined) return;
    const ctx = this.ctx;
    while (q.length > 0 && q[0]!.done) {
      const p = q.shift()!;
      this.inFlight--;
      const saved = [ctx.topic, ctx.partition, ctx.offset, ctx.timestamp, ctx.headers] as const;
      ctx.topic = p.topic;
      ctx.partition = p.partition;
      ctx.offset = p.offset;
      ctx.timestamp = p.ts;
      ctx.headers = p.headers;
      try {
        this.forward(p.key, p.result, p.ts);
      } catch (e) {
        this.error = e;
      } finally {
        [ctx.topic, ctx.partition, ctx.offset, ctx.timestamp, ctx.headers] = saved;
      }
    }
    if (q.length === 0) this.queues.delete(key);
    this.wake();
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /** Resolves once every call so far has completed and been forwarded; rejects on a failed call. */
  async drain(): Promise<void> {
    while (this.inFlight > 0 && this.error === undefined) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
    if (this.error !== undefined) throw this.error;
  }
}
