import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type AssignorMember,
  cooperativeStickyAssignor,
  type GroupAssignment,
  rangeAssignor,
  roundRobinAssignor,
  type TopicPartition,
} from "../../src/cluster/index.ts";

function member(
  id: string,
  topics: string[],
  owned: TopicPartition[] = [],
  generationId = 1,
): AssignorMember {
  return {
    memberId: id,
    subscription: { topics, userData: null, ownedPartitions: owned, generationId, rackId: null },
  };
}

const fmt = (a: GroupAssignment) =>
  Object.fromEntries([...a].map(([m, tps]) => [m, tps.map((t) => `${t.topic}-${t.partition}`).sort()]));

function allAssigned(a: GroupAssignment): string[] {
  return [...a.values()].flatMap((l) => l.map((t) => `${t.topic}-${t.partition}`)).sort();
}

test("range: contiguous ranges per topic, extra partitions to the first members", () => {
  const a = rangeAssignor.assign(new Map([["t", 5]]), [member("b", ["t"]), member("a", ["t"])]);
  assert.deepEqual(fmt(a), { a: ["t-0", "t-1", "t-2"], b: ["t-3", "t-4"] });
});

test("range: members only get topics they subscribe to", () => {
  const a = rangeAssignor.assign(
    new Map([
      ["t", 2],
      ["u", 2],
    ]),
    [member("a", ["t"]), member("b", ["t", "u"])],
  );
  assert.deepEqual(fmt(a), { a: ["t-0"], b: ["t-1", "u-0", "u-1"] });
});

test("roundrobin: partitions dealt in turn over sorted members", () => {
  const a = roundRobinAssignor.assign(
    new Map([
      ["t", 3],
      ["u", 2],
    ]),
    [member("a", ["t", "u"]), member("b", ["t", "u"])],
  );
  assert.deepEqual(fmt(a), { a: ["t-0", "t-2", "u-1"], b: ["t-1", "u-0"] });
});

test("cooperative-sticky: balanced first assignment covers every partition once", () => {
  const a = cooperativeStickyAssignor.assign(new Map([["t", 6]]), [
    member("a", ["t"]),
    member("b", ["t"]),
    member("c", ["t"]),
  ]);
  assert.deepEqual(allAssigned(a), ["t-0", "t-1", "t-2", "t-3", "t-4", "t-5"]);
  for (const l of a.values()) assert.equal(l.length, 2);
});

test("cooperative-sticky: a new member only takes what must move, and only after it is revoked", () => {
  const tp = (p: number) => ({ topic: "t", partition: p });
  const owned = { a: [tp(0), tp(1), tp(2)], b: [tp(3), tp(4), tp(5)] };
  // Round 1: c joins. a and b keep two each; the moving partitions are withheld from c.
  const r1 = cooperativeStickyAssignor.assign(new Map([["t", 6]]), [
    member("a", ["t"], owned.a),
    member("b", ["t"], owned.b),
    member("c", ["t"], []),
  ]);
  const a1 = r1.get("a")!.map((x) => x.partition);
  const b1 = r1.get("b")!.map((x) => x.partition);
  assert.equal(a1.length, 2);
  assert.equal(b1.length, 2);
  for (const p of a1)
    assert.ok(
      owned.a.some((x) => x.partition === p),
      "a keeps only what it owned",
    );
  for (const p of b1)
    assert.ok(
      owned.b.some((x) => x.partition === p),
      "b keeps only what it owned",
    );
  assert.deepEqual(r1.get("c"), [], "nothing handed to c before the owners revoke");
  // Round 2: a and b revoked; c now gets exactly the two freed partitions, nothing else moves.
  const r2 = cooperativeStickyAssignor.assign(new Map([["t", 6]]), [
    member("a", ["t"], r1.get("a")!, 2),
    member("b", ["t"], r1.get("b")!, 2),
    member("c", ["t"], [], 2),
  ]);
  assert.deepEqual(r2.get("a"), r1.get("a"));
  assert.deepEqual(r2.get("b"), r1.get("b"));
  const freed = [0, 1, 2, 3, 4, 5].filter((p) => !a1.includes(p) && !b1.includes(p));
  assert.deepEqual(
    r2.get("c")!.map((x) => x.partition),
    freed,
  );
});

test("cooperative-sticky: partitions of a member that left go to the others, owners keep theirs", () => {
  const tp = (p: number) => ({ topic: "t", partition: p });
  const r = cooperativeStickyAssignor.assign(new Map([["t", 4]]), [
    member("a", ["t"], [tp(0), tp(1)]),
    member("b", ["t"], []),
  ]);
  // c (which owned 2 and 3) left: they are free and go to b at once.
  assert.deepEqual(
    r.get("a")!.map((x) => x.partition),
    [0, 1],
  );
  assert.deepEqual(
    r.get("b")!.map((x) => x.partition),
    [2, 3],
  );
});

test("cooperative-sticky: a double claim keeps the higher generation's owner", () => {
  const tp = (p: number) => ({ topic: "t", partition: p });
  const r = cooperativeStickyAssignor.assign(new Map([["t", 2]]), [
    member("a", ["t"], [tp(0)], 5),
    member("b", ["t"], [tp(0), tp(1)], 4),
  ]);
  assert.deepEqual(
    r.get("a")!.map((x) => x.partition),
    [0],
  );
  assert.deepEqual(
    r.get("b")!.map((x) => x.partition),
    [1],
  );
});
