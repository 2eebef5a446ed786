// Serialization contract used by the streams DSL: a Serde turns a typed value into bytes and
// back. `null` stays `null` on both sides (tombstones), as in Kafka.
import type { RecordHeader } from "../cluster/index.ts";

export interface Serializer<T> {
  serialize(topic: string, value: T | null, headers?: RecordHeader[]): Uint8Array | null;
}

export interface Deserializer<T> {
  /** Throws a SerdeError (with a reason) on bytes that are not a valid T. */
  deserialize(topic: string, data: Uint8Array | null, headers?: readonly RecordHeader[]): T | null;
}

export interface Serde<T> extends Serializer<T>, Deserializer<T> {}

export class SerdeError extends Error {
  readonly code = "SERDE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SerdeError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export const Serdes = {
  String: {
    serialize: (_t: string, v: string | null) => (v === null ? null : encoder.encode(v)),
    deserialize: (_t: string, d: Uint8Array | null) => {
      if (d === null) return null;
      try {
        return decoder.decode(d);
      } catch (e) {
        throw new SerdeError("value is not valid UTF-8", { cause: e });
      }
    },
  } satisfies Serde<string>,
  Bytes: {
    serialize: (_t: string, v: Uint8Array | null) => v,
    deserialize: (_t: string, d: Uint8Array | null) => d,
  } satisfies Serde<Uint8Array>,
  Json<T>(): Serde<T> {
    return {
      serialize: (_t, v) => (v === null ? null : encoder.encode(JSON.stringify(v))),
      deserialize: (_t, d) => {
        if (d === null) return null;
        try {
          return JSON.parse(decoder.decode(d)) as T;
        } catch (e) {
          throw new SerdeError(`value is not valid JSON: ${(e as Error).message}`, { cause: e });
        }
      },
    };
  },
} as const;
