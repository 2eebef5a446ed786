import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import {
  decodeRecordBatches,
  encodeRecordBatch,
  isLogError,
  type PartitionLog,
  type LogErrorCode,
  readBatchHeader,
} from "../../src/log/index.ts";
import { MetricsRegistry } from "../../src/observe/index.ts";
import { b, batch, openManager, recs, rmDir, str, tmpDir } from "./helpers.ts";

const dirs: string[] = [];
function dir(): string {
  const d = tmpDir();
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmDir(d);
});

function code(c: LogErrorCode, re?: RegExp) {
  return (e: unknown) => isLogError(e, c) && (re === undefined || re.test((e as Error).message));
}

describe("append and read", () => {
  test("offsets are assigned by rewriting baseOffset; fetch returns stored batches as is", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    const r1 = log.append(batch(3));
    const r2 = log.append(batch(2, {}, "w"));
    assert.deepEqual([r1.baseOffset, r1.lastOffset, r2.baseOffset, r2.lastOffset], [0, 2, 3, 4]);
    assert.equal(r1.logAppendTime, -1);
    assert.equal(log.logEndOffset, 5);
    assert.equal(log.highWatermark, 5);
    const f = log.read(0, 1 << 20);
    assert.equal(f.highWatermark, 5);
    assert.equal(f.lastStableOffset, 5);
    assert.equal(f.logStartOffset, 0);
    assert.equal(f.abortedTransactions, null);
    const batches = decodeRecordBatches(f.records);
    assert.deepEqual(
      batches.map((x) => x.header.baseOffset),
      [0, 3],
    );
    assert.deepEqual(
      batches.flatMap((x) => x.records.map((r) => str(r.value))),
      ["v0", "v1", "v2", "w0", "w1"],
    );
    // fetch in the middle of a batch returns the whole batch (clients skip); readRecords skips for you
    const mid = log.read(4, 1 << 20);
    assert.equal(readBatchHeader(mid.records).baseOffset, 3);
    assert.deepEqual(
      log.readRecords(4).records.map((r) => [r.offset, str(r.value)]),
      [[4, "w1"]],
    );
    // at the end: empty
    assert.equal(log.read(5, 100).records.length, 0);
    await mgr.close();
  });

  test("fetch beyond the end or below the log start is OFFSET_OUT_OF_RANGE", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    log.append(batch(5));
    assert.throws(() => log.read(6, 100), code("OFFSET_OUT_OF_RANGE", /offset 6 is out of range.*log end 5/));
    assert.throws(() => log.read(-1, 100), code("OFFSET_OUT_OF_RANGE"));
    log.deleteRecordsBefore(3);
    assert.equal(log.logStartOffset, 3);
    assert.throws(() => log.read(2, 100), code("OFFSET_OUT_OF_RANGE", /log start 3/));
    assert.equal(log.readRecords(3).records.length, 2);
    assert.throws(() => log.deleteRecordsBefore(9), code("OFFSET_OUT_OF_RANGE", /high watermark/));
    await mgr.close();
  });

  test("maxBytes: whole batches only, but at least one (KIP-74); maxOffset bound", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    const one = batch(10);
    for (let i = 0; i < 5; i++) log.append(Buffer.from(one));
    const small = log.read(0, 10);
    assert.equal(small.records.length, one.length);
    assert.equal(log.read(0, 10, { minOneBatch: false }).records.length, 0);
    assert.equal(log.read(0, one.length * 2 + 5).records.length, one.length * 2);
    assert.equal(log.read(0, 1 << 20, { maxOffset: 20 }).records.length, one.length * 2);
    const rr = log.readRecords(0, { maxRecords: 15 });
    assert.equal(rr.records.length, 15);
    assert.equal(rr.nextOffset, 15);
    assert.equal(log.readRecords(15, { maxRecords: 100 }).records[0]!.offset, 15);
    await mgr.close();
  });

  test("invalid input is rejected with clear errors and nothing is appended", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1, { "max.message.bytes": "500" });
    mgr.createTopic("c", 1, { "cleanup.policy": "compact" });
    const log = mgr.partition("t", 0);
    const good = batch(2);
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 1]! ^= 1;
    assert.throws(() => log.append(corrupt), code("CORRUPT_MESSAGE", /CRC-32C/));
    assert.throws(() => log.append(good.subarray(0, 40)), code("CORRUPT_MESSAGE", /truncated/));
    assert.throws(() => log.append(Buffer.alloc(0)), code("INVALID_RECORD"));
    assert.throws(() => log.append(batch(100)), code("MESSAGE_TOO_LARGE", /max.message.bytes \(500\)/));
    assert.throws(
      () => mgr.partition("c", 0).append(encodeRecordBatch([{ key: null, value: b("x") }])),
      code("INVALID_RECORD", /compacted topic requires a key/),
    );
    const control = Buffer.from(good);
    control.writeInt16BE(0x30, 21); // transactional + control attribute bits
    const { updateBatchCrc } = await import("../../src/log/index.ts");
    updateBatchCrc(control);
    assert.throws(() => log.append(control), code("INVALID_RECORD", /control batches/));
    // a valid CRC over broken record framing, or offset deltas a producer never writes
    const { assembleBatch, encodeRecords } = await import("../../src/log/record-batch.ts");
    const fields = {
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      attributes: 0,
      lastOffsetDelta: 1,
      baseTimestamp: 1,
      maxTimestamp: 1,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 2,
    };
    const twoRecs = [{ value: b("a") }, { value: b("b") }];
    assert.throws(
      () => log.append(assembleBatch(fields, encodeRecords(twoRecs, 1, 1, [0, 5]))),
      code("INVALID_RECORD", /record 1 has offset delta 5, expected 1/),
    );
    const garbled = Buffer.from(encodeRecords(twoRecs, 1, 1));
    garbled[0] = 0x7e; // first record claims 63 bytes
    assert.throws(() => log.append(assembleBatch(fields, garbled)), code("CORRUPT_MESSAGE", /record 0/));
    assert.throws(
      () => log.append(assembleBatch({ ...fields, recordCount: 1 }, encodeRecords(twoRecs, 1, 1))),
      code("INVALID_RECORD", /1 records but lastOffsetDelta 1/),
    );
    // two batches in one append: all or nothing
    assert.throws(() => log.append(Buffer.concat([good, corrupt])), code("CORRUPT_MESSAGE"));
    assert.equal(log.logEndOffset, 0);
    assert.equal(log.sizeInBytes, 0);
    assert.deepEqual(log.append(Buffer.concat([batch(1), batch(2)])).lastOffset, 2);
    await mgr.close();
  });

  test("LogAppendTime topics stamp the broker time into maxTimestamp (CRC recomputed)", async () => {
    const { mgr, clock } = await openManager(dir());
    mgr.createTopic("t", 1, { "message.timestamp.type": "LogAppendTime" });
    const log = mgr.partition("t", 0);
    clock.set(5_000_000);
    const r = log.append(batch(3, { timestamp: 7 }));
    assert.equal(r.logAppendTime, 5_000_000);
    const [d] = decodeRecordBatches(log.read(0, 1 << 20).records, true);
    assert.equal(d!.header.timestampType, "LogAppendTime");
    assert.deepEqual(
      d!.records.map((x) => x.timestamp),
      [5_000_000, 5_000_000, 5_000_000],
    );
    await mgr.close();
  });

  test("compressed batches are stored as they come and decoded on read", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    for (const compression of ["gzip", "zstd", "lz4", "snappy"] as const)
      log.append(batch(50, { compression }));
    const all = log.readRecords(0, { maxRecords: 1000 }).records;
    assert.equal(all.length, 200);
    assert.deepEqual(
      all.map((r) => r.offset),
      Array.from({ length: 200 }, (_, i) => i),
    );
    await mgr.close();
  });
});

