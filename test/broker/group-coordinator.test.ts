// Group coordinator protocol rules, driven by a manual clock (deterministic timeouts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { GroupCoordinator, type JoinGroupRequest } from "../../src/broker/group-coordinator.ts";
import { ManualClock } from "../../src/observe/index.ts";

function setup(opts: { initialRebalanceDelayMs?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const writes: { groupId: string; kind: "offsets" | "group" }[] = [];
  const gc = new GroupCoordinator({
    clock,
    minSessionTimeoutMs: 100,
    initialRebalanceDelayMs: opts.initialRebalanceDelayMs,
    store: {
      writeOffsets: (groupId) => void writes.push({ groupId, kind: "offsets" }),
      writeGroup: (groupId) => void writes.push({ groupId, kind: "group" }),
    },
  });
  return { clock, gc, writes };
}

const proto = (name = "range", meta = [1]) => [{ name, metadata: new Uint8Array(meta) }];

function join(gc: GroupCoordinator, memberId = "", extra: Partial<JoinGroupRequest> = {}) {
  return gc.joinGroup({
    groupId: "g",
    sessionTimeoutMs: 1000,
    rebalanceTimeoutMs: 5000,
    memberId,
    protocolType: "consumer",
    protocols: proto(),
    clientId: "c",
    ...extra,
  });
}

async function stableSingle(gc: GroupCoordinator) {
  const j = await join(gc);
  assert.equal(j.errorCode, "NONE");
  const s = await gc.syncGroup({
    groupId: "g",
    generationId: j.generationId,
    memberId: j.memberId,
    assignments: [{ memberId: j.memberId, assignment: new Uint8Array([7]) }],
  });
  assert.equal(s.errorCode, "NONE");
  return j;
}

test("single member: join, become leader, sync, stable", async () => {
  const { gc } = setup();
  const j = await join(gc);
  assert.equal(j.generationId, 1);
  assert.equal(j.leader, j.memberId);
  assert.equal(j.protocolName, "range");
  assert.equal(j.members.length, 1);
  assert.equal(gc.groupState("g"), "CompletingRebalance");
  const s = await gc.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: j.memberId,
    assignments: [{ memberId: j.memberId, assignment: new Uint8Array([7]) }],
  });
  assert.deepEqual([...s.assignment], [7]);
  assert.equal(gc.groupState("g"), "Stable");
  assert.equal(gc.heartbeat({ groupId: "g", generationId: 1, memberId: j.memberId }).errorCode, "NONE");
});

test("MEMBER_ID_REQUIRED then join with the given id (JoinGroup v4+)", async () => {
  const { gc } = setup();
  const first = await join(gc, "", { requireKnownMemberId: true });
  assert.equal(first.errorCode, "MEMBER_ID_REQUIRED");
  assert.ok(first.memberId.length > 0);
  const second = await join(gc, first.memberId);
  assert.equal(second.errorCode, "NONE");
  assert.equal(second.memberId, first.memberId);
});

test("a second member triggers a rebalance: heartbeat says REBALANCE_IN_PROGRESS, the join waits for all", async () => {
  const { gc } = setup();
  const a = await stableSingle(gc);
  let bDone = false;
  const bJoin = join(gc).then((r) => {
    bDone = true;
    return r;
  });
  await Promise.resolve();
  assert.equal(gc.groupState("g"), "PreparingRebalance");
  assert.equal(bDone, false, "join phase waits for the known member");
  assert.equal(
    gc.heartbeat({ groupId: "g", generationId: 1, memberId: a.memberId }).errorCode,
    "REBALANCE_IN_PROGRESS",
  );
  const aJoin = await join(gc, a.memberId);
  const b = await bJoin;
  assert.equal(aJoin.generationId, 2);
  assert.equal(b.generationId, 2);
  assert.equal(aJoin.leader, a.memberId, "the old leader stays leader");
  assert.equal(aJoin.members.length, 2);
  assert.equal(b.members.length, 0, "followers get no member list");
  // Old generation is rejected.
  assert.equal(
    gc.heartbeat({ groupId: "g", generationId: 1, memberId: a.memberId }).errorCode,
    "ILLEGAL_GENERATION",
  );
  const followerSync = gc.syncGroup({ groupId: "g", generationId: 2, memberId: b.memberId, assignments: [] });
  const leaderSync = await gc.syncGroup({
    groupId: "g",
    generationId: 2,
    memberId: a.memberId,
    assignments: [
      { memberId: a.memberId, assignment: new Uint8Array([1]) },
      { memberId: b.memberId, assignment: new Uint8Array([2]) },
    ],
  });
  assert.deepEqual([...leaderSync.assignment], [1]);
  assert.deepEqual([...(await followerSync).assignment], [2]);
});

