// Kafka's ConsumerProtocol: the bytes a consumer puts in JoinGroup metadata (Subscription) and the
// bytes the group leader hands back through SyncGroup (Assignment). Same encoding as the Java client
// and librdkafka (non-flexible, big-endian), so mixed groups over the wire understand each other.
import type { TopicPartition } from "./types.ts";

export const CONSUMER_PROTOCOL_TYPE = "consumer";

export interface Subscription {
  readonly topics: readonly string[];
  readonly userData: Uint8Array | null;
  /** Partitions the member owns now (version 1+, used by cooperative rebalancing). */
  readonly ownedPartitions: readonly TopicPartition[];
  /** Generation the owned partitions belong to (version 2+; -1 unknown). */
  readonly generationId: number;
  readonly rackId: string | null;
}

export interface Assignment {
  readonly partitions: readonly TopicPartition[];
  readonly userData: Uint8Array | null;
}

export class ConsumerProtocolError extends Error {
  readonly code = "INCONSISTENT_GROUP_PROTOCOL";
  constructor(message: string) {
    super(message);
    this.name = "ConsumerProtocolError";
  }
}

class Writer {
  private buf = new Uint8Array(128);
  private view = new DataView(this.buf.buffer);
  pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  int16(v: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
  }
  int32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }
  string(s: string | null): void {
    if (s === null) {
      this.int16(-1);
      return;
    }
    const b = Buffer.from(s, "utf8");
    this.int16(b.length);
    this.raw(b);
  }
  bytes(b: Uint8Array | null): void {
    if (b === null) {
      this.int32(-1);
      return;
    }
    this.int32(b.length);
    this.raw(b);
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

class Reader {
  private readonly view: DataView;
  private readonly buf: Uint8Array;
  private readonly what: string;
  pos = 0;
  constructor(buf: Uint8Array, what: string) {
    this.buf = buf;
    this.what = what;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number, field: string): void {
    if (this.pos + n > this.buf.length)
      throw new ConsumerProtocolError(
        `${this.what}: truncated at byte ${this.pos} reading ${field} (needs ${n} bytes, ${this.remaining} left)`,
      );
  }
  int16(field: string): number {
    this.need(2, field);
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }
  int32(field: string): number {
    this.need(4, field);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  string(field: string): string | null {
    const n = this.int16(field);
    if (n < 0) return null;
    this.need(n, field);
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n).toString("utf8");
    this.pos += n;
    return s;
  }
  bytes(field: string): Uint8Array | null {
    const n = this.int32(field);
    if (n < 0) return null;
    this.need(n, field);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  array<T>(field: string, item: () => T): T[] {
    const n = this.int32(field);
    if (n < 0) return [];
    if (n > this.remaining)
      throw new ConsumerProtocolError(`${this.what}: ${field} claims ${n} entries at byte ${this.pos - 4}`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }
}

function groupByTopic(tps: readonly TopicPartition[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    let l = m.get(tp.topic);
    if (!l) m.set(tp.topic, (l = []));
    l.push(tp.partition);
  }
  return m;
}

function writeTopicPartitions(w: Writer, tps: readonly TopicPartition[]): void {
  const byTopic = groupByTopic(tps);
  w.int32(byTopic.size);
  for (const [topic, parts] of byTopic) {
    w.string(topic);
    w.int32(parts.length);
    for (const p of parts) w.int32(p);
  }
}

function readTopicPartitions(r: Reader, field: string): TopicPartition[] {
  const out: TopicPartition[] = [];
  r.array(field, () => {
    const topic = r.string(`${field}.topic`) ?? "";
    const parts = r.array(`${field}.partitions`, () => r.int32(`${field}.partition`));
    for (const partition of parts) out.push({ topic, partition });
  });
  return out;
}

/** Encodes a Subscription; version 1 (owned partitions) is read by every maintained client. */
export function encodeSubscription(
  s: Partial<Subscription> & { topics: readonly string[] },
  version = 1,
): Uint8Array {
  const w = new Writer();
  w.int16(version);
  w.int32(s.topics.length);
  for (const t of s.topics) w.string(t);
  w.bytes(s.userData ?? null);
  if (version >= 1) writeTopicPartitions(w, s.ownedPartitions ?? []);
  if (version >= 2) w.int32(s.generationId ?? -1);
  if (version >= 3) w.string(s.rackId ?? null);
  return w.done();
}

export function decodeSubscription(bytes: Uint8Array): Subscription {
  const r = new Reader(bytes, "ConsumerProtocolSubscription");
  const version = r.int16("version");
  if (version < 0)
    throw new ConsumerProtocolError(`ConsumerProtocolSubscription: negative version ${version}`);
  const topics = r.array("topics", () => r.string("topic") ?? "");
  const userData = r.remaining > 0 ? r.bytes("userData") : null;
  let ownedPartitions: TopicPartition[] = [];
  let generationId = -1;
  let rackId: string | null = null;
  // Newer versions only add fields at the end, so a reader of version N reads any version >= N.
  if (version >= 1 && r.remaining > 0) ownedPartitions = readTopicPartitions(r, "ownedPartitions");
  if (version >= 2 && r.remaining > 0) generationId = r.int32("generationId");
  if (version >= 3 && r.remaining > 0) rackId = r.string("rackId");
  return { topics, userData, ownedPartitions, generationId, rackId };
}

export function encodeAssignment(a: Assignment, version = 1): Uint8Array {
  const w = new Writer();
  w.int16(version);
  writeTopicPartitions(w, a.partitions);
  w.bytes(a.userData);
  return w.done();
}

export function decodeAssignment(bytes: Uint8Array): Assignment {
  // An empty assignment (a member that got nothing) may arrive as zero bytes.
  if (bytes.length === 0) return { partitions: [], userData: null };
  const r = new Reader(bytes, "ConsumerProtocolAssignment");
  const version = r.int16("version");
  if (version < 0) throw new ConsumerProtocolError(`ConsumerProtocolAssignment: negative version ${version}`);
  const partitions = readTopicPartitions(r, "assignedPartitions");
  const userData = r.remaining > 0 ? r.bytes("userData") : null;
  return { partitions, userData };
}
