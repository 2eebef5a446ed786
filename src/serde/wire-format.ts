// Confluent's wire format: magic byte 0, 4-byte big-endian schema id, then the body.
import { SerdeError } from "./types.ts";

export const MAGIC_BYTE = 0;
export const WIRE_HEADER_BYTES = 5;

export function frame(schemaId: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(WIRE_HEADER_BYTES + body.byteLength);
  out[0] = MAGIC_BYTE;
  new DataView(out.buffer).setUint32(1, schemaId);
  out.set(body, WIRE_HEADER_BYTES);
  return out;
}

export function unframe(topic: string, data: Uint8Array): { schemaId: number; body: Uint8Array } {
  if (data.byteLength < WIRE_HEADER_BYTES) {
    throw new SerdeError(
      `value of ${data.byteLength} bytes is too short for the schema registry wire format (magic byte + 4-byte schema id), topic '${topic}'`,
      { topic },
    );
  }
  if (data[0] !== MAGIC_BYTE) {
    throw new SerdeError(
      `unknown magic byte 0x${data[0]!.toString(16).padStart(2, "0")} at byte 0 (expected 0x00, the schema registry wire format), topic '${topic}'`,
      { topic },
    );
  }
  const schemaId = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1);
  return { schemaId, body: data.subarray(WIRE_HEADER_BYTES) };
}
