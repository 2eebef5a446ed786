// Runtime processor graph. DSL operators compile to subclasses of ProcessorNode whose hot path
// is a plain method call with (key, value, timestamp): no Record allocation, no promise. The
// record context (topic, partition, offset, headers) lives on the TaskContext.
import type { Serde } from "../../serde/index.ts";
import { ProcessingError, StreamsError } from "../errors.ts";
import type {
  Cancellable,
  ProcessorContext,
  PunctuationType,
  Punctuator,
  RecordMetadata,
} from "../processor.ts";
import {
  type Headers,
  Record,
  type RecordContext,
  type StreamPartitioner,
  type TimestampExtractor,
} from "../types.ts";
import type { TaskContext } from "./context.ts";
import { fastSerde } from "./serdes.ts";

export abstract class ProcessorNode {
  readonly name: string;
  children: ProcessorNode[] = [];
  childByName = new Map<string, ProcessorNode>();
  ctx!: TaskContext;
  constructor(name: string) {
    this.name = name;
  }
  addChild(c: ProcessorNode): void {
    this.children.push(c);
    this.childByName.set(c.name, c);
  }
  init(ctx: TaskContext): void {
    this.ctx = ctx;
  }
  abstract process(key: unknown, value: unknown, timestamp: number): void;
  close(): void {}
  forward(key: unknown, value: unknown, timestamp: number): void {
    const c = this.children;
    for (let i = 0; i < c.length; i++) c[i]!.process(key, value, timestamp);
  }
}

export class SourceNode extends ProcessorNode {
  readonly topics: readonly string[];
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly extractor: TimestampExtractor<unknown, unknown> | undefined;
  constructor(
    name: string,
    topics: readonly string[],
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    extractor: TimestampExtractor<unknown, unknown> | undefined,
  ) {
    super(name);
    this.topics = topics;
    this.keySerde = fastSerde(keySerde);
    this.valueSerde = fastSerde(valueSerde);
    this.extractor = extractor;
  }
  process(key: unknown, value: unknown, timestamp: number): void {
    this.forward(key, value, timestamp);
  }
}

export type TopicChooser = (key: unknown, value: unknown, ctx: RecordContext) => string;