describe("idempotent producers", () => {
  test("duplicates of the last 5 batches return the original offsets without appending", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    const sent: Buffer[] = [];
    for (let i = 0; i < 7; i++) {
      const bt = batch(2, { producerId: 10, producerEpoch: 0, baseSequence: i * 2 });
      sent.push(Buffer.from(bt));
      assert.equal(log.append(bt).baseOffset, i * 2);
    }
    const dup = log.append(Buffer.from(sent[6]!));
    assert.deepEqual([dup.duplicate, dup.baseOffset, dup.lastOffset], [true, 12, 13]);
    assert.equal(log.append(Buffer.from(sent[2]!)).baseOffset, 4);
    assert.equal(log.logEndOffset, 14);
    // older than the last 5 retained: not known as a duplicate, so it is out of sequence
    assert.throws(() => log.append(Buffer.from(sent[0]!)), code("OUT_OF_ORDER_SEQUENCE_NUMBER"));
    assert.equal(log.producerState(10)!.lastSequence, 13);
    await mgr.close();
  });

  test("gaps, old epochs and new epochs not starting at 0 are rejected", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    log.append(batch(3, { producerId: 1, producerEpoch: 4, baseSequence: 0 }));
    assert.throws(
      () => log.append(batch(1, { producerId: 1, producerEpoch: 4, baseSequence: 5 })),
      code("OUT_OF_ORDER_SEQUENCE_NUMBER", /sent sequence 5, expected 3/),
    );
    assert.throws(
      () => log.append(batch(1, { producerId: 1, producerEpoch: 3, baseSequence: 3 })),
      code("INVALID_PRODUCER_EPOCH", /epoch 3, older than the current epoch 4/),
    );
    assert.throws(
      () => log.append(batch(1, { producerId: 1, producerEpoch: 5, baseSequence: 3 })),
      code("OUT_OF_ORDER_SEQUENCE_NUMBER", /new epoch 5.*must start at 0/),
    );
    log.append(batch(1, { producerId: 1, producerEpoch: 5, baseSequence: 0 }));
    assert.equal(log.producerState(1)!.producerEpoch, 5);
    assert.throws(
      () =>
        log.append(Buffer.concat([batch(1, { producerId: 2, producerEpoch: 0, baseSequence: 0 }), batch(1)])),
      code("INVALID_RECORD", /exactly one batch/),
    );
    // unknown producer: any first sequence is accepted (state may have expired)
    log.append(batch(1, { producerId: 3, producerEpoch: 0, baseSequence: 40 }));
    assert.equal(log.logEndOffset, 5);
    await mgr.close();
  });
});

