// Packed fields encoded from strings of plain digits take a direct path; it must give the bytes (or
// the error) of the general decimal-string path. The general path is forced with a variant of the same
// value it reads identically: a leading "+" or surrounding spaces.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileCopybook, RecordEncodeError } from "../../src/copybook/index.ts";
import { createRandom } from "../../src/pdv/random.ts";

const PICTURES = [
  "PIC 9(17) COMP-3",
  "PIC S9(17) COMP-3",
  "PIC 9(16) COMP-3",
  "PIC S9(16)V99 COMP-3",
  "PIC 9(15)V9(3) COMP-3",
  "PIC 9(20) COMP-3",
  "PIC 9(4) COMP-3",
  "PIC S9(7)V99 COMP-3",
  "PIC 9(18) COMP-3U",
  "PIC 9(5) COMP-3U",
  "PIC X(9) COMP-3U",
  "PIC 9(5)PP COMP-3",
  "PIC SVPP9(3) COMP-3",
];

/** Hex of the record, or the error with the value as given replaced by <v> (messages quote it). */
function outcome(f: () => Uint8Array, value: string): string {
  try {
    return Buffer.from(f()).toString("hex");
  } catch (e) {
    if (e instanceof RecordEncodeError)
      return `error ${e.field}@${e.offset}: ${e.reason.replace(value, "<v>")}`;
    throw e;
  }
}

for (const pic of PICTURES) {
  test(`plain digit strings encode like decimal strings: ${pic}`, () => {
    const codec = compileCopybook(`01 R.\n   05 V ${pic}.\n   05 T PIC X(2).`, { format: "free" });
    const r = createRandom(`encode-digit-strings/${pic}`);
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < 3000; i++) {
      const len = r.int(1, 24);
      let s = "";
      const zeros = r.chance(0.3) ? r.int(1, 6) : 0;
      for (let k = 0; k < len; k++) s += String(k < zeros ? 0 : r.int(0, 9));
      const fast = outcome(() => codec.encode({ V: s, T: "AB" }), s);
      // The general path, from the same value written differently.
      for (const general of [`+${s}`, ` ${s} `]) {
        const slow = outcome(() => codec.encode({ V: general, T: "AB" }), general);
        assert.equal(fast, slow, `${pic}: ${JSON.stringify(s)} vs ${JSON.stringify(general)}`);
      }
      if (fast.startsWith("error")) failed++;
      else ok++;
    }
    assert.ok(ok > 100, `${ok} encoded`);
    if (!pic.includes("9(20)") && !pic.includes("X(9)")) assert.ok(failed > 100, `${failed} refused`);
  });
}