test("a member that does not rejoin within the rebalance timeout is dropped", async () => {
  const { gc, clock } = setup();
  const a = await stableSingle(gc);
  const bJoin = join(gc);
  clock.advance(900);
  // a keeps heartbeating (so its session does not expire) but never rejoins.
  assert.equal(
    gc.heartbeat({ groupId: "g", generationId: 1, memberId: a.memberId }).errorCode,
    "REBALANCE_IN_PROGRESS",
  );
  clock.advance(4200);
  gc.tick();
  const b = await bJoin;
  assert.equal(b.errorCode, "NONE");
  assert.equal(b.leader, b.memberId);
  assert.equal(b.members.length, 1);
  assert.equal(
    gc.heartbeat({ groupId: "g", generationId: 2, memberId: a.memberId }).errorCode,
    "UNKNOWN_MEMBER_ID",
  );
});

test("session timeout expires a silent member and rebalances the rest", async () => {
  const { gc, clock } = setup();
  const a = await stableSingle(gc);
  clock.advance(999);
  gc.tick();
  assert.equal(gc.heartbeat({ groupId: "g", generationId: 1, memberId: a.memberId }).errorCode, "NONE");
  clock.advance(1000);
  gc.tick();
  assert.equal(gc.groupState("g"), "Empty");
  assert.equal(
    gc.heartbeat({ groupId: "g", generationId: 1, memberId: a.memberId }).errorCode,
    "UNKNOWN_MEMBER_ID",
  );
});

test("unknown member, illegal generation and inconsistent protocol are rejected", async () => {
  const { gc } = setup();
  assert.equal((await join(gc, "nobody")).errorCode, "UNKNOWN_MEMBER_ID");
  const a = await stableSingle(gc);
  assert.equal(
    (await gc.syncGroup({ groupId: "g", generationId: 9, memberId: a.memberId, assignments: [] })).errorCode,
    "ILLEGAL_GENERATION",
  );
  assert.equal(
    (await gc.syncGroup({ groupId: "g", generationId: 1, memberId: "ghost", assignments: [] })).errorCode,
    "UNKNOWN_MEMBER_ID",
  );
  assert.equal((await join(gc, "", { protocols: proto("other") })).errorCode, "INCONSISTENT_GROUP_PROTOCOL");
  assert.equal((await join(gc, "", { protocolType: "connect" })).errorCode, "INCONSISTENT_GROUP_PROTOCOL");
  assert.equal((await join(gc, "", { sessionTimeoutMs: 1 })).errorCode, "INVALID_SESSION_TIMEOUT");
});

test("protocol selection: the one every member supports, by vote", async () => {
  const { gc } = setup();
  const both = [
    { name: "cooperative-sticky", metadata: new Uint8Array([1]) },
    { name: "range", metadata: new Uint8Array([2]) },
  ];
  const a = await join(gc, "", { protocols: both });
  assert.equal(a.protocolName, "cooperative-sticky");
  const aSync = gc.syncGroup({ groupId: "g", generationId: 1, memberId: a.memberId, assignments: [] });
  await aSync;
  const bJoin = join(gc, "", { protocols: proto("range") });
  const aJoin = await join(gc, a.memberId, { protocols: both });
  assert.equal(aJoin.protocolName, "range");
  assert.equal((await bJoin).protocolName, "range");
  // The leader sees each member's metadata for the chosen protocol.
  assert.deepEqual(
    aJoin.members.map((m) => [...m.metadata]),
    [[2], [1]],
  );
});

test("leave group rebalances; the last leaver empties the group", async () => {
  const { gc } = setup();
  const a = await stableSingle(gc);
  const r = gc.leaveGroup({ groupId: "g", members: [{ memberId: a.memberId }] });
  assert.equal(r.members[0]!.errorCode, "NONE");
  assert.equal(gc.groupState("g"), "Empty");
  assert.equal(
    gc.leaveGroup({ groupId: "g", members: [{ memberId: "x" }] }).members[0]!.errorCode,
    "UNKNOWN_MEMBER_ID",
  );
});

test("static member: a restart with the same instance id gets its assignment back without a rebalance", async () => {
  const { gc } = setup();
  const a = await join(gc, "", { groupInstanceId: "i1" });
  await gc.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: a.memberId,
    groupInstanceId: "i1",
    assignments: [{ memberId: a.memberId, assignment: new Uint8Array([5]) }],
  });
  const again = await join(gc, "", { groupInstanceId: "i1" });
  assert.equal(again.errorCode, "NONE");
  assert.notEqual(again.memberId, a.memberId);
  assert.equal(again.generationId, 1, "no new generation");
  assert.equal(gc.groupState("g"), "Stable");
  const s = await gc.syncGroup({
    groupId: "g",
    generationId: 1,
    memberId: again.memberId,
    groupInstanceId: "i1",
    assignments: [],
  });
  assert.deepEqual([...s.assignment], [5]);
  // The old incarnation is fenced.
  assert.equal(
    gc.heartbeat({ groupId: "g", generationId: 1, memberId: a.memberId, groupInstanceId: "i1" }).errorCode,
    "FENCED_INSTANCE_ID",
  );
});

