// Shapes of decoded PDV frames.

export type PdvDirection = "Q" | "R";

/** The 32-byte FRAME-HEADER, with readable names (copybook names via HEADER_FIELD_NAMES). */
export interface PdvHeader {
  /** FH-TYPE: "T" and three digits. */
  readonly type: string;
  /** FH-DIRECTION: Q = request, R = response. */
  readonly direction: PdvDirection;
  /** FH-VERSION. */
  readonly version: number;
  /** FH-TERMINAL-ID. */
  readonly terminalId: number;
  /** FH-PDV-ID. */
  readonly pdvId: number;
  /** FH-SEQUENCE (per terminal, restarts at 1 after a T001). */
  readonly sequence: number;
  /** FH-TIMESTAMP raw: 17 digits YYYYMMDDhhmmssSSS, Europe/Paris local time (see pdvTimestampToEpochMs). */
  readonly timestamp: string;
  /** FH-STATUS: 0 on requests; on responses 0 = accepted, negative = rejected. */
  readonly status: number;
  /** FH-BODY-LENGTH. */
  readonly bodyLength: number;
}

/** What encode() takes: bodyLength is computed from the body. */
export type PdvHeaderInput = Omit<PdvHeader, "bodyLength"> & { readonly bodyLength?: number };

/** A body: copybook field names to values (OCCURS as arrays, groups as objects). */
export type PdvBody = { readonly [field: string]: unknown };

export interface PdvFrame {
  readonly header: PdvHeader;
  /**
   * The fields of the frame's type and direction (the 01 record's children), or null when the type
   * is unknown or has no layout for that direction (header-only decode).
   */
  readonly body: PdvBody | null;
  /** The 01 record used for the body ("T031-REQUEST"), or null. */
  readonly record: string | null;
}

export interface PdvFrameInput {
  readonly header: PdvHeaderInput;
  /** Omitted/null: the raw bodyBytes are used (or an empty body). */
  readonly body?: PdvBody | null;
  /** Raw body bytes, for types without a layout (header-only frames). */
  readonly bodyBytes?: Uint8Array;
}

/** Header fields in copybook names, in layout order. */
export const HEADER_FIELD_NAMES = {
  type: "FH-TYPE",
  direction: "FH-DIRECTION",
  version: "FH-VERSION",
  terminalId: "FH-TERMINAL-ID",
  pdvId: "FH-PDV-ID",
  sequence: "FH-SEQUENCE",
  timestamp: "FH-TIMESTAMP",
  status: "FH-STATUS",
  bodyLength: "FH-BODY-LENGTH",
} as const satisfies Record<keyof PdvHeader, string>;
