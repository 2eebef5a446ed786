// Record codec: every type against IBM's documented byte vectors, strictness, lenient mode, REDEFINES
// selection, OCCURS DEPENDING ON, custom field codecs, partial decode, exact decimals through JSON.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CodecOptions,
  compileCopybook,
  type FieldCodecRule,
  RecordDecodeError,
  RecordEncodeError,
} from "../../src/copybook/index.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();

function one(pic: string, options: CodecOptions = {}): ReturnType<typeof compileCopybook> {
  return compileCopybook(`01 R.\n  05 F ${pic}.\n`, { format: "free", ...options });
}

function roundTrip(pic: string, value: unknown, bytes: string, options: CodecOptions = {}): void {
  const c = one(pic, options);
  assert.equal(toHex(c.encode({ F: value })), bytes.replace(/\s+/g, ""), `${pic} encode ${String(value)}`);
  assert.deepEqual(c.decode(hex(bytes)), { F: value }, `${pic} decode ${bytes}`);
}

describe("record codec: types (IBM vectors)", () => {
  it("packed decimal", () => {
    roundTrip("PIC S9(5) COMP-3", 12345, "12345C");
    roundTrip("PIC S9(5) COMP-3", -12345, "12345D");
    roundTrip("PIC 9(4) COMP-3", 1234, "01234F");
    roundTrip("PIC S9(7)V99 COMP-3", -1234567.89, "123456789D");
    roundTrip("PACKED-DECIMAL PIC S9(3)", 0, "000C");
    // signs A, E, F positive and B negative (IBM), C/D preferred on encode
    const c = one("PIC S9(3) COMP-3");
    assert.deepEqual(c.decode(hex("123A")), { F: 123 });
    assert.deepEqual(c.decode(hex("123E")), { F: 123 });
    assert.deepEqual(c.decode(hex("123F")), { F: 123 });
    assert.deepEqual(c.decode(hex("123B")), { F: -123 });
    // 18+ digits are exact decimal strings
    roundTrip("PIC S9(18)V99 COMP-3", "-1234567890123456.78", "000123456789012345678D");
    roundTrip("PIC 9(3) COMP-3U", 123, "0123");
  });

  it("zoned decimal, overpunched and separate signs", () => {
    roundTrip("PIC S9(4)", -1234, "F1F2F3D4");
    roundTrip("PIC S9(4)", 1234, "F1F2F3C4");
    roundTrip("PIC 9(4)", 1234, "F1F2F3F4");
    roundTrip("PIC S9(4) SIGN LEADING", -1234, "D1F2F3F4");
    roundTrip("PIC S9(4) SIGN TRAILING SEPARATE", -1234, "F1F2F3F460");
    roundTrip("PIC S9(4) SIGN LEADING SEPARATE", 1234, "4EF1F2F3F4");
    roundTrip("PIC S9(3)V99", -1.5, "F0F0F1F5D0");
    roundTrip("PIC 9(8).99", 1234.5, "F0F0F0F0F1F2F3F44BF5F0");
    // A, E, F zones are positive, B negative
    assert.deepEqual(one("PIC S9(2)").decode(hex("F1A2")), { F: 12 });
    assert.deepEqual(one("PIC S9(2)").decode(hex("F1B2")), { F: -12 });
    roundTrip("PIC S9(20)", "-12345678901234567890", "F1F2F3F4F5F6F7F8F9F0F1F2F3F4F5F6F7F8F9D0");
  });

  it("ASCII zoned numbers (code page ascii / latin1)", () => {
    roundTrip("PIC S9(3)", -123, "31327C".slice(0, 4) + "4C", { codePage: "ascii" });
    roundTrip("PIC 9(3)", 123, "313233", { codePage: "ascii" });
    roundTrip("PIC S9(3) SIGN LEADING SEPARATE", -5, "2D303035", { codePage: "ascii" });
  });

  it("binary: COMP, COMP-4, BINARY, COMP-5, signed/unsigned, implied decimals", () => {
    roundTrip("PIC S9(4) COMP", -2, "FFFE");
    roundTrip("PIC S9(9) COMP", 123456789, "075BCD15");
    roundTrip("PIC 9(4) BINARY", 65535, "FFFF");
    roundTrip("PIC S9(9)V99 COMP-4", -12.34, "FFFFFFFFFFFFFB2E");
    roundTrip("PIC S9(18) COMP", "-2", "FFFFFFFFFFFFFFFE");
    roundTrip("PIC 9(9) COMP-5", 4294967295, "FFFFFFFF");
    roundTrip("PIC S9(15) COMP", -9007199254740991, "FFE0000000000001");
    // beyond 2^53 a number-typed binary field is an error, not a silently rounded value
    assert.throws(() => one("PIC S9(15) COMP").decode(hex("7FFFFFFFFFFFFFFF")), /exact range/);
    // COMP-9 (little-endian, Cobrix extension)
    roundTrip("PIC S9(4) COMP-9", -2, "FEFF");
    // range check against the PIC on request (TRUNC(STD))
    assert.throws(
      () => one("PIC 9(3) COMP", { binaryRange: "pic" }).decode(hex("F106")),
      /exceeds PIC 3 digits/,
    );
    assert.deepEqual(one("PIC 9(3) COMP").decode(hex("F106")), { F: 61702 });
  });

  it("COMP-1 / COMP-2: IBM hexadecimal (both byte orders) and IEEE", () => {
    roundTrip("COMP-1", 1, "41100000");
    roundTrip("COMP-1", 100, "42640000");
    roundTrip("COMP-1", -118.625, "C276A000");
    roundTrip("COMP-1", 322.9365234375, "43142EFC");
    roundTrip("COMP-2", 0, "0000000000000000");
    assert.ok(Math.abs((one("COMP-2").decode(hex("43142EFCCAF709B7")).F as number) - 322.936717) < 1e-6);
    assert.ok(Math.abs((one("COMP-2").decode(hex("00000000CAF709B7")).F as number) - 4.08114837e-85) < 1e-93);
    roundTrip("COMP-1", 1, "00001041", { floatFormat: "ibm-le" });
    roundTrip("COMP-1", 1.5, "3FC00000", { floatFormat: "ieee" });
    roundTrip("COMP-2", -2.25, "00000000000002C0", { floatFormat: "ieee-le" });
    const c = one("COMP-2");
    for (const v of [Math.PI, -1e70, 5.4e-79, 123456789.125]) {
      const back = c.decode(c.encode({ F: v })).F as number;
      assert.ok(Math.abs(back - v) <= Math.abs(v) * 2 ** -52, `${v} -> ${back}`);
    }
  });

  it("P scaling", () => {
    roundTrip("PIC SPPP9(5)", -0.00030503, "F3F0F5F0D3");
    roundTrip("PIC S9(5)PPP", -30503000, "F3F0F5F0D3");
    roundTrip("PIC SVPP9(3) COMP-3", 0.00012, "012C");
    assert.throws(() => one("PIC S9(5)PPP").encode({ F: 30503001 }), /multiple of 1000/);
  });

  it("edited pictures", () => {
    roundTrip("PIC Z(4)9.99-", -123.45, "4040F1F2F34BF4F560");
    roundTrip("PIC +9(4)", 42, "4EF0F0F4F2");
    roundTrip("PIC 9(4)+", -42, "F0F0F4F260");
    roundTrip("PIC ZZZ9", 0, "404040F0");
    roundTrip("PIC $$$,$$9.99", 1234.5, "405BF16BF2F3F44BF5F0");
    roundTrip("PIC ***9.99CR", -5, "5C5C5CF54BF0F0C3D9");
    roundTrip("PIC Z(6)VZZ-", 12.3, "40404040F1F2F3F040".replace(/40$/, "40"));
  });

  it("text: trimming, JUSTIFIED RIGHT, PIC A, national", () => {
    roundTrip("PIC X(6)", "AB", "C1C240404040");
    roundTrip("PIC X(6) JUSTIFIED RIGHT", "AB", "40404040C1C2");
    roundTrip("PIC A(3)", "XYZ", "E7E8E9");
    roundTrip("PIC N(2)", "€a", "20AC0061");
    assert.deepEqual(one("PIC X(4)", { trim: "none" }).decode(hex("C1404040")), { F: "A   " });
    assert.deepEqual(one("PIC X(4)", { trim: "both" }).decode(hex("40C14040")), { F: "A" });
    assert.throws(() => one("PIC X(2)").encode({ F: "ABC" }), /3 characters, the field holds 2/);
    assert.throws(() => one("PIC X(2)", { codePage: "cp037" }).encode({ F: "€" }), /not in code page cp037/);
  });
});