test("offset commits: generation, member and state are checked as Kafka does", async () => {
  const { gc } = setup();
  const commit = (generationId: number, memberId: string) =>
    gc.offsetCommit({
      groupId: "g",
      generationId,
      memberId,
      topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 10 }] }],
    })[0]!.partitions[0]!.errorCode;
  // Outside group management while the group is empty: allowed.
  assert.equal(commit(-1, ""), "NONE");
  const a = await join(gc);
  assert.equal(commit(1, a.memberId), "REBALANCE_IN_PROGRESS", "not while the assignment is being synced");
  await gc.syncGroup({ groupId: "g", generationId: 1, memberId: a.memberId, assignments: [] });
  assert.equal(commit(1, a.memberId), "NONE");
  assert.equal(commit(0, a.memberId), "ILLEGAL_GENERATION");
  assert.equal(commit(1, "ghost"), "UNKNOWN_MEMBER_ID");
  assert.equal(commit(-1, ""), "UNKNOWN_MEMBER_ID", "a simple commit while members are active is refused");
  const f = gc.offsetFetch({ groupId: "g", topics: [{ name: "t", partitionIndexes: [0, 1] }] });
  assert.deepEqual(
    f.topics[0]!.partitions.map((p) => p.committedOffset),
    [10, -1],
  );
});

test("delete groups: only empty ones; unknown ones are reported", async () => {
  const { gc } = setup();
  const a = await stableSingle(gc);
  assert.deepEqual(gc.deleteGroups(["g", "nope"]), [
    { groupId: "g", errorCode: "NON_EMPTY_GROUP" },
    { groupId: "nope", errorCode: "GROUP_ID_NOT_FOUND" },
  ]);
  gc.leaveGroup({ groupId: "g", members: [{ memberId: a.memberId }] });
  assert.deepEqual(gc.deleteGroups(["g"]), [{ groupId: "g", errorCode: "NONE" }]);
  assert.equal(gc.groupState("g"), undefined);
});

test("initial rebalance delay gathers members joining an empty group", async () => {
  const { gc, clock } = setup({ initialRebalanceDelayMs: 300 });
  const a = join(gc);
  const b = join(gc);
  await Promise.resolve();
  assert.equal(gc.groupState("g"), "PreparingRebalance");
  clock.advance(300);
  gc.tick();
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(ra.generationId, 1);
  assert.equal(rb.generationId, 1);
});

test("the leader leaves before syncing: waiting followers get REBALANCE_IN_PROGRESS and one becomes leader", async () => {
  const { gc } = setup();
  const a = await stableSingle(gc);
  const bJoin = join(gc);
  const aJoin = await join(gc, a.memberId);
  const b = await bJoin;
  assert.equal(aJoin.leader, a.memberId);
  const bSync = gc.syncGroup({
    groupId: "g",
    generationId: b.generationId,
    memberId: b.memberId,
    assignments: [],
  });
  gc.leaveGroup({ groupId: "g", members: [{ memberId: a.memberId }] });
  assert.equal((await bSync).errorCode, "REBALANCE_IN_PROGRESS");
  const again = await join(gc, b.memberId);
  assert.equal(again.errorCode, "NONE");
  assert.equal(again.leader, b.memberId);
  assert.equal(again.generationId, b.generationId + 1);
});

test("a member rejoining with a new subscription while others wait in SyncGroup restarts the rebalance", async () => {
  const { gc } = setup();
  const a = await stableSingle(gc);
  const bJoin = join(gc);
  await join(gc, a.memberId);
  const b = await bJoin;
  const bSync = gc.syncGroup({
    groupId: "g",
    generationId: b.generationId,
    memberId: b.memberId,
    assignments: [],
  });
  const aRejoin = join(gc, a.memberId, { protocols: proto("range", [9]) });
  assert.equal((await bSync).errorCode, "REBALANCE_IN_PROGRESS");
  const bAgain = await join(gc, b.memberId);
  const aAgain = await aRejoin;
  assert.equal(aAgain.generationId, bAgain.generationId);
  assert.deepEqual(
    aAgain.members.find((m) => m.memberId === a.memberId)!.metadata,
    new Uint8Array([9]),
    "the leader sees the new subscription",
  );
});

test("an Empty group keeps its protocol type, as Kafka does (librdkafka 0081 lists it as a consumer group)", async () => {
  const { gc } = setup();
  const a = await stableSingle(gc);
  gc.leaveGroup({ groupId: "g", members: [{ memberId: a.memberId }] });
  assert.deepEqual(gc.listGroups(), [{ groupId: "g", protocolType: "consumer", groupState: "Empty" }]);
});
