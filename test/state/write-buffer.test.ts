import assert from "node:assert/strict";
import { test } from "node:test";
import { WriteBuffer } from "../../src/state/write-buffer.ts";
import { rng } from "../fixtures/random.ts";

const hex = (b: Uint8Array | null | undefined) =>
  b === undefined ? "undefined" : b === null ? "null" : Buffer.from(b).toString("hex");

function bytes(r: () => number, max: number): Uint8Array {
  const n = Math.floor(r() * max);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 4); // few byte values: many shared prefixes
  return b;
}

test("write buffer: agrees with a Map model over random puts, deletes, removes, clears", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = rng(seed);
    const buf = new WriteBuffer();
    // model: key hex -> { value hex | null, order of its last write }
    let model = new Map<string, { key: Uint8Array; value: Uint8Array | null; at: number }>();
    let clock = 0;
    for (let step = 0; step < 20_000; step++) {
      const op = r();
      const key = bytes(r, 6);
      const k = hex(key);
      if (op < 0.5) {
        const value = r() < 0.2 ? null : bytes(r, 80);
        const isNew = buf.set(key, value);
        assert.equal(isNew, !model.has(k), `seed ${seed} step ${step}: set's "new" for ${k}`);
        model.delete(k); // a rewrite moves the key to the end of the write order
        model.set(k, { key, value: value === null ? null : value.slice(), at: clock++ });
      } else if (op < 0.65) {
        assert.equal(buf.remove(key), model.delete(k), `seed ${seed} step ${step}: remove ${k}`);
      } else if (op < 0.998) {
        const want = model.get(k);
        assert.equal(hex(buf.get(key)), want === undefined ? "undefined" : hex(want.value));
      } else {
        buf.clear();
        model = new Map();
      }
      assert.equal(buf.size, model.size);
    }
    // Write order, as applied at a flush.
    const seen: string[] = [];
    buf.forEach((key, value) => {
      seen.push(`${hex(key)}=${hex(value)}`);
    });
    assert.deepEqual(
      seen,
      [...model.values()].sort((a, b) => a.at - b.at).map((e) => `${hex(e.key)}=${hex(e.value)}`),
    );
    // Key order within bounds, bounds included.
    const from = new Uint8Array([1]);
    const to = new Uint8Array([2, 1]);
    const inRange = [...model.values()]
      .filter((e) => Buffer.compare(e.key, from) >= 0 && Buffer.compare(e.key, to) <= 0)
      .sort((a, b) => Buffer.compare(a.key, b.key))
      .map((e) => `${hex(e.key)}=${hex(e.value)}`);
    assert.deepEqual(
      buf.range(from, to).map((e) => `${hex(e.key)}=${hex(e.value)}`),
      inRange,
    );
    assert.equal(buf.range(undefined, undefined).length, model.size);
  }
});

test("write buffer: values handed out are copies, unchanged by later writes and a clear", () => {
  const buf = new WriteBuffer();
  const key = new TextEncoder().encode("campaign|ticket");
  const value = new Uint8Array(300).fill(7);
  buf.set(key, value);
  value.fill(9); // the caller reuses its array: the buffer kept its own copy
  const got = buf.get(key)!;
  assert.equal(got[0], 7);
  buf.clear();
  for (let i = 0; i < 1000; i++) buf.set(new TextEncoder().encode(`k${i}`), new Uint8Array(300).fill(1));
  assert.equal(got[0], 7, "a value read before the clear is not overwritten by the arena's reuse");
  const [first] = buf.range(undefined, undefined);
  buf.set(first!.key, new Uint8Array([5]));
  assert.equal(first!.value![0], 1);
});

test("write buffer: grows past its first arena and index, and keeps a key's last write", () => {
  const buf = new WriteBuffer();
  const enc = new TextEncoder();
  for (let round = 0; round < 3; round++)
    for (let i = 0; i < 50_000; i++) buf.set(enc.encode(`key-${i}`), enc.encode(`value-${i}-${round}`));
  assert.equal(buf.size, 50_000);
  assert.equal(new TextDecoder().decode(buf.get(enc.encode("key-49999"))!), "value-49999-2");
  let n = 0;
  buf.forEach(() => {
    n++;
  });
  assert.equal(n, 50_000, "overwritten entries are not applied");
  const big = new Uint8Array(200_000).fill(3); // larger than the arena: it grows to fit
  buf.set(enc.encode("big"), big);
  assert.equal(buf.get(enc.encode("big"))!.length, 200_000);
  buf.set(enc.encode("big"), null);
  assert.equal(buf.get(enc.encode("big")), null, "a buffered delete reads as null");
  assert.equal(buf.get(enc.encode("never")), undefined);
});

test("write buffer: after a clear that shrinks its index, keys still find their slots", () => {
  // A regression: the shrunk index was not a power of two, and a probe wrapping with its mask
  // cycled through full slots for ever (the coupons app hung in its first second).
  const buf = new WriteBuffer();
  const enc = new TextEncoder();
  for (let i = 0; i < 100_000; i++) buf.set(enc.encode(`k${i}`), null);
  for (let i = 0; i < 99_000; i++) buf.remove(enc.encode(`k${i}`));
  buf.clear(); // 1 000 keys left when cleared: the 262 144-slot index shrinks
  for (let i = 0; i < 20_000; i++) assert.equal(buf.set(enc.encode(`n${i}`), new Uint8Array([1])), true);
  assert.equal(buf.size, 20_000);
  for (let i = 0; i < 20_000; i += 997) assert.deepEqual(buf.get(enc.encode(`n${i}`)), new Uint8Array([1]));
});

test("write buffer: keys put and removed between two flushes do not grow its index without bound", () => {
  // The correlation's pending store: a request put, then matched and removed, thousands of times
  // between two flushes. Removed slots are dropped when the index is rebuilt.
  const buf = new WriteBuffer();
  const enc = new TextEncoder();
  for (let i = 0; i < 200_000; i++) {
    const k = enc.encode(`req-${i}`);
    buf.set(k, new Uint8Array([1]));
    buf.remove(k);
  }
  assert.equal(buf.size, 0);
  const slots = (buf as unknown as { slots: Int32Array }).slots.length;
  assert.ok(slots <= 4096, `index of ${slots} slots for no live key`);
});
