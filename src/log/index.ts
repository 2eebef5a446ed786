// Public face of the log layer: durable partition logs storing Kafka v2 record batches.
// Other layers import only from here.

export { isCompressionSupported } from "./compression.ts";
export { parseTopicConfig, TOPIC_CONFIG_DEFAULTS, validateTopicName } from "./config.ts";
export { isLogError, LogError, type LogErrorCode } from "./errors.ts";
export { LogManager, type LogManagerOptions } from "./log-manager.ts";
export { type ControlMarker, decodeFetchedRecords, PartitionLog } from "./partition-log.ts";
export {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  ATTR_TIMESTAMP_TYPE,
  ATTR_TRANSACTIONAL,
  type BatchLocation,
  checkBatchRecords,
  crc32c,
  crc32cImplementation,
  decodeBatchRecords,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
  encodedInProcess,
  iterateBatches,
  LOG_OVERHEAD,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  parseControlRecord,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
  updateBatchCrc,
  validateRecordBatch,
  vouchEncoded,
} from "./record-batch.ts";
export type * from "./types.ts";
