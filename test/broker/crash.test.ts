// Crash tests with real processes: a child appends idempotently and runs transactional
// consume-transform-produce (two workers in one group, rebalancing mid-run) while we kill -9 it at
// random moments. After every kill we open the data
// directory and check: each acknowledged record exactly once, nothing aborted or open visible to
// read_committed, committed offsets consistent with the committed outputs.
// COURANT_SOAK=1 runs many more cycles.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { EmbeddedCluster } from "../../src/cluster/index.ts";
import { tempDir } from "./helpers.ts";

const CHILD = fileURLToPath(new URL("../fixtures/broker/crash-child.ts", import.meta.url));
const SOAK = process.env.COURANT_SOAK === "1";
const CYCLES = SOAK ? 60 : 8;
/** Fresh input appended before each run, so every kill lands in the middle of work. */
const CHUNK = SOAK ? 3000 : 1500;

interface RunResult {
  acked: string[];
  done: boolean;
}

function runChild(dataDir: string, runId: string, killAfterMs: number | null): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dataDir, runId], { stdio: ["ignore", "pipe", "pipe"] });
    const acked: string[] = [];
    let done = false;
    let buf = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === "READY" && killAfterMs !== null)
          timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
        else if (line.startsWith("ACK ")) acked.push(...line.slice(4).split(" "));
        else if (line === "DONE") done = true;
        i = buf.indexOf("\n");
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === "SIGKILL" || code === 0) resolve({ acked, done });
      else reject(new Error(`child exited with ${code ?? signal}: ${err.slice(-2000)}`));
    });
  });
}

async function readAll(
  cluster: EmbeddedCluster,
  topic: string,
  isolation: "read_committed" | "read_uncommitted",
) {
  const c = await cluster.createConsumer({ isolationLevel: isolation, autoOffsetReset: "earliest" });
  const n = cluster.broker.partitionCount(topic)!;
  const tps = Array.from({ length: n }, (_, p) => ({ topic, partition: p }));
  c.assign(tps);
  const ends = await c.endOffsets(tps);
  const values: string[] = [];
  for (;;) {
    const rs = await c.poll({ maxWaitMs: 0, maxRecords: 5000 });
    for (const r of rs) values.push(Buffer.from(r.value!).toString());
    let atEnd = true;
    for (const tp of tps) if ((await c.position(tp)) < ends.get(`${topic}:${tp.partition}`)!) atEnd = false;
    if (atEnd && rs.length === 0) break;
  }
  await c.close();
  return values;
}

async function appendInputs(cluster: EmbeddedCluster, from: number, count: number): Promise<void> {
  const p = await cluster.createProducer();
  for (let i = from; i < from + count; i += 500) {
    await p.send(
      Array.from({ length: Math.min(500, from + count - i) }, (_, j) => ({
        topic: "in",
        partition: (i + j) % 4,
        key: Buffer.from(String(i + j)),
        value: Buffer.from(String(i + j)),
      })),
    );
  }
  await p.close();
}