describe("record codec: strictness", () => {
  const c = compileCopybook(
    `01 R.
       05 ID   PIC 9(4).
       05 AMT  PIC S9(5)V99 COMP-3.
       05 NAME PIC X(5).`,
    { format: "free" },
  );
  const good = hex("F0F0F4F2 0001250C C1C2C3C4C5");

  it("decodes a valid record", () => {
    assert.deepEqual(c.decode(good), { ID: 42, AMT: 12.5, NAME: "ABCDE" });
  });

  it("a bad packed nibble fails the record naming field, byte offset and bytes", () => {
    const bad = Uint8Array.from(good);
    bad[5] = 0x1a;
    assert.throws(
      () => c.decode(bad),
      (e: unknown) =>
        e instanceof RecordDecodeError &&
        e.code === "RECORD_DECODE" &&
        e.field === "R.AMT" &&
        e.offset === 4 &&
        e.bytes === "001A250C" &&
        /invalid packed digit nibble/.test(e.message),
    );
    bad[5] = 0x12;
    bad[7] = 0x07;
    assert.throws(() => c.decode(bad), /invalid packed sign nibble 7/);
  });

  it("a non-digit or a space in a zoned number fails (IBM), a negative sign on an unsigned field fails", () => {
    const bad = Uint8Array.from(good);
    bad[1] = 0x40;
    assert.throws(
      () => c.decode(bad),
      (e: unknown) =>
        e instanceof RecordDecodeError && e.field === "R.ID" && e.offset === 0 && e.bytes === "F040F4F2",
    );
    bad[1] = 0xf0;
    bad[3] = 0xd2;
    assert.throws(() => c.decode(bad), /R\.ID at byte 0: overpunched sign in an unsigned field/);
  });

  it("records shorter or longer than the layout fail", () => {
    assert.throws(() => c.decode(good.subarray(0, 12)), /record is 12 bytes, the layout needs 13/);
    assert.throws(
      () => c.decode(Uint8Array.of(...good, 0x40)),
      /record is 14 bytes, longer than the layout \(13\)/,
    );
    assert.deepEqual(
      compileCopybook("01 R.\n 05 A PIC X(2).", { format: "free", trailingBytes: "ignore" }).decode(
        hex("C1C2C3"),
      ),
      { A: "AB" },
    );
  });

  it("lenient mode: null plus a list of corrupt fields", () => {
    const l = compileCopybook(
      `01 R.
         05 ID   PIC 9(4).
         05 AMT  PIC S9(5)V99 COMP-3.
         05 NAME PIC X(5).`,
      { format: "free", strict: false },
    );
    const bad = Uint8Array.from(good);
    bad[0] = 0xc1;
    bad[4] = 0xff;
    const d = l.decodeDetailed(bad);
    assert.deepEqual(d.record, { ID: null, AMT: null, NAME: "ABCDE" });
    assert.deepEqual(
      d.corrupt.map((x) => [x.field, x.offset, x.bytes]),
      [
        ["R.ID", 0, "C1F0F4F2"],
        ["R.AMT", 4, "FF01250C"],
      ],
    );
    assert.equal(d.size, 13);
  });

  it("encode errors name the field and why", () => {
    assert.throws(
      () => c.encode({ ID: 42, AMT: 12.345, NAME: "A" }),
      (e: unknown) =>
        e instanceof RecordEncodeError &&
        e.field === "R.AMT" &&
        e.offset === 4 &&
        /more than 2 decimal places/.test(e.message),
    );
    assert.throws(() => c.encode({ ID: 123456, AMT: 1, NAME: "A" }), /does not fit 4 digit/);
    assert.throws(() => c.encode({ ID: -1, AMT: 1, NAME: "A" }), /negative, the field is unsigned/);
    assert.throws(() => c.encode({ ID: 1, NAME: "A" }), /R\.AMT at byte 4: missing value/);
    assert.equal(
      toHex(
        compileCopybook("01 R.\n 05 A PIC 9(2).\n 05 B PIC X(2).", {
          format: "free",
          missing: "default",
        }).encode({}),
      ),
      "F0F04040",
    );
  });
});

