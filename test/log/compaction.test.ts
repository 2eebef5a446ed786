import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { encodeRecordBatch, type PartitionLog } from "../../src/log/index.ts";
import { b, openManager, rmDir, str, tmpDir } from "./helpers.ts";

const dirs: string[] = [];
function dir(): string {
  const d = tmpDir();
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmDir(d);
});

const COMPACT = {
  "cleanup.policy": "compact",
  "segment.bytes": "1000",
  "min.cleanable.dirty.ratio": "0",
  "delete.retention.ms": "1000",
};

function put(log: PartitionLog, key: string, value: string | null, ts?: number): number {
  return log.append(
    encodeRecordBatch([{ key: b(key), value: value === null ? null : b(value), timestamp: ts }]),
  ).baseOffset;
}

function contents(log: PartitionLog, isolation: "read_committed" | "read_uncommitted" = "read_uncommitted") {
  return log
    .readRecords(log.logStartOffset, { maxRecords: 100_000, isolation })
    .records.map((r) => `${r.offset}:${str(r.key)}=${str(r.value)}`);
}

/** The last value of each key, as a reader replaying the whole log would see it. */
function table(log: PartitionLog): Map<string, string | null> {
  const m = new Map<string, string | null>();
  // maxBytes: the whole log (appends racing a slow compaction can pass readRecords' 1 MiB default)
  const all = { maxRecords: 1_000_000, maxBytes: 1 << 30, isolation: "read_committed" } as const;
  for (const r of log.readRecords(log.logStartOffset, all).records) {
    m.set(str(r.key)!, str(r.value));
  }
  return m;
}

