// Fuzz: random and mutated records, framings and copybook texts never crash or hang the codec. Strict
// decoding yields a RecordDecodeError or a record that re-encodes to a record decoding the same (nothing
// invalid is accepted); lenient decoding never throws for field-level problems. COURANT_SOAK=1: larger.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  CopybookLayoutError,
  CopybookSyntaxError,
  compileCopybook,
  parseCopybook,
  RecordDecodeError,
  RecordEncodeError,
  RecordFramingError,
  splitRecords,
} from "../../src/copybook/index.ts";
import { rng } from "../fixtures/random.ts";

const SOAK = process.env.COURANT_SOAK === "1";
const N = SOAK ? 1_000_000 : 20_000;

const COPYBOOK = `
01 FRAME.
   05 KIND          PIC X.
   05 N             PIC 9(2).
   05 AMOUNT        PIC S9(7)V99 COMP-3.
   05 COUNT-B       PIC S9(4) COMP.
   05 BIG           PIC S9(20) COMP-3.
   05 ZONED         PIC S9(5)V99 SIGN LEADING SEPARATE.
   05 EDITED        PIC Z(4)9.99-.
   05 FLT           COMP-2.
   05 PAYLOAD       PIC X(6).
   05 NUM REDEFINES PAYLOAD PIC S9(11) COMP-3.
   05 ITEMS OCCURS 0 TO 5 TIMES DEPENDING ON N.
      10 CODE       PIC X(2).
      10 QTY        PIC 9(3) COMP-3.
   05 TAIL          PIC X(3).
`;

function sample(r: () => number): Record<string, unknown> {
  const n = Math.floor(r() * 6);
  return {
    KIND: "ABC"[Math.floor(r() * 3)],
    N: n,
    AMOUNT: Math.round((r() - 0.5) * 1e9) / 100,
    "COUNT-B": Math.floor((r() - 0.5) * 60000),
    BIG: String(Math.floor(r() * 1e15)),
    ZONED: Math.round((r() - 0.5) * 1e7) / 100,
    EDITED: Math.round((r() - 0.5) * 1e7) / 100,
    FLT: (r() - 0.5) * 1e6,
    PAYLOAD: "XYZ",
    NUM: Math.floor(r() * 1e9),
    ITEMS: Array.from({ length: n }, (_, i) => ({ CODE: `C${i}`, QTY: Math.floor(r() * 999) })),
    TAIL: "END",
    // (text with trim "none" keeps its padding)
  };
}

