// Serde for records described by a COBOL copybook: one Kafka value = one record of the layout.
// Errors keep the copybook's coordinates (field path, byte offset, bytes seen) so a
// dead-letter entry says exactly what was wrong.
import { CopybookError, type RecordCodec, RecordDecodeError, RecordEncodeError } from "../copybook/index.ts";
import { type Serde, SerdeError } from "./types.ts";

export type CopybookRecord = Record<string, unknown>;

export function copybookSerde(codec: RecordCodec): Serde<CopybookRecord> {
  return {
    serialize(topic, value) {
      if (value === null) return null;
      try {
        return codec.encode(value);
      } catch (e) {
        throw wrap(e, topic, "encode");
      }
    },
    deserialize(topic, data) {
      if (data === null) return null;
      try {
        return codec.decode(data);
      } catch (e) {
        throw wrap(e, topic, "decode");
      }
    },
  };
}

function wrap(e: unknown, topic: string, what: "encode" | "decode"): Error {
  if (e instanceof RecordDecodeError) {
    return new SerdeError(`copybook ${what} failed on topic '${topic}': ${e.message}`, {
      topic,
      field: e.field || undefined,
      cause: e,
    });
  }
  if (e instanceof RecordEncodeError || e instanceof CopybookError) {
    const field = (e as { field?: unknown }).field;
    return new SerdeError(`copybook ${what} failed on topic '${topic}': ${e.message}`, {
      topic,
      field: typeof field === "string" && field ? field : undefined,
      cause: e,
    });
  }
  return e instanceof Error ? e : new Error(String(e));
}
