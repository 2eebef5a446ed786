import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeBitmap24, encodeBitmap24, isBitmap24FieldName } from "../../src/pdv/bitmap24.ts";
import { PdvFrameError } from "../../src/pdv/errors.ts";

test("bit 7 of byte 0 is horse 1, bit 0 of byte 2 is horse 24", () => {
  assert.deepEqual(decodeBitmap24(Uint8Array.of(0x80, 0, 0), 0), [1]);
  assert.deepEqual(decodeBitmap24(Uint8Array.of(0, 0, 1), 0), [24]);
  assert.deepEqual(decodeBitmap24(Uint8Array.of(9, 0xa0, 0x00, 0x03), 1), [1, 3, 23, 24]);
  assert.deepEqual(decodeBitmap24(Uint8Array.of(0, 0, 0), 0), []);
  assert.deepEqual(decodeBitmap24(Uint8Array.of(0xff, 0xff, 0xff), 0).length, 24);
});

test("encode writes the set in any order and round-trips every 3-byte value", () => {
  const out = new Uint8Array(4);
  encodeBitmap24([24, 3, 1, 3], out, 1);
  assert.deepEqual([...out], [0, 0xa0, 0x00, 0x01]);
  for (let v = 0; v < 1 << 24; v += 4099) {
    const b = Uint8Array.of(v >>> 16, (v >>> 8) & 255, v & 255);
    const o = new Uint8Array(3);
    encodeBitmap24(decodeBitmap24(b, 0), o, 0);
    assert.deepEqual(o, b);
  }
});

test("bad horse numbers are refused naming the field", () => {
  for (const bad of [[0], [25], [1.5], ["3"], "1,2"]) {
    assert.throws(
      () => encodeBitmap24(bad, new Uint8Array(3), 0, "T031-FIELD-BITMAP"),
      (e: unknown) => e instanceof PdvFrameError && e.code === "BAD_VALUE" && e.field === "T031-FIELD-BITMAP",
    );
  }
});

test("the rule applies to names ending in -BITMAP", () => {
  assert.ok(isBitmap24FieldName("T031-FIELD-BITMAP"));
  assert.ok(!isBitmap24FieldName("T031-BITMAP-COUNT"));
});
