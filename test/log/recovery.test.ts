// Recovery and corruption: torn tails and flipped bytes in the last segment, lost index files,
// lost snapshots and transaction indexes, bit rot in an old segment. Recovery serves only intact
// batches, never a corrupt record. COURANT_SOAK=1 runs more random trials.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  decodeRecordBatch,
  encodeRecordBatch,
  isLogError,
  iterateBatches,
  type LogManager,
  type PartitionLog,
} from "../../src/log/index.ts";
import { b, openManager, recs, rmDir, str, tmpDir } from "./helpers.ts";

const TRIALS = process.env.COURANT_SOAK ? 200 : 25;
const dirs: string[] = [];
function dir(): string {
  const d = tmpDir();
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmDir(d);
});

interface Original {
  base: number;
  last: number;
  records: string[];
  segment: number;
  position: number;
  size: number;
}

function describeBatch(buf: Buffer): string[] {
  return decodeRecordBatch(buf).records.map(
    (r) => `${r.offset}:${str(r.key)}=${str(r.value)}@${r.timestamp}`,
  );
}

function partDir(d: string): string {
  return path.join(d, "topics", "t", "0");
}

function segmentFiles(d: string): string[] {
  return fs
    .readdirSync(partDir(d))
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
}

/** Every batch on disk, in order, with where it lives. */
function originals(d: string): Original[] {
  const out: Original[] = [];
  for (const f of segmentFiles(d)) {
    const data = fs.readFileSync(path.join(partDir(d), f));
    for (const { header, position } of iterateBatches(data, true)) {
      out.push({
        base: header.baseOffset,
        last: header.lastOffset,
        records: describeBatch(data.subarray(position, position + header.sizeInBytes)),
        segment: Number(f.slice(0, 20)),
        position,
        size: header.sizeInBytes,
      });
    }
  }
  return out;
}

/** All batches a consumer can fetch, decoded (CRC-checked). */
function served(log: PartitionLog): { base: number; records: string[] }[] {
  const out: { base: number; records: string[] }[] = [];
  let next = log.logStartOffset;
  while (next < log.highWatermark) {
    const f = log.read(next, 1 << 16);
    if (f.records.length === 0) break;
    for (const { header, position } of iterateBatches(f.records, true)) {
      out.push({
        base: header.baseOffset,
        records: describeBatch(f.records.subarray(position, position + header.sizeInBytes)),
      });
      next = header.lastOffset + 1;
    }
  }
  return out;
}

let pristine: string;

before(async () => {
  // A log with several segments, mixed sizes and codecs, idempotent and transactional batches.
  pristine = dir();
  const { mgr } = await openManager(pristine);
  mgr.createTopic("t", 1, { "segment.bytes": "2500", "index.interval.bytes": "200" });
  const log = mgr.partition("t", 0);
  let seq = 0;
  for (let i = 0; i < 80; i++) {
    const n = 1 + (i % 7);
    const compression = (["none", "gzip", "zstd", "lz4", "snappy"] as const)[i % 5];
    const txn = i % 9 === 4;
    log.append(
      encodeRecordBatch(recs(n, `b${i}-`, 0, 1_000_000 + i), {
        compression,
        producerId: 42,
        producerEpoch: 0,
        baseSequence: seq,
        transactional: txn,
      }),
    );
    seq += n;
    if (txn)
      log.appendControlMarker({
        producerId: 42,
        producerEpoch: 0,
        type: i % 2 ? "commit" : "abort",
        coordinatorEpoch: 0,
      });
  }
  await mgr.close();
  assert.ok(segmentFiles(pristine).length >= 4);
});

async function reopen(d: string): Promise<{ mgr: LogManager; log: PartitionLog }> {
  const { mgr } = await openManager(d);
  return { mgr, log: mgr.partition("t", 0) };
}

