// The Processor API: custom processors with access to state stores, the record context and
// punctuators, shaped like Kafka Streams' `org.apache.kafka.streams.processor.api`.
import type { Record, RecordContext } from "./types.ts";

/** "streamTime" fires as event time advances; "wallClockTime" as the system clock does. */
export type PunctuationType = "streamTime" | "wallClockTime";

export interface Cancellable {
  cancel(): void;
}

export type Punctuator = (timestamp: number) => void;

export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface ProcessorContext<KOut, VOut> {
  readonly applicationId: string;
  /** "<subtopology>_<partition>", as Kafka's TaskId. */
  readonly taskId: string;
  /** Coordinates of the record being processed; null inside a punctuation. */
  recordMetadata(): RecordMetadata | null;
  /** Topic, partition, offset, timestamp and headers of the current record. */
  recordContext(): RecordContext;
  currentStreamTimeMs(): number;
  currentSystemTimeMs(): number;
  /** The store registered under `name` and connected to this processor (unchecked cast, as in Kafka). */
  getStateStore<S>(name: string): S;
  /** Sends a record to every child, or to the child named `childName`. */
  forward(record: Record<KOut, VOut>, childName?: string): void;
  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable;
  /** Asks the runtime to commit soon after this record. */
  commit(): void;
}

export interface Processor<KIn, VIn, KOut = never, VOut = never> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: Record<KIn, VIn>): void;
  close?(): void;
}

/** Returns a new processor instance per task. */
export type ProcessorSupplier<KIn, VIn, KOut = never, VOut = never> = () => Processor<KIn, VIn, KOut, VOut>;
