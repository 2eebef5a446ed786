// Copybook language: formats, entries, clauses, COPY, and syntax errors that say where and what.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CopybookLayoutError,
  CopybookSyntaxError,
  compileCopybook,
  parseCopybook,
} from "../../src/copybook/index.ts";

const INCLUDE = new URL("../fixtures/copybook/include/", import.meta.url).pathname;

function fixed(...lines: string[]): string {
  return lines.map((l) => `       ${l}`).join("\n");
}

describe("copybook parser", () => {
  it("fixed format: sequence area, comments, area A/B, columns 73+ ignored", () => {
    const text = [
      "000100 01  REC.                                                          IGNORED1",
      "000200*    a comment line",
      "000300/    page eject comment",
      "000400     05  A        PIC X(4).                                        IGNORED2",
      "000500     05  B        PIC 9(3).",
    ].join("\n");
    const c = compileCopybook(text);
    assert.equal(c.maxSize, 7);
    assert.deepEqual(
      c.fields().map((f) => [f.name, f.offset, f.size]),
      [
        ["A", 0, 4],
        ["B", 4, 3],
      ],
    );
  });

  it("free format with *> comments", () => {
    const c = compileCopybook(
      "01 REC. *> record\n  05 A PIC X(2). *> first\n*> whole line\n  05 B PIC S9(5) COMP-3.\n",
      { format: "free" },
    );
    assert.equal(c.maxSize, 5);
  });

  it("continuation lines: a split literal and a split word", () => {
    const text = [
      "       01  REC.",
      "           05  A  PIC X(30) VALUE 'ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRS",
      "      -    'TUV'.",
      "           05  LONG-NA",
      "      -        ME PIC X(2).",
    ].join("\n");
    const cb = parseCopybook(text);
    const rec = cb.records[0]!;
    assert.deepEqual(
      rec.nodes.map((n) => n.name),
      ["REC", "A", "LONG-NAME"],
    );
  });

  it("levels 01-49, 77, 88 conditions, 66 RENAMES", () => {
    const cb = parseCopybook(
      fixed(
        "01  REC.",
        "    05  STATUS-CODE  PIC X.",
        "        88  STATUS-OK      VALUE 'Y'.",
        "        88  STATUS-BAD     VALUES 'N' 'E'.",
        "    05  AMOUNT       PIC 9(3).",
        "        88  SMALL          VALUE 0 THRU 99.",
        "    05  TAIL         PIC X(2).",
        "    66  AMOUNT-AND-TAIL RENAMES AMOUNT THRU TAIL.",
        "77  COUNTER      PIC S9(4) COMP.",
      ),
    );
    assert.deepEqual(cb.recordNames, ["REC", "COUNTER"]);
    const rec = cb.compile({ record: "REC" });
    const r = rec.decode(
      new TextEncoder()
        .encode("Y042AB")
        .map((c) => (c === 0x59 ? 0xe8 : c === 0x41 ? 0xc1 : c === 0x42 ? 0xc2 : 0xf0 + (c - 0x30))),
    );
    assert.deepEqual(r, { "STATUS-CODE": "Y", AMOUNT: 42, TAIL: "AB" });
    assert.deepEqual(rec.conditions(r), [
      { field: "REC.STATUS-CODE", condition: "STATUS-OK" },
      { field: "REC.AMOUNT", condition: "SMALL" },
    ]);
    const renames = cb.layout("REC").renames;
    assert.equal(renames[0]!.name, "AMOUNT-AND-TAIL");
    assert.equal(renames[0]!.offset, 1);
    assert.equal(renames[0]!.size, 5);
    const counter = cb.compile({ record: "COUNTER" });
    assert.deepEqual(counter.decode(Uint8Array.of(0xff, 0xfe)), { COUNTER: -2 });
  });

  it("COPY members from an include path, with REPLACING", () => {
    const text = fixed(
      "01  CUSTOMER.",
      "    05  HOME.",
      "        COPY ADDR REPLACING ==:P:== BY ==HOME==.",
      "    05  WORK.",
      "        COPY ADDR REPLACING ==:P:== BY ==WORK==.",
    );
    const c = compileCopybook(text, { includePath: [INCLUDE] });
    assert.deepEqual(
      c.fields().map((f) => f.path),
      [
        "CUSTOMER.HOME.HOME-STREET",
        "CUSTOMER.HOME.HOME-CITY",
        "CUSTOMER.HOME.HOME-ZIP",
        "CUSTOMER.WORK.WORK-STREET",
        "CUSTOMER.WORK.WORK-CITY",
        "CUSTOMER.WORK.WORK-ZIP",
      ],
    );
    assert.equal(c.maxSize, 80);
    // in-memory members
    const m = compileCopybook(fixed("01 R.", "   COPY INNER."), {
      members: { INNER: fixed("   05 X PIC X(3).") },
    });
    assert.equal(m.maxSize, 3);
  });

  it("a missing COPY member names the member, file, line and column", () => {
    assert.throws(
      () => parseCopybook(fixed("01 R.", "   COPY NOPE."), { file: "main.cpy", includePath: [INCLUDE] }),
      (e: unknown) =>
        e instanceof CopybookSyntaxError &&
        e.file === "main.cpy" &&
        e.line === 2 &&
        e.column === 16 &&
        /COPY member NOPE/.test(e.message),
    );
  });

  it("a COPY cycle is an error", () => {
    assert.throws(
      () =>
        parseCopybook(fixed("01 R.", "   COPY A."), {
          members: { A: fixed("   COPY B."), B: fixed("   COPY A.") },
        }),
      /cycle/,
    );
  });

  it("syntax errors name file, line, column and what was expected", () => {
    const cases: Array<[string, RegExp, number, number]> = [
      [
        fixed("01 R.", "   05 A PIC X(3)"),
        /expected a clause or '\.' ending the entry, found end of file/,
        2,
        24,
      ],
      [fixed("01 R.", "   05 A PIC X(3) BANANA."), /expected a clause/, 2, 25],
      [fixed("01 R.", "   XX A PIC X."), /expected a level number/, 2, 11],
      [fixed("01 R.", "   05 A OCCURS TIMES."), /expected the number of occurrences after OCCURS/, 2, 23],
      [fixed("01 R.", "   05 A PIC X VALUE 'abc."), /closing ' of the literal/, 2, 28],
      [fixed("01 R.", "   05 A USAGE WEIRD."), /expected a usage/, 2, 22],
      [fixed("01 R.", "   05 A REDEFINES."), /expected the name of the redefined item, found '\.'/, 2, 25],
    ];
    for (const [text, re, line, col] of cases) {
      assert.throws(
        () => parseCopybook(text, { file: "t.cpy" }),
        (e: unknown) => {
          assert.ok(e instanceof CopybookSyntaxError, String(e));
          assert.match(e.message, re);
          assert.equal(e.file, "t.cpy");
          assert.equal(e.line, line, e.message);
          assert.equal(e.column, col, e.message);
          assert.match(e.message, /^t\.cpy:\d+:\d+: expected /);
          return true;
        },
      );
    }
  });

  it("bad indicator column is an error in fixed format (or code with lenientIndicator)", () => {
    assert.throws(
      () => parseCopybook("      01 R.\n      05 A PIC X."),
      (e: unknown) => e instanceof CopybookSyntaxError && e.column === 7,
    );
    assert.equal(
      parseCopybook("      01 R.\n          05 A PIC X.", { lenientIndicator: true }).layout().size,
      1,
    );
  });

  it("layout errors: unknown REDEFINES / DEPENDING ON targets, PIC on a group", () => {
    assert.throws(
      () => parseCopybook(fixed("01 R.", "   05 A PIC X.", "   05 B REDEFINES ZZZ PIC X.")),
      (e: unknown) => e instanceof CopybookLayoutError && e.line === 3 && /REDEFINES ZZZ/.test(e.message),
    );
    assert.throws(
      () => parseCopybook(fixed("01 R.", "   05 A PIC X OCCURS 1 TO 3 DEPENDING ON NOPE.")),
      /DEPENDING ON NOPE is not defined/,
    );
    assert.throws(
      () => parseCopybook(fixed("01 R.", "   05 G PIC X.", "      10 C PIC X.")),
      /cannot have subordinate items/,
    );
    assert.throws(() => parseCopybook(fixed("01 R.", "   05 A PIC 9(3)Q.")), /unsupported/);
    assert.throws(
      () => parseCopybook(fixed("01 R.", "   05 A.")),
      /expected a PIC clause or subordinate items/,
    );
  });

  it("clauses: SIGN, JUSTIFIED, SYNC, BLANK WHEN ZERO, VALUE, INDEXED BY, KEY, group USAGE", () => {
    const cb = parseCopybook(
      fixed(
        "01 R.",
        "   05 A PIC S9(3) SIGN IS LEADING SEPARATE CHARACTER.",
        "   05 B PIC X(5) JUSTIFIED RIGHT VALUE SPACES.",
        "   05 C PIC 9(3) BLANK WHEN ZERO VALUE ZERO.",
        "   05 T OCCURS 2 TIMES ASCENDING KEY IS K INDEXED BY IX.",
        "      10 K PIC X.",
        "   05 G COMP-3.",
        "      10 G1 PIC S9(5).",
        "      10 G2 PIC S9(3).",
        "   05 S PIC S9(4) COMP SYNC.",
      ),
    );
    const l = cb.layout();
    const byName = new Map(l.nodes.map((n) => [n.name, n]));
    assert.equal(byName.get("A")!.size, 4);
    assert.equal(byName.get("G1")!.size, 3);
    assert.equal(byName.get("G2")!.size, 2);
    // S would start at 19; SYNC aligns a halfword binary to an even offset.
    assert.equal(byName.get("S")!.offset, 20);
    assert.equal(l.size, 22);
  });

  it("several 01 records share storage when none is chosen", () => {
    const cb = parseCopybook(fixed("01 A-REC.", "   05 A1 PIC X(2).", "01 B-REC.", "   05 B1 PIC 9(3)."));
    const c = cb.compile();
    assert.equal(c.maxSize, 3);
    assert.deepEqual(c.decode(Uint8Array.of(0xf1, 0xf2, 0xf3)), {
      "A-REC": { A1: "12" },
      "B-REC": { B1: 123 },
    });
  });
});

describe("copybook parser: hints", () => {
  it("a syntax error after a line cut at column 72 says so", () => {
    const text = [
      "       01  TXN.",
      "           05  TXN-ITEM      PIC X(3) OCCURS 0 TO 4 TIMES DEPENDING ON TXN-COUNT.",
      "           05  TXN-COUNT     PIC 9(2).",
    ].join("\n");
    assert.throws(() => parseCopybook(text), /line 2 has code past column 72, which fixed format ignores/);
  });
});
