// SortedBytesMap keeps its scan order only while scans keep coming; dropped and rebuilt, the
// order of every scan stays exact.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToKeyString } from "../../src/state/bytes.ts";
import { SortedBytesMap } from "../../src/state/sorted-map.ts";

test("scans stay ordered across long runs of inserts and deletes between them", () => {
  const m = new SortedBytesMap<number>();
  const model = new Map<string, number>();
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const key = (i: number) => new Uint8Array([i >> 16, (i >> 8) & 255, i & 255]);
  for (let round = 0; round < 12; round++) {
    // From a few writes to many more writes than keys between two scans.
    const writes = [10, 500, 5000, 20_000][round % 4]!;
    for (let w = 0; w < writes; w++) {
      const i = rand(8000);
      const k = key(i);
      if (rand(4) === 0) {
        m.delete(k);
        model.delete(bytesToKeyString(k));
      } else {
        m.set(k, i);
        model.set(bytesToKeyString(k), i);
      }
    }
    const want = [...model.keys()].sort();
    assert.deepEqual(
      m.range(undefined, undefined).map((e) => bytesToKeyString(e.key)),
      want,
      `round ${round}`,
    );
    const lo = key(2000);
    const hi = key(3000);
    const part = want.filter((k) => k >= bytesToKeyString(lo) && k <= bytesToKeyString(hi));
    assert.deepEqual(
      m.range(lo, hi, true).map((e) => bytesToKeyString(e.key)),
      part.reverse(),
    );
  }
});