/** Checks the data directory after a run; returns how many inputs are committed. */
async function verify(
  cluster: EmbeddedCluster,
  allAcked: Set<string>,
  inputs: number,
  final: boolean,
): Promise<number> {
  // 1. Idempotent appends: every acknowledged id exactly once; nothing duplicated at all.
  const idem = await readAll(cluster, "idem", "read_uncommitted");
  const counts = new Map<string, number>();
  for (const v of idem) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const [v, n] of counts) assert.equal(n, 1, `record ${v} stored ${n} times`);
  for (const id of allAcked) assert.ok(counts.has(id), `acknowledged record ${id} is missing`);

  // 2. read_committed output: no aborted records, no duplicates of any input. The killed child may
  // have left a transaction open, which holds the last stable offset below the other worker's later
  // commits; fence both transactional ids first, as the next instances do when they start.
  if (final)
    for (let p = 0; p < 2; p++) {
      const log = cluster.broker.partitionLog("out", p);
      assert.equal(
        log.lastStableOffset,
        log.highWatermark,
        `out-${p}: the clean run left no transaction open`,
      );
    }
  for (const id of ["crash-eos-0", "crash-eos-1"])
    assert.equal(
      cluster.broker.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000 }).errorCode,
      "NONE",
    );
  for (let p = 0; p < 2; p++) {
    const log = cluster.broker.partitionLog("out", p);
    assert.equal(log.lastStableOffset, log.highWatermark, `out-${p}: fencing closed every open transaction`);
  }
  const out = await readAll(cluster, "out", "read_committed");
  const seen = new Map<string, number>();
  for (const v of out) {
    const [status, src] = v.split("|") as [string, string];
    assert.equal(status, "ok", `read_committed shows a record of an aborted transaction: ${v}`);
    seen.set(src, (seen.get(src) ?? 0) + 1);
  }
  for (const [src, n] of seen) assert.equal(n, 1, `input ${src} has ${n} committed outputs`);

  // 3. Offsets committed in the transactions match the committed outputs exactly.
  const offsets = await cluster.admin().listGroupOffsets("crash-app");
  const committed = new Map(offsets.map((o) => [o.partition, o.offset]));
  let expected = 0;
  for (let p = 0; p < 4; p++) {
    const upTo = committed.get(p) ?? 0;
    expected += upTo;
    for (let o = 0; o < upTo; o++) {
      if (seen.has(`${p}:${o}`)) continue;
      // Explain the failure: what read_uncommitted holds for this input, and the offsets.
      const raw = (await readAll(cluster, "out", "read_uncommitted")).filter((v) =>
        v.includes(`|${p}:${o}|`),
      );
      assert.fail(
        `input ${p}:${o} is below the committed offset ${upTo} but has no committed output; ` +
          `read_uncommitted has ${JSON.stringify(raw)}; committed offsets ${JSON.stringify([...committed])}`,
      );
    }
  }
  assert.equal(seen.size, expected, "outputs exist only for inputs below the committed offsets");
  if (final) assert.equal(expected, inputs, "the final run processed every input");
  return expected;
}

test(`crash: kill -9 during idempotent and transactional work, ${CYCLES} cycles`, {
  timeout: SOAK ? 1_800_000 : 300_000,
}, async (t) => {
  const { dir, cleanup } = tempDir("courant-crash-");
  t.after(cleanup);
  const withCluster = async <T>(fn: (c: EmbeddedCluster) => Promise<T>): Promise<T> => {
    const cluster = await EmbeddedCluster.open({ dataDir: dir, timerIntervalMs: 0 });
    try {
      return await fn(cluster);
    } finally {
      await cluster.close();
    }
  };
  let inputs = 0;
  await withCluster(async (c) => {
    await c.admin().createTopics([
      { name: "in", partitions: 4 },
      { name: "out", partitions: 2 },
      { name: "idem", partitions: 2 },
    ]);
  });
  const acked = new Set<string>();
  let lastProcessed = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    await withCluster((c) => appendInputs(c, inputs, CHUNK));
    inputs += CHUNK;
    const killAfter = 20 + Math.floor(Math.random() * 400);
    const r = await runChild(dir, `r${cycle}`, killAfter);
    for (const id of r.acked) acked.add(id);
    const processed = await withCluster((c) => verify(c, acked, inputs, false));
    assert.ok(processed >= lastProcessed, "committed progress never goes back");
    lastProcessed = processed;
    t.diagnostic(
      `cycle ${cycle}: killed after ${killAfter} ms, ${r.acked.length} acked, ${processed}/${inputs} inputs committed${r.done ? ", done" : ""}`,
    );
  }
  // Let the last run finish the input without interruption, then check the whole result.
  const last = await runChild(dir, "final", null);
  for (const id of last.acked) acked.add(id);
  assert.ok(last.done);
  await withCluster((c) => verify(c, acked, inputs, true));
});
