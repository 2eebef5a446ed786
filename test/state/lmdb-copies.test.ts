// The lmdb store's copies (pooled copies of buffered writes and reads, the staging buffer of a
// flush) must keep every value's bytes exact, whatever its size and whatever the caller does
// with its arrays afterwards.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { copyBytesPooled } from "../../src/state/bytes.ts";
import { LmdbEnvironment, lmdbKeyValueStore } from "../../src/state/index.ts";

const root = mkdtempSync(join(tmpdir(), "courant-state-copies-"));
after(() => rmSync(root, { recursive: true, force: true }));

const SIZES = [0, 1, 8, 63, 64, 65, 100, 200, 511, 2047, 2048, 2049, 5000, 70_000, 200_000];

function pattern(i: number, size: number): Uint8Array {
  const v = new Uint8Array(size);
  for (let j = 0; j < size; j++) v[j] = (i * 31 + j * 7) & 255;
  return v;
}

test("copyBytesPooled: exact copies, independent of the source, any length", () => {
  const copies: [Uint8Array, Uint8Array][] = [];
  for (let i = 0; i < 2000; i++) {
    const size = SIZES[i % SIZES.length]!;
    const src = pattern(i, size);
    const c = copyBytesPooled(src);
    copies.push([c, src.slice()]);
    src.fill(0xee); // the caller reuses its array
  }
  for (const [c, want] of copies) assert.deepEqual(c, want);
  // A prefix of a larger buffer (how lmdb's shared read buffer is copied).
  const big = pattern(7, 300);
  assert.deepEqual(copyBytesPooled(big, 100), big.slice(0, 100));
  assert.deepEqual(copyBytesPooled(big, 10), big.slice(0, 10));
});

test("lmdb kv: values of every size survive buffering, flush, reads and reopening", async () => {
  const path = join(root, "env");
  let env = LmdbEnvironment.open(path);
  let st = lmdbKeyValueStore(env, "kv");
  const key = (i: number) => new Uint8Array([i >> 8, i & 255, 0x6b]);
  const want = new Map<number, Uint8Array>();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 300; i++) {
      const size = SIZES[(i + round) % SIZES.length]!;
      const v = pattern(i + round, size);
      const k = key(i);
      if (i % 2 === 0) st.put(k, v);
      else st.putOwned(k.slice(), v.slice());
      want.set(i, v.slice());
      v.fill(0xaa); // caller reuse must not reach the store
      k.fill(0xbb);
    }
    // Read while buffered, then after the flush (lmdb's shared read buffer, copied).
    for (const [i, v] of want) assert.deepEqual(st.get(key(i)), v, `buffered ${i}`);
    await env.flush();
    const reads = [...want].map(([i]) => st.get(key(i))!);
    for (const [j, [, v]] of [...want].entries()) assert.deepEqual(reads[j], v, `flushed ${j}`);
  }
  await env.close();
  env = LmdbEnvironment.open(path);
  st = lmdbKeyValueStore(env, "kv");
  for (const [i, v] of want) assert.deepEqual(st.get(key(i)), v, `reopened ${i}`);
  await env.close();
});