describe("record codec: structure", () => {
  it("OCCURS and nested groups become arrays of objects", () => {
    const c = compileCopybook(
      `01 R.
         05 N PIC 9.
         05 ROW OCCURS 2 TIMES.
            10 K PIC X.
            10 V PIC S9(3) COMP-3 OCCURS 2 TIMES.`,
      { format: "free" },
    );
    const rec = {
      N: 1,
      ROW: [
        { K: "A", V: [1, -2] },
        { K: "B", V: [3, 4] },
      ],
    };
    const b = c.encode(rec);
    assert.equal(b.length, 11);
    assert.deepEqual(c.decode(b), rec);
  });

  it("OCCURS DEPENDING ON: the record is as long as its count (IBM), tables in the middle shift what follows", () => {
    const c = compileCopybook(
      `01 R.
         05 N PIC 9.
         05 T PIC X(2) OCCURS 1 TO 5 TIMES DEPENDING ON N.
         05 TAIL PIC X(3).`,
      { format: "free" },
    );
    const rec = { N: 2, T: ["AB", "CD"], TAIL: "XYZ" };
    const b = c.encode(rec);
    assert.equal(toHex(b), "F2C1C2C3C4E7E8E9");
    assert.deepEqual(c.decode(b), rec);
    assert.equal(c.sizeOf(b), 8);
    assert.throws(
      () => c.decode(hex("F9C1C2")),
      (e: unknown) =>
        e instanceof RecordDecodeError && e.field === "R.T" && /N = 9 is outside 1 TO 5/.test(e.message),
    );
    assert.throws(() => c.encode({ N: 2, T: ["AB"], TAIL: "X" }), /expected an array of 2 element/);
    // max-size layout (Cobrix default): the table always takes 5 slots
    const m = compileCopybook(
      "01 R.\n 05 N PIC 9.\n 05 T PIC X(2) OCCURS 1 TO 5 TIMES DEPENDING ON N.\n 05 TAIL PIC X(3).",
      { format: "free", variableOccurs: "max" },
    );
    assert.equal(m.maxSize, 14);
    const mb = m.encode(rec);
    assert.equal(mb.length, 14);
    assert.deepEqual(m.decode(mb), rec);
  });

  it("nested OCCURS DEPENDING ON", () => {
    const c = compileCopybook(
      `01 R.
         05 N PIC 9.
         05 G OCCURS 0 TO 3 DEPENDING ON N.
            10 M PIC 9.
            10 X PIC X OCCURS 0 TO 4 DEPENDING ON M.
         05 END-MARK PIC X.`,
      { format: "free" },
    );
    const rec = {
      N: 2,
      G: [
        { M: 1, X: ["A"] },
        { M: 3, X: ["B", "C", "D"] },
      ],
      "END-MARK": "Z",
    };
    const b = c.encode(rec);
    assert.equal(b.length, 1 + 2 + 4 + 1);
    assert.deepEqual(c.decode(b), rec);
  });

  it("REDEFINES: all branches without a selector; the active one with a selector", () => {
    const text = `01 R.
         05 KIND PIC X.
         05 PAYLOAD PIC X(4).
         05 NUM REDEFINES PAYLOAD PIC S9(7) COMP-3.
         05 PARTS REDEFINES PAYLOAD.
            10 P1 PIC X(2).
            10 P2 PIC X(2).`;
    const all = compileCopybook(text, { format: "free" });
    // "ABCD" is not valid packed: that branch is null, the others decode
    assert.deepEqual(all.decode(hex("E7C1C2C3C4")), {
      KIND: "X",
      PAYLOAD: "ABCD",
      NUM: null,
      PARTS: { P1: "AB", P2: "CD" },
    });
    const sel = compileCopybook(text, {
      format: "free",
      redefines: { PAYLOAD: (r) => (r.KIND === "N" ? "NUM" : r.KIND === "P" ? "PARTS" : "PAYLOAD") },
    });
    assert.deepEqual(sel.decode(hex("D50012345C")), { KIND: "N", NUM: 12345 });
    assert.deepEqual(sel.decode(hex("D7C1C2C3C4")), { KIND: "P", PARTS: { P1: "AB", P2: "CD" } });
    // with a selector the active branch is strict
    assert.throws(() => sel.decode(hex("D5C1C2C3C4")), /R\.NUM at byte 1/);
    // encode writes the branch present
    assert.equal(toHex(sel.encode({ KIND: "N", NUM: -5 })), "D50000005D");
    const seg = compileCopybook(text, {
      format: "free",
      segmentField: "KIND",
      segmentRedefines: { NUM: ["N"], PARTS: ["P"] },
    });
    assert.deepEqual(seg.decode(hex("D7C1C2C3C4")), {
      KIND: "P",
      PAYLOAD: "ABCD",
      PARTS: { P1: "AB", P2: "CD" },
    });
  });

  it("custom field codec by name pattern (bitmap24 house rule)", () => {
    const bitmap24: FieldCodecRule = {
      match: /-BITMAP$/,
      decode(bytes, offset, length) {
        if (length !== 3) throw new Error("bitmap24 needs PIC X(3)");
        const out: number[] = [];
        for (let i = 0; i < 24; i++) if (bytes[offset + (i >> 3)]! & (0x80 >> (i & 7))) out.push(i + 1);
        return out;
      },
      encode(value, bytes, offset) {
        if (!Array.isArray(value)) throw new Error("expected an array of horse numbers");
        bytes[offset] = bytes[offset + 1] = bytes[offset + 2] = 0;
        for (const h of value as number[]) {
          if (!Number.isInteger(h) || h < 1 || h > 24) throw new Error(`horse ${h} is outside 1..24`);
          bytes[offset + ((h - 1) >> 3)]! |= 0x80 >> ((h - 1) & 7);
        }
      },
    };
    const c = compileCopybook("01 R.\n 05 T031-FIELD-BITMAP PIC X(3).\n 05 OTHER PIC X(3).", {
      format: "free",
      fieldCodecs: [bitmap24],
    });
    const b = c.encode({ "T031-FIELD-BITMAP": [1, 9, 24], OTHER: "ABC" });
    assert.equal(toHex(b), "808001C1C2C3");
    assert.deepEqual(c.decode(b), { "T031-FIELD-BITMAP": [1, 9, 24], OTHER: "ABC" });
    assert.throws(
      () => c.encode({ "T031-FIELD-BITMAP": [25], OTHER: "" }),
      /T031-FIELD-BITMAP at byte 0: horse 25 is outside 1\.\.24/,
    );
  });

  it("partial decode reads only the picked fields (header-only decode)", () => {
    const c = compileCopybook(
      `01 FRAME.
         05 HDR.
            10 TYPE PIC X(4).
            10 LEN  PIC 9(4) COMP.
         05 BODY PIC S9(5) COMP-3 OCCURS 3.`,
      { format: "free" },
    );
    const b = c.encode({ HDR: { TYPE: "T031", LEN: 9 }, BODY: [1, 2, 3] });
    assert.deepEqual(c.pick(["TYPE"]).decode(b), { HDR: { TYPE: "T031" } });
    assert.deepEqual(c.pick(["HDR"]).decode(b), { HDR: { TYPE: "T031", LEN: 9 } });
    // a corrupt body does not matter to a header-only decode, and trailing bytes are allowed
    const corrupt = Uint8Array.from([...b.subarray(0, 6), 0xff, 0xff]);
    assert.deepEqual(c.pick(["HDR"]).decode(corrupt), { HDR: { TYPE: "T031", LEN: 9 } });
    assert.throws(() => c.pick(["NOPE"]), /no field NOPE/);
  });

  it("keepRoot and Cobrix-style names", () => {
    const c = compileCopybook("01 MY-REC.\n 05 A-B PIC X.", {
      format: "free",
      keepRoot: true,
      names: "underscore",
    });
    assert.deepEqual(c.decode(hex("C1")), { MY_REC: { A_B: "A" } });
    assert.equal(toHex(c.encode({ MY_REC: { A_B: "Z" } })), "E9");
  });
});

