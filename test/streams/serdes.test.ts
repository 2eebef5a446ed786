// The streams layer's internal serde fast paths give the same bytes as the serde layer's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Serdes } from "../../src/serde/index.ts";
import { fastSerde, LongSerde } from "../../src/streams/internals/serdes.ts";
import { timestampedSerde } from "../../src/streams/index.ts";

test("fast String serializer: same bytes as Serdes.String (ASCII, accents, emoji, lone surrogate)", () => {
  const f = fastSerde(Serdes.String);
  for (const s of ["", "hello", "réunion à Vincennes", "🐎🏁", "a\uD800b"]) {
    assert.deepEqual(Buffer.from(f.serialize("t", s)!), Buffer.from(Serdes.String.serialize("t", s)!), s);
  }
});

test("fast Int64 and LongSerde: Kafka's 8-byte big-endian longs, same as Serdes.Int64", () => {
  const f = fastSerde(Serdes.Int64);
  for (const n of [
    0,
    1,
    -1,
    255,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 40 + 7,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
  ]) {
    const want = Buffer.from(Serdes.Int64.serialize("t", n)!);
    assert.deepEqual(Buffer.from(f.serialize("t", n)!), want, String(n));
    assert.deepEqual(Buffer.from(LongSerde.serialize("t", n)!), want, String(n));
    assert.equal(LongSerde.deserialize("t", want), n);
  }
  assert.throws(() => f.serialize("t", 1.5));
});

test("fast Int64/Int32 deserializers: the serde layer's results and errors, without a DataView", () => {
  const f64 = fastSerde(Serdes.Int64);
  const f32 = fastSerde(Serdes.Int32);
  const be = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
  for (const b of [
    "0000000000000000",
    "ffffffffffffffff",
    "001fffffffffffff",
    "ffe0000000000001",
    "0000000100000000",
    "00000000ffffffff",
    "fffffffeffffffff",
    "8000000000000000",
    "7fffffffffffffff",
    "ffe0000000000000",
    "0020000000000000",
    "00",
  ]) {
    let want: unknown;
    try {
      want = Serdes.Int64.deserialize("t", be(b));
    } catch (e) {
      want = (e as Error).message;
    }
    let got: unknown;
    try {
      got = f64.deserialize("t", be(b));
    } catch (e) {
      got = (e as Error).message;
    }
    assert.equal(got, want, b);
  }
  for (const n of [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 12345, -98765]) {
    assert.equal(f32.deserialize("t", Serdes.Int32.serialize("t", n)), n);
  }
  assert.throws(() => f32.deserialize("t", be("000102")), /4 bytes/);
  assert.equal(f32.deserialize("t", null), null);
  assert.equal(f64.deserialize("t", null), null);
});

test("timestamped values round-trip with negative and large timestamps", () => {
  const s = timestampedSerde(Serdes.String);
  for (const timestamp of [0, 1, -5, 1_795_000_000_000, Number.MAX_SAFE_INTEGER]) {
    assert.deepEqual(s.deserialize("t", s.serialize("t", { value: "v", timestamp })), {
      value: "v",
      timestamp,
    });
  }
});

test("fast Int32 serializer and windowed keys: same bytes as the serde layer", async () => {
  const { WindowedSerdes } = await import("../../src/streams/index.ts");
  const { writeTimestamp } = await import("../../src/state/index.ts");
  const f = fastSerde(Serdes.Int32);
  for (const n of [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 12345]) {
    assert.deepEqual(
      Buffer.from(f.serialize("t", n)!),
      Buffer.from(Serdes.Int32.serialize("t", n)!),
      String(n),
    );
  }
  assert.throws(() => f.serialize("t", 2 ** 31));
  const w = WindowedSerdes.timeWindowed(Serdes.String, 10);
  for (const start of [0, 10, 1_795_000_000_000, -20]) {
    const b = w.serialize("t", { key: "k", window: { start, end: start + 10 } })!;
    const want = new Uint8Array(9);
    want[0] = 107;
    writeTimestamp(want, 1, start);
    assert.deepEqual(Buffer.from(b), Buffer.from(want));
    assert.deepEqual(w.deserialize("t", b), { key: "k", window: { start, end: start + 10 } });
  }
});