describe("producer expiry", () => {
  test("idle producers are forgotten after producerIdExpirationMs, producers in a transaction are not", async () => {
    const { mgr, clock } = await openManager(dir(), { producerIdExpirationMs: 60_000 });
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    const now = clock.now();
    log.append(batch(1, { producerId: 1, producerEpoch: 0, baseSequence: 0, timestamp: now }));
    log.append(
      batch(1, { producerId: 2, producerEpoch: 0, baseSequence: 0, timestamp: now, transactional: true }),
    );
    mgr.runRetention();
    assert.ok(log.producerState(1));
    clock.advance(60_001);
    mgr.runRetention();
    assert.equal(log.producerState(1), undefined);
    assert.ok(log.producerState(2), "open transaction keeps its producer");
    log.append(batch(1, { producerId: 1, producerEpoch: 0, baseSequence: 7, timestamp: clock.now() }));
    await mgr.close();
  });
});

describe("transactions", () => {
  test("LSO, read_committed filtering, aborted transactions reported as Kafka's Fetch does", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    const tx = (pid: number, seq: number, n: number, prefix: string) =>
      batch(n, { producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true }, prefix);
    log.append(batch(2, {}, "plain")); // 0-1
    log.append(tx(100, 0, 2, "a")); // 2-3 (aborted later)
    log.append(tx(200, 0, 1, "c")); // 4 (committed later)
    assert.equal(log.lastStableOffset, 2);
    assert.deepEqual(log.ongoingTransactions(), [
      { producerId: 100, firstOffset: 2 },
      { producerId: 200, firstOffset: 4 },
    ]);
    // read_committed sees nothing past the LSO
    assert.deepEqual(
      log.readRecords(0, { isolation: "read_committed" }).records.map((r) => str(r.value)),
      ["plain0", "plain1"],
    );
    assert.equal(log.listOffset("latest", "read_committed").offset, 2);
    assert.equal(log.listOffset("latest").offset, 5);
    await log
      .waitForData(2, { isolation: "read_committed", timeoutMs: 1 })
      .then((v) => assert.equal(v, false));
    log.appendControlMarker({ producerId: 100, producerEpoch: 0, type: "abort", coordinatorEpoch: 1 }); // 5
    assert.equal(log.lastStableOffset, 4);
    log.append(tx(100, 2, 1, "b")); // 6 (new txn of 100, committed)
    log.appendControlMarker({ producerId: 200, producerEpoch: 0, type: "commit", coordinatorEpoch: 1 }); // 7
    log.appendControlMarker({ producerId: 100, producerEpoch: 0, type: "commit", coordinatorEpoch: 1 }); // 8
    assert.equal(log.lastStableOffset, 9);
    const f = log.read(0, 1 << 20, { isolation: "read_committed" });
    assert.deepEqual(f.abortedTransactions, [{ producerId: 100, firstOffset: 2 }]);
    assert.deepEqual(log.read(6, 1 << 20, { isolation: "read_committed" }).abortedTransactions, []);
    assert.deepEqual(
      log.readRecords(0, { isolation: "read_committed" }).records.map((r) => [r.offset, str(r.value)]),
      [
        [0, "plain0"],
        [1, "plain1"],
        [4, "c0"],
        [6, "b0"],
      ],
    );
    // markers carry the clock's time: max-timestamp finds the first (Kafka); a time lookup skips them
    assert.equal(log.listOffset("max-timestamp").offset, 5);
    assert.equal(log.listOffset({ timestamp: 1_000 }).offset, 0);
    assert.equal(log.listOffset({ timestamp: 1_001 }).offset, -1);
    // read_uncommitted sees every data record, never control records
    assert.deepEqual(
      log.readRecords(0).records.map((r) => r.offset),
      [0, 1, 2, 3, 4, 6],
    );
    await mgr.close();
  });

  test("markers: fenced epochs and coordinator epochs are rejected; an epoch bump by the coordinator resets sequences", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    log.append(batch(1, { producerId: 7, producerEpoch: 3, baseSequence: 0, transactional: true }));
    assert.throws(
      () => log.appendControlMarker({ producerId: 7, producerEpoch: 2, type: "commit", coordinatorEpoch: 0 }),
      code("INVALID_PRODUCER_EPOCH"),
    );
    log.appendControlMarker({ producerId: 7, producerEpoch: 4, type: "abort", coordinatorEpoch: 5 });
    assert.throws(
      () => log.appendControlMarker({ producerId: 7, producerEpoch: 4, type: "abort", coordinatorEpoch: 4 }),
      code("TRANSACTION_COORDINATOR_FENCED"),
    );
    assert.throws(
      () => log.append(batch(1, { producerId: 7, producerEpoch: 3, baseSequence: 1, transactional: true })),
      code("INVALID_PRODUCER_EPOCH"),
    );
    log.append(batch(1, { producerId: 7, producerEpoch: 4, baseSequence: 0, transactional: true }));
    assert.equal(log.producerState(7)!.currentTxnFirstOffset, 2);
    await mgr.close();
  });
});