/** Checks the recovered log against the originals; `intactBefore` = batches that must have survived. */
async function checkRecovered(d: string, orig: Original[], intactBefore: number): Promise<void> {
  const { mgr, log } = await reopen(d);
  try {
    const got = served(log);
    assert.ok(got.length >= intactBefore, `served ${got.length} batches, ${intactBefore} were intact`);
    for (let i = 0; i < got.length; i++) {
      assert.equal(got[i]!.base, orig[i]!.base, `batch ${i} base offset`);
      assert.deepEqual(got[i]!.records, orig[i]!.records, `batch ${i} records`);
    }
    const leo = got.length > 0 ? orig[got.length - 1]!.last + 1 : 0;
    // control batches are not served as data but count in the log end
    assert.ok(
      log.logEndOffset >= leo && log.logEndOffset <= (orig[got.length]?.base ?? Number.POSITIVE_INFINITY),
    );
    assert.deepEqual(log.checkIntegrity(), []);
    const r = log.append(encodeRecordBatch([{ key: b("after"), value: b("recovery") }]));
    assert.equal(r.baseOffset, log.logEndOffset - 1);
  } finally {
    await mgr.close();
  }
}

describe("recovery of the last segment", () => {
  test(`torn tail at random positions (${TRIALS} trials, clean and unclean shutdown)`, async () => {
    const orig = originals(pristine);
    const lastSeg = orig.at(-1)!.segment;
    const inLast = orig.filter((o) => o.segment === lastSeg);
    const lastSize = inLast.at(-1)!.position + inLast.at(-1)!.size;
    for (let t = 0; t < TRIALS; t++) {
      const d = dir();
      fs.cpSync(pristine, d, { recursive: true });
      const cut = Math.floor(Math.random() * lastSize);
      const file = path.join(partDir(d), `${String(lastSeg).padStart(20, "0")}.log`);
      fs.truncateSync(file, cut);
      if (t % 2) fs.unlinkSync(path.join(d, ".clean-shutdown"));
      const intact = orig.filter((o) => o.segment < lastSeg || o.position + o.size <= cut).length;
      await checkRecovered(d, orig, intact);
      const { mgr, log } = await reopen(d);
      // exactly the batches before the cut, plus the one appended after recovery
      assert.equal(served(log).length, intact + 1);
      await mgr.close();
      rmDir(d);
    }
  });

  test(`flipped bytes at random positions (${TRIALS} trials)`, async () => {
    const orig = originals(pristine);
    const lastSeg = orig.at(-1)!.segment;
    const inLast = orig.filter((o) => o.segment === lastSeg);
    const lastSize = inLast.at(-1)!.position + inLast.at(-1)!.size;
    for (let t = 0; t < TRIALS; t++) {
      const d = dir();
      fs.cpSync(pristine, d, { recursive: true });
      const file = path.join(partDir(d), `${String(lastSeg).padStart(20, "0")}.log`);
      const data = fs.readFileSync(file);
      const flips = 1 + (t % 3);
      let first = Number.POSITIVE_INFINITY;
      for (let k = 0; k < flips; k++) {
        const pos = Math.floor(Math.random() * lastSize);
        data[pos]! ^= 1 << Math.floor(Math.random() * 8);
        first = Math.min(first, pos);
      }
      fs.writeFileSync(file, data);
      if (t % 2) fs.unlinkSync(path.join(d, ".clean-shutdown"));
      const intact = orig.filter((o) => o.segment < lastSeg || o.position + o.size <= first).length;
      await checkRecovered(d, orig, intact);
      rmDir(d);
    }
  });
});