describe("exact decimals survive decode -> JSON -> encode", () => {
  it("numbers up to 15 digits, decimal strings beyond", () => {
    const c = compileCopybook(
      `01 R.
         05 A PIC S9(13)V99 COMP-3.
         05 B PIC S9(18)V9(10).
         05 C PIC 9(37) COMP.
         05 D PIC S9(3)V9(12).`,
      { format: "free" },
    );
    const rec = {
      A: -9999999999999.99,
      B: "-123456789012345678.0123456789",
      C: "1234567890123456789012345678901234567",
      D: 0.000000000001,
    };
    const bytes = c.encode(rec);
    const json = JSON.stringify(c.decode(bytes));
    assert.equal(
      json,
      '{"A":-9999999999999.99,"B":"-123456789012345678.0123456789","C":"1234567890123456789012345678901234567","D":1e-12}',
    );
    assert.deepEqual(c.encode(JSON.parse(json)), bytes);
  });
});

describe("record codec: segments and lazy views", () => {
  it("a segment id field selects the record layout (one 01 per segment)", async () => {
    const { parseCopybook, SegmentedCodec } = await import("../../src/copybook/index.ts");
    const cb = parseCopybook(
      `01 COMPANY-REC.
         05 SEG PIC X.
         05 NAME PIC X(5).
         05 EMPLOYEES PIC 9(4) COMP.
       01 PERSON-REC.
         05 SEG PIC X.
         05 FIRST-NAME PIC X(3).
         05 AGE PIC 9(3) COMP-3.`,
      { format: "free" },
    );
    const seg = new SegmentedCodec(cb, {
      segmentField: "SEG",
      segments: { C: "COMPANY-REC", P: "PERSON-REC" },
    });
    const company = seg.encode({ "COMPANY-REC": { SEG: "C", NAME: "ACME", EMPLOYEES: 12 } });
    const person = seg.encode({ "PERSON-REC": { SEG: "P", "FIRST-NAME": "Ada", AGE: 36 } });
    assert.equal(company.length, 8);
    assert.equal(person.length, 6);
    assert.deepEqual(seg.decode(company), { "COMPANY-REC": { SEG: "C", NAME: "ACME", EMPLOYEES: 12 } });
    assert.deepEqual(seg.decode(person), { "PERSON-REC": { SEG: "P", "FIRST-NAME": "Ada", AGE: 36 } });
    const unknown = Uint8Array.from(person);
    unknown[0] = 0xe7; // 'X'
    assert.throws(
      () => seg.decode(unknown),
      (e: unknown) =>
        e instanceof RecordDecodeError &&
        e.field === "COMPANY-REC.SEG" &&
        /unknown segment id 'X'/.test(e.message),
    );
  });

  it("view(): fields decode on first read; a corrupt field only fails when read", () => {
    const c = compileCopybook("01 R.\n 05 A PIC X(3).\n 05 B PIC S9(3) COMP-3.\n 05 G.\n  10 C PIC 9(2).", {
      format: "free",
    });
    const bytes = c.encode({ A: "XYZ", B: -7, G: { C: 42 } });
    const v = c.view(bytes);
    assert.equal(v.A, "XYZ");
    assert.deepEqual(v.G, { C: 42 });
    assert.equal(JSON.stringify(v), '{"A":"XYZ","B":-7,"G":{"C":42}}');
    bytes[4] = 0xff;
    const bad = c.view(bytes);
    assert.equal(bad.A, "XYZ");
    assert.throws(() => bad.B, /R\.B at byte 3/);
  });
});

