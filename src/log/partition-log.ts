// STUB: the API of one partition's log; implementation in progress.
import { LogError } from "./errors.ts";
import type {
  AppendOptions,
  AppendResult,
  EncodeBatchOptions,
  FetchResult,
  IsolationLevel,
  ListOffsetResult,
  ListOffsetSpec,
  LogConfig,
  PartitionInfo,
  ProducerStateView,
  ReadOptions,
  ReadRecordsOptions,
  ReadRecordsResult,
  RecordInput,
  WaitForDataOptions,
} from "./types.ts";

export interface ControlMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly type: "commit" | "abort";
  readonly coordinatorEpoch: number;
  /** Default: the log's clock. */
  readonly timestamp?: number;
}

function todo(): never {
  throw new LogError("LOG_CLOSED", "not implemented yet");
}

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }
  get config(): LogConfig {
    return todo();
  }
  get logStartOffset(): number {
    return todo();
  }
  get logEndOffset(): number {
    return todo();
  }
  get highWatermark(): number {
    return todo();
  }
  get lastStableOffset(): number {
    return todo();
  }
  append(_batches: Uint8Array, _options?: AppendOptions): AppendResult {
    return todo();
  }
  appendRecords(
    _records: readonly RecordInput[],
    _options?: EncodeBatchOptions & AppendOptions,
  ): AppendResult {
    return todo();
  }
  appendControlMarker(_marker: ControlMarker): AppendResult {
    return todo();
  }
  read(_fetchOffset: number, _maxBytes: number, _options?: ReadOptions): FetchResult {
    return todo();
  }
  readRecords(_fetchOffset: number, _options?: ReadRecordsOptions): ReadRecordsResult {
    return todo();
  }
  listOffset(_spec: ListOffsetSpec, _isolation?: IsolationLevel): ListOffsetResult {
    return todo();
  }
  deleteRecordsBefore(_offset: number): number {
    return todo();
  }
  producerState(_producerId: number): ProducerStateView | undefined {
    return todo();
  }
  producerStates(): ProducerStateView[] {
    return todo();
  }
  ongoingTransactions(): { producerId: number; firstOffset: number }[] {
    return todo();
  }
  waitForData(_offset: number, _options?: WaitForDataOptions): Promise<boolean> {
    return todo();
  }
  onAppend(_listener: (log: PartitionLog) => void): () => void {
    return todo();
  }
  flush(): void {
    todo();
  }
  info(): PartitionInfo {
    return todo();
  }
}
