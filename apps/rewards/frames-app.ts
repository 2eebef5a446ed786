// App 1, "rewards-frames": header decoding of every frame of pdv.requests and pdv.responses.
// Only the 32-byte header is decoded here (cheap); the body waits until its pair is matched.
// Valid frames go to frames.valid keyed by the header's terminal id and timestamped with
// FH-TIMESTAMP (event time); undecodable ones go to frames.dlq with the reason, the raw bytes and
// their source coordinates. Unknown types are counted and passed on.
import {
  decodeHeaderFields,
  PDV_CATALOG,
  PdvFrameError,
  pdvTimestampToEpochMs,
} from "../../src/pdv/index.ts";
import { Serdes } from "../../src/serde/index.ts";
import { type Processor, type ProcessorContext, Record, Topology } from "../../src/streams/index.ts";
import { INGEST_HEADER, ingestHeaderValue, type RewardsMetrics } from "./metrics.ts";
import { type DeadLetter, json, SOURCE_HEADER, sourcePrefix, toBase64 } from "./records.ts";
import { TOPICS } from "./topics.ts";

const VALID_SINK = "frames-valid-sink";
const DLQ_SINK = "frames-dlq-sink";
const fromUtf8 = new TextDecoder();

class HeaderDecoder
  implements Processor<Uint8Array | null, Uint8Array | null, string, Uint8Array | DeadLetter>
{
  private ctx!: ProcessorContext<string, Uint8Array | DeadLetter>;
  private readonly metrics: RewardsMetrics;
  private readonly byDirection: { Q: () => void; R: () => void };
  private readonly now: () => number;

  constructor(metrics: RewardsMetrics, now: () => number) {
    this.metrics = metrics;
    this.now = now;
    const q = metrics.tallies.frames("Q");
    const r = metrics.tallies.frames("R");
    this.byDirection = { Q: () => q.inc(), R: () => r.inc() };
  }

  init(context: ProcessorContext<string, Uint8Array | DeadLetter>): void {
    this.ctx = context;
  }

  process(record: Record<Uint8Array | null, Uint8Array | null>): void {
    const bytes = record.value ?? new Uint8Array(0);
    const meta = this.ctx.recordMetadata();
    const topic = meta?.topic ?? "?";
    const partition = meta?.partition ?? -1;
    const offset = meta?.offset ?? -1;
    let header: ReturnType<typeof decodeHeaderFields>;
    let eventTime: number;
    try {
      header = decodeHeaderFields(bytes);
      eventTime = pdvTimestampToEpochMs(header.timestamp);
    } catch (e) {
      const err = e instanceof PdvFrameError ? e : null;
      const letter: DeadLetter = {
        stage: "header",
        code: err?.code ?? "BAD_HEADER",
        reason: (e as Error).message,
        field: err?.field ?? null,
        byteOffset: err?.byteOffset ?? null,
        sourceTopic: topic,
        sourcePartition: partition,
        sourceOffset: offset,
        sourceTimestamp: record.timestamp,
        key: record.key === null ? null : safeText(record.key),
        frameLength: bytes.length,
        rawBase64: toBase64(bytes),
      };
      this.metrics.dlq.labels("header", letter.code).inc();
      this.ctx.forward(new Record<string, DeadLetter>(letter.key ?? "", letter, record.timestamp), DLQ_SINK);
      return;
    }
    this.byDirection[header.direction]();
    if (!PDV_CATALOG.has(header.type)) this.metrics.unknownTypes.labels(header.type).inc();
    this.ctx.forward(
      new Record<string, Uint8Array>(this.terminalKey(header.terminalId), bytes, eventTime, [
        { key: SOURCE_HEADER, value: this.sourceBytes(topic, partition, offset) },
        { key: INGEST_HEADER, value: this.ingestBytes() },
      ]),
      VALID_SINK,
    );
  }

  // Per-frame strings and buffers were a twentieth of the pipeline's allocation: what repeats is
  // kept (terminal keys, the "topic/partition/" prefix, the ingest stamp of the current ms).
  private readonly terminalKeys = new Map<number, string>();
  private terminalKey(id: number): string {
    let k = this.terminalKeys.get(id);
    if (k === undefined) {
      if (this.terminalKeys.size >= 100_000) this.terminalKeys.clear();
      this.terminalKeys.set(id, (k = String(id)));
    }
    return k;
  }

  /** "topic/partition/" as bytes, by topic then partition (no key string built per frame). */
  private readonly prefixes = new Map<string, Buffer[]>();
  /** The source header's "topic/partition/offset" as bytes (the offset's digits written as ASCII). */
  private sourceBytes(topic: string, partition: number, offset: number): Uint8Array {
    let byPartition = this.prefixes.get(topic);
    if (byPartition === undefined) this.prefixes.set(topic, (byPartition = []));
    let prefix = byPartition[partition];
    if (prefix === undefined)
      byPartition[partition] = prefix = Buffer.from(sourcePrefix(topic, partition), "utf8");
    if (!(offset >= 0)) return Buffer.concat([prefix, Buffer.from(String(offset), "latin1")]);
    let digits = 1;
    for (let v = offset; v >= 10; v = Math.floor(v / 10)) digits++;
    const out = Buffer.allocUnsafe(prefix.length + digits);
    prefix.copy(out, 0);
    for (let i = out.length - 1, v = offset; i >= prefix.length; i--, v = Math.floor(v / 10))
      out[i] = 48 + (v % 10);
    return out;
  }

  private lastIngestMs = -1;
  private lastIngest: Uint8Array = new Uint8Array(0);
  /** Immutable once forwarded (the sink serializes it at the next commit): shared within a ms. */
  private ingestBytes(): Uint8Array {
    const now = this.now();
    if (now !== this.lastIngestMs) {
      this.lastIngestMs = now;
      this.lastIngest = ingestHeaderValue(now);
    }
    return this.lastIngest;
  }
}

function safeText(b: Uint8Array): string {
  try {
    return fromUtf8.decode(b);
  } catch {
    return toBase64(b);
  }
}

export interface FramesAppOptions {
  readonly metrics: RewardsMetrics;
  /** Wall clock for the ingest header (latency measurement). */
  readonly now?: () => number;
}

export function buildFramesTopology(options: FramesAppOptions): Topology {
  const now = options.now ?? Date.now;
  return new Topology()
    .addSource<Uint8Array, Uint8Array>("pdv-frames", [TOPICS.requests, TOPICS.responses], {
      keySerde: Serdes.Bytes,
      valueSerde: Serdes.Bytes,
    })
    .addProcessor("decode-header", () => new HeaderDecoder(options.metrics, now), "pdv-frames")
    .addSink(VALID_SINK, TOPICS.valid, { keySerde: Serdes.String, valueSerde: Serdes.Bytes }, "decode-header")
    .addSink(
      DLQ_SINK,
      TOPICS.dlq,
      { keySerde: Serdes.String, valueSerde: json<DeadLetter>() },
      "decode-header",
    );
}
