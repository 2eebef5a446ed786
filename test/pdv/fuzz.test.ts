// Fuzzing the frame decoder: random and mutated frames never crash or hang it, anything it accepts
// is a well-formed frame (stable under encode/decode, length matching FH-BODY-LENGTH), and every
// frame made invalid on purpose yields a PdvFrameError naming the field and byte offset.
// 20,000 frames per campaign by default; COURANT_SOAK=1 runs 1,000,000.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldInfo } from "../../src/copybook/index.ts";
import {
  createRandom,
  PdvFrameCodec,
  PdvFrameError,
  type Random,
  samplePdvFrames,
} from "../../src/pdv/index.ts";

const ITERATIONS = process.env.COURANT_SOAK === "1" ? 1_000_000 : 20_000;
const codec = new PdvFrameCodec();
const seeds = samplePdvFrames(1_000, "fuzz");

function mutate(frame: Uint8Array, r: Random): Uint8Array {
  switch (r.int(0, 7)) {
    case 0: {
      // Flip 1-4 random bytes.
      const b = frame.slice();
      for (let k = r.int(1, 4); k > 0; k--) b[r.int(0, b.length - 1)] = r.int(0, 255);
      return b;
    }
    case 1: {
      // Flip one bit.
      const b = frame.slice();
      const i = r.int(0, b.length - 1);
      b[i]! ^= 1 << r.int(0, 7);
      return b;
    }
    case 2:
      return frame.subarray(0, r.int(0, frame.length));
    case 3: {
      const b = new Uint8Array(frame.length + r.int(1, 16));
      b.set(frame);
      for (let i = frame.length; i < b.length; i++) b[i] = r.int(0, 255);
      return b;
    }
    case 4: {
      // Random bytes, sometimes with a valid-looking header prefix.
      const b = new Uint8Array(r.int(0, 200));
      for (let i = 0; i < b.length; i++) b[i] = r.int(0, 255);
      if (r.chance(0.5) && b.length >= 32) b.set(frame.subarray(0, Math.min(32, frame.length)));
      return b;
    }
    case 5: {
      // A consistent FH-BODY-LENGTH over a random body.
      const len = r.int(0, 120);
      const b = new Uint8Array(32 + len);
      b.set(frame.subarray(0, 32));
      for (let i = 32; i < b.length; i++) b[i] = r.int(0, 255);
      b[30] = len >> 8;
      b[31] = len & 0xff;
      return b;
    }
    case 6: {
      // Another frame's body under this header (length fixed up).
      const other = seeds[r.int(0, seeds.length - 1)]!;
      const b = new Uint8Array(other.length);
      b.set(frame.subarray(0, 32));
      b.set(other.subarray(32), 32);
      b[30] = (other.length - 32) >> 8;
      b[31] = (other.length - 32) & 0xff;
      return b;
    }
    default: {
      // Swap the direction or type digits (Q body decoded as R and vice versa).
      const b = frame.slice();
      if (r.chance(0.5)) b[4] = b[4] === 0xd8 ? 0xd9 : 0xd8;
      else b[3] = 0xf0 + r.int(0, 9);
      return b;
    }
  }
}

test(`random and mutated frames never crash the decoder; accepted frames are well-formed (${ITERATIONS})`, () => {
  const r = createRandom("fuzz/mutations");
  let accepted = 0;
  let rejected = 0;
  const codes = new Map<string, number>();
  for (let i = 0; i < ITERATIONS; i++) {
    const input = mutate(seeds[i % seeds.length]!, r);
    let frame: ReturnType<PdvFrameCodec["decode"]>;
    try {
      frame = codec.decode(input);
    } catch (e) {
      if (!(e instanceof PdvFrameError)) {
        assert.fail(`not a PdvFrameError on ${Buffer.from(input).toString("hex")}: ${String(e)}`);
      }
      assert.ok(e.message.length > 0);
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      rejected++;
      continue;
    }
    accepted++;
    // The contract: 32 + FH-BODY-LENGTH bytes.
    assert.equal(input.length, 32 + frame.header.bodyLength);
    // Anything accepted is a real frame: it re-encodes, and the re-encoding decodes to the same value.
    const again = codec.encode(
      frame.body === null ? { header: frame.header, bodyBytes: input.subarray(32) } : frame,
    );
    assert.deepEqual(codec.decode(again), frame);
  }
  assert.ok(accepted > ITERATIONS / 20, `accepted ${accepted}`);
  assert.ok(rejected > ITERATIONS / 3, `rejected ${rejected}`);
  for (const c of ["FRAME_TOO_SHORT", "BODY_LENGTH_MISMATCH", "BAD_HEADER", "BAD_FIELD", "BODY_SIZE"]) {
    assert.ok((codes.get(c) ?? 0) > 0, `no ${c} seen: ${JSON.stringify([...codes])}`);
  }
});

