// courant copybook decode / encode / layout: JSON lines out, errors as objects, decoding goes on.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { decodeCommand, encodeCommand, layoutCommand } from "../../src/cli/copybook.ts";
import { compileCopybook, frameRecords } from "../../src/copybook/index.ts";

const COPYBOOK = `       01  TXN.
           05  TXN-ID        PIC 9(6).
           05  TXN-KIND      PIC X.
           05  TXN-AMOUNT    PIC S9(7)V99 COMP-3.
           05  TXN-COUNT     PIC 9(2) COMP.
           05  TXN-ITEM      PIC X(3) OCCURS 0 TO 4 TIMES
                             DEPENDING ON TXN-COUNT.
`;

function collect(): { stream: PassThrough; text: () => string; bytes: () => Uint8Array } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  return {
    stream,
    text: () => Buffer.concat(chunks).toString("utf8"),
    bytes: () => new Uint8Array(Buffer.concat(chunks)),
  };
}

describe("courant copybook CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "courant-copybook-"));
  const cpy = join(dir, "txn.cpy");
  writeFileSync(cpy, COPYBOOK);
  const codec = compileCopybook(COPYBOOK);
  const recs = [
    { "TXN-ID": 1, "TXN-KIND": "B", "TXN-AMOUNT": 12.5, "TXN-COUNT": 2, "TXN-ITEM": ["ABC", "DEF"] },
    { "TXN-ID": 2, "TXN-KIND": "C", "TXN-AMOUNT": -3, "TXN-COUNT": 0, "TXN-ITEM": [] },
    { "TXN-ID": 3, "TXN-KIND": "B", "TXN-AMOUNT": 99999.99, "TXN-COUNT": 1, "TXN-ITEM": ["XYZ"] },
  ];
  const encoded = recs.map((r) => codec.encode(r));
  // corrupt the amount of the second record
  const bad = Uint8Array.from(encoded[1]!);
  bad[8] = 0x1b;
  const data = join(dir, "txn.dat");
  writeFileSync(data, frameRecords([encoded[0]!, bad, encoded[2]!], { format: "V" }));

  it("decode: one JSON object per record, errors as objects, then it goes on", async () => {
    const out = collect();
    const err = collect();
    const code = await decodeCommand(data, { copybook: cpy, format: "V" }, out.stream, err.stream);
    const lines = out
      .text()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 3);
    assert.deepEqual(lines[0], recs[0]);
    assert.deepEqual(lines[2], recs[2]);
    const e = lines[1]!.error as Record<string, unknown>;
    assert.equal(e.record, 1);
    assert.equal(e.field, "TXN.TXN-AMOUNT");
    assert.equal(e.byteOffset, 7);
    assert.equal(e.bytes, Buffer.from(bad.subarray(7, 12)).toString("hex").toUpperCase());
    assert.match(String(e.message), /invalid packed/);
    assert.equal(code, 1);
    assert.match(err.text(), /3 records: 2 decoded, 1 failed/);
  });

  it("decode --lenient: nulls and _corrupt_fields", async () => {
    const out = collect();
    const code = await decodeCommand(
      data,
      { copybook: cpy, format: "V", lenient: true },
      out.stream,
      collect().stream,
    );
    const lines = out
      .text()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines[1]!["TXN-AMOUNT"], null);
    assert.equal((lines[1]!._corrupt_fields as Array<{ field: string }>)[0]!.field, "TXN.TXN-AMOUNT");
    assert.equal(code, 0);
  });

  it("encode: JSON lines back to the same bytes", async () => {
    const jsonl = join(dir, "txn.jsonl");
    writeFileSync(jsonl, `${recs.map((r) => JSON.stringify(r)).join("\n")}\n{"TXN-ID": "bad"}\n`);
    const out = collect();
    const err = collect();
    const code = await encodeCommand(jsonl, { copybook: cpy, format: "V" }, out.stream, err.stream);
    await new Promise((r) => setImmediate(r));
    const want = frameRecords(encoded, { format: "V" });
    assert.deepEqual(out.bytes(), want);
    assert.equal(code, 1);
    assert.match(err.text(), /"line":4/);
    assert.match(err.text(), /4 lines: 3 records encoded, 1 failed/);
  });

  it("layout prints offsets and sizes", () => {
    const out = collect();
    layoutCommand({ copybook: cpy }, out.stream);
    const t = out.text();
    assert.match(t, /TXN-AMOUNT\s+8\s+12\s+5\s+PIC S9\(7\)V99 COMP-3/);
    assert.match(t, /record size 26 \(max; OCCURS DEPENDING ON\)/);
  });

  it("end to end through bin/courant.js", () => {
    const r = spawnSync(
      process.execPath,
      ["bin/courant.js", "copybook", "decode", "-c", cpy, "--format", "V", "--pick", "TXN-ID", data],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.stdout.trim().split("\n").length, 3);
    assert.deepEqual(JSON.parse(r.stdout.split("\n")[0]!), { "TXN-ID": 1 });
    assert.match(r.stderr, /3 records: 3 decoded/);
    assert.equal(readFileSync(cpy, "utf8"), COPYBOOK);
  });

  it("decode --segment-children rebuilds parent/child segments (Cobrix case 12)", async () => {
    const dir12 = new URL("../fixtures/copybook/cobrix/cases/12-hierarchical-multisegment/", import.meta.url)
      .pathname;
    const out = collect();
    const code = await decodeCommand(
      `${dir12}HIERARCHICAL.DATA.RDW.dat`,
      {
        copybook: `${dir12}test17_hierarchical.cob`,
        format: "V",
        rdw: "little",
        shortRecords: "pad",
        lenient: true,
        segmentField: "SEGMENT-ID",
        segmentRedefines: "COMPANY=1;DEPT=2;EMPLOYEE=3;OFFICE=4;CUSTOMER=5;CONTACT=6;CONTRACT=7",
        segmentChildren: "COMPANY=DEPT,CUSTOMER;DEPT=EMPLOYEE,OFFICE;CUSTOMER=CONTACT,CONTRACT",
      },
      out.stream,
      collect().stream,
    );
    assert.equal(code, 0);
    const roots = out
      .text()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    const first = roots[0]!;
    assert.equal(first.COMPANY!["COMPANY-NAME"], "Joan Q & Z");
    const depts = first.COMPANY!.DEPT as Array<Record<string, unknown>>;
    assert.equal(depts[0]!["DEPT-NAME"], "Sales");
    assert.equal((depts[0]!.EMPLOYEE as unknown[]).length, 3);
    assert.ok(roots.every((r) => r.COMPANY !== undefined));
  });

  it("decode --segments: the segment id selects the 01 record", async () => {
    const seg = join(dir, "seg.cpy");
    writeFileSync(
      seg,
      "       01 A-REC.\n          05 SEG PIC X.\n          05 AX PIC X(2).\n       01 B-REC.\n          05 SEG PIC X.\n          05 BN PIC 9(3) COMP-3.\n",
    );
    const file = join(dir, "seg.dat");
    writeFileSync(
      file,
      frameRecords([Uint8Array.of(0xc1, 0xc8, 0xc9), Uint8Array.of(0xc2, 0x12, 0x3c)], {
        format: "length-prefixed",
      }),
    );
    const out = collect();
    await decodeCommand(
      file,
      { copybook: seg, format: "length-prefixed", segmentField: "SEG", segments: "A-REC=A;B-REC=B" },
      out.stream,
      collect().stream,
    );
    assert.deepEqual(
      out
        .text()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
      [{ "A-REC": { SEG: "A", AX: "HI" } }, { "B-REC": { SEG: "B", BN: 123 } }],
    );
  });
});
