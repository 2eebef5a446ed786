// Wide packed integers (more digits than a double holds) decode to decimal strings: checked against a
// nibble-by-nibble reference over random bytes, valid and invalid, signed, unsigned and COMP-3U.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileCopybook, RecordDecodeError } from "../../src/copybook/index.ts";
import { createRandom } from "../../src/pdv/random.ts";

/** What a packed integer field decodes to, from its definition (null: refused). */
function reference(bytes: Uint8Array, digits: number, signed: boolean, noSign: boolean): string | null {
  const nibbles: number[] = [];
  for (const x of bytes) nibbles.push(x >> 4, x & 15);
  const sign = noSign ? 0xf : nibbles.pop()!;
  if (!noSign && digits < nibbles.length && nibbles[0] !== 0) return null; // beyond the PIC digits
  if (nibbles.some((d) => d > 9)) return null;
  if (![0xa, 0xb, 0xc, 0xd, 0xe, 0xf].includes(sign)) return null;
  const neg = sign === 0xb || sign === 0xd;
  if (neg && !signed) return null;
  const text = nibbles.join("").replace(/^0+/, "") || "0";
  return neg && text !== "0" ? `-${text}` : text;
}

for (const [pic, digits, signed, noSign] of [
  ["S9(17) COMP-3", 17, true, false],
  ["9(17) COMP-3", 17, false, false],
  ["S9(16) COMP-3", 16, true, false],
  ["S9(30) COMP-3", 30, true, false],
  ["9(31) COMP-3", 31, false, false],
  ["9(18) COMP-3U", 18, false, true],
  ["9(31) COMP-3U", 31, false, true],
] as const) {
  test(`wide packed ${pic} decodes like the nibble-by-nibble reference`, () => {
    const codec = compileCopybook(`01 R.\n   05 V PIC ${pic}.`, { format: "free" });
    const size = codec.maxSize;
    const r = createRandom(`packed-wide/${pic}`);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = new Uint8Array(size);
      const zeros = r.int(0, size);
      for (let k = 0; k < size; k++) {
        const valid = r.chance(0.995);
        bytes[k] = k < zeros && r.chance(0.9) ? 0 : valid ? (r.int(0, 9) << 4) | r.int(0, 9) : r.int(0, 255);
      }
      if (!noSign) bytes[size - 1] = (bytes[size - 1]! & 0xf0) | r.pick([0xc, 0xd, 0xf, 0xa, 0xb, 0xe, 3]);
      const want = reference(bytes, digits, signed, noSign);
      let got: string | null;
      try {
        got = String(codec.decode(bytes).V);
      } catch (e) {
        if (!(e instanceof RecordDecodeError)) throw e;
        got = null;
      }
      assert.equal(got, want, Buffer.from(bytes).toString("hex"));
      if (got !== null) accepted++;
    }
    assert.ok(accepted > 5000, `${accepted} accepted`);
  });
}