export class SinkNode extends ProcessorNode {
  readonly topic: string | undefined;
  readonly topicExtractor: TopicChooser | undefined;
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly partitioner: StreamPartitioner<unknown, unknown> | undefined;
  private lastKey: unknown = undefined;
  private lastTopic = "";
  private lastKeyBytes: Uint8Array | null = null;
  constructor(
    name: string,
    topic: string | TopicChooser,
    keySerde: Serde<unknown>,
    valueSerde: Serde<unknown>,
    partitioner: StreamPartitioner<unknown, unknown> | undefined,
  ) {
    super(name);
    if (typeof topic === "string") this.topic = topic;
    else this.topicExtractor = topic;
    this.keySerde = fastSerde(keySerde);
    this.valueSerde = fastSerde(valueSerde);
    this.partitioner = partitioner;
  }
  process(key: unknown, value: unknown, timestamp: number): void {
    const ctx = this.ctx;
    const topic = this.topic ?? this.topicExtractor!(key, value, ctx.recordContext());
    let k: Uint8Array | null;
    let v: Uint8Array | null;
    try {
      if (key === this.lastKey && topic === this.lastTopic && typeof key !== "object") k = this.lastKeyBytes;
      else {
        k = this.keySerde.serialize(topic, key);
        this.lastKey = key;
        this.lastTopic = topic;
        this.lastKeyBytes = k;
      }
      v = this.valueSerde.serialize(topic, value);
    } catch (e) {
      throw new StreamsError(
        "SERIALIZATION",
        `sink ${this.name}: cannot serialize record for topic ${topic}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    let partition: number | undefined;
    if (this.partitioner !== undefined) {
      const n = ctx.collector.partitionsFor(topic);
      if (n !== undefined) partition = this.partitioner(topic, key, value, n);
    }
    ctx.collector.send(topic, k, v, timestamp, ctx.headers, partition);
  }
}

/** Adapts a user Processor (Record-based) to the node graph. */
export class UserProcessorNode extends ProcessorNode {
  private readonly processor: {
    init?(c: ProcessorContext<unknown, unknown>): void;
    process(r: Record<unknown, unknown>): void;
    close?(): void;
  };
  readonly storeNames: readonly string[];
  constructor(
    name: string,
    processor: {
      init?(c: ProcessorContext<unknown, unknown>): void;
      process(r: Record<unknown, unknown>): void;
      close?(): void;
    },
    storeNames: readonly string[],
  ) {
    super(name);
    this.processor = processor;
    this.storeNames = storeNames;
  }
  override init(ctx: TaskContext): void {
    super.init(ctx);
    this.processor.init?.(userContext(this));
  }
  process(key: unknown, value: unknown, timestamp: number): void {
    this.processor.process(new Record(key, value, timestamp, this.ctx.headers));
  }
  override close(): void {
    this.processor.close?.();
  }
  get applicationId(): string {
    return this.ctx.applicationId;
  }
  get taskId(): string {
    return this.ctx.taskId;
  }
  recordMetadata(): RecordMetadata | null {
    const c = this.ctx;
    return c.topic === null ? null : { topic: c.topic, partition: c.partition, offset: c.offset };
  }
  recordContext(): RecordContext {
    return this.ctx.recordContext();
  }
  currentStreamTimeMs(): number {
    return this.ctx.streamTime;
  }
  currentSystemTimeMs(): number {
    return this.ctx.runWallClock ?? this.ctx.clock.now();
  }
  getStateStore<S>(name: string): S {
    if (!this.storeNames.includes(name)) {
      throw new StreamsError(
        "STORE_NOT_FOUND",
        `processor ${this.name} has no access to store ${name}; connect it with addStateStore(spec, "${this.name}") or connectProcessorAndStateStores`,
      );
    }
    return this.ctx.getStore(name) as S;
  }
  forwardRecord(record: Record<unknown, unknown>, childName?: string): void {
    const ctx = this.ctx;
    const saved = ctx.headers;
    ctx.headers = record.headers;
    try {
      if (childName !== undefined) {
        const c = this.childByName.get(childName);
        if (c === undefined) {
          throw new StreamsError(
            "TOPOLOGY_INVALID",
            `processor ${this.name} has no child named ${childName}`,
          );
        }
        c.process(record.key, record.value, record.timestamp);
      } else {
        this.forward(record.key, record.value, record.timestamp);
      }
    } finally {
      ctx.headers = saved;
    }
  }
  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
    return this.ctx.schedule(intervalMs, type, punctuator, this.name);
  }
  commit(): void {
    this.ctx.commitRequested = true;
  }
}

// `forward` has two meanings: ProcessorNode.forward(key, value, ts) inside the graph, and the
// Processor API's forward(record, child?). The context object handed to user code is this proxy.
export function userContext(node: UserProcessorNode): ProcessorContext<unknown, unknown> {
  return {
    get applicationId() {
      return node.applicationId;
    },
    get taskId() {
      return node.taskId;
    },
    recordMetadata: () => node.recordMetadata(),
    recordContext: () => node.recordContext(),
    currentStreamTimeMs: () => node.currentStreamTimeMs(),
    currentSystemTimeMs: () => node.currentSystemTimeMs(),
    getStateStore: <S>(name: string) => node.getStateStore<S>(name),
    forward: (r, child) => node.forwardRecord(r, child),
    schedule: (i, t, p) => node.schedule(i, t, p),
    commit: () => node.commit(),
  };
}

export function wrapProcessingError(node: string, ctx: TaskContext, e: unknown): Error {
  if (e instanceof ProcessingError) return e;
  return new ProcessingError(node, { topic: ctx.topic, partition: ctx.partition, offset: ctx.offset }, e);
}

export const EMPTY_HEADERS: Headers = Object.freeze([]) as Headers;
