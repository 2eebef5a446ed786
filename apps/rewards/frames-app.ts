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
import { type DeadLetter, json, SOURCE_HEADER, sourceOf, toBase64 } from "./records.ts";
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
      new Record<string, Uint8Array>(String(header.terminalId), bytes, eventTime, [
        { key: SOURCE_HEADER, value: Buffer.from(sourceOf(topic, partition, offset), "utf8") },
        { key: INGEST_HEADER, value: ingestHeaderValue(this.now()) },
      ]),
      VALID_SINK,
    );
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
