// Streams of frames each preceded by a 4-byte big-endian length (the file format of
// `courant frames decode/encode`).
import { PdvFrameError } from "./errors.ts";

/** Longest frame accepted: the header plus the largest FH-BODY-LENGTH a PIC 9(4) COMP can hold. */
export const MAX_FRAME_SIZE = 32 + 0xffff;

export interface LengthPrefixedFrame {
  readonly index: number;
  /** Offset of the frame's first byte (after its prefix) in the stream. */
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * Splits length-prefixed frames from an async source of chunks (a file stream, stdin). A prefix
 * larger than MAX_FRAME_SIZE or a stream that ends inside a frame throws BAD_LENGTH_PREFIX after
 * every complete frame before it was yielded: without a trustworthy length nothing can follow.
 */
export async function* readLengthPrefixedFrames(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<LengthPrefixedFrame, void, undefined> {
  let pending: Uint8Array = new Uint8Array(0);
  let consumed = 0; // stream offset of pending[0]
  let index = 0;
  for await (const chunk of source) {
    pending = pending.length === 0 ? chunk : concat(pending, chunk);
    let pos = 0;
    while (pending.length - pos >= 4) {
      const len =
        ((pending[pos]! << 24) | (pending[pos + 1]! << 16) | (pending[pos + 2]! << 8) | pending[pos + 3]!) >>>
        0;
      if (len > MAX_FRAME_SIZE) {
        throw new PdvFrameError(
          "BAD_LENGTH_PREFIX",
          `length prefix ${len} exceeds the largest frame (${MAX_FRAME_SIZE})`,
          {
            frameIndex: index,
            byteOffset: consumed + pos,
          },
        );
      }
      if (pending.length - pos - 4 < len) break;
      yield { index, offset: consumed + pos + 4, bytes: pending.subarray(pos + 4, pos + 4 + len) };
      index++;
      pos += 4 + len;
    }
    consumed += pos;
    pending = pending.subarray(pos);
  }
  if (pending.length > 0) {
    throw new PdvFrameError(
      "BAD_LENGTH_PREFIX",
      pending.length < 4
        ? `stream ends inside a length prefix (${pending.length} trailing bytes)`
        : `stream ends inside a frame: ${pending.length - 4} of ${((pending[0]! << 24) | (pending[1]! << 16) | (pending[2]! << 8) | pending[3]!) >>> 0} bytes present`,
      { frameIndex: index, byteOffset: consumed },
    );
  }
}

/** Splits length-prefixed frames from one buffer (same rules as readLengthPrefixedFrames). */
export function* splitLengthPrefixedFrames(buf: Uint8Array): Generator<LengthPrefixedFrame, void, undefined> {
  let pos = 0;
  let index = 0;
  while (pos < buf.length) {
    if (buf.length - pos < 4) {
      throw new PdvFrameError(
        "BAD_LENGTH_PREFIX",
        `stream ends inside a length prefix (${buf.length - pos} trailing bytes)`,
        {
          frameIndex: index,
          byteOffset: pos,
        },
      );
    }
    const len = ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
    if (len > MAX_FRAME_SIZE || buf.length - pos - 4 < len) {
      throw new PdvFrameError(
        "BAD_LENGTH_PREFIX",
        len > MAX_FRAME_SIZE
          ? `length prefix ${len} exceeds the largest frame (${MAX_FRAME_SIZE})`
          : `stream ends inside a frame: ${buf.length - pos - 4} of ${len} bytes present`,
        { frameIndex: index, byteOffset: pos },
      );
    }
    yield { index, offset: pos + 4, bytes: buf.subarray(pos + 4, pos + 4 + len) };
    pos += 4 + len;
    index++;
  }
}

/** One frame with its 4-byte big-endian length prefix. */
export function lengthPrefixed(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + 4);
  const n = frame.length;
  out[0] = n >>> 24;
  out[1] = (n >>> 16) & 0xff;
  out[2] = (n >>> 8) & 0xff;
  out[3] = n & 0xff;
  out.set(frame, 4);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
