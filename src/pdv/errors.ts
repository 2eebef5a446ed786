// Errors of the PDV frame layer. `code` is stable for callers to branch on; the message names
// the frame (index when known), the field and the byte offset within the frame.

export type PdvFrameErrorCode =
  /** Fewer than 32 bytes: not even a header. */
  | "FRAME_TOO_SHORT"
  /** Actual length differs from 32 + FH-BODY-LENGTH. */
  | "BODY_LENGTH_MISMATCH"
  /** A header field is not valid for its picture or the contract (type, direction). */
  | "BAD_HEADER"
  /** A body field is not valid for its picture (bad nibble, non-digit, ODO out of range...). */
  | "BAD_FIELD"
  /** The body is shorter or longer than its layout. */
  | "BODY_SIZE"
  /** A value given to encode does not fit its field. */
  | "BAD_VALUE"
  /** A YYYYMMDDhhmmssSSS value is not a real date and time. */
  | "BAD_TIMESTAMP"
  /** The frame type has no layout for this direction (encode only; decode falls back to header-only). */
  | "NO_LAYOUT"
  /** A length prefix in a framed stream is impossible or the stream is cut short. */
  | "BAD_LENGTH_PREFIX";

export interface PdvFrameErrorDetails {
  readonly frameIndex?: number;
  readonly field?: string;
  /** Offset within the frame (header included). */
  readonly byteOffset?: number;
  readonly cause?: unknown;
}

export class PdvFrameError extends Error {
  readonly code: PdvFrameErrorCode;
  readonly frameIndex: number | undefined;
  readonly field: string | undefined;
  readonly byteOffset: number | undefined;
  /** The message without the location prefix, so a frame index can be added later. */
  readonly reason: string;

  constructor(code: PdvFrameErrorCode, reason: string, details: PdvFrameErrorDetails = {}) {
    super(formatMessage(reason, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "PdvFrameError";
    this.code = code;
    this.reason = reason;
    this.frameIndex = details.frameIndex;
    this.field = details.field;
    this.byteOffset = details.byteOffset;
  }

  /** The same error located at a frame index (for streams of frames). */
  atFrame(frameIndex: number): PdvFrameError {
    return new PdvFrameError(this.code, this.reason, {
      frameIndex,
      field: this.field,
      byteOffset: this.byteOffset,
      cause: this.cause,
    });
  }

  toJSON(): { code: string; message: string; frameIndex?: number; field?: string; byteOffset?: number } {
    return {
      code: this.code,
      message: this.message,
      ...(this.frameIndex === undefined ? {} : { frameIndex: this.frameIndex }),
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.byteOffset === undefined ? {} : { byteOffset: this.byteOffset }),
    };
  }
}

function formatMessage(reason: string, d: PdvFrameErrorDetails): string {
  const where: string[] = [];
  if (d.frameIndex !== undefined) where.push(`frame ${d.frameIndex}`);
  if (d.field !== undefined) where.push(`field ${d.field}`);
  if (d.byteOffset !== undefined) where.push(`byte ${d.byteOffset}`);
  return where.length === 0 ? reason : `${where.join(", ")}: ${reason}`;
}
