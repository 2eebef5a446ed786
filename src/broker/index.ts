// Public face of the broker layer: the single-node broker's in-process API (one method per Kafka API).
export * from "./broker.ts";
export * from "./errors.ts";
export {
  type CommittedOffset,
  type DescribedGroup,
  GroupCoordinator,
  type GroupState,
  type HeartbeatRequest,
  type JoinGroupMember,
  type JoinGroupProtocol,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
  type OffsetCommitRequest,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type PartitionErrorResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from "./group-coordinator.ts";
export { INTERNAL_TOPICS, OFFSETS_TOPIC, TXN_STATE_TOPIC } from "./internal-topics.ts";
export {
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  TxnCoordinator,
  type TxnState,
} from "./txn-coordinator.ts";
