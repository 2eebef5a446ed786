import assert from "node:assert/strict";
import { test } from "node:test";
import { murmur2, partitionForKey, StickyPartitionCache, toPositive } from "../../src/cluster/index.ts";

const enc = (s: string) => new TextEncoder().encode(s);

test("murmur2 matches Kafka's Utils.murmur2 test vectors", () => {
  // From Kafka's UtilsTest.testMurmur2.
  const cases: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [s, want] of cases) assert.equal(murmur2(enc(s)), want, s);
});

test("keyed records land where Kafka's default partitioner puts them", () => {
  assert.equal(toPositive(-973932308), (-973932308 & 0x7fffffff) >>> 0);
  assert.equal(partitionForKey(enc("foobar"), 7), toPositive(-790332482) % 7);
  // Empty key is a key (not null): it hashes too.
  assert.equal(partitionForKey(new Uint8Array(0), 3), toPositive(murmur2(new Uint8Array(0))) % 3);
});

test("sticky partitioner keeps a partition for a batch and moves on after", () => {
  const s = new StickyPartitionCache();
  const first = s.partition("t", 4);
  assert.equal(s.partition("t", 4), first);
  s.next("t", 4);
  assert.notEqual(s.partition("t", 4), first);
  s.next("one", 1);
  assert.equal(s.partition("one", 1), 0);
});
