// Crash test with real processes: a child appends idempotent and transactional batches (and compacted
// key/values with the cleaner running) and is killed with SIGKILL at random moments, cycle after cycle.
// After each kill the log is reopened (recovery) and checked: every acknowledged record is present
// exactly once at its acknowledged offset, no aborted or open transaction is visible to read_committed,
// the indexes agree with the data, compaction lost no key's latest acknowledged value.
// COURANT_SOAK=1 runs 60 cycles instead of 8.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type LogRecord, LogManager, type PartitionLog } from "../../src/log/index.ts";
import { waitFor } from "../../src/observe/index.ts";
import { rmDir, tmpDir } from "./helpers.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const CYCLES = process.env.COURANT_SOAK ? 60 : 8;
const POLICIES = ["interval", "os", "every-batch"];

const dataDir = tmpDir("courant-crash-");
after(() => rmDir(dataDir));

interface Ack {
  partition: number;
  base: number;
  count: number;
  tag: string;
  txn: string | null;
}

function readAll(log: PartitionLog, isolation: "read_committed" | "read_uncommitted"): LogRecord[] {
  const out: LogRecord[] = [];
  let next = log.logStartOffset;
  const end = isolation === "read_committed" ? log.lastStableOffset : log.highWatermark;
  while (next < end) {
    const r = log.readRecords(next, { isolation, maxBytes: 1 << 20 });
    out.push(...r.records);
    if (r.nextOffset <= next) break;
    next = r.nextOffset;
  }
  return out;
}

/** "c3-t3.2-p1-0" -> "t3.2"; "c3-b7-0" -> null */
function txnOfKey(key: string): string | null {
  const m = /^c\d+-(t\d+\.\d+)-p\d+-\d+$/.exec(key);
  return m ? m[1]! : null;
}

function kvOrder(v: string): number {
  const [c, s] = v.split(":").map(Number);
  return c! * 1e9 + s!;
}

