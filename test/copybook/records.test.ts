// Record framing: F/FB, V (IBM and Cobrix RDWs), VB with BDW, length field, occurs, text, length-prefixed,
// header/trailer skipping, and framing errors that name the file offset and record index.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compileCopybook,
  type FramingOptions,
  frameRecords,
  HierarchyBuilder,
  RecordFramingError,
  splitRecords,
  streamRecords,
} from "../../src/copybook/index.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const spans = (data: Uint8Array, o: FramingOptions, codec?: ReturnType<typeof compileCopybook>): string[] =>
  [...splitRecords(data, o, codec)].map((r) => Buffer.from(data.subarray(r.start, r.end)).toString("hex"));

describe("record framing", () => {
  it("F: fixed length, header/trailer skipping, uneven data is an error", () => {
    assert.deepEqual(spans(hex("AAAA BBBB"), { recordLength: 2 }), ["aaaa", "bbbb"]);
    assert.deepEqual(
      spans(hex("FF AAAA BBBB EEEE"), { recordLength: 2, fileStartOffset: 1, fileEndOffset: 2 }),
      ["aaaa", "bbbb"],
    );
    assert.throws(
      () => spans(hex("AAAA BB"), { recordLength: 2 }),
      (e: unknown) =>
        e instanceof RecordFramingError &&
        e.recordIndex === 1 &&
        e.offset === 2 &&
        /not a multiple/.test(e.message),
    );
    assert.deepEqual(spans(hex("AAAA BB"), { recordLength: 2, allowPartialLastRecord: true }), [
      "aaaa",
      "bb",
    ]);
    const codec = compileCopybook("01 R.\n 05 A PIC X(3).", { format: "free" });
    assert.deepEqual(spans(hex("C1C2C3 C4C5C6"), {}, codec), ["c1c2c3", "c4c5c6"]);
  });

  it("V: IBM RDW (big-endian, includes itself) and Cobrix's little-endian RDW", () => {
    // 80 data bytes -> 00 54 00 00
    const rec = new Uint8Array(80).fill(0x40);
    const ibm = frameRecords([rec, rec.subarray(0, 3)], { format: "V" });
    assert.equal(Buffer.from(ibm.subarray(0, 4)).toString("hex"), "00540000");
    assert.deepEqual(
      [...splitRecords(ibm, { format: "V" })].map((r) => r.end - r.start),
      [80, 3],
    );
    const cobrix = hex("0000 4000");
    const le = new Uint8Array([...cobrix, ...new Uint8Array(64)]);
    assert.deepEqual(
      [...splitRecords(le, { format: "V", rdw: { byteOrder: "little" } })].map((r) => r.end - r.start),
      [64],
    );
    assert.deepEqual(
      [...splitRecords(hex("0500 0000 AABBCCDDEE"), { format: "V", rdw: { byteOrder: "little" } })].map(
        (r) => r.end - r.start,
      ),
      [5],
    );
    assert.deepEqual(
      [...splitRecords(hex("0002 0000 AABB"), { format: "V", rdw: { includesHeader: false } })].map(
        (r) => r.end - r.start,
      ),
      [2],
    );
  });

  it("V errors: nonzero spanned bytes, truncated record, bad length", () => {
    assert.throws(() => spans(hex("0008 0100 AABBCCDD"), { format: "V" }), /bytes 2-3 must be zero/);
    assert.throws(
      () => spans(hex("0008 0000 AABBCCDD 0010 0000 AA"), { format: "V" }),
      (e: unknown) =>
        e instanceof RecordFramingError &&
        e.recordIndex === 1 &&
        e.offset === 12 &&
        /record needs 12 bytes, 1 left/.test(e.message),
    );
    assert.throws(() => spans(hex("0002 0000"), { format: "V" }), /record length -2/);
  });

  it("VB: BDW blocks of RDW records (block of 84- and 60-byte records -> 00 94 00 00)", () => {
    const a = new Uint8Array(80).fill(1);
    const b = new Uint8Array(56).fill(2);
    const block = new Uint8Array([...hex("0094 0000"), ...hex("0054 0000"), ...a, ...hex("003C 0000"), ...b]);
    assert.equal(block.length, 0x94);
    assert.deepEqual(
      [...splitRecords(block, { format: "VB" })].map((r) => r.end - r.start),
      [80, 56],
    );
    const framed = frameRecords([a, b], { format: "VB" });
    assert.deepEqual(
      [...splitRecords(framed, { format: "VB" })].map((r) => r.end - r.start),
      [80, 56],
    );
    assert.throws(
      () => spans(hex("0010 0000 0054 0000 AABBCCDD AABBCCDD"), { format: "VB" }),
      /crosses the end of its block/,
    );
  });

  it("length field, OCCURS-sized records, text lines, length-prefixed frames", () => {
    const lf = compileCopybook("01 R.\n 05 L PIC 9(4) COMP.\n 05 REST PIC X(10).", { format: "free" });
    assert.deepEqual(spans(hex("0003 AA 0004 BBCC"), { format: "length-field", lengthField: "L" }, lf), [
      "0003aa",
      "0004bbcc",
    ]);
    const odo = compileCopybook("01 R.\n 05 N PIC 9.\n 05 X PIC X OCCURS 0 TO 9 DEPENDING ON N.", {
      format: "free",
      codePage: "ascii",
    });
    assert.deepEqual(spans(new TextEncoder().encode("2AB0"), { format: "occurs" }, odo), ["324142", "30"]);
    assert.deepEqual(spans(new TextEncoder().encode("ab\r\ncd\n\nef"), { format: "text" }), [
      "6162",
      "6364",
      "",
      "6566",
    ]);
    const frames = frameRecords([hex("0102"), hex("03")], { format: "length-prefixed" });
    assert.equal(Buffer.from(frames).toString("hex"), "00000002010200000001" + "03");
    assert.deepEqual(spans(frames, { format: "length-prefixed" }), ["0102", "03"]);
    assert.deepEqual(spans(hex("0001 AA"), { format: "length-prefixed", prefixBytes: 2 }), ["aa"]);
  });

  it("hierarchy: child segments nest in their parent's branch", () => {
    const h = new HierarchyBuilder({
      segmentKey: "SEG",
      branches: { COMPANY: ["C"], DEPT: ["D"], EMP: ["E"] },
      children: { COMPANY: ["DEPT"], DEPT: ["EMP"] },
    });
    const out = [
      ...h.push({ SEG: "C", COMPANY: { NAME: "ACME" } }),
      ...h.push({ SEG: "D", DEPT: { NAME: "R&D" } }),
      ...h.push({ SEG: "E", EMP: { NAME: "Ada" } }),
      ...h.push({ SEG: "E", EMP: { NAME: "Bob" } }),
      ...h.push({ SEG: "C", COMPANY: { NAME: "Globex" } }),
      ...h.push({ SEG: "E", EMP: { NAME: "orphan" } }),
      ...h.finish(),
    ];
    assert.deepEqual(out, [
      {
        SEG: "C",
        COMPANY: { NAME: "ACME", DEPT: [{ NAME: "R&D", EMP: [{ NAME: "Ada" }, { NAME: "Bob" }] }] },
      },
      { SEG: "C", COMPANY: { NAME: "Globex", DEPT: [] } },
    ]);
    assert.equal(h.orphans.length, 1);
    assert.match(h.orphans[0]!.reason, /no open parent DEPT/);
  });
});

