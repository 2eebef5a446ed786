// readRecords for in-process consumers: records with topic and partition (withTopicPartition) are the
// plain records plus those two fields, through transactions (read_committed skips aborted ones),
// control markers and polls bounded by maxRecords.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRecordBatch, type IsolationLevel, type LogRecord } from "../../src/log/index.ts";
import { b, openManager, recs, rmDir, tmpDir } from "./helpers.ts";

test("withTopicPartition: the same records, each also naming its topic and partition", async (t) => {
  const dir = tmpDir();
  const { mgr } = await openManager(dir);
  t.after(async () => {
    await mgr.close();
    rmDir(dir);
  });
  mgr.createTopic("orders", 4);
  const log = mgr.partition("orders", 3);
  const txn = (pid: number, seq: number, n: number, prefix: string) =>
    encodeRecordBatch(
      recs(n, prefix).map((r, i) => (i % 2 ? { ...r, headers: [{ key: "h", value: b(`${i}`) }] } : r)),
      { producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true, timestamp: 5 },
    );
  log.append(encodeRecordBatch(recs(4, "plain-"), { timestamp: 1 }));
  log.append(txn(7, 0, 3, "aborted-"));
  log.append(txn(8, 0, 5, "committed-"));
  log.appendControlMarker({ producerId: 7, producerEpoch: 0, type: "abort", coordinatorEpoch: 0 });
  log.appendControlMarker({ producerId: 8, producerEpoch: 0, type: "commit", coordinatorEpoch: 0 });
  log.append(encodeRecordBatch(recs(6, "tail-"), { timestamp: 9 }));
  for (const isolation of ["read_committed", "read_uncommitted"] as IsolationLevel[]) {
    for (const maxRecords of [1, 2, 3, 5, 100]) {
      const plain: LogRecord[] = [];
      const withTp: LogRecord[] = [];
      for (const [into, withTopicPartition] of [
        [plain, false],
        [withTp, true],
      ] as const) {
        for (let next = 0; ; ) {
          const r = log.readRecords(next, { isolation, maxRecords, withTopicPartition });
          into.push(...r.records);
          if (r.records.length === 0 && r.nextOffset === next) break;
          next = r.nextOffset;
        }
      }
      assert.equal(plain.length, isolation === "read_committed" ? 15 : 18);
      assert.deepEqual(
        withTp,
        plain.map((r) => ({ topic: "orders", partition: 3, ...r })),
        `${isolation}, maxRecords ${maxRecords}`,
      );
      for (const r of plain) assert.ok(!("topic" in r));
    }
  }
});