describe("segments, indexes, list offsets", () => {
  test("roll by size and by time; list offsets by timestamp across segments", async () => {
    const { mgr, clock } = await openManager(dir());
    mgr.createTopic("t", 1, {
      "segment.bytes": "1000",
      "segment.ms": "60000",
      "index.interval.bytes": "100",
    });
    const log = mgr.partition("t", 0);
    for (let i = 0; i < 40; i++) {
      log.append(encodeRecordBatch(recs(3, "v", i * 3, 10_000 + i * 100), { timestamp: 0 }));
    }
    const bySize = log.segmentCount;
    assert.ok(bySize >= 4, `expected several segments, got ${bySize}`);
    clock.advance(60_000);
    log.append(batch(1));
    assert.equal(log.segmentCount, bySize + 1, "segment.ms rolls the active segment");
    assert.deepEqual(log.listOffset({ timestamp: 0 }), { offset: 0, timestamp: 10_000 });
    assert.deepEqual(log.listOffset({ timestamp: 10_000 + 25 * 100 }), { offset: 75, timestamp: 12_500 });
    assert.deepEqual(log.listOffset({ timestamp: 12_501 }), { offset: 78, timestamp: 12_600 });
    assert.deepEqual(log.listOffset({ timestamp: 99_999_999 }), { offset: -1, timestamp: -1 });
    assert.deepEqual(log.listOffset("earliest"), { offset: 0, timestamp: -1 });
    assert.equal(log.listOffset("max-timestamp").timestamp, 13_900);
    // every offset is readable, from every position
    for (let o = 0; o < log.logEndOffset; o += 7)
      assert.equal(log.readRecords(o, { maxRecords: 1 }).records[0]!.offset, o);
    await mgr.close();
  });

  test("retention by time and by size deletes whole old segments, never the active one", async () => {
    const { mgr, clock } = await openManager(dir());
    mgr.createTopic("t", 1, { "segment.bytes": "1000", "retention.ms": "100000" });
    const log = mgr.partition("t", 0);
    for (let i = 0; i < 20; i++) log.append(encodeRecordBatch(recs(2, "v", 0, clock.now()), {}));
    const before = log.segmentCount;
    assert.equal(mgr.runRetention().segmentsDeleted, 0);
    clock.advance(100_001);
    const r = mgr.runRetention();
    assert.equal(r.segmentsDeleted, before - 1);
    assert.equal(log.segmentCount, 1);
    assert.equal(log.logStartOffset, log.segmentList()[0]!.baseOffset);
    assert.throws(() => log.read(0, 100), code("OFFSET_OUT_OF_RANGE"));

    mgr.alterTopicConfig("t", { "retention.ms": "-1", "retention.bytes": "3000" });
    for (let i = 0; i < 30; i++) log.append(batch(2));
    mgr.runRetention();
    assert.ok(log.sizeInBytes <= 3000 + 1000, `size ${log.sizeInBytes} within retention.bytes + one segment`);
    assert.ok(log.segmentCount >= 1);
    await mgr.close();
  });

  test("deleteRecordsBefore persists the log start offset", async () => {
    const d = dir();
    const { mgr } = await openManager(d);
    mgr.createTopic("t", 1, { "segment.bytes": "500" });
    const log = mgr.partition("t", 0);
    for (let i = 0; i < 20; i++) log.append(batch(2));
    assert.equal(log.deleteRecordsBefore(13), 13);
    assert.ok(log.segmentList()[0]!.baseOffset <= 13);
    assert.equal(log.readRecords(13).records[0]!.offset, 13);
    await mgr.close();
    const { mgr: m2 } = await openManager(d);
    assert.equal(m2.partition("t", 0).logStartOffset, 13);
    assert.throws(() => m2.partition("t", 0).read(12, 100), code("OFFSET_OUT_OF_RANGE"));
    await m2.close();
  });
});

