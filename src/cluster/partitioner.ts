// Kafka's default partitioner: murmur2 of the key bytes for keyed records (byte-for-byte as
// org.apache.kafka.common.utils.Utils.murmur2), so keys land on the same partitions as with Java clients.

/** Kafka's murmur2 hash (signed 32-bit result, like Java's int). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  // Kafka's switch falls through from case 3 to case 1.
  const rem = length % 4;
  if (rem >= 3) h ^= data[tail + 2]! << 16;
  if (rem >= 2) h ^= data[tail + 1]! << 8;
  if (rem >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive. */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** Partition of a keyed record, as Kafka's BuiltInPartitioner.partitionForKey. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/**
 * Sticky choice for records without a key (KIP-480): one partition is used for a whole send, then
 * another is picked, so batches fill up instead of spreading single records over every partition.
 */
export class StickyPartitionCache {
  private readonly current = new Map<string, number>();

  partition(topic: string, numPartitions: number): number {
    let p = this.current.get(topic);
    if (p === undefined || p >= numPartitions) {
      p = Math.floor(Math.random() * numPartitions);
      this.current.set(topic, p);
    }
    return p;
  }

  /** Called after a batch was sent to `topic`: the next batch goes elsewhere when there is a choice. */
  next(topic: string, numPartitions: number): void {
    const prev = this.current.get(topic);
    if (numPartitions <= 1) {
      this.current.set(topic, 0);
      return;
    }
    let p = Math.floor(Math.random() * (numPartitions - 1));
    if (prev !== undefined && p >= prev) p++;
    this.current.set(topic, p);
  }
}