describe("record codec: level 66", () => {
  it("RENAMES items appear as objects of the renamed fields when asked", () => {
    const text = `01 R.
         05 A PIC X(2).
         05 G.
            10 B PIC 9(2).
            10 C PIC X.
         05 D PIC X.
         66 B-TO-D RENAMES B THRU D.
         66 JUST-A RENAMES A.`;
    const c = compileCopybook(text, { format: "free", renames: true });
    const bytes = hex("C1C2 F4F2 C3 C4");
    assert.deepEqual(c.decode(bytes), {
      A: "AB",
      G: { B: 42, C: "C" },
      D: "D",
      "B-TO-D": { B: 42, C: "C", D: "D" },
      "JUST-A": { A: "AB" },
    });
    assert.deepEqual(c.encode(c.decode(bytes)), bytes);
    assert.deepEqual(compileCopybook(text, { format: "free" }).decode(bytes), {
      A: "AB",
      G: { B: 42, C: "C" },
      D: "D",
    });
  });
});

describe("record codec: options", () => {
  it("unknown option values are rejected, not ignored", () => {
    assert.throws(
      () => compileCopybook("01 R.\n 05 A PIC X.", { format: "free", trim: "sides" as "both" }),
      /option trim: 'sides' is not one of/,
    );
    assert.throws(
      () => compileCopybook("01 R.\n 05 A PIC X.", { format: "FREE" as "free" }),
      /option format: 'FREE'/,
    );
    assert.throws(
      () => compileCopybook("01 R.\n 05 A PIC X.", { format: "free", codePage: "cp9999" }),
      /unknown code page/,
    );
    assert.throws(
      () => compileCopybook("01 R.\n 05 A PIC X.", { format: "free", record: "NOPE" }),
      /no record NOPE/,
    );
    assert.throws(
      () => compileCopybook("01 R.\n 05 A PIC X.", { format: "free", redefines: { ZZ: () => null } }),
      /no field ZZ/,
    );
  });
});

