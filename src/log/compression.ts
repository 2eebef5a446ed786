// Compression codecs of record batches. gzip and zstd come with Node's zlib; snappy and lz4 are
// implemented in ./snappy.ts and ./lz4.ts (pure TS, Kafka's framings).
import * as zlib from "node:zlib";
import { LogError } from "./errors.ts";
import { lz4Compress, lz4Decompress } from "./lz4.ts";
import { snappyCompressRaw, snappyDecompress } from "./snappy.ts";
import type { CompressionType } from "./types.ts";

export const COMPRESSION_IDS: Readonly<Record<CompressionType, number>> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

const BY_ID: readonly (CompressionType | undefined)[] = ["none", "gzip", "snappy", "lz4", "zstd"];

export function compressionFromId(id: number): CompressionType {
  const c = BY_ID[id];
  if (c === undefined) {
    throw new LogError(
      "UNSUPPORTED_COMPRESSION_TYPE",
      `unknown compression codec id ${id} in batch attributes`,
    );
  }
  return c;
}

interface Codec {
  compress(data: Uint8Array): Buffer;
  decompress(data: Uint8Array): Buffer;
}

const codecs = new Map<CompressionType, Codec>([
  [
    "gzip",
    {
      compress: (d) => zlib.gzipSync(d, { level: 1 }),
      decompress: (d) => zlib.gunzipSync(d),
    },
  ],
  [
    "zstd",
    {
      compress: (d) => zlib.zstdCompressSync(d),
      decompress: (d) => zlib.zstdDecompressSync(d),
    },
  ],
  // Raw snappy when writing: every reader takes it (xerial's stream falls back to raw; librdkafka,
  // kafkajs and @platformatic/kafka read raw), while some read no xerial framing.
  ["snappy", { compress: snappyCompressRaw, decompress: snappyDecompress }],
  ["lz4", { compress: lz4Compress, decompress: lz4Decompress }],
]);

/** Registers a codec (snappy/lz4 modules call this on import). */
export function registerCodec(type: CompressionType, codec: Codec): void {
  codecs.set(type, codec);
}

export function isCompressionSupported(type: CompressionType): boolean {
  return type === "none" || codecs.has(type);
}

function codecFor(type: CompressionType): Codec {
  const c = codecs.get(type);
  if (!c) throw new LogError("UNSUPPORTED_COMPRESSION_TYPE", `compression "${type}" is not supported`);
  return c;
}

export function compress(type: CompressionType, data: Uint8Array): Buffer {
  return codecFor(type).compress(data);
}

export function decompress(type: CompressionType, data: Uint8Array): Buffer {
  try {
    return codecFor(type).decompress(data);
  } catch (e) {
    if (e instanceof LogError) throw e;
    throw new LogError("CORRUPT_MESSAGE", `cannot decompress ${type} record data: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