/** Fields whose bytes sit at a fixed offset in every frame of their record (before any variable table). */
function fixedNumericFields(type: string, direction: "Q" | "R"): FieldInfo[] {
  const rc = codec.recordCodec(type, direction);
  if (!rc) return [];
  const fields = rc.fields();
  const firstVariable = fields.find((f) =>
    /T001-MEETING|T031-SELECTION|T050-(ARRIVAL|ODDS|PAYLOAD)/.test(f.path),
  );
  const limit = firstVariable ? firstVariable.offset : Infinity;
  return fields.filter(
    (f) =>
      f.offset + f.size <= limit &&
      !f.path.includes("-LINE.") && // inside fixed OCCURS: offsets of later occurrences differ
      (f.kind === "packed" || f.kind === "zoned" || f.kind === "binary"),
  );
}

test(`frames made invalid on purpose always yield an error naming field and byte (${ITERATIONS})`, () => {
  const r = createRandom("fuzz/invalid");
  const byType = new Map<string, FieldInfo[]>();
  let n = 0;
  for (let i = 0; n < ITERATIONS; i++) {
    const frame = seeds[i % seeds.length]!;
    const h = codec.decodeHeader(frame);
    const kind = r.int(0, 4);
    const b = frame.slice();
    let expectField: string | undefined;
    let expectOffset: number | undefined;
    if (kind === 0) {
      // Length no longer matches FH-BODY-LENGTH.
      const cut = r.int(0, frame.length - 1);
      assert.throws(() => codec.decode(frame.subarray(0, cut)), PdvFrameError);
      n++;
      continue;
    }
    if (kind === 1) {
      // A bad header field: invalid nibble in FH-PDV-ID / FH-TIMESTAMP / FH-STATUS, bad zoned version.
      const pick = r.pick([
        ["FH-PDV-ID", 11, 11 + r.int(0, 2)],
        ["FH-TIMESTAMP", 19, 19 + r.int(0, 7)],
        ["FH-VERSION", 5, 5 + r.int(0, 1)],
        ["FH-STATUS", 28, 28],
      ] as const);
      const [field, offset, at] = pick;
      b[at] = field === "FH-VERSION" ? r.pick([0x40, 0x4b, 0xc1, 0x00]) : 0xa0 | r.int(0, 9);
      expectField = field;
      expectOffset = offset;
    } else {
      const key = `${h.type}/${h.direction}`;
      let fields = byType.get(key);
      if (!fields) {
        fields = fixedNumericFields(h.type, h.direction);
        byType.set(key, fields);
      }
      if (fields.length === 0) continue;
      const f = r.pick(fields);
      const at = 32 + f.offset;
      if (f.kind === "packed") b[at + r.int(0, Math.max(f.size - 2, 0))] = 0xa0 | r.int(0, 9);
      else if (f.kind === "zoned")
        b[at + r.int(0, Math.max(f.size - 2, 0))] = r.pick([0x40, 0x4b, 0x00, 0x81]);
      else b.fill(0xff, at, at + f.size); // beyond the PIC's digits
      expectField = f.name;
      expectOffset = at;
    }
    assert.throws(
      () => codec.decode(b),
      (e: unknown) => {
        assert.ok(e instanceof PdvFrameError, String(e));
        assert.equal(e.field, expectField, e.message);
        assert.equal(e.byteOffset, expectOffset, e.message);
        return true;
      },
    );
    n++;
  }
});