describe("hierarchy over segment layouts", () => {
  it("segmentOf reads the id from records shaped { RECORD: {...} }", () => {
    const h = new HierarchyBuilder({
      segmentOf: (r) => Object.keys(r)[0],
      branches: { "COMPANY-REC": ["COMPANY-REC"], "PERSON-REC": ["PERSON-REC"] },
      children: { "COMPANY-REC": ["PERSON-REC"] },
    });
    const out = [
      ...h.push({ "COMPANY-REC": { NAME: "ACME" } }),
      ...h.push({ "PERSON-REC": { NAME: "Ada" } }),
      ...h.finish(),
    ];
    assert.deepEqual(out, [{ "COMPANY-REC": { NAME: "ACME", "PERSON-REC": [{ NAME: "Ada" }] } }]);
  });
});

describe("streamRecords", () => {
  async function* chunked(data: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
    let s = seed;
    let at = 0;
    while (at < data.length) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const n = 1 + (s % 23);
      // a fresh copy each time: the consumer must not rely on chunk memory
      yield Uint8Array.from(data.subarray(at, at + n));
      at += n;
    }
  }
  const collect = async (
    data: Uint8Array,
    o: FramingOptions,
    codec?: ReturnType<typeof compileCopybook>,
  ): Promise<string[]> => {
    const out: string[] = [];
    for await (const r of streamRecords(chunked(data, data.length), o, codec)) {
      out.push(`${r.fileOffset}:${Buffer.from(r.data.subarray(r.start, r.end)).toString("hex")}`);
    }
    return out;
  };
  const whole = (data: Uint8Array, o: FramingOptions, codec?: ReturnType<typeof compileCopybook>): string[] =>
    [...splitRecords(data, o, codec)].map(
      (r) => `${r.start}:${Buffer.from(data.subarray(r.start, r.end)).toString("hex")}`,
    );

  it("gives the same records as splitRecords for every format, whatever the chunking", async () => {
    const recs = Array.from({ length: 40 }, (_, i) => new Uint8Array(1 + (i % 7)).fill(0xc1 + (i % 9)));
    const fixed = Array.from({ length: 30 }, (_, i) => new Uint8Array(5).fill(i));
    const lf = compileCopybook("01 R.\n 05 L PIC 9(4) COMP.\n 05 REST PIC X(10).", { format: "free" });
    const lfData = new Uint8Array(recs.flatMap((r) => [0, r.length + 2, ...r]));
    const cases: Array<[Uint8Array, FramingOptions, ReturnType<typeof compileCopybook>?]> = [
      [frameRecords(fixed, { format: "F" }), { recordLength: 5 }],
      [
        new Uint8Array([9, 9, 9, ...frameRecords(fixed, { format: "F" }), 7, 7]),
        { recordLength: 5, fileStartOffset: 3, fileEndOffset: 2 },
      ],
      [frameRecords(recs, { format: "V" }), { format: "V" }],
      [frameRecords(recs, { format: "VB" }), { format: "VB" }],
      [frameRecords(recs, { format: "length-prefixed" }), { format: "length-prefixed" }],
      [frameRecords(recs, { format: "text" }), { format: "text" }],
      [lfData, { format: "length-field", lengthField: "L" }, lf],
    ];
    for (const [data, o, codec] of cases) {
      assert.deepEqual(await collect(data, o, codec), whole(data, o, codec), JSON.stringify(o));
    }
  });

  it("a broken stream raises RecordFramingError with the file offset", async () => {
    const data = new Uint8Array([...frameRecords([hex("AABB"), hex("CC")], { format: "V" }), 0, 9, 0, 0, 1]);
    await assert.rejects(
      async () => {
        for await (const _ of streamRecords(chunked(data, 3), { format: "V" })) {
          // drain
        }
      },
      (e: unknown) => e instanceof RecordFramingError && e.offset === 15 && e.recordIndex === 2,
    );
  });
});
