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

test("cooperative-sticky, randomized: never two owners, subscriptions respected, balanced and complete after the follow-up round", () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let trial = 0; trial < 200; trial++) {
    const topics = new Map<string, number>([
      ["a", 1 + rnd(8)],
      ["b", 1 + rnd(5)],
    ]);
    const homogeneous = rnd(2) === 0;
    let owned = new Map<string, TopicPartition[]>();
    const members: string[] = [];
    const subs = new Map<string, string[]>();
    for (let step = 0; step < 6; step++) {
      // Members come and go.
      if (members.length === 0 || rnd(3) > 0) {
        const id = `m${trial}-${step}`;
        members.push(id);
        subs.set(id, homogeneous ? ["a", "b"] : rnd(2) ? ["a"] : ["a", "b"]);
      } else {
        const gone = members.splice(rnd(members.length), 1)[0]!;
        owned.delete(gone);
      }
      let generation = step * 2;
      for (let round = 0; round < 2; round++) {
        generation++;
        const result = cooperativeStickyAssignor.assign(
          topics,
          members.map((m) => member(m, subs.get(m)!, owned.get(m) ?? [], generation - 1)),
        );
        const seen = new Set<string>();
        for (const [m, tps] of result) {
          for (const tp of tps) {
            const k = `${tp.topic}-${tp.partition}`;
            assert.ok(!seen.has(k), `partition ${k} given twice`);
            seen.add(k);
            assert.ok(subs.get(m)!.includes(tp.topic), `${m} got ${k} without subscribing`);
          }
          // Nothing is given that another member still owns.
          for (const tp of tps)
            for (const [o, otps] of owned)
              if (o !== m) assert.ok(!otps.some((x) => x.topic === tp.topic && x.partition === tp.partition));
        }
        const next = new Map<string, TopicPartition[]>();
        for (const [m, tps] of result) next.set(m, tps);
        owned = next;
      }
      // After the follow-up round everything is assigned.
      const total = [...owned.values()].reduce((n, l) => n + l.length, 0);
      const expected = [...topics].reduce(
        (n, [t, c]) => n + (members.some((m) => subs.get(m)!.includes(t)) ? c : 0),
        0,
      );
      assert.equal(total, expected, `trial ${trial} step ${step}: every partition owned after two rounds`);
      if (homogeneous) {
        const counts = [...owned.values()].map((l) => l.length);
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `balanced: ${counts}`);
      }
    }
  }
});
