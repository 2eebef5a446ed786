// The JSON form of a frame used by `courant frames decode/encode`: header and body fields with the
// copybook's names, one object per line.
import { PdvFrameError } from "./errors.ts";
import { HEADER_SIZE } from "./header.ts";
import { HEADER_FIELD_NAMES, type PdvFrame, type PdvFrameInput, type PdvHeader } from "./types.ts";

export interface PdvFrameJson {
  readonly frameIndex?: number;
  /** FRAME-HEADER fields by copybook name (FH-TYPE, FH-DIRECTION, ...). */
  readonly header: Record<string, unknown>;
  /** The 01 record of the body ("T031-REQUEST"), or null when decoded header-only. */
  readonly record: string | null;
  /** Body fields by copybook name, or null. */
  readonly body: Record<string, unknown> | null;
  /** Header-only frames: the body bytes in hex, so that encode can rebuild the frame. */
  readonly bodyHex?: string;
}

const HEADER_KEYS = Object.entries(HEADER_FIELD_NAMES) as [keyof PdvHeader, string][];

export function headerToJson(h: PdvHeader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, name] of HEADER_KEYS) out[name] = h[k];
  return out;
}

/** A decoded frame as JSON (bytes are needed to keep the body of header-only frames). */
export function frameToJson(frame: PdvFrame, bytes?: Uint8Array, frameIndex?: number): PdvFrameJson {
  const json: PdvFrameJson = {
    ...(frameIndex === undefined ? {} : { frameIndex }),
    header: headerToJson(frame.header),
    record: frame.record,
    body: frame.body as Record<string, unknown> | null,
  };
  if (frame.body === null && bytes !== undefined) {
    return { ...json, bodyHex: Buffer.from(bytes.subarray(HEADER_SIZE)).toString("hex").toUpperCase() };
  }
  return json;
}

/** Parses the JSON form back to what PdvFrameCodec.encode takes. Throws PdvFrameError BAD_VALUE. */
export function frameFromJson(json: unknown): PdvFrameInput {
  if (json === null || typeof json !== "object")
    throw new PdvFrameError("BAD_VALUE", "a frame must be a JSON object");
  const o = json as Record<string, unknown>;
  const h = o.header;
  if (h === null || typeof h !== "object")
    throw new PdvFrameError("BAD_VALUE", 'a frame needs a "header" object');
  const hj = h as Record<string, unknown>;
  const header: Record<string, unknown> = {};
  for (const [k, name] of HEADER_KEYS) {
    const v = hj[name] ?? hj[k];
    if (v === undefined) {
      if (k === "bodyLength") continue;
      throw new PdvFrameError("BAD_VALUE", `header field ${name} is missing`, { field: name });
    }
    header[k] = v;
  }
  if (typeof header.timestamp === "number") header.timestamp = String(header.timestamp);
  const body = o.body;
  if (body !== undefined && body !== null && typeof body !== "object") {
    throw new PdvFrameError("BAD_VALUE", '"body" must be an object or null');
  }
  let bodyBytes: Uint8Array | undefined;
  if (typeof o.bodyHex === "string") {
    if (!/^([0-9a-fA-F]{2})*$/.test(o.bodyHex)) throw new PdvFrameError("BAD_VALUE", '"bodyHex" is not hex');
    bodyBytes = Uint8Array.from(Buffer.from(o.bodyHex, "hex"));
  }
  return {
    header: header as unknown as PdvFrameInput["header"],
    body: (body ?? null) as PdvFrameInput["body"],
    ...(bodyBytes === undefined ? {} : { bodyBytes }),
  };
}
