// Transaction coordinator rules with a manual clock; markers and persisted records are recorded so the
// tests can check what would reach the logs and what a restart would replay.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type TxnRecord, TxnCoordinator } from "../../src/broker/txn-coordinator.ts";
import { ManualClock } from "../../src/observe/index.ts";

function setup(validate: (g: string, gen: number, m: string) => string = () => "NONE") {
  const clock = new ManualClock(5_000);
  const markers: string[] = [];
  const committed: string[] = [];
  const persisted = new Map<string, TxnRecord | null>();
  let pidBlock = 0;
  const make = () =>
    new TxnCoordinator({
      clock,
      store: {
        writeTxn: (id, r) => void persisted.set(id, r),
        writeProducerIdBlock: (n) => {
          pidBlock = n;
        },
      },
      writeMarker: (t, p, m) =>
        void markers.push(`${m.type}:${t}-${p}:pid${m.producerId}:e${m.producerEpoch}`),
      commitOffsets: (g, offs) =>
        void committed.push(...offs.map((o) => `${g}:${o.topic}-${o.partition}@${o.offset}`)),
      validateGroupMember: (g, gen, m) => validate(g, gen, m),
      partitionExists: (t, p) => t !== "missing" && p < 4,
      producerIdBlockSize: 10,
    });
  return { clock, markers, committed, persisted, make, pidBlock: () => pidBlock };
}

test("idempotent producers get distinct ids; the id block is persisted before use", () => {
  const s = setup();
  const tc = s.make();
  const a = tc.initProducerId({ transactionalId: null, transactionTimeoutMs: 0 });
  const b = tc.initProducerId({ transactionalId: null, transactionTimeoutMs: 0 });
  assert.equal(a.errorCode, "NONE");
  assert.notEqual(a.producerId, b.producerId);
  assert.equal(a.producerEpoch, 0);
  assert.ok(s.pidBlock() > b.producerId);
  // A restarted coordinator never reuses them.
  const reserved = s.pidBlock();
  const tc2 = s.make();
  tc2.loadProducerIdBlock(reserved);
  const c = tc2.initProducerId({ transactionalId: null, transactionTimeoutMs: 0 });
  assert.ok(c.producerId >= reserved);
});

test("commit writes markers to every partition and applies offsets only then", () => {
  const s = setup();
  const tc = s.make();
  const { producerId, producerEpoch } = tc.initProducerId({
    transactionalId: "tx",
    transactionTimeoutMs: 1000,
  });
  const auth = { transactionalId: "tx", producerId, producerEpoch };
  assert.deepEqual(
    tc
      .addPartitionsToTxn(auth, [
        { topic: "out", partition: 0 },
        { topic: "out", partition: 1 },
      ])
      .map((r) => r.errorCode),
    ["NONE", "NONE"],
  );
  assert.equal(tc.verifyTransactionalProduce("tx", producerId, producerEpoch, "out", 0), "NONE");
  assert.equal(tc.verifyTransactionalProduce("tx", producerId, producerEpoch, "out", 3), "INVALID_TXN_STATE");
  assert.equal(tc.addOffsetsToTxn(auth, "grp").errorCode, "NONE");
  const r = tc.txnOffsetCommit(auth, {
    groupId: "grp",
    generationId: 1,
    memberId: "m",
    offsets: [{ topic: "in", partition: 0, offset: 42, leaderEpoch: -1, metadata: null }],
  });
  assert.equal(r[0]!.errorCode, "NONE");
  assert.equal(tc.hasPendingOffset("grp", "in", 0), true);
  assert.deepEqual(s.committed, [], "pending until commit");
  assert.equal(tc.endTxn(auth, true).errorCode, "NONE");
  assert.deepEqual(s.markers.sort(), [
    `commit:out-0:pid${producerId}:e0`,
    `commit:out-1:pid${producerId}:e0`,
  ]);
  assert.deepEqual(s.committed, ["grp:in-0@42"]);
  assert.equal(tc.hasPendingOffset("grp", "in", 0), false);
  assert.equal(s.persisted.get("tx")!.state, "CompleteCommit");
  // A retried commit is answered again; an abort of a committed transaction is not.
  assert.equal(tc.endTxn(auth, true).errorCode, "NONE");
  assert.equal(tc.endTxn(auth, false).errorCode, "INVALID_TXN_STATE");
});

