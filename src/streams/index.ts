// Public face of the streams layer: the DSL, the Processor API, topologies, stores as processors
// and queries see them, windows, the test driver and the runtime.
export {
  BranchedKStream,
  CogroupedKStream,
  type EmitStrategy,
  GlobalKTable,
  KGroupedStream,
  KGroupedTable,
  KStream,
  KTable,
  SessionWindowedKStream,
  StreamsBuilder,
  type StreamsBuilderOptions,
  TimeWindowedKStream,
} from "./dsl.ts";
export { ProcessingError, StreamsError, type StreamsErrorCode, TopologyError } from "./errors.ts";
export type { DeserializationDecision, DeserializationHandler, StoreProvider } from "./internals/task.ts";
export type {
  Cancellable,
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  PunctuationType,
  Punctuator,
  RecordMetadata,
} from "./processor.ts";
export {
  type KeyValueStore,
  type ReadOnlyKeyValueStore,
  type ReadOnlySessionStore,
  type ReadOnlyWindowStore,
  type SessionStore,
  type StoreKind,
  type StoreSpec,
  Stores,
  timestampedSerde,
  type ValueAndTimestamp,
  type WindowStore,
} from "./stores.ts";
export {
  TestInputTopic,
  TestOutputTopic,
  type TestDriverConfig,
  type TestRecord,
  TopologyTestDriver,
} from "./test-driver.ts";
export {
  type GlobalStoreDescription,
  type NodeDescription,
  type SubtopologyDescription,
  Topology,
  type TopologyDescription,
} from "./topology.ts";
export * from "./types.ts";
export * from "./windows.ts";
export {
  type DeserializationErrorPolicy,
  DLQ_HEADERS,
  type KafkaStreamsOptions,
  type ProcessingGuarantee,
  type RestoreProgress,
  replaceThreadUpTo,
  type UncaughtErrorResponse,
} from "./runtime/config.ts";
export {
  KafkaStreams,
  type KafkaStreamsState,
  type KeyQueryMetadata,
  type StateListener,
  type ThreadMetadata,
} from "./runtime/kafka-streams.ts";
export { type ResetResult, resetApplication } from "./runtime/reset.ts";
export { allocationSitePretenuringDisabled } from "./runtime/gc.ts";
export { declareFreshSerializer } from "./internals/serdes.ts";
