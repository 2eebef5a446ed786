// Test helpers for broker tests: temporary data directories and batch building.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker, type BrokerOptions } from "../../src/broker/index.ts";
import { encodeRecordBatch, type RecordInput } from "../../src/log/index.ts";

export function tempDir(prefix = "courant-broker-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openBroker(dir: string, extra: Partial<BrokerOptions> = {}): Promise<Broker> {
  return Broker.open({ dataDir: dir, timerIntervalMs: 0, groupMinSessionTimeoutMs: 10, ...extra });
}

export const enc = (s: string) => Buffer.from(s, "utf8");
export const dec = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString("utf8"));

export function batch(
  values: string[],
  o: {
    producerId?: number;
    producerEpoch?: number;
    baseSequence?: number;
    transactional?: boolean;
    key?: string;
  } = {},
): Buffer {
  const records: RecordInput[] = values.map((v) => ({
    key: o.key === undefined ? null : enc(o.key),
    value: enc(v),
  }));
  return encodeRecordBatch(records, {
    producerId: o.producerId ?? -1,
    producerEpoch: o.producerEpoch ?? -1,
    baseSequence: o.baseSequence ?? -1,
    transactional: o.transactional ?? false,
    timestamp: 1_700_000_000_000,
  });
}

export function produceOne(
  broker: Broker,
  topic: string,
  partition: number,
  records: Buffer,
  transactionalId?: string,
) {
  const r = broker.produceSync({
    acks: -1,
    transactionalId: transactionalId ?? null,
    topics: [{ name: topic, partitions: [{ index: partition, records }] }],
  });
  return r.responses[0]!.partitions[0]!;
}

/** Values visible at an isolation level, read through the log's decoded read path. */
export function readValues(
  broker: Broker,
  topic: string,
  partition: number,
  isolation: "read_committed" | "read_uncommitted",
) {
  const log = broker.partitionLog(topic, partition);
  const out: string[] = [];
  let offset = log.logStartOffset;
  for (;;) {
    const r = log.readRecords(offset, { isolation });
    for (const rec of r.records) out.push(dec(rec.value)!);
    if (r.nextOffset === offset) break;
    offset = r.nextOffset;
  }
  return out;
}