test("abort discards pending offsets", () => {
  const s = setup();
  const tc = s.make();
  const p = tc.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 1000 });
  const auth = { transactionalId: "tx", ...p };
  tc.addPartitionsToTxn(auth, [{ topic: "out", partition: 0 }]);
  tc.addOffsetsToTxn(auth, "grp");
  tc.txnOffsetCommit(auth, {
    groupId: "grp",
    offsets: [{ topic: "in", partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
  });
  assert.equal(tc.endTxn(auth, false).errorCode, "NONE");
  assert.deepEqual(s.markers, [`abort:out-0:pid${p.producerId}:e0`]);
  assert.deepEqual(s.committed, []);
});

test("a new instance bumps the epoch, aborts the open transaction and fences the zombie", () => {
  const s = setup();
  const tc = s.make();
  const old = tc.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 1000 });
  const oldAuth = { transactionalId: "tx", ...old };
  tc.addPartitionsToTxn(oldAuth, [{ topic: "out", partition: 2 }]);
  const fresh = tc.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 1000 });
  assert.equal(fresh.producerId, old.producerId);
  assert.ok(fresh.producerEpoch > old.producerEpoch);
  assert.deepEqual(s.markers, [`abort:out-2:pid${old.producerId}:e${old.producerEpoch + 1}`]);
  // The zombie is fenced everywhere.
  assert.equal(tc.endTxn(oldAuth, true).errorCode, "PRODUCER_FENCED");
  assert.equal(
    tc.addPartitionsToTxn(oldAuth, [{ topic: "out", partition: 0 }])[0]!.errorCode,
    "PRODUCER_FENCED",
  );
  assert.equal(tc.addOffsetsToTxn(oldAuth, "g").errorCode, "PRODUCER_FENCED");
  assert.equal(
    tc.verifyTransactionalProduce("tx", old.producerId, old.producerEpoch, "out", 2),
    "INVALID_PRODUCER_EPOCH",
  );
  assert.equal(
    tc.txnOffsetCommit(oldAuth, {
      groupId: "g",
      offsets: [{ topic: "in", partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
    })[0]!.errorCode,
    "INVALID_PRODUCER_EPOCH",
  );
});

test("transaction timeout aborts with an epoch bump", () => {
  const s = setup();
  const tc = s.make();
  const p = tc.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 1000 });
  const auth = { transactionalId: "tx", ...p };
  tc.addPartitionsToTxn(auth, [{ topic: "out", partition: 0 }]);
  s.clock.advance(1000);
  tc.tick();
  assert.equal(tc.describe("tx")!.state, "Ongoing", "not before the timeout passes");
  s.clock.advance(1);
  tc.tick();
  assert.equal(tc.describe("tx")!.state, "CompleteAbort");
  assert.deepEqual(s.markers, [`abort:out-0:pid${p.producerId}:e1`]);
  assert.equal(tc.endTxn(auth, true).errorCode, "PRODUCER_FENCED");
});

test("bad requests: timeout bounds, unknown partitions, wrong producer id, no transaction", () => {
  const s = setup();
  const tc = s.make();
  assert.equal(
    tc.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 0 }).errorCode,
    "INVALID_TRANSACTION_TIMEOUT",
  );
  assert.equal(
    tc.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 16 * 60_000 }).errorCode,
    "INVALID_TRANSACTION_TIMEOUT",
  );
  const p = tc.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 1000 });
  const auth = { transactionalId: "tx", ...p };
  assert.deepEqual(
    tc
      .addPartitionsToTxn(auth, [
        { topic: "missing", partition: 0 },
        { topic: "out", partition: 0 },
      ])
      .map((r) => r.errorCode),
    ["UNKNOWN_TOPIC_OR_PARTITION", "OPERATION_NOT_ATTEMPTED"],
  );
  assert.equal(tc.endTxn({ ...auth, producerId: 999 }, true).errorCode, "INVALID_PRODUCER_ID_MAPPING");
  assert.equal(tc.endTxn(auth, true).errorCode, "INVALID_TXN_STATE", "nothing was started");
  assert.equal(
    tc.txnOffsetCommit(auth, {
      groupId: "g",
      offsets: [{ topic: "in", partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
    })[0]!.errorCode,
    "INVALID_TXN_STATE",
    "offsets need AddOffsetsToTxn first",
  );
});