describe("notifications", () => {
  test("waitForData resolves on append, on timeout (false) and on abort (false)", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    const seen: number[] = [];
    const off = mgr.onAppend((l) => seen.push(l.logEndOffset));
    const waiting = log.waitForData(0);
    log.append(batch(2));
    assert.equal(await waiting, true);
    assert.equal(await log.waitForData(0), true);
    assert.equal(await log.waitForData(2, { timeoutMs: 5 }), false);
    const ac = new AbortController();
    const w = log.waitForData(2, { signal: ac.signal });
    ac.abort();
    assert.equal(await w, false);
    off();
    log.append(batch(1));
    assert.deepEqual(seen, [2]);
    await mgr.close();
  });
});

describe("onData", () => {
  test("null when data is readable; one call on append; a withdrawn wait is never called; close calls false", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    const calls: string[] = [];
    const first = log.onData(0, false, (v) => calls.push(`first ${v}`));
    const withdrawn = log.onData(0, false, (v) => calls.push(`withdrawn ${v}`));
    assert.ok(first && withdrawn);
    withdrawn();
    log.append(batch(2));
    log.append(batch(1));
    assert.deepEqual(calls, ["first true"]);
    assert.equal(
      log.onData(1, false, () => calls.push("ready")),
      null,
    );
    log.onData(3, false, (v) => calls.push(`at close ${v}`));
    await mgr.close();
    assert.deepEqual(calls, ["first true", "at close false"]);
  });
});

describe("storage failures", () => {
  test("a failing write (ENOSPC) rejects the append naming topic/partition; nothing is acknowledged or kept", async () => {
    let fail: string | null = null;
    const d = dir();
    const metrics = new MetricsRegistry();
    const { mgr } = await openManager(d, {
      metrics,
      faultHook: (op, p) => {
        if (op === fail && p.endsWith(".log")) {
          throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
        }
      },
    });
    mgr.createTopic("t", 1, { "flush.policy": "every-batch" });
    const log = mgr.partition("t", 0);
    log.append(batch(2));
    const size = log.sizeInBytes;
    fail = "write";
    assert.throws(
      () => log.append(batch(3)),
      code("KAFKA_STORAGE_ERROR", /topic "t" partition 0.*ENOSPC.*nothing was acknowledged/),
    );
    fail = "fsync";
    assert.throws(() => log.append(batch(3)), code("KAFKA_STORAGE_ERROR", /fsync|EN/));
    assert.equal(log.logEndOffset, 2);
    assert.equal(log.sizeInBytes, size);
    assert.equal(fs.statSync(path.join(d, "topics", "t", "0", "00000000000000000000.log")).size, size);
    fail = null;
    assert.equal(log.append(batch(1)).baseOffset, 2, "the log goes on once the disk is back");
    const text = await metrics.text();
    assert.match(text, /courant_log_storage_errors_total\{topic="t"\} 2/);
    assert.match(text, /courant_log_fsync_seconds_count \d+/);
    await mgr.close();
  });

  test("if the failed write cannot be undone, the partition goes offline until reopened", async () => {
    let broken = false;
    const d = dir();
    const { mgr } = await openManager(d, {
      faultHook: (op, p) => {
        if (broken && (op === "write" || op === "truncate") && p.endsWith(".log")) {
          throw Object.assign(new Error("input/output error"), { code: "EIO" });
        }
      },
    });
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    log.append(batch(2));
    broken = true;
    assert.throws(() => log.append(batch(1)), code("KAFKA_STORAGE_ERROR", /EIO/));
    broken = false;
    assert.throws(() => log.append(batch(1)), code("KAFKA_STORAGE_ERROR", /offline/));
    assert.equal(log.readRecords(0).records.length, 2, "reads still work");
    await mgr.close();
    const { mgr: m2 } = await openManager(d);
    assert.equal(m2.partition("t", 0).append(batch(1)).baseOffset, 2);
    await m2.close();
  });
});

