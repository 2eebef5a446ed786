// A full disk, simulated by failing writes: clear errors, nothing acknowledged that was not stored, and
// the broker carries on once the disk has room again.
import assert from "node:assert/strict";
import { sep } from "node:path";
import { test } from "node:test";
import { Broker } from "../../src/broker/index.ts";
import { EmbeddedCluster, KafkaError } from "../../src/cluster/index.ts";
import { LogManager, type StorageOp } from "../../src/log/index.ts";
import { waitFor } from "../../src/observe/index.ts";
import { tempDir } from "./helpers.ts";

function enospc(): Error {
  const e = new Error("no space left on device") as NodeJS.ErrnoException;
  e.code = "ENOSPC";
  return e;
}

test("full disk: produce, offset commits and transaction ends fail clearly; acknowledged data is intact", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  let failing: string | null = null;
  const log = await LogManager.open({
    dataDir: dir,
    faultHook: (op: StorageOp, path: string) => {
      if (failing !== null && op === "write" && path.includes(`${sep}${failing}${sep}`)) throw enospc();
    },
  });
  const broker = await Broker.open({ dataDir: dir, logManager: log, timerIntervalMs: 0 });
  t.after(async () => {
    await broker.close();
    await log.close();
  });
  const cluster = EmbeddedCluster.wrap(broker);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const producer = await cluster.createProducer();
  const v = (s: string) => ({ topic: "t", partition: 0, key: null, value: Buffer.from(s) });
  await producer.send([v("a")]);

  failing = "t";
  await assert.rejects(
    producer.send([v("b")]),
    (e: unknown) =>
      e instanceof KafkaError &&
      e.code === "KAFKA_STORAGE_ERROR" &&
      /t-0|"t"|t\/0/.test(e.message) &&
      /ENOSPC/.test(e.message),
  );
  failing = null;
  await producer.send([v("c")]);
  const c = await cluster.createConsumer({ autoOffsetReset: "earliest" });
  c.assign([{ topic: "t", partition: 0 }]);
  const got = (await c.poll({ maxWaitMs: 50 })).map((r) => Buffer.from(r.value!).toString());
  assert.deepEqual(got, ["a", "c"], "the failed record was not stored, the next one was");

  failing = "__consumer_offsets";
  const commit = broker.offsetCommit({
    groupId: "g",
    generationId: -1,
    memberId: "",
    topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 1 }] }],
  });
  assert.equal(commit[0]!.partitions[0]!.errorCode, "KAFKA_STORAGE_ERROR");
  assert.equal(
    broker.offsetFetch({ groupId: "g", topics: null }).topics.length,
    0,
    "a failed commit is not visible",
  );
  failing = null;

  // A transaction whose end cannot be written is finished by the coordinator once the disk recovers.
  const tx = await cluster.createProducer({ transactionalId: "tx" });
  tx.beginTransaction();
  await tx.send([v("in-txn")]);
  failing = "t";
  // The producer retries EndTxn; the coordinator completes the prepared commit once writes succeed.
  const committing = tx.commitTransaction();
  await waitFor(() => broker.txns.describe("tx")?.state === "PrepareCommit", { what: "a prepared commit" });
  failing = null;
  broker.tick();
  await committing;
  const lsoLog = broker.partitionLog("t", 0);
  assert.equal(lsoLog.lastStableOffset, lsoLog.highWatermark, "the prepared commit was completed");
  const rc = await cluster.createConsumer({ autoOffsetReset: "earliest", isolationLevel: "read_committed" });
  rc.assign([{ topic: "t", partition: 0 }]);
  const all = (await rc.poll({ maxWaitMs: 50 })).map((r) => Buffer.from(r.value!).toString());
  assert.deepEqual(all, ["a", "c", "in-txn"]);
});
