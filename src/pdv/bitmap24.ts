// House rule "bitmap24": a PIC X(3) field whose name ends in -BITMAP is a set of horse numbers
// 1..24; bit 7 of byte 0 is horse 1, bit 0 of byte 2 is horse 24. Decoded as the ascending list of
// horse numbers; every 3-byte value is valid, so decoding never fails.
import { PdvFrameError } from "./errors.ts";

export const BITMAP24_SIZE = 3;

/** Field names the house rule applies to (the PIC X(3) check is made by the codec hook). */
export function isBitmap24FieldName(name: string): boolean {
  return name.toUpperCase().endsWith("-BITMAP");
}

export function decodeBitmap24(bytes: Uint8Array, offset: number): number[] {
  const bits = (bytes[offset]! << 16) | (bytes[offset + 1]! << 8) | bytes[offset + 2]!;
  const horses: number[] = [];
  if (bits === 0) return horses;
  for (let horse = 1; horse <= 24; horse++) {
    if (bits & (1 << (24 - horse))) horses.push(horse);
  }
  return horses;
}

/** Writes a set of horse numbers (any order, duplicates allowed) as 3 bytes. */
export function encodeBitmap24(horses: unknown, out: Uint8Array, offset: number, field = "bitmap24"): void {
  if (!Array.isArray(horses)) {
    throw new PdvFrameError(
      "BAD_VALUE",
      `bitmap24 expects an array of horse numbers 1..24, got ${typeof horses}`,
      {
        field,
      },
    );
  }
  let bits = 0;
  for (const h of horses) {
    if (typeof h !== "number" || !Number.isInteger(h) || h < 1 || h > 24) {
      throw new PdvFrameError(
        "BAD_VALUE",
        `bitmap24 horse number must be an integer 1..24, got ${String(h)}`,
        {
          field,
        },
      );
    }
    bits |= 1 << (24 - h);
  }
  out[offset] = (bits >>> 16) & 0xff;
  out[offset + 1] = (bits >>> 8) & 0xff;
  out[offset + 2] = bits & 0xff;
}