describe("flush policies", () => {
  test("every-batch fsyncs before acknowledging; interval fsyncs in the background; os never on the append path", async () => {
    const fsyncs = new Map<string, number>();
    const { mgr } = await openManager(dir(), {
      flushCheckIntervalMs: 5,
      faultHook: (op, p) => {
        if (op !== "fsync" || !p.endsWith(".log")) return;
        const topic = p.split(path.sep).at(-3)!;
        fsyncs.set(topic, (fsyncs.get(topic) ?? 0) + 1);
      },
    });
    mgr.createTopic("eb", 1, { "flush.policy": "every-batch" });
    mgr.createTopic("iv", 1, { "flush.policy": "interval", "flush.ms": "20" });
    mgr.createTopic("os", 1, { "flush.policy": "os" });
    for (let i = 0; i < 3; i++) {
      mgr.partition("eb", 0).append(batch(1));
      mgr.partition("iv", 0).append(batch(1));
      mgr.partition("os", 0).append(batch(1));
    }
    assert.equal(fsyncs.get("eb"), 3);
    assert.equal(fsyncs.get("iv") ?? 0, 0, "interval: not on the append path");
    const { waitFor } = await import("../../src/observe/index.ts");
    await waitFor(() => (fsyncs.get("iv") ?? 0) >= 1, { timeoutMs: 5000, what: "interval fsync" });
    const afterInterval = fsyncs.get("iv")!;
    mgr.partition("iv", 0).maybeFlush(Date.now() + 60_000);
    assert.equal(fsyncs.get("iv"), afterInterval, "nothing new to flush: no fsync");
    assert.equal(fsyncs.get("os") ?? 0, 0);
    await mgr.close();
    assert.equal(fsyncs.get("os") ?? 0, 0, "os: not even at close");
  });
});

describe("recovery-point checkpoint", () => {
  async function run(intervalMs: number | undefined) {
    const d = dir();
    let logFsyncs = 0;
    let checkpointWrites = 0;
    const { mgr } = await openManager(d, {
      flushCheckIntervalMs: 5,
      ...(intervalMs === undefined ? {} : { recoveryPointCheckpointIntervalMs: intervalMs }),
      faultHook: (op, p) => {
        if (op === "fsync" && p.endsWith(".log")) logFsyncs++;
        if (op === "write" && p.endsWith("partition.json")) checkpointWrites++;
      },
    });
    mgr.createTopic("iv", 1, { "flush.policy": "interval", "flush.ms": "5" });
    const log = mgr.partition("iv", 0);
    const atCreate = checkpointWrites;
    const { waitFor } = await import("../../src/observe/index.ts");
    for (let i = 1; i <= 3; i++) {
      log.append(batch(2));
      await waitFor(() => logFsyncs >= i, { timeoutMs: 5000, what: `interval fsync ${i}` });
    }
    const cpFile = path.join(d, "topics", "iv", "0", "partition.json");
    // a new partition has no file until there is something to say (no file reads as {0, 0})
    const stored = () =>
      fs.existsSync(cpFile)
        ? (JSON.parse(fs.readFileSync(cpFile, "utf8")) as { recoveryPoint: number }).recoveryPoint
        : 0;
    // the background fsyncs may still be under way: a synchronous flush advances the recovery point
    // now, and with a 0 ms interval the completion of the last background one writes it too
    log.flush();
    if (intervalMs === 0) await waitFor(() => stored() === 6, { timeoutMs: 5000, what: "checkpoint at 6" });
    const beforeClose = checkpointWrites - atCreate;
    const before = { recoveryPoint: stored() };
    await mgr.close();
    const closed = JSON.parse(fs.readFileSync(cpFile, "utf8")) as { recoveryPoint: number };
    return { beforeClose, before, closed };
  }

  test("by default the recovery point is not rewritten on every interval flush, and is written at close", async () => {
    const r = await run(undefined);
    assert.equal(r.beforeClose, 0, "no checkpoint write per flush");
    assert.equal(r.before.recoveryPoint, 0);
    assert.equal(r.closed.recoveryPoint, 6, "clean close writes the recovery point");
  });

  test("with a 0 ms interval every flush writes it (the old behaviour)", async () => {
    const r = await run(0);
    assert.ok(r.beforeClose >= 3, `checkpoint written per flush (${r.beforeClose})`);
    assert.equal(r.before.recoveryPoint, 6);
  });
});