test(`kill -9 at random moments, ${CYCLES} cycles: acknowledged data survives exactly once`, {
  timeout: 600_000,
}, async () => {
  const acks: Ack[] = [];
  const outcome = new Map<string, "commit" | "abort">();
  const decided = new Map<string, "commit" | "abort">();
  const kvAcked = new Map<string, string>();
  let dups = 0;
  let kvRecords = 0;
  let cleaned = 0;
  let segments = 0;

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const policy = POLICIES[cycle % POLICIES.length]!;
    const child = spawn(
      process.execPath,
      [path.join(here, "../fixtures/log/crash-writer.ts"), dataDir, String(cycle), policy],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.stderr.on("data", (c) => {
      err += c;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    let exitCode: number | null | undefined;
    void exited.then((c) => {
      exitCode = c;
    });
    await waitFor(() => out.includes("READY") || exitCode !== undefined, {
      timeoutMs: 60_000,
      what: `crash writer ${cycle} to start`,
    });
    assert.equal(exitCode, undefined, `crash writer exited early: ${err}`);
    // Let it write for a random while (the kill moment is the randomness under test), then kill -9.
    const linesBefore = out.length;
    const target = 1 + Math.floor(Math.random() * 40_000);
    await waitFor(() => out.length - linesBefore > target || exitCode !== undefined, {
      timeoutMs: 30_000,
      what: "some writes",
    });
    child.kill("SIGKILL");
    await exited;
    assert.ok(
      !/ERROR/.test(out),
      out.split("\n").find((l) => l.startsWith("ERROR")),
    );
    const lines = out.split("\n");
    lines.pop(); // a partial last line is not an acknowledgement
    for (const line of lines) {
      const f = line.split(" ");
      if (f[0] === "ACK" && f[1] === "crash") {
        const txn = f[6] === "-" ? null : f[6]!;
        acks.push({ partition: Number(f[2]), base: Number(f[3]), count: Number(f[4]), tag: f[5]!, txn });
      } else if (f[0] === "DECIDED") decided.set(f[1]!, f[2] as "commit" | "abort");
      else if (f[0] === "TXN") outcome.set(f[1]!, f[2] as "commit" | "abort");
      else if (f[0] === "KV") kvAcked.set(f[1]!, f[2]!);
      else if (f[0] === "DUP") dups++;
      else if (f[0] === "CLEANED") cleaned++;
    }

    // ---- recover and check
    const mgr = await LogManager.open({ dataDir, maintenanceIntervalMs: 0 });
    try {
      const logs = mgr.partitions("crash");
      for (const log of [...logs, mgr.partition("kv", 0)]) {
        assert.deepEqual(
          log.checkIntegrity(),
          [],
          `integrity of ${log.topic}-${log.partition} after cycle ${cycle}`,
        );
      }
      // read_uncommitted: every acknowledged record exactly once, at its offset; nothing twice
      for (const log of logs) {
        const seen = new Map<string, number[]>();
        for (const r of readAll(log, "read_uncommitted")) {
          const k = Buffer.from(r.key!).toString();
          seen.set(k, [...(seen.get(k) ?? []), r.offset]);
        }
        for (const [k, offsets] of seen)
          assert.equal(offsets.length, 1, `${k} stored ${offsets.length} times`);
        for (const a of acks.filter((x) => x.partition === log.partition)) {
          for (let i = 0; i < a.count; i++) {
            assert.deepEqual(
              seen.get(`${a.tag}-${i}`),
              [a.base + i],
              `acknowledged ${a.tag}-${i} at ${a.base + i}`,
            );
          }
        }
        // open transactions: nothing at or after the LSO is visible to read_committed
        const lso = log.lastStableOffset;
        for (const r of readAll(log, "read_committed")) assert.ok(r.offset < lso);
        // complete dangling transactions as the coordinator would (decided outcome, else abort)
        for (const t of log.ongoingTransactions()) {
          // which transaction is open: its first record says (the ack may not have been printed)
          const first = log.readRecords(t.firstOffset, { maxRecords: 1 }).records[0]!;
          const id = txnOfKey(Buffer.from(first.key!).toString())!;
          assert.ok(
            id.startsWith(`t${t.producerId - 5000}.`),
            `open transaction ${id} of producer ${t.producerId}`,
          );
          const type = decided.get(id) ?? "abort";
          outcome.set(id, type);
          log.appendControlMarker({ producerId: t.producerId, producerEpoch: 0, type, coordinatorEpoch: 0 });
        }
        assert.equal(log.lastStableOffset, log.highWatermark);
      }
      // read_committed: acknowledged plain and committed records once; no aborted ones
      for (const log of logs) {
        const visible = new Set<string>();
        for (const r of readAll(log, "read_committed")) {
          const k = Buffer.from(r.key!).toString();
          const txn = txnOfKey(k);
          if (txn) {
            const o = outcome.get(txn) ?? decided.get(txn) ?? "abort";
            assert.equal(
              o,
              "commit",
              `record ${k} of ${o === "abort" ? "aborted" : "open"} transaction ${txn} visible`,
            );
          }
          assert.ok(!visible.has(k), `${k} visible twice`);
          visible.add(k);
        }
        for (const a of acks.filter((x) => x.partition === log.partition)) {
          const o = a.txn ? (outcome.get(a.txn) ?? decided.get(a.txn)) : "commit";
          for (let i = 0; i < a.count; i++) {
            assert.equal(visible.has(`${a.tag}-${i}`), o === "commit", `${a.tag}-${i} (${o ?? "open"})`);
          }
        }
      }
      // compacted topic: the latest acknowledged value of each key is there (or a later one)
      const kv = mgr.partition("kv", 0);
      const latest = new Map<string, string>();
      for (const r of readAll(kv, "read_uncommitted"))
        latest.set(Buffer.from(r.key!).toString(), Buffer.from(r.value!).toString());
      kvRecords = readAll(kv, "read_uncommitted").length;
      segments = logs.reduce((a, l) => a + l.segmentCount, 0);
      for (const [k, v] of kvAcked) {
        assert.ok(
          latest.has(k) && kvOrder(latest.get(k)!) >= kvOrder(v),
          `kv ${k}: acked ${v}, stored ${latest.get(k)}`,
        );
      }
    } finally {
      await mgr.close();
    }
  }
  if (process.env.COURANT_DEBUG)
    console.log({
      acks: acks.length,
      txns: outcome.size,
      decided: decided.size,
      kv: kvAcked.size,
      dups,
      kvRecords,
      segments,
      cleaned,
    });
  assert.ok(acks.length > CYCLES, `only ${acks.length} acknowledgements over ${CYCLES} cycles`);
  assert.ok(dups >= 1, "producers' retries after restarts were deduplicated");
});