test("TxnOffsetCommit is fenced by the group's verdict on generation and member (KIP-447)", () => {
  const s = setup((_g, gen, m) =>
    m !== "m1" ? "UNKNOWN_MEMBER_ID" : gen !== 3 ? "ILLEGAL_GENERATION" : "NONE",
  );
  const tc = s.make();
  const p = tc.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 1000 });
  const auth = { transactionalId: "tx", ...p };
  tc.addOffsetsToTxn(auth, "g");
  const off = [{ topic: "in", partition: 0, offset: 1, leaderEpoch: -1, metadata: null }];
  assert.equal(
    tc.txnOffsetCommit(auth, { groupId: "g", generationId: 2, memberId: "m1", offsets: off })[0]!.errorCode,
    "ILLEGAL_GENERATION",
  );
  assert.equal(
    tc.txnOffsetCommit(auth, { groupId: "g", generationId: 3, memberId: "zz", offsets: off })[0]!.errorCode,
    "UNKNOWN_MEMBER_ID",
  );
  assert.equal(
    tc.txnOffsetCommit(auth, { groupId: "g", generationId: 3, memberId: "m1", offsets: off })[0]!.errorCode,
    "NONE",
  );
});

test("a restart completes a prepared commit from the persisted record", () => {
  const s = setup();
  const tc = s.make();
  const p = tc.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 1000 });
  const auth = { transactionalId: "tx", ...p };
  tc.addPartitionsToTxn(auth, [{ topic: "out", partition: 1 }]);
  tc.addOffsetsToTxn(auth, "g");
  tc.txnOffsetCommit(auth, {
    groupId: "g",
    offsets: [{ topic: "in", partition: 0, offset: 9, leaderEpoch: -1, metadata: null }],
  });
  // Simulate a crash right after PrepareCommit was written.
  const rec = { ...s.persisted.get("tx")!, state: "PrepareCommit" as const };
  const tc2 = s.make();
  tc2.loadTxn("tx", rec);
  tc2.completePrepared();
  assert.deepEqual(s.markers, [`commit:out-1:pid${p.producerId}:e0`]);
  assert.deepEqual(s.committed, ["g:in-0@9"]);
  assert.equal(tc2.describe("tx")!.state, "CompleteCommit");
});

test("InitProducerId: an unknown transactional id gets a fresh id whatever id the client sent; a stale one is fenced", () => {
  const s = setup();
  const tc = s.make();
  // platformatic 2.x sends producer id 0, epoch 0 on its first call
  const first = tc.initProducerId({
    transactionalId: "app-0",
    transactionTimeoutMs: 60_000,
    producerId: 0,
    producerEpoch: 0,
  });
  assert.equal(first.errorCode, "NONE");
  assert.equal(first.producerEpoch, 0);
  const bumped = tc.initProducerId({ transactionalId: "app-0", transactionTimeoutMs: 60_000 });
  assert.equal(bumped.producerEpoch, 1);
  const stale = tc.initProducerId({
    transactionalId: "app-0",
    transactionTimeoutMs: 60_000,
    producerId: first.producerId,
    producerEpoch: 0,
  });
  assert.equal(stale.errorCode, "PRODUCER_FENCED");
  const other = tc.initProducerId({
    transactionalId: "app-0",
    transactionTimeoutMs: 60_000,
    producerId: first.producerId + 1000,
    producerEpoch: 3,
  });
  assert.equal(other.errorCode, "PRODUCER_FENCED");
});
