import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  compileHeaderCopybook,
  createRandom,
  decodeHeaderFields,
  frameDirectionOf,
  frameFromJson,
  frameToJson,
  frameTypeOf,
  PDV_CATALOG,
  type PdvDirection,
  PdvFrameCodec,
  PdvFrameError,
  type PdvHeaderInput,
  pdvTimestampToEpochMs,
  readPdvCopybook,
  sampleBody,
  samplePdvFrames,
} from "../../src/pdv/index.ts";

const codec = new PdvFrameCodec();
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();

function isPdvError(code: string, field?: string, byteOffset?: number) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof PdvFrameError, `expected PdvFrameError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    if (byteOffset !== undefined) assert.equal(e.byteOffset, byteOffset, e.message);
    return true;
  };
}

// A T031 request built by hand from the spec, byte by byte (independent of the encoder).
const T031_HEADER = "E3F0F3F1 D8 F0F1 075BCD15 1234567F 0000002A 20260614153000123F 000C 0021";
const T031_BODY = "F0F1 F0F3 D8D5D7 C3 0000200C 0003 000004200C C5 0A1000 0004 0003 0008 0001 000E".replace(
  /\s+/g,
  "",
);
const T031_REQUEST = hex(T031_HEADER + T031_BODY);

test("the contract's copybooks are in the project verbatim (as in the spec)", () => {
  const spec = readFileSync(new URL("../fixtures/pdv/pdv-frames.spec.md", import.meta.url), "utf8");
  const blocks = [...spec.matchAll(/```cobol\n([\s\S]*?)```/g)].map((m) => m[1]);
  const names = ["FRAMEHDR", "T001", "T031", "T033", "T034", "T050"];
  assert.equal(blocks.length, names.length);
  for (const [i, n] of names.entries()) assert.equal(readPdvCopybook(n), blocks[i], n);
});

test("the catalog has 150+ types beyond the real ones, stable, every copybook valid fixed format", () => {
  assert.ok(PDV_CATALOG.size >= 156, `${PDV_CATALOG.size}`);
  const origins = [...PDV_CATALOG.values()].map((s) => s.origin);
  assert.equal(origins.filter((o) => o === "generated").length, 150);
  for (const t of ["T001", "T031", "T033", "T034", "T050", "T090"]) assert.ok(PDV_CATALOG.has(t), t);
  assert.equal(PDV_CATALOG.get("T050")!.responseRecord, null);
  const h = createHash("sha256");
  for (const s of PDV_CATALOG.values()) {
    assert.match(s.type, /^T\d{3}$/);
    h.update(s.copybook);
    for (const line of s.copybook.split("\n")) assert.ok(line.length <= 72, `${s.type}: ${line}`);
    // Every record compiles (cp1147, bitmap24 hook, REDEFINES selection).
    for (const d of ["Q", "R"] as PdvDirection[]) {
      if (d === "R" && s.responseRecord === null) assert.equal(codec.hasLayout(s.type, d), false);
      else assert.ok(codec.recordCodec(s.type, d), `${s.type}/${d}`);
    }
  }
  assert.equal(
    new PdvFrameCodec().compileAll(),
    156 * 2 - [...PDV_CATALOG.values()].filter((s) => !s.responseRecord).length,
  );
  // Frozen: the generated catalog must not drift between versions (frames in topics depend on it).
  assert.equal(h.digest("hex").slice(0, 16), CATALOG_DIGEST);
});
// Recorded once; update deliberately when the catalog changes.
const CATALOG_DIGEST = "887d659968e88285";

test("decodes a hand-built T031 request exactly as the spec describes", () => {
  const f = codec.decode(T031_REQUEST);
  assert.deepEqual(f.header, {
    type: "T031",
    direction: "Q",
    version: 1,
    terminalId: 123456789,
    pdvId: 1234567,
    sequence: 42,
    timestamp: "20260614153000123",
    status: 0,
    bodyLength: 33,
  });
  assert.equal(f.record, "T031-REQUEST");
  assert.deepEqual(f.body, {
    "T031-REUNION": 1,
    "T031-COURSE": 3,
    "T031-BET-TYPE": "QNP",
    "T031-FORMULA": "C",
    "T031-UNIT-STAKE": 2,
    "T031-MULTIPLIER": 3,
    "T031-TOTAL-STAKE": 42,
    "T031-PAYMENT-MODE": "E",
    "T031-FIELD-BITMAP": [5, 7, 12],
    "T031-NB-SELECTIONS": 4,
    "T031-SELECTION": [3, 8, 1, 14],
  });
  assert.equal(pdvTimestampToEpochMs(f.header.timestamp), Date.UTC(2026, 5, 14, 13, 30, 0, 123));
  // And encodes back to the same bytes.
  assert.equal(toHex(codec.encode(f)), toHex(T031_REQUEST));
});

test("decodes a T031 response: signed zoned overpunch balance, spaces as empty reject reason", () => {
  // "2606141234567890001A" in cp1147: digits F0-F9, A = C1.
  const tid = "F2F6F0F6F1F4F1F2F3F4F5F6F7F8F9F0F0F0F1C1";
  const body = `${tid} 000004200C 4040 F0F0F0F0F0F1F2F3F4F5D6`.replace(/\s+/g, "");
  const header = "E3F0F3F1 D9 F0F1 075BCD15 1234567F 0000002A 20260614153000300F 000C 0026";
  const f = codec.decode(hex(header + body));
  assert.equal(f.header.direction, "R");
  assert.deepEqual(f.body, {
    "T031-TICKET-ID": "2606141234567890001A",
    "T031-ACCEPTED-STAKE": 42,
    "T031-REJECT-REASON": "",
    "T031-BALANCE": -1234.56,
  });
  // A rejection: negative status.
  const rejected = hex(header.replace("000C", "101D") + body);
  assert.equal(codec.decodeHeader(rejected).status, -101);
});

test("T050 decodes only the active REDEFINES branch, chosen by T050-KIND", () => {
  const h: PdvHeaderInput = {
    type: "T050",
    direction: "Q",
    version: 1,
    terminalId: 7,
    pdvId: 8,
    sequence: 9,
    timestamp: "20260614160000000",
    status: 0,
  };
  const arrival = {
    "T050-REUNION": 1,
    "T050-COURSE": 4,
    "T050-KIND": "A",
    "T050-ARRIVAL": { "T050-PLACE": [7, 3, 12, 1, 9, 0, 0, 0] },
  };
  assert.deepEqual(codec.decode(codec.encode({ header: h, body: arrival })).body, arrival);
  const odds = {
    "T050-REUNION": 1,
    "T050-COURSE": 4,
    "T050-KIND": "O",
    "T050-ODDS": { "T050-HORSE": 7, "T050-ODDS-VALUE": 3.7, "T050-STAMP": 20260614155500 },
  };
  const bytes = codec.encode({ header: h, body: odds });
  assert.deepEqual(codec.decode(bytes).body, odds);
  // COMP-2 is IBM hexadecimal: the double nearest 3.7 is exactly 0x413B333333333334 (56-bit fraction).
  assert.equal(toHex(bytes.subarray(32 + 5 + 2, 32 + 5 + 10)), "413B333333333334");
  const other = { "T050-REUNION": 1, "T050-COURSE": 4, "T050-KIND": "Z", "T050-PAYLOAD": "FREE TEXT €" };
  assert.deepEqual(codec.decode(codec.encode({ header: h, body: other })).body, other);
  // The body must carry the branch its kind selects.
  assert.throws(
    () => codec.encode({ header: h, body: { ...arrival, "T050-KIND": "O" } }),
    isPdvError("BAD_VALUE", "T050-ODDS"),
  );
  // A T050 response does not exist: header-only.
  const r = codec.encode({ header: { ...h, direction: "R" }, bodyBytes: Uint8Array.of(1, 2) });
  assert.deepEqual(codec.decode(r), { header: { ...codec.decodeHeader(r) }, body: null, record: null });
});

test("T090 coupon push round-trips, with the euro sign in cp1147 (0x9F)", () => {
  const body = {
    "T090-ACTION": "I",
    "T090-COUPON-CODE": "PMU-5E-000123",
    "T090-CAMPAIGN-ID": "ETE2026",
    "T090-VALUE-CENTS": 500,
    "T090-TICKET-ID": "26061410000000100001",
    "T090-ISSUED-AT": "20260614153000456",
    "T090-EXPIRES-AT": "20260714235959999",
    "T090-MESSAGE": "Bon de 5 € offert",
  };
  const header: PdvHeaderInput = {
    type: "T090",
    direction: "Q",
    version: 1,
    terminalId: 100000001,
    pdvId: 1000001,
    sequence: 1,
    timestamp: "20260614153000500",
    status: 0,
  };
  const bytes = codec.encode({ header, body });
  assert.equal(bytes.length, 32 + 111);
  assert.ok(toHex(bytes).includes("9F"), "euro sign");
  assert.deepEqual(codec.decode(bytes).body, body);
  const ack = codec.encode({
    header: { ...header, direction: "R" },
    body: { "T090-COUPON-CODE": "PMU-5E-000123", "T090-ACK-CODE": "OK" },
  });
  assert.equal(ack.length, 32 + 18);
});

test("every catalog type and direction round-trips random bodies", () => {
  const r = createRandom("roundtrip");
  let n = 0;
  for (const spec of PDV_CATALOG.values()) {
    for (const direction of ["Q", "R"] as PdvDirection[]) {
      if (direction === "R" && spec.responseRecord === null) continue;
      for (let i = 0; i < 5; i++) {
        const body = sampleBody(spec.type, direction, r);
        const header: PdvHeaderInput = {
          type: spec.type,
          direction,
          version: r.int(0, 99),
          terminalId: r.int(0, 999_999_999),
          pdvId: r.int(0, 9_999_999),
          sequence: r.int(0, 999_999_999),
          timestamp: "20261025023000000",
          status: direction === "R" ? r.int(-999, 999) : 0,
        };
        const bytes = codec.encode({ header, body });
        const f = codec.decode(bytes);
        assert.deepEqual(f.body, body, `${spec.type}/${direction}`);
        assert.deepEqual(f.header, { ...header, bodyLength: bytes.length - 32 });
        assert.equal(toHex(codec.encode(f)), toHex(bytes));
        n++;
      }
    }
  }
  assert.ok(n > 1300, `${n}`);
});

test("the fast header path agrees with the copybook-compiled FRAMEHDR on valid and corrupted headers", () => {
  const reference = compileHeaderCopybook();
  const r = createRandom("header-xcheck");
  const frames = samplePdvFrames(300, 5);
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const base = frames[i % frames.length]!;
    const h = base.slice(0, 32);
    const flips = r.int(0, 3);
    for (let k = 0; k < flips; k++) h[r.int(0, 31)] = r.int(0, 255);
    let ref: Record<string, unknown> | null = null;
    try {
      ref = reference.decode(h, 0, 32);
    } catch {
      ref = null;
    }
    // Validity of the header fields alone (the frame length check is separate).
    const frame = new Uint8Array(32 + ((h[30]! << 8) | h[31]!));
    frame.set(h);
    let mine: ReturnType<typeof decodeHeaderFields> | null = null;
    try {
      mine = decodeHeaderFields(frame);
    } catch (e) {
      assert.ok(e instanceof PdvFrameError);
    }
    const typeOk =
      ref !== null && /^T\d{3}$/.test(String(ref["FH-TYPE"])) && /^[QR]$/.test(String(ref["FH-DIRECTION"]));
    const pictureOk = ref !== null && (ref["FH-BODY-LENGTH"] as number) <= 9999;
    if (typeOk && pictureOk) {
      assert.ok(mine, `fast path rejected a header the copybook accepts: ${toHex(h)}`);
      assert.deepEqual(
        {
          type: mine.type,
          direction: mine.direction,
          version: mine.version,
          terminalId: mine.terminalId,
          pdvId: mine.pdvId,
          sequence: mine.sequence,
          timestamp: mine.timestamp,
          status: mine.status,
          bodyLength: mine.bodyLength,
        },
        {
          type: ref!["FH-TYPE"],
          direction: ref!["FH-DIRECTION"],
          version: ref!["FH-VERSION"],
          terminalId: ref!["FH-TERMINAL-ID"],
          pdvId: ref!["FH-PDV-ID"],
          sequence: ref!["FH-SEQUENCE"],
          // The copybook gives 17-digit values as decimal strings without leading zeros.
          timestamp: String(ref!["FH-TIMESTAMP"]).padStart(17, "0"),
          status: ref!["FH-STATUS"],
          bodyLength: ref!["FH-BODY-LENGTH"],
        },
      );
      accepted++;
    } else {
      assert.equal(mine, null, `fast path accepted an invalid header: ${toHex(h)}`);
      rejected++;
    }
  }
  assert.ok(accepted > 1000 && rejected > 1000, `${accepted} accepted, ${rejected} rejected`);
});

test("frame-level errors name the field and the byte offset", () => {
  assert.throws(() => codec.decode(T031_REQUEST.subarray(0, 20)), isPdvError("FRAME_TOO_SHORT"));
  assert.throws(
    () => codec.decode(T031_REQUEST.subarray(0, 60)),
    isPdvError("BODY_LENGTH_MISMATCH", "FH-BODY-LENGTH", 30),
  );
  const longer = new Uint8Array(T031_REQUEST.length + 1);
  longer.set(T031_REQUEST);
  assert.throws(() => codec.decodeHeader(longer), isPdvError("BODY_LENGTH_MISMATCH"));
  const mutate = (i: number, v: number): Uint8Array => {
    const b = T031_REQUEST.slice();
    b[i] = v;
    return b;
  };
  assert.throws(() => codec.decodeHeader(mutate(0, 0xc1)), isPdvError("BAD_HEADER", "FH-TYPE", 0));
  assert.throws(() => codec.decodeHeader(mutate(4, 0xe7)), isPdvError("BAD_HEADER", "FH-DIRECTION", 4));
  assert.throws(() => codec.decodeHeader(mutate(6, 0x4b)), isPdvError("BAD_HEADER", "FH-VERSION", 5));
  assert.throws(() => codec.decodeHeader(mutate(7, 0xff)), isPdvError("BAD_HEADER", "FH-TERMINAL-ID", 7));
  assert.throws(() => codec.decodeHeader(mutate(14, 0x7d)), isPdvError("BAD_HEADER", "FH-PDV-ID", 11));
  assert.throws(() => codec.decodeHeader(mutate(20, 0xa0)), isPdvError("BAD_HEADER", "FH-TIMESTAMP", 19));
  assert.throws(() => codec.decodeHeader(mutate(29, 0x05)), isPdvError("BAD_HEADER", "FH-STATUS", 28));
  // Body fields: a bad packed nibble in T031-UNIT-STAKE (body offset 8), a non-digit in T031-COURSE.
  assert.throws(() => codec.decode(mutate(32 + 8, 0xa0)), isPdvError("BAD_FIELD", "T031-UNIT-STAKE", 40));
  assert.throws(() => codec.decode(mutate(32 + 3, 0x40)), isPdvError("BAD_FIELD", "T031-COURSE", 34));
  // OCCURS DEPENDING ON out of range (21 > 20).
  assert.throws(
    () => codec.decode(mutate(32 + 24, 21)),
    (e: unknown) => e instanceof PdvFrameError && /T031-(NB-)?SELECTION/.test(`${e.field}`),
  );
  // ODO count 3 while 4 are present: the body is longer than its layout.
  assert.throws(() => codec.decode(mutate(32 + 24, 3)), isPdvError("BODY_SIZE"));
  // The header decodes even when the body is bad (header-only decoding for the pipeline).
  assert.equal(codec.decodeHeader(mutate(32 + 8, 0xa0)).type, "T031");
  // Located at a frame index for streams.
  const e = new PdvFrameError("BAD_FIELD", "x", { field: "F", byteOffset: 3 }).atFrame(12);
  assert.equal(e.message, "frame 12, field F, byte 3: x");
});

test("unknown types decode header-only; their body bytes are kept by the JSON form", () => {
  const h: PdvHeaderInput = {
    type: "T999",
    direction: "Q",
    version: 2,
    terminalId: 1,
    pdvId: 1,
    sequence: 1,
    timestamp: "20260614120000000",
    status: 0,
  };
  const bytes = codec.encode({ header: h, bodyBytes: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) });
  const f = codec.decode(bytes);
  assert.equal(f.body, null);
  assert.equal(f.record, null);
  const json = frameToJson(f, bytes, 4);
  assert.equal(json.bodyHex, "DEADBEEF");
  assert.equal(json.header["FH-TYPE"], "T999");
  assert.equal(toHex(codec.encode(frameFromJson(JSON.parse(JSON.stringify(json))))), toHex(bytes));
  assert.throws(() => codec.encode({ header: h, body: { X: 1 } }), isPdvError("NO_LAYOUT"));
});

test("encode refuses values that do not fit, naming the field", () => {
  const good = codec.decode(T031_REQUEST);
  const body = good.body as Record<string, unknown>;
  const enc = (patch: Record<string, unknown>) => () =>
    codec.encode({ header: good.header, body: { ...body, ...patch } });
  assert.throws(enc({ "T031-FIELD-BITMAP": [25] }), isPdvError("BAD_VALUE", "T031-FIELD-BITMAP"));
  assert.throws(enc({ "T031-UNIT-STAKE": 123456.78 }), isPdvError("BAD_VALUE", "T031-UNIT-STAKE"));
  assert.throws(enc({ "T031-UNIT-STAKE": 1.234 }), isPdvError("BAD_VALUE", "T031-UNIT-STAKE"));
  assert.throws(enc({ "T031-MULTIPLIER": 10_000 }), isPdvError("BAD_VALUE", "T031-MULTIPLIER"));
  assert.throws(enc({ "T031-BET-TYPE": "QUINTE" }), isPdvError("BAD_VALUE", "T031-BET-TYPE"));
  assert.throws(
    () => codec.encode({ header: { ...good.header, type: "31" }, body }),
    isPdvError("BAD_VALUE", "FH-TYPE", 0),
  );
  assert.throws(
    () => codec.encode({ header: { ...good.header, status: -1000 }, body }),
    isPdvError("BAD_VALUE", "FH-STATUS", 28),
  );
  assert.throws(
    () => codec.encode({ header: { ...good.header, bodyLength: 7 }, body }),
    isPdvError("BAD_VALUE", "FH-BODY-LENGTH", 30),
  );
  assert.throws(() => codec.encode({ header: good.header, body: null }), isPdvError("BAD_VALUE"));
});

test("decodeFields reads only the named body fields", () => {
  const f = codec.decodeFields(T031_REQUEST, ["T031-TOTAL-STAKE", "T031-BET-TYPE"]);
  assert.deepEqual(f.body, { "T031-BET-TYPE": "QNP", "T031-TOTAL-STAKE": 42 });
  assert.throws(() => codec.decodeFields(T031_REQUEST, ["NOPE"]), isPdvError("NO_LAYOUT"));
});

test("a custom house rule plugs in through the copybook field codec hook", () => {
  // Hypothetical rule: *-CODE fields of 4 bytes hold a big-endian integer instead of text.
  const custom = new PdvFrameCodec({
    fieldCodecs: [
      {
        match: (f) => f.name.endsWith("-CODE") && f.size === 4,
        decode: (b, o) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0,
        encode: (v, b, o) => {
          if (typeof v !== "number") throw new Error("expected a number");
          new DataView(b.buffer, b.byteOffset).setUint32(o, v);
        },
      },
    ],
  });
  const spec = [...PDV_CATALOG.values()].find((s) =>
    s.generated?.request.some((f) => f.kind === "text" && f.name.endsWith("-CODE") && f.length === 4),
  )!;
  const field = spec.generated!.request.find((f) => f.name.endsWith("-CODE"))!.name;
  const body = { ...sampleBody(spec.type, "Q", createRandom(1)), [field]: 0xcafe };
  const header: PdvHeaderInput = {
    type: spec.type,
    direction: "Q",
    version: 1,
    terminalId: 1,
    pdvId: 1,
    sequence: 1,
    timestamp: "20260614120000000",
    status: 0,
  };
  assert.equal(
    (custom.decode(custom.encode({ header, body })).body as Record<string, unknown>)[field],
    0xcafe,
  );
  assert.throws(
    () => custom.encode({ header, body: { ...body, [field]: "x" } }),
    isPdvError("BAD_VALUE", field),
  );
});

test("frameTypeOf / frameDirectionOf agree with decodeHeaderFields and fail as it does on their bytes", () => {
  for (const frame of samplePdvFrames(50, 7)) {
    const h = decodeHeaderFields(frame);
    assert.equal(frameTypeOf(frame), h.type);
    assert.equal(frameDirectionOf(frame), h.direction);
  }
  const good = samplePdvFrames(1, 3)[0]!;
  const badType = Uint8Array.from(good);
  badType[2] = 0x41;
  assert.throws(() => frameTypeOf(badType), isPdvError("BAD_HEADER", "FH-TYPE", 0));
  assert.throws(() => decodeHeaderFields(badType), isPdvError("BAD_HEADER", "FH-TYPE", 0));
  const badDirection = Uint8Array.from(good);
  badDirection[4] = 0xc1;
  assert.throws(() => frameDirectionOf(badDirection), isPdvError("BAD_HEADER", "FH-DIRECTION", 4));
  assert.throws(() => decodeHeaderFields(badDirection), isPdvError("BAD_HEADER", "FH-DIRECTION", 4));
  const short = good.subarray(0, 20);
  assert.throws(() => frameTypeOf(short), isPdvError("FRAME_TOO_SHORT"));
  assert.throws(() => frameDirectionOf(short), isPdvError("FRAME_TOO_SHORT"));
});
