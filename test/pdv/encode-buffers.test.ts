// PdvFrameCodec.encode writes the header, then the body in place after it: each frame owns its
// whole ArrayBuffer (the cluster link transfers such buffers instead of copying them), variable
// records come out at their size, and a field codec that encodes another frame meanwhile (the
// codec's header scratch is reused) does not change the frame being encoded.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldCodecRule } from "../../src/copybook/index.ts";
import { createRandom, epochMsToPdvTimestamp, PdvFrameCodec, sampleBody } from "../../src/pdv/index.ts";

const header = (type: string, direction: "Q" | "R", sequence: number) => ({
  type,
  direction,
  version: 1,
  terminalId: 100_000_001,
  pdvId: 1_000_001,
  sequence,
  timestamp: epochMsToPdvTimestamp(Date.UTC(2026, 5, 14, 10)),
  status: 0,
});

test("frames own their buffer and have their exact size, fixed and variable records", () => {
  const codec = new PdvFrameCodec();
  const r = createRandom("encode-buffers");
  for (const [type, direction] of [
    ["T090", "Q"],
    ["T031", "Q"],
    ["T031", "R"],
    ["T050", "Q"],
  ] as const) {
    for (let i = 0; i < 20; i++) {
      const f = codec.encode({
        header: header(type, direction, i + 1),
        body: sampleBody(type, direction, r),
      });
      assert.equal(f.byteOffset, 0);
      assert.equal(f.buffer.byteLength, f.length, `${type}/${direction}`);
      assert.equal(f.length, 32 + codec.decodeHeader(f).bodyLength);
      assert.deepEqual(codec.decode(f).header, {
        ...header(type, direction, i + 1),
        bodyLength: f.length - 32,
      });
    }
  }
  const bare = codec.encode({ header: header("T999", "Q", 7), bodyBytes: new Uint8Array([1, 2, 3]) });
  assert.equal(bare.buffer.byteLength, 35);
  assert.deepEqual([...bare.subarray(32)], [1, 2, 3]);
});

test("a field codec encoding another frame with the same codec leaves the outer frame intact", () => {
  let codec: PdvFrameCodec | undefined;
  let inner: Uint8Array | undefined;
  const nested: FieldCodecRule = {
    match: "T090-MESSAGE",
    decode: (b, o, len) => new TextDecoder("latin1").decode(b.subarray(o, o + len)).trimEnd(),
    encode: (value, b, o, len) => {
      inner = codec!.encode({ header: header("T999", "R", 999), bodyBytes: new Uint8Array(4) });
      b.fill(0x40, o, o + len);
      void value;
    },
  };
  codec = new PdvFrameCodec({ fieldCodecs: [nested], verifyEncoding: false });
  const r = createRandom("encode-buffers/nested");
  const outer = codec.encode({ header: header("T090", "Q", 42), body: sampleBody("T090", "Q", r) });
  const h = codec.decodeHeader(outer);
  assert.equal(h.type, "T090");
  assert.equal(h.direction, "Q");
  assert.equal(h.sequence, 42);
  assert.equal(codec.decodeHeader(inner!).sequence, 999);
});

test("sharedBlock: frames share blocks without overlapping, at their exact size, also when a field codec encodes another frame meanwhile", () => {
  let codec: PdvFrameCodec | undefined;
  const nested: FieldCodecRule = {
    match: "T090-MESSAGE",
    decode: (b, o, len) => new TextDecoder("latin1").decode(b.subarray(o, o + len)).trimEnd(),
    encode: (value, b, o, len) => {
      // A shared-block frame encoded while the outer one holds its reservation.
      codec!.encode(
        { header: header("T031", "Q", 7), body: sampleBody("T031", "Q", createRandom("x")) },
        { sharedBlock: true },
      );
      b.fill(0x40, o, o + len);
      void value;
    },
  };
  codec = new PdvFrameCodec({ fieldCodecs: [nested], verifyEncoding: false });
  const plain = new PdvFrameCodec();
  const r = createRandom("encode-buffers/shared");
  const frames: { f: Uint8Array; type: string; direction: "Q" | "R"; seq: number }[] = [];
  // Enough frames to fill several blocks; variable records too (their reservation's unused tail is given back).
  for (let i = 0; i < 3000; i++) {
    const [type, direction] = (
      [
        ["T090", "Q"],
        ["T031", "Q"],
        ["T031", "R"],
        ["T050", "Q"],
      ] as const
    )[i % 4]!;
    const c = type === "T090" ? codec : plain;
    const f = c.encode(
      { header: header(type, direction, i + 1), body: sampleBody(type, direction, r) },
      { sharedBlock: true },
    );
    frames.push({ f, type, direction, seq: i + 1 });
  }
  assert.ok(
    frames.some(({ f }) => f.buffer.byteLength > f.length),
    "frames share blocks",
  );
  const copies = frames.map(({ f }) => f.slice());
  // Every frame still decodes to what was encoded, after all the others were written.
  for (const [i, { f, type, direction, seq }] of frames.entries()) {
    assert.deepEqual([...f], [...copies[i]!]);
    const h = plain.decodeHeader(f);
    assert.deepEqual([h.type, h.direction, h.sequence, f.length], [type, direction, seq, 32 + h.bodyLength]);
  }
  // No two frames of a block overlap.
  const byBuffer = new Map<ArrayBufferLike, [number, number][]>();
  for (const { f } of frames) {
    const l = byBuffer.get(f.buffer) ?? [];
    l.push([f.byteOffset, f.byteOffset + f.length]);
    byBuffer.set(f.buffer, l);
  }
  for (const spans of byBuffer.values()) {
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], "frames overlap");
  }
});
