import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ConsumerProtocolError,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from "../../src/cluster/index.ts";

test("subscription v1 round-trips topics, user data and owned partitions", () => {
  const bytes = encodeSubscription({
    topics: ["a", "b"],
    userData: new Uint8Array([1, 2, 3]),
    ownedPartitions: [
      { topic: "a", partition: 0 },
      { topic: "a", partition: 2 },
      { topic: "b", partition: 1 },
    ],
  });
  const s = decodeSubscription(bytes);
  assert.deepEqual(s.topics, ["a", "b"]);
  assert.deepEqual([...s.userData!], [1, 2, 3]);
  assert.deepEqual(s.ownedPartitions, [
    { topic: "a", partition: 0 },
    { topic: "a", partition: 2 },
    { topic: "b", partition: 1 },
  ]);
});

test("subscription bytes are Kafka's ConsumerProtocolSubscription layout", () => {
  // version 0: int16 version, [string] topics, nullable bytes userData.
  const v0 = encodeSubscription({ topics: ["t"] }, 0);
  assert.deepEqual([...v0], [0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0xff, 0xff, 0xff, 0xff]);
  const s = decodeSubscription(v0);
  assert.deepEqual(s.topics, ["t"]);
  assert.equal(s.userData, null);
  assert.deepEqual(s.ownedPartitions, []);
  // version 3 (what the Java client sends) decodes too, trailing fields included.
  const v3 = encodeSubscription({ topics: ["x"], generationId: 7, rackId: "r1" }, 3);
  const d3 = decodeSubscription(v3);
  assert.equal(d3.generationId, 7);
  assert.equal(d3.rackId, "r1");
});

test("assignment round-trips; empty bytes mean no partitions", () => {
  const a = decodeAssignment(
    encodeAssignment({ partitions: [{ topic: "t", partition: 3 }], userData: new Uint8Array([9]) }),
  );
  assert.deepEqual(a.partitions, [{ topic: "t", partition: 3 }]);
  assert.deepEqual([...a.userData!], [9]);
  assert.deepEqual(decodeAssignment(new Uint8Array(0)).partitions, []);
});

test("truncated metadata is a clear error, not a crash", () => {
  const bytes = encodeSubscription({ topics: ["topic-name"] });
  assert.throws(
    () => decodeSubscription(bytes.subarray(0, 9)),
    (e: unknown) =>
      e instanceof ConsumerProtocolError && /truncated at byte \d+ reading topic/.test(e.message),
  );
  assert.throws(
    () => decodeAssignment(new Uint8Array([0, 1, 0x7f, 0xff, 0xff, 0xff])),
    ConsumerProtocolError,
  );
});