describe("rebuilding what recovery needs", () => {
  test("lost index files, snapshots and transaction indexes are rebuilt after an unclean shutdown", async () => {
    const d = dir();
    fs.cpSync(pristine, d, { recursive: true });
    const { mgr: m0, log: l0 } = await reopen(d);
    const aborted = l0.abortedTransactions(0, l0.logEndOffset);
    const producer = l0.producerState(42);
    const committed = l0.readRecords(0, { isolation: "read_committed", maxRecords: 10_000 }).records.length;
    assert.ok(aborted.length > 0);
    await m0.close();
    for (const f of fs.readdirSync(partDir(d))) {
      if (/\.(index|timeindex|txnindex|snapshot)$/.test(f)) fs.unlinkSync(path.join(partDir(d), f));
    }
    fs.writeFileSync(
      path.join(partDir(d), "partition.json"),
      JSON.stringify({ logStartOffset: 0, recoveryPoint: 0 }),
    );
    fs.unlinkSync(path.join(d, ".clean-shutdown"));
    const { mgr, log } = await reopen(d);
    assert.deepEqual(log.abortedTransactions(0, log.logEndOffset), aborted);
    assert.deepEqual(log.producerState(42), producer);
    assert.equal(
      log.readRecords(0, { isolation: "read_committed", maxRecords: 10_000 }).records.length,
      committed,
    );
    assert.deepEqual(log.checkIntegrity(), []);
    assert.equal(log.listOffset({ timestamp: 1_000_040 }).timestamp, 1_000_040);
    await mgr.close();
  });

  test("a lost transaction index alone is rebuilt (aborted data stays hidden), even after a clean shutdown", async () => {
    const d = dir();
    fs.cpSync(pristine, d, { recursive: true });
    const { mgr: m0, log: l0 } = await reopen(d);
    const aborted = l0.abortedTransactions(0, l0.logEndOffset);
    const committed = l0.readRecords(0, { isolation: "read_committed", maxRecords: 10_000 }).records.length;
    await m0.close();
    const withAborts = fs
      .readdirSync(partDir(d))
      .filter((f) => f.endsWith(".txnindex") && fs.statSync(path.join(partDir(d), f)).size > 0);
    assert.ok(withAborts.length > 0);
    for (const f of withAborts) fs.unlinkSync(path.join(partDir(d), f));
    const { mgr, log } = await reopen(d);
    assert.deepEqual(log.abortedTransactions(0, log.logEndOffset), aborted);
    assert.equal(
      log.readRecords(0, { isolation: "read_committed", maxRecords: 10_000 }).records.length,
      committed,
    );
    await mgr.close();
  });

  test("garbage index files of old segments are detected and rebuilt", async () => {
    const d = dir();
    fs.cpSync(pristine, d, { recursive: true });
    const files = fs.readdirSync(partDir(d)).filter((f) => f.endsWith(".index"));
    for (const f of files.slice(0, 2))
      fs.writeFileSync(path.join(partDir(d), f), Buffer.from([0, 0, 0, 9, 0, 0, 0, 1, 1]));
    const { mgr, log } = await reopen(d);
    assert.deepEqual(log.checkIntegrity(), []);
    assert.equal(served(log).length, originals(pristine).length);
    await mgr.close();
  });

  test("bit rot in an old segment is never served: the fetch fails clearly, other data is served", async () => {
    const d = dir();
    fs.cpSync(pristine, d, { recursive: true });
    const orig = originals(d);
    const victim = orig.find((o) => o.segment === orig[0]!.segment && o.position > 0)!;
    const file = path.join(partDir(d), `${String(victim.segment).padStart(20, "0")}.log`);
    const data = fs.readFileSync(file);
    data[victim.position + victim.size - 3]! ^= 0xff;
    fs.writeFileSync(file, data);
    const { mgr, log } = await reopen(d);
    assert.throws(
      () => log.read(victim.base, 1 << 20),
      (e: unknown) => isLogError(e, "KAFKA_STORAGE_ERROR") && /corrupt/.test((e as Error).message),
    );
    // a fetch that starts before it stops before it
    const f = log.read(0, 1 << 20);
    const bases = [...iterateBatches(f.records, true)].map((x) => x.header.baseOffset);
    assert.ok(bases.length > 0 && bases.every((x) => x < victim.base));
    assert.ok(log.readRecords(victim.last + 1).records.length > 0);
    await mgr.close();
  });
});