describe("log compaction", () => {
  test("keeps the last value per key, never touches the active segment, merges small segments later", async () => {
    const { mgr, clock } = await openManager(dir());
    mgr.createTopic("kv", 1, COMPACT);
    const log = mgr.partition("kv", 0);
    for (let i = 0; i < 200; i++) put(log, `k${i % 10}`, `v${i}`, clock.now());
    const before = table(log);
    const activeBase = log.segmentList().at(-1)!.baseOffset;
    const s = await mgr.runCompaction();
    assert.ok(s.recordsRemoved > 150, `removed ${s.recordsRemoved}`);
    assert.ok(s.bytesAfter < s.bytesBefore / 4);
    assert.deepEqual(table(log), before, "a reader still sees the same table");
    assert.equal(log.segmentList().at(-1)!.baseOffset, activeBase, "active segment untouched");
    // offsets are kept: the latest record of each key keeps its offset
    for (const r of log.readRecords(0, { maxRecords: 1000 }).records) {
      assert.equal(str(r.value), `v${r.offset}`);
    }
    assert.deepEqual(log.checkIntegrity(), []);
    const segsAfterFirst = log.segmentCount;
    await mgr.runCompaction({ force: true });
    assert.ok(log.segmentCount < segsAfterFirst, `merged: ${segsAfterFirst} -> ${log.segmentCount}`);
    assert.deepEqual(table(log), before);
    // fetches in the holes left by compaction go to the next retained batch
    const first = log.readRecords(1, { maxRecords: 1 }).records[0]!;
    assert.ok(first.offset >= 1);
    assert.deepEqual(log.checkIntegrity(), []);
    await mgr.close();
  });

  test("min.cleanable.dirty.ratio gates passes; max.compaction.lag.ms forces them", async () => {
    const { mgr, clock } = await openManager(dir());
    mgr.createTopic("kv", 1, {
      ...COMPACT,
      "min.cleanable.dirty.ratio": "0.5",
      "max.compaction.lag.ms": "600000",
    });
    const log = mgr.partition("kv", 0);
    for (let i = 0; i < 100; i++) put(log, `k${i % 5}`, `v${i}`, clock.now());
    log.roll();
    assert.ok((await mgr.runCompaction()).recordsRemoved > 0, "first pass: all dirty");
    for (let i = 0; i < 5; i++) put(log, `k${i % 5}`, `w${i}`, clock.now());
    for (let i = 0; i < 200; i++) put(log, `other${i}`, `x`, clock.now());
    log.roll();
    // new dirty data is most of the log now: ratio reached
    assert.ok((await mgr.runCompaction()).recordsRemoved > 0);
    for (let i = 0; i < 3; i++) put(log, "k0", `late${i}`, clock.now());
    log.roll();
    assert.equal((await mgr.runCompaction()).recordsRemoved, 0, "a little dirty data: below the ratio");
    clock.advance(600_001);
    assert.ok((await mgr.runCompaction()).recordsRemoved > 0, "older than max.compaction.lag.ms");
    assert.equal(table(log).get("k0"), "late2");
    await mgr.close();
  });

  test("tombstones are kept until delete.retention.ms after their first cleaning, then removed", async () => {
    const { mgr, clock } = await openManager(dir());
    mgr.createTopic("kv", 1, COMPACT);
    const log = mgr.partition("kv", 0);
    for (let i = 0; i < 30; i++) put(log, `k${i % 3}`, `v${i}`);
    put(log, "k1", null);
    log.roll();
    await mgr.runCompaction();
    assert.ok(table(log).has("k1") && table(log).get("k1") === null, "tombstone still there");
    clock.advance(999);
    await mgr.runCompaction({ force: true });
    assert.ok(table(log).has("k1"), "not yet past the delete horizon");
    clock.advance(2);
    await mgr.runCompaction({ force: true });
    assert.equal(table(log).has("k1"), false, "tombstone removed after delete.retention.ms");
    assert.deepEqual([...table(log).keys()].sort(), ["k0", "k2"]);
    await mgr.close();
  });

  test("min.compaction.lag.ms protects recent records", async () => {
    const { mgr, clock } = await openManager(dir());
    mgr.createTopic("kv", 1, { ...COMPACT, "min.compaction.lag.ms": "60000" });
    const log = mgr.partition("kv", 0);
    for (let i = 0; i < 50; i++) put(log, "same", `v${i}`, clock.now());
    log.roll();
    assert.equal((await mgr.runCompaction({ force: true })).recordsRemoved, 0);
    clock.advance(60_001);
    assert.equal((await mgr.runCompaction({ force: true })).recordsRemoved, 49);
    assert.deepEqual(contents(log), ["49:same=v49"]);
    await mgr.close();
  });

  test("aborted transactions' records are removed, markers kept, producer state survives", async () => {
    const d = dir();
    const { mgr } = await openManager(d);
    mgr.createTopic("kv", 1, COMPACT);
    const log = mgr.partition("kv", 0);
    const txBatch = (seq: number, v: string) =>
      encodeRecordBatch([{ key: b(`t${seq}`), value: b(v) }], {
        producerId: 77,
        producerEpoch: 0,
        baseSequence: seq,
        transactional: true,
      });
    log.append(txBatch(0, "aborted"));
    log.appendControlMarker({ producerId: 77, producerEpoch: 0, type: "abort", coordinatorEpoch: 0 });
    log.append(txBatch(1, "committed"));
    log.appendControlMarker({ producerId: 77, producerEpoch: 0, type: "commit", coordinatorEpoch: 0 });
    put(log, "plain", "x");
    log.roll();
    const committedBefore = contents(log, "read_committed");
    const s = await mgr.runCompaction({ force: true });
    assert.equal(s.recordsRemoved, 1);
    assert.deepEqual(contents(log), ["2:t1=committed", "4:plain=x"]);
    assert.deepEqual(contents(log, "read_committed"), committedBefore);
    await mgr.close();
    // rebuild producer state from the compacted log alone (no snapshots)
    for (const f of fs.readdirSync(path.join(d, "topics", "kv", "0"))) {
      if (f.endsWith(".snapshot")) fs.unlinkSync(path.join(d, "topics", "kv", "0", f));
    }
    fs.unlinkSync(path.join(d, ".clean-shutdown"));
    const { mgr: m2 } = await openManager(d);
    const l2 = m2.partition("kv", 0);
    assert.equal(l2.producerState(77)!.lastSequence, 1);
    assert.equal(l2.append(txBatch(1, "committed")).duplicate, true, "the last batch still deduplicates");
    await m2.close();
  });

  test("appends go on while the cleaner runs; the result is consistent", async () => {
    const { mgr } = await openManager(dir());
    mgr.createTopic("kv", 1, { ...COMPACT, "segment.bytes": "20000" });
    const log = mgr.partition("kv", 0);
    const big = "x".repeat(200);
    for (let i = 0; i < 3000; i++) put(log, `k${i % 50}`, `${i}-${big}`);
    log.roll();
    const running = mgr.runCompaction();
    let appended = 0;
    let done = false;
    void running.then(() => {
      done = true;
    });
    while (!done) {
      put(log, `k${appended % 50}`, `late${appended}`);
      appended++;
      await new Promise((r) => setImmediate(r));
    }
    const s = await running;
    assert.ok(s.recordsRemoved > 2000);
    assert.ok(appended > 0, "appends interleaved with compaction");
    const t = table(log);
    assert.equal(t.size, 50);
    for (let k = 0; k < Math.min(50, appended); k++) {
      const last = Math.max(...Array.from({ length: appended }, (_, i) => i).filter((i) => i % 50 === k));
      assert.equal(t.get(`k${k}`), `late${last}`);
    }
    assert.deepEqual(log.checkIntegrity(), []);
    await mgr.close();
  });

  test("a swap interrupted by a crash is redone on open", async () => {
    const d = dir();
    const { mgr } = await openManager(d);
    mgr.createTopic("kv", 1, COMPACT);
    const log = mgr.partition("kv", 0);
    for (let i = 0; i < 100; i++) put(log, `k${i % 5}`, `v${i}`);
    log.roll();
    const expected = table(log);
    await mgr.close();
    // Simulate the state after the manifest was written and some renames happened: build the
    // cleaned files with another copy of the data, then stop halfway through the swap.
    const copy = dir();
    fs.cpSync(d, copy, { recursive: true });
    const { mgr: mc } = await openManager(copy);
    await mc.runCompaction({ force: true });
    await mc.close();
    const pdir = path.join(d, "topics", "kv", "0");
    const cdir = path.join(copy, "topics", "kv", "0");
    const before = fs.readdirSync(pdir).filter((f) => f.endsWith(".log"));
    const cleaned = fs.readdirSync(cdir).filter((f) => /^\d{20}\.(log|index|timeindex)$/.test(f));
    const outputs = [...new Set(cleaned.map((f) => Number(f.slice(0, 20))))].sort((x, y) => x - y);
    const active = Math.max(...before.map((f) => Number(f.slice(0, 20))));
    const outBases = outputs.filter((o) => o !== active);
    for (const f of cleaned) {
      if (outBases.includes(Number(f.slice(0, 20))))
        fs.copyFileSync(path.join(cdir, f), path.join(pdir, `${f}.cleaned`));
    }
    const inputs = before.map((f) => Number(f.slice(0, 20))).filter((x) => x !== active);
    fs.writeFileSync(path.join(pdir, "cleaner-swap.json"), JSON.stringify({ outputs: outBases, inputs }));
    // first output already promoted (its .log renamed), the rest not
    const first = String(outBases[0]).padStart(20, "0");
    fs.renameSync(path.join(pdir, `${first}.log.cleaned`), path.join(pdir, `${first}.log`));
    fs.renameSync(path.join(pdir, `${first}.index.cleaned`), path.join(pdir, `${first}.index`));
    fs.renameSync(path.join(pdir, `${first}.timeindex.cleaned`), path.join(pdir, `${first}.timeindex`));
    fs.unlinkSync(path.join(d, ".clean-shutdown"));
    const { mgr: m2 } = await openManager(d);
    const l2 = m2.partition("kv", 0);
    assert.deepEqual(table(l2), expected);
    assert.ok(l2.readRecords(0, { maxRecords: 1000 }).records.length < 20, "compacted data in place");
    assert.deepEqual(l2.checkIntegrity(), []);
    assert.equal(fs.existsSync(path.join(pdir, "cleaner-swap.json")), false);
    assert.deepEqual(
      fs.readdirSync(pdir).filter((f) => f.endsWith(".cleaned")),
      [],
    );
    await m2.close();
  });
});