describe("fuzz", () => {
  it(`${N} random and mutated records: strict errors or valid records, lenient never throws field errors`, () => {
    // trim "none": text keeps every byte, so "accepted => re-encodes to the same values" is exact.
    const strict = compileCopybook(COPYBOOK, {
      format: "free",
      trim: "none",
      redefines: { PAYLOAD: (rec) => (rec.KIND === "A" ? "NUM" : "PAYLOAD") },
    });
    const strictAll = compileCopybook(COPYBOOK, { format: "free", trim: "none" });
    const lenient = compileCopybook(COPYBOOK, { format: "free", strict: false });
    const r = rng(7);
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      const rec = sample(r);
      if (rec.KIND !== "A") delete rec.NUM;
      else delete rec.PAYLOAD;
      seeds.push(strict.encode(rec));
    }
    let accepted = 0;
    let rejected = 0;
    const t0 = Date.now();
    for (let i = 0; i < N; i++) {
      let bytes: Uint8Array;
      const mode = r();
      if (mode < 0.2) {
        bytes = new Uint8Array(Math.floor(r() * 80));
        for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(r() * 256);
      } else {
        const base = seeds[Math.floor(r() * seeds.length)]!;
        bytes = Uint8Array.from(base);
        const flips = 1 + Math.floor(r() * 3);
        for (let f = 0; f < flips; f++) {
          const at = Math.floor(r() * bytes.length);
          const how = r();
          if (how < 0.5) bytes[at] = Math.floor(r() * 256);
          else if (how < 0.8) bytes[at]! ^= 1 << Math.floor(r() * 8);
          else bytes = bytes.subarray(0, at); // truncation
        }
      }
      for (const codec of [strict, strictAll]) {
        try {
          const rec = codec.decode(bytes);
          accepted++;
          // Accepted means valid: the record re-encodes and decodes to the same values.
          let again: Uint8Array;
          try {
            again = codec.encode(rec);
          } catch (err) {
            if (err instanceof RecordEncodeError && codec === strictAll) continue; // all branches present
            throw err;
          }
          assert.deepEqual(codec.decode(again), rec);
        } catch (err) {
          if (!(err instanceof RecordDecodeError)) {
            throw new Error(`unexpected ${String(err)} for ${Buffer.from(bytes).toString("hex")}`);
          }
          assert.ok(err.message.length > 0 && typeof err.offset === "number");
          rejected++;
        }
      }
      try {
        lenient.decodeDetailed(bytes);
      } catch (err) {
        // lenient: only record-level problems (length, table counts) throw
        assert.ok(
          err instanceof RecordDecodeError && (err.field === "" || /OCCURS DEPENDING ON/.test(err.reason)),
          `lenient threw ${String(err)}`,
        );
      }
    }
    assert.ok(accepted > 0 && rejected > 0, `accepted ${accepted} rejected ${rejected}`);
    assert.ok(Date.now() - t0 < (SOAK ? 3_600_000 : 120_000), "fuzzing took too long (hang?)");
  });

  it("random framing bytes only raise RecordFramingError", () => {
    const r = rng(11);
    const codec = compileCopybook("01 R.\n 05 L PIC 9(4) COMP.\n 05 X PIC X(6).", { format: "free" });
    for (let i = 0; i < (SOAK ? 200_000 : 5_000); i++) {
      const data = new Uint8Array(Math.floor(r() * 60));
      for (let k = 0; k < data.length; k++) data[k] = r() < 0.5 ? 0 : Math.floor(r() * 256);
      for (const framing of [
        { format: "V" as const },
        { format: "V" as const, rdw: { byteOrder: "little" as const } },
        { format: "VB" as const },
        { format: "F" as const },
        { format: "length-prefixed" as const, prefixBytes: 2 as const },
        { format: "length-field" as const, lengthField: "L" },
        { format: "text" as const },
      ]) {
        try {
          for (const rec of splitRecords(data, framing, codec)) {
            assert.ok(rec.start >= 0 && rec.end <= data.length && rec.start <= rec.end);
          }
        } catch (err) {
          assert.ok(err instanceof RecordFramingError, `${framing.format}: ${String(err)}`);
        }
      }
    }
  });

  it("mutated copybook text only raises CopybookSyntaxError / CopybookLayoutError", () => {
    const r = rng(13);
    const alphabet = " .'\"()-*0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
    const cobrix = new URL("../fixtures/copybook/cobrix/cases/", import.meta.url).pathname;
    const texts: Array<[string, "free" | "fixed"]> = [
      [COPYBOOK, "free"],
      [readFileSync(`${cobrix}06-type-variety/test6_copybook.cob`, "latin1"), "fixed"],
      [readFileSync(`${cobrix}12-hierarchical-multisegment/test17_hierarchical.cob`, "latin1"), "fixed"],
      [readFileSync(`${cobrix}01-fixed-comp3-redefines-odo/test1_copybook.cob`, "latin1"), "fixed"],
    ];
    for (let i = 0; i < (SOAK ? 100_000 : 3_000); i++) {
      const [source, format] = texts[i % texts.length]!;
      const chars = source.split("");
      const edits = 1 + Math.floor(r() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(r() * chars.length);
        const how = r();
        if (how < 0.4) chars[at] = alphabet[Math.floor(r() * alphabet.length)]!;
        else if (how < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[Math.floor(r() * alphabet.length)]!);
      }
      const text = chars.join("");
      try {
        const codec = parseCopybook(text, { format, lenientIndicator: true }).compile();
        // whatever parsed must also decode its own encoded zero record or fail cleanly
        try {
          codec.decode(new Uint8Array(codec.maxSize));
        } catch (e) {
          assert.ok(e instanceof RecordDecodeError, String(e));
        }
      } catch (err) {
        assert.ok(
          err instanceof CopybookSyntaxError ||
            err instanceof CopybookLayoutError ||
            (err as { code?: string }).code?.startsWith("COPYBOOK"),
          `${String(err)}\n${text}`,
        );
      }
    }
  });
});