describe("interval flush in the background", () => {
  test("a failed background fsync takes the log offline: later appends are refused, nothing is acknowledged", async () => {
    let failFsync = false;
    const { mgr } = await openManager(dir(), {
      flushCheckIntervalMs: 5,
      faultHook: (op, p) => {
        if (failFsync && op === "fsync" && p.endsWith(".log")) {
          throw Object.assign(new Error("injected EIO"), { code: "EIO" });
        }
      },
    });
    mgr.createTopic("iv", 1, { "flush.policy": "interval", "flush.ms": "5" });
    const log = mgr.partition("iv", 0);
    log.append(batch(2));
    failFsync = true;
    const { waitFor } = await import("../../src/observe/index.ts");
    await waitFor(() => log.storageFailure !== null, { timeoutMs: 5000, what: "background fsync failure" });
    assert.match(log.storageFailure!.message, /fsync failed \(EIO\)/);
    assert.throws(() => log.append(batch(1)), code("KAFKA_STORAGE_ERROR", /offline/));
    await mgr.close();
  });

  test("flush() while a background fsync is under way syncs again before returning; close then reopen keeps all", async () => {
    const d = dir();
    const fsyncs: string[] = [];
    const { mgr } = await openManager(d, {
      flushCheckIntervalMs: 100_000,
      faultHook: (op, p) => {
        if (op === "fsync" && p.endsWith(".log")) fsyncs.push(p);
      },
    });
    mgr.createTopic("iv", 1, { "flush.policy": "interval", "flush.ms": "1" });
    const log = mgr.partition("iv", 0);
    log.append(batch(3));
    log.maybeFlush(Date.now() + 10); // starts a background fsync
    assert.equal(fsyncs.length, 1);
    log.flush(); // must not trust the one under way
    assert.equal(fsyncs.length, 2);
    await mgr.close();
    const { mgr: m2 } = await openManager(d);
    assert.equal(m2.partition("iv", 0).logEndOffset, 3);
    await m2.close();
  });
});

