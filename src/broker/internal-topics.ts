// Record formats of the internal compacted topics. __consumer_offsets uses Kafka's own key/value
// schemas for offsets (OffsetCommitKey v1, OffsetCommitValue v3); group metadata and transaction state
// carry JSON values under Kafka-shaped keys (only this broker reads them).
import type { CommittedOffset, GroupSnapshot } from "./group-coordinator.ts";
import type { TxnRecord } from "./txn-coordinator.ts";

export const OFFSETS_TOPIC = "__consumer_offsets";
export const TXN_STATE_TOPIC = "__transaction_state";
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set([OFFSETS_TOPIC, TXN_STATE_TOPIC]);

const OFFSET_KEY_VERSION = 1;
const GROUP_KEY_VERSION = 2;
const TXN_KEY_VERSION = 0;
/** Not a Kafka key version: Courant's record of the next producer id block. */
const PID_BLOCK_KEY_VERSION = 100;

function str(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function readStr(buf: Buffer, pos: number): [string | null, number] {
  const n = buf.readInt16BE(pos);
  if (n < 0) return [null, pos + 2];
  return [buf.toString("utf8", pos + 2, pos + 2 + n), pos + 2 + n];
}

export function offsetKey(group: string, topic: string, partition: number): Buffer {
  const v = Buffer.allocUnsafe(2);
  v.writeInt16BE(OFFSET_KEY_VERSION, 0);
  const p = Buffer.allocUnsafe(4);
  p.writeInt32BE(partition, 0);
  return Buffer.concat([v, str(group), str(topic), p]);
}

export function groupKey(group: string): Buffer {
  const v = Buffer.allocUnsafe(2);
  v.writeInt16BE(GROUP_KEY_VERSION, 0);
  return Buffer.concat([v, str(group)]);
}

export function offsetValue(o: CommittedOffset): Buffer {
  const md = o.metadata === null ? Buffer.from([0xff, 0xff]) : str(o.metadata);
  const head = Buffer.allocUnsafe(2 + 8 + 4);
  head.writeInt16BE(3, 0);
  head.writeBigInt64BE(BigInt(o.offset), 2);
  head.writeInt32BE(o.leaderEpoch, 10);
  const ts = Buffer.allocUnsafe(8);
  ts.writeBigInt64BE(BigInt(o.commitTimestamp), 0);
  return Buffer.concat([head, md, ts]);
}

export function decodeOffsetValue(b: Buffer): CommittedOffset {
  const version = b.readInt16BE(0);
  const offset = Number(b.readBigInt64BE(2));
  let pos = 10;
  let leaderEpoch = -1;
  if (version >= 3) {
    leaderEpoch = b.readInt32BE(pos);
    pos += 4;
  }
  const [metadata, p2] = readStr(b, pos);
  const commitTimestamp = Number(b.readBigInt64BE(p2));
  return { offset, leaderEpoch, metadata, commitTimestamp };
}

export type OffsetsTopicKey =
  | { kind: "offset"; group: string; topic: string; partition: number }
  | { kind: "group"; group: string }
  | { kind: "unknown" };

export function decodeOffsetsKey(b: Buffer): OffsetsTopicKey {
  const version = b.readInt16BE(0);
  const [group, p1] = readStr(b, 2);
  if (group === null) return { kind: "unknown" };
  if (version === 0 || version === 1) {
    const [topic, p2] = readStr(b, p1);
    return { kind: "offset", group, topic: topic ?? "", partition: b.readInt32BE(p2) };
  }
  if (version === GROUP_KEY_VERSION) return { kind: "group", group };
  return { kind: "unknown" };
}

export function groupValue(s: GroupSnapshot): Buffer {
  return Buffer.from(JSON.stringify(s), "utf8");
}

export function decodeGroupValue(b: Buffer): GroupSnapshot {
  return JSON.parse(b.toString("utf8")) as GroupSnapshot;
}

export function txnKey(transactionalId: string): Buffer {
  const v = Buffer.allocUnsafe(2);
  v.writeInt16BE(TXN_KEY_VERSION, 0);
  return Buffer.concat([v, str(transactionalId)]);
}

export function pidBlockKey(): Buffer {
  const v = Buffer.allocUnsafe(2);
  v.writeInt16BE(PID_BLOCK_KEY_VERSION, 0);
  return v;
}

export type TxnTopicKey =
  | { kind: "txn"; transactionalId: string }
  | { kind: "pid-block" }
  | { kind: "unknown" };

export function decodeTxnKey(b: Buffer): TxnTopicKey {
  const version = b.readInt16BE(0);
  if (version === PID_BLOCK_KEY_VERSION) return { kind: "pid-block" };
  if (version === TXN_KEY_VERSION) {
    const [id] = readStr(b, 2);
    return id === null ? { kind: "unknown" } : { kind: "txn", transactionalId: id };
  }
  return { kind: "unknown" };
}

export function txnValue(r: TxnRecord): Buffer {
  return Buffer.from(JSON.stringify(r), "utf8");
}

export function decodeTxnValue(b: Buffer): TxnRecord {
  return JSON.parse(b.toString("utf8")) as TxnRecord;
}

/** Java's String.hashCode, for Kafka's partitionFor(groupId) = abs(hash) % partitions. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

export function partitionForGroup(groupId: string, partitions: number): number {
  const h = javaStringHash(groupId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}