describe("record codec: very wide records", () => {
  it("records with hundreds of fields (decoded in chunks) round-trip and report errors like narrow ones", () => {
    const lines = ["01 WIDE."];
    const rec: Record<string, unknown> = {};
    for (let i = 0; i < 300; i++) {
      const kind = i % 5;
      if (kind === 0) {
        lines.push(`  05 T${i} PIC X(7).`);
        rec[`T${i}`] = `T${i}`;
      } else if (kind === 1) {
        lines.push(`  05 P${i} PIC S9(5)V99 COMP-3.`);
        rec[`P${i}`] = -i / 100;
      } else if (kind === 2) {
        lines.push(`  05 Z${i} PIC 9(4).`);
        rec[`Z${i}`] = i;
      } else if (kind === 3) {
        lines.push(`  05 G${i}.`, `    10 GA${i} PIC X(2).`, `    10 GB${i} PIC S9(4) COMP OCCURS 2.`);
        rec[`G${i}`] = { [`GA${i}`]: "AB", [`GB${i}`]: [i, -i] };
      } else {
        lines.push(`  05 R${i} PIC X(3).`, `  05 RN${i} REDEFINES R${i} PIC S9(5) COMP-3.`);
        rec[`R${i}`] = "abc";
        rec[`RN${i}`] = null; // "abc" is not packed: that branch is null
      }
    }
    const c = compileCopybook(lines.join("\n"), { format: "free" });
    const bytes = c.encode(rec);
    assert.deepEqual(c.decode(bytes), rec);
    assert.deepEqual(Object.keys(c.decode(bytes)), Object.keys(rec));
    const bad = Uint8Array.from(bytes);
    const p251 = c.fields().find((f) => f.name === "P251")!;
    bad[p251.offset] = 0xff;
    assert.throws(
      () => c.decode(bad),
      (e: unknown) => e instanceof RecordDecodeError && e.field === "WIDE.P251" && e.offset === p251.offset,
    );
    const lenient = compileCopybook(lines.join("\n"), { format: "free", strict: false });
    const d = lenient.decodeDetailed(bad);
    assert.equal(d.record.P251, null);
    assert.ok(d.corrupt.some((x) => x.field === "WIDE.P251"));
  });
});

