import assert from "node:assert/strict";
import { test } from "node:test";
import { SerdeError, Serdes } from "../../src/serde/index.ts";

const isSerde = (re: RegExp) => (e: unknown) =>
  e instanceof SerdeError && e.code === "SERDE" && re.test(e.message);

test("Int32/Int64/Float64 use Kafka's big-endian layouts", () => {
  assert.deepEqual([...Serdes.Int32.serialize("t", 1)!], [0, 0, 0, 1]);
  assert.deepEqual([...Serdes.Int32.serialize("t", -2)!], [0xff, 0xff, 0xff, 0xfe]);
  assert.equal(Serdes.Int32.deserialize("t", new Uint8Array([0x7f, 0xff, 0xff, 0xff])), 2147483647);
  assert.deepEqual([...Serdes.Int64.serialize("t", 258)!], [0, 0, 0, 0, 0, 0, 1, 2]);
  assert.equal(Serdes.Int64.deserialize("t", Serdes.Int64.serialize("t", -(2 ** 50))), -(2 ** 50));
  assert.equal(Serdes.BigInt64.deserialize("t", Serdes.BigInt64.serialize("t", -(2n ** 63n))), -(2n ** 63n));
  assert.deepEqual([...Serdes.Float64.serialize("t", 1)!], [0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
  assert.equal(Serdes.Float64.deserialize("t", Serdes.Float64.serialize("t", Math.PI)), Math.PI);
  for (const s of [Serdes.Int32, Serdes.Int64, Serdes.Float64]) {
    assert.equal(s.serialize("t", null), null);
    assert.equal(s.deserialize("t", null), null);
  }
});

test("numeric serdes refuse wrong lengths and out-of-range values with the topic named", () => {
  assert.throws(
    () => Serdes.Int32.deserialize("orders", new Uint8Array(3)),
    isSerde(/Int32 value must be 4 bytes, got 3 \(topic 'orders'\)/),
  );
  assert.throws(() => Serdes.Int64.deserialize("t", new Uint8Array(4)), isSerde(/8 bytes, got 4/));
  assert.throws(() => Serdes.Float64.deserialize("t", new Uint8Array(9)), isSerde(/8 bytes, got 9/));
  assert.throws(() => Serdes.Int32.serialize("t", 2 ** 31), isSerde(/Int32/));
  assert.throws(() => Serdes.Int32.serialize("t", 1.5), isSerde(/Int32/));
  assert.throws(() => Serdes.Int64.serialize("t", 2 ** 60), isSerde(/safe integer/));
  const big = Serdes.BigInt64.serialize("t", 2n ** 60n);
  assert.throws(() => Serdes.Int64.deserialize("t", big), isSerde(/beyond ±2\^53; use Serdes.BigInt64/));
});

test("String rejects invalid UTF-8; Json rejects bad JSON and unserializable values", () => {
  assert.throws(() => Serdes.String.deserialize("t", new Uint8Array([0xff, 0xfe])), isSerde(/UTF-8/));
  const json = Serdes.Json<{ a: number }>();
  assert.deepEqual(json.deserialize("t", json.serialize("t", { a: 1 })), { a: 1 });
  assert.throws(() => json.deserialize("t", new TextEncoder().encode("{a:")), isSerde(/not valid JSON/));
  assert.throws(() => Serdes.Json<unknown>().serialize("t", () => 1), isSerde(/cannot serialize function/));
});

test("Serdes.from wraps user functions and turns their errors into SerdeErrors", () => {
  const point = Serdes.from<{ x: number; y: number }>(
    (p) => new Uint8Array([p.x, p.y]),
    (d) => {
      if (d.length !== 2) throw new Error(`need 2 bytes, got ${d.length}`);
      return { x: d[0]!, y: d[1]! };
    },
  );
  assert.deepEqual(point.deserialize("p", point.serialize("p", { x: 3, y: 4 })), { x: 3, y: 4 });
  assert.equal(point.serialize("p", null), null);
  assert.throws(
    () => point.deserialize("points", new Uint8Array(1)),
    (e: unknown) =>
      e instanceof SerdeError &&
      /topic 'points'.*need 2 bytes, got 1/.test(e.message) &&
      e.topic === "points",
  );
});
