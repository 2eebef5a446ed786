// RecordCodec.validate accepts exactly what decode accepts and throws the same RecordDecodeError
// (field, offset, bytes, reason), over valid records, mutated records and wrong lengths: for every
// record of the PDV catalog and for a copybook with every kind of field (with and without null
// detection), where the checker skips building values.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileCopybook, type RecordCodec, RecordDecodeError } from "../../src/copybook/index.ts";
import { createRandom, PDV_CATALOG, PdvFrameCodec, type Random, sampleBody } from "../../src/pdv/index.ts";

function outcome(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    if (e instanceof RecordDecodeError) return `${e.field}@${e.offset} [${e.bytes}] ${e.reason}`;
    if (e instanceof RangeError) return `RangeError ${e.message}`;
    throw e;
  }
}

function mutate(bytes: Uint8Array, r: Random): Uint8Array {
  const b = bytes.slice();
  const flips = r.int(1, 3);
  for (let k = 0; k < flips && b.length > 0; k++) {
    const i = r.int(0, b.length - 1);
    b[i] = r.chance(0.5) ? r.int(0, 255) : b[i]! ^ (1 << r.int(0, 7));
  }
  return b;
}

function compare(codec: RecordCodec, bytes: Uint8Array, label: string): string {
  const a = outcome(() => codec.decode(bytes, 0, bytes.length));
  const v = outcome(() => codec.validate(bytes, 0, bytes.length));
  assert.equal(v, a, label);
  return a;
}

function exercise(codec: RecordCodec, valid: Uint8Array[], r: Random, label: string): [number, number] {
  let ok = 0;
  let bad = 0;
  for (const bytes of valid) {
    assert.equal(compare(codec, bytes, `${label} valid`), "ok", label);
    for (let i = 0; i < 12; i++) {
      const res = compare(codec, mutate(bytes, r), `${label} mutated`);
      if (res === "ok") ok++;
      else bad++;
    }
    compare(codec, bytes.subarray(0, Math.max(0, bytes.length - r.int(1, 3))), `${label} short`);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    compare(codec, longer, `${label} long`);
    // Inside a larger buffer, at an offset.
    const framed = new Uint8Array(bytes.length + 7);
    framed.set(bytes, 5);
    assert.equal(
      outcome(() => codec.validate(framed, 5, 5 + bytes.length)),
      outcome(() => codec.decode(framed, 5, 5 + bytes.length)),
      `${label} at offset`,
    );
  }
  return [ok, bad];
}

test("validate agrees with decode on every PDV record, valid and mutated", () => {
  const pdv = new PdvFrameCodec();
  const r = createRandom("validate.test/pdv");
  let ok = 0;
  let bad = 0;
  for (const spec of PDV_CATALOG.values()) {
    for (const direction of ["Q", "R"] as const) {
      const codec = pdv.recordCodec(spec.type, direction);
      if (codec === null) continue;
      const valid: Uint8Array[] = [];
      for (let i = 0; i < 4; i++) valid.push(codec.encode(sampleBody(spec.type, direction, r)));
      const [o, b] = exercise(codec, valid, r, `${spec.type}/${direction}`);
      ok += o;
      bad += b;
    }
  }
  // Both outcomes must be well represented for the comparison to mean something.
  assert.ok(ok > 1000 && bad > 1000, `ok ${ok}, bad ${bad}`);
});

const EVERY_KIND = `
01 REC.
   05 KIND          PIC X.
   05 N             PIC 9(2).
   05 AMOUNT        PIC S9(7)V99 COMP-3.
   05 EVEN          PIC 9(4) COMP-3.
   05 COUNT-B       PIC S9(4) COMP.
   05 WIDE-B        PIC 9(18) COMP.
   05 BIG           PIC S9(20) COMP-3.
   05 STAMP         PIC 9(17) COMP-3.
   05 ZONED         PIC S9(5)V99 SIGN LEADING SEPARATE.
   05 BIG-Z         PIC S9(18).
   05 SMALL-Z       PIC 9(4).
   05 EDITED        PIC Z(4)9.99-.
   05 FLT           COMP-2.
   05 RAWB          PIC X(4).
   05 PAYLOAD       PIC X(6).
   05 NUM REDEFINES PAYLOAD PIC S9(11) COMP-3.
   05 ITEMS OCCURS 0 TO 5 TIMES DEPENDING ON N.
      10 CODE       PIC X(2).
      10 QTY        PIC 9(3) COMP-3.
      10 HUGE       PIC 9(16) COMP-3.
   05 TAIL          PIC X(3).
`;

function everyKindSample(r: Random): Record<string, unknown> {
  const n = r.int(0, 5);
  return {
    KIND: "ABC"[r.int(0, 2)],
    N: n,
    AMOUNT: Math.round((r.next() - 0.5) * 1e9) / 100,
    EVEN: r.int(0, 9999),
    "COUNT-B": r.int(-9999, 9999),
    "WIDE-B": String(r.int(0, 1e9) * 1e8 + r.int(0, 99_999_999)),
    BIG: String(r.int(0, 1e9) * 1e6),
    STAMP: "20260614123000250",
    ZONED: Math.round((r.next() - 0.5) * 1e7) / 100,
    "BIG-Z": `-${r.int(0, 1e9)}${r.int(100_000_000, 999_999_999)}`,
    "SMALL-Z": r.int(0, 9999),
    EDITED: Math.round((r.next() - 0.5) * 1e7) / 100,
    FLT: (r.next() - 0.5) * 1e6,
    RAWB: "ABCD",
    ...(r.chance(0.5) ? { PAYLOAD: "XYZ" } : { NUM: r.int(-1e9, 1e9) }),
    ITEMS: Array.from({ length: n }, () => ({
      CODE: "Q",
      QTY: r.int(0, 999),
      HUGE: String(r.int(0, 1e9) * 1e6 + r.int(0, 999_999)),
    })),
    TAIL: "END",
  };
}

for (const options of [
  { codePage: "cp037" },
  { codePage: "cp1147", nullDetection: true },
  { codePage: "cp037", variableOccurs: "max" as const },
  { codePage: "cp037", binaryRange: "pic" as const },
]) {
  test(`validate agrees with decode on a record of every field kind (${JSON.stringify(options)})`, () => {
    const codec = compileCopybook(EVERY_KIND, { format: "free", ...options });
    const r = createRandom(`validate.test/every-kind/${JSON.stringify(options)}`);
    const valid: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) valid.push(codec.encode(everyKindSample(r)));
    // Spaces and zeros (null detection) in numeric fields.
    const blank = valid[0]!.slice();
    blank.fill(0x40, 3, 8);
    blank.fill(0, 20, 40);
    compare(codec, blank, "blank");
    const [ok, bad] = exercise(codec, valid, r, "every kind");
    assert.ok(ok > 100 && bad > 100, `ok ${ok}, bad ${bad}`);
  });
}

test("validate of a lenient codec or a REDEFINES selector decodes instead (same outcome)", () => {
  const lenient = compileCopybook(EVERY_KIND, { format: "free", strict: false });
  const r = createRandom("validate.test/lenient");
  exercise(lenient, [lenient.encode(everyKindSample(r))], r, "lenient");
  const pdv = new PdvFrameCodec();
  const t050 = pdv.recordCodec("T050", "Q")!;
  exercise(t050, [t050.encode(sampleBody("T050", "Q", r))], r, "T050 selector");
});