describe("tail cache", () => {
  test("reads served from the in-memory tail equal disk reads (random appends, markers, rolls, chunk turnover, KIP-74)", async () => {
    const cached = (await openManager(dir(), { tailCacheBytes: 3000 })).mgr;
    const plain = (await openManager(dir(), { tailCacheBytes: 0 })).mgr;
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (const m of [cached, plain]) m.createTopic("t", 1, { "segment.bytes": "9000" });
    const logs = [cached.partition("t", 0), plain.partition("t", 0)] as const;
    const seqs = new Map<number, number>();
    const open = new Set<number>();
    for (let step = 0; step < 400; step++) {
      const action = rnd(10);
      if (action < 6) {
        const pid = 1 + rnd(3);
        const n = 1 + rnd(action === 0 ? 60 : 8); // sometimes a batch larger than a chunk
        const seq = seqs.get(pid) ?? 0;
        const bytes = batch(
          n,
          { producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true },
          `s${step}-`,
        );
        for (const l of logs) l.append(Buffer.from(bytes));
        seqs.set(pid, seq + n);
        open.add(pid);
      } else if (action < 8 && open.size > 0) {
        const pid = [...open][rnd(open.size)]!;
        const type = rnd(3) === 0 ? "abort" : "commit";
        for (const l of logs)
          l.appendControlMarker({
            producerId: pid,
            producerEpoch: 0,
            type,
            coordinatorEpoch: 0,
            timestamp: 5,
          });
        open.delete(pid);
      } else {
        const hw = logs[1].highWatermark;
        const from = Math.max(0, hw - rnd(120));
        const maxBytes = [1, 200, 1500, 4000, 1 << 20][rnd(5)]!;
        const isolation = rnd(2) ? "read_committed" : "read_uncommitted";
        const [a, b2] = logs.map((l) => l.read(from, maxBytes, { isolation }));
        assert.deepEqual(a, b2, `read(${from}, ${maxBytes}, ${isolation}) at step ${step}`);
        const [ra, rb] = logs.map((l) => l.readRecords(from, { isolation, maxBytes }));
        assert.deepEqual(ra, rb, `readRecords at step ${step}`);
        // a poll of k records (which loads only the batches it needs) is a prefix of the whole read
        const k = 1 + rnd(40);
        const whole = logs[1].readRecords(from, { isolation, maxBytes: 1 << 20 }).records;
        for (const l of logs) {
          const part = l.readRecords(from, { isolation, maxBytes: 1 << 20, maxRecords: k });
          assert.deepEqual(part.records, whole.slice(0, k), `readRecords(${from}, max ${k}) at step ${step}`);
          if (whole.length > k)
            assert.ok(part.nextOffset <= whole[k]!.offset, "the next poll resumes before the next record");
        }
      }
    }
    assert.ok(logs[0].segmentCount > 3, "the run rolled segments");
    assert.deepEqual(logs[0].checkIntegrity(), []);
    await cached.close();
    await plain.close();
  });

  test("a read from the tail is a copy: changing it changes no later read", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    log.append(batch(3));
    const first = log.read(0, 1 << 20).records;
    const copy = Buffer.from(first);
    first.fill(0);
    assert.deepEqual(log.read(0, 1 << 20).records, copy);
    await mgr.close();
  });

  test("chunks recycled across partitions never change what was read, nor what is read later", async () => {
    // Small chunks: every few appends a partition starts a new one, from the shared spares.
    const cached = (await openManager(dir(), { tailCacheBytes: 1200 })).mgr;
    const plain = (await openManager(dir(), { tailCacheBytes: 0 })).mgr;
    for (const m of [cached, plain]) m.createTopic("t", 3);
    let seed = 777;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const kept: {
      p: number;
      from: number;
      bytes: Buffer;
      records: ReturnType<PartitionLog["readRecords"]>["records"];
    }[] = [];
    for (let step = 0; step < 600; step++) {
      const p = rnd(3);
      if (rnd(3) > 0) {
        const bytes = batch(1 + rnd(6), {}, `p${p}s${step}-`);
        for (const m of [cached, plain]) m.partition("t", p).append(Buffer.from(bytes));
        continue;
      }
      const hw = plain.partition("t", p).highWatermark;
      const from = Math.max(0, hw - rnd(30));
      const got = cached.partition("t", p).read(from, 1 << 20).records;
      assert.deepEqual(
        got,
        plain.partition("t", p).read(from, 1 << 20).records,
        `read of ${p} at step ${step}`,
      );
      const records = cached.partition("t", p).readRecords(from).records;
      kept.push({ p, from, bytes: Buffer.from(got), records });
    }
    // What earlier reads returned is untouched by the chunks' later reuse.
    for (const k of kept) {
      assert.deepEqual(
        k.records,
        plain.partition("t", k.p).readRecords(k.from).records.slice(0, k.records.length),
      );
      assert.deepEqual(
        k.bytes,
        plain.partition("t", k.p).read(k.from, k.bytes.length).records.subarray(0, k.bytes.length),
      );
    }
    assert.ok(kept.length > 100);
    await cached.close();
    await plain.close();
  });
});

describe("encodedInProcess appends", () => {
  test("the encoder's own buffer is not re-checked (the caller vouches it is unmodified); a copy is", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("t", 1);
    const log = mgr.partition("t", 0);
    const vouched = batch(2);
    vouched[vouched.length - 1]! ^= 0xff; // changed after encoding: the CRC no longer matches
    assert.throws(
      () => log.append(Buffer.from(vouched), { encodedInProcess: true }),
      code("CORRUPT_MESSAGE"),
    );
    assert.throws(() => log.append(vouched), code("CORRUPT_MESSAGE"), "without the option: checked");
    assert.equal(
      log.append(vouched, { encodedInProcess: true }).baseOffset,
      0,
      "with it: the CRC is not recomputed",
    );
    await mgr.close();
  });
});