describe("record codec: wide groups with a counter", () => {
  it("a counter inside a wide group sizes a table after it (no chunking across them)", () => {
    const lines = ["01 R.", "  05 HDR."];
    const hdr: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) {
      lines.push(`    10 H${i} PIC 9(2).`);
      hdr[`H${i}`] = i;
    }
    lines.push("    10 CNT PIC 9(2).", "  05 T PIC X(2) OCCURS 0 TO 5 DEPENDING ON CNT.");
    hdr.CNT = 2;
    const c = compileCopybook(lines.join("\n"), { format: "free" });
    const rec = { HDR: hdr, T: ["AB", "CD"] };
    assert.deepEqual(c.decode(c.encode(rec)), rec);
  });
});

describe("record codec: bounds", () => {
  it("record bounds outside the bytes are a RangeError, never undefined reads", () => {
    const c = compileCopybook("01 R.\n 05 A PIC 9(4).", { format: "free" });
    const b = hex("F1F2F3F4");
    assert.throws(() => c.decode(b, 0, 8), RangeError);
    assert.throws(() => c.decode(b, -1, 3), RangeError);
    assert.throws(() => c.pick(["A"]).decode(b, 2, 1), RangeError);
    assert.deepEqual(c.decode(new Uint8Array([0, ...b, 0]), 1, 5), { A: 1234 });
  });
});
