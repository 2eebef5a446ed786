// Cluster link: Courant clients in real worker threads against the embedded broker of this thread
// (EmbeddedCluster.serveLink / EmbeddedCluster.attach), with the semantics of the local EmbeddedCluster.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MessageChannel, Worker } from "node:worker_threads";
import {
  type ClusterLink,
  type ConsumedRecord,
  type Consumer,
  EmbeddedCluster,
  type TopicPartition,
} from "../../src/cluster/index.ts";
import { waitFor } from "../../src/observe/index.ts";

const WORKER = new URL("../fixtures/cluster/link-worker.ts", import.meta.url);
const enc = (s: string) => Buffer.from(s, "utf8");
const str = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString("utf8"));

interface Msg {
  type: string;
  [k: string]: unknown;
}

async function open(t: { after(fn: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), "courant-link-"));
  const cluster = await EmbeddedCluster.open({
    dataDir: dir,
    timerIntervalMs: 20,
    groupMinSessionTimeoutMs: 10,
    groupInitialRebalanceDelayMs: 0,
  });
  t.after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return cluster;
}

/** A worker running one scenario of the fixture over a link served by `cluster`. */
function startWorker(
  t: { after(fn: () => unknown): void },
  cluster: EmbeddedCluster,
  scenario: string,
  data: Record<string, unknown> = {},
) {
  const { port1, port2 } = new MessageChannel();
  const link: ClusterLink = cluster.serveLink(port1);
  const worker = new Worker(WORKER, {
    workerData: { port: port2, scenario, ...data },
    transferList: [port2],
  });
  const messages: Msg[] = [];
  let failure: Error | null = null;
  let exitCode: number | null = null;
  worker.on("message", (m: Msg) => messages.push(m));
  worker.on("error", (e) => {
    failure = e;
  });
  worker.on("exit", (code) => {
    exitCode = code;
  });
  t.after(() => worker.terminate());
  const next = async (type: string, timeoutMs = 15_000): Promise<Msg> => {
    let found: Msg | undefined;
    await waitFor(
      () => {
        const i = messages.findIndex((m) => m.type === type);
        if (i >= 0) found = messages.splice(i, 1)[0];
        if (found === undefined && failure) throw failure;
        return found !== undefined;
      },
      { timeoutMs, what: `"${type}" from worker ${scenario}` },
    ).catch((e: Error) => {
      // Enough to tell a slow start from a stuck call or a silent exit.
      throw new Error(
        `${e.message} (worker exit code ${exitCode}, link open ${link.isOpen}, calls served ${link.callCount}, async pending ${link.pendingCalls}, other messages ${JSON.stringify(messages.map((m) => m.type))})`,
      );
    });
    return found!;
  };
  const exited = () =>
    waitFor(() => exitCode !== null, { timeoutMs: 15_000, what: `worker ${scenario} to exit` });
  return {
    worker,
    link,
    next,
    exited,
    send: (cmd: string) => worker.postMessage({ cmd }),
    exitCode: () => exitCode,
    failure: () => failure as Error | null,
  };
}

async function pollUntil(c: Consumer, n: number, timeoutMs = 15_000): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`got ${out.length} of ${n} records before the deadline`);
    out.push(...(await c.poll({ maxWaitMs: 200 })));
  }
  return out;
}

test("produce in a worker, consume in the broker's thread: same partitions, offsets, headers", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 3 }]);
  const w = startWorker(t, cluster, "produce", { count: 20 });
  const { metadata } = (await w.next("produced")) as unknown as {
    metadata: { partition: number; offset: number }[];
  };
  await w.exited();
  assert.equal(w.exitCode(), 0);
  // The worker's cluster closed: the link is gone on this side too.
  await w.link.closed;
  assert.equal(cluster.activeLinks.length, 0);

  // The same keys produced here land on the same partitions (one partitioner).
  const local = await cluster.createProducer();
  const mdLocal = await local.send([{ topic: "t", key: enc("k7"), value: enc("again") }]);
  assert.equal(mdLocal[0]!.partition, metadata[7]!.partition);

  const consumer = await cluster.createConsumer({ groupId: "main", autoOffsetReset: "earliest" });
  await consumer.subscribe(["t"]);
  const got = (await pollUntil(consumer, 21)).filter((r) => str(r.value) !== "again");
  assert.equal(got.length, 20);
  for (const r of got) {
    const i = Number(str(r.key)!.slice(1));
    assert.equal(str(r.value), `v${i}`);
    assert.equal(r.partition, metadata[i]!.partition);
    assert.equal(r.offset, metadata[i]!.offset);
    assert.deepEqual(
      r.headers.map((h) => [h.key, str(h.value)]),
      [["from", "worker"]],
    );
  }
  // Idempotent producer in the worker: its batches carry a producer id and sequences the broker checked.
  const producers = cluster.broker.describeProducers({
    topics: [{ name: "t", partitionIndexes: [0, 1, 2] }],
  });
  assert.ok(producers.flatMap((tp) => tp.partitions.flatMap((p) => p.activeProducers)).length >= 2);
  await consumer.close();
});

test("produce in the broker's thread, consume in a worker group: commit, position, committed, lag", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 2 }]);
  const producer = await cluster.createProducer();
  await producer.send([0, 1, 2, 3].map((i) => ({ topic: "t", key: enc(`k${i}`), value: enc(`early-${i}`) })));
  const w = startWorker(t, cluster, "consume", { count: 8, groupId: "wg" });
  const assigned = await w.next("assigned");
  assert.deepEqual((assigned.partitions as TopicPartition[]).map((tp) => tp.partition).sort(), [0, 1]);
  // Records produced while the worker long-polls wake it up.
  await producer.send([4, 5, 6, 7].map((i) => ({ topic: "t", key: enc(`k${i}`), value: enc(`late-${i}`) })));
  const done = (await w.next("done")) as unknown as {
    positions: Record<string, number>;
    committed: Record<string, number>;
    lag: { lag: number }[];
    groupMetadata: { generationId: number; memberId: string };
  };
  const end = await cluster.admin().listOffsets(
    [
      { topic: "t", partition: 0 },
      { topic: "t", partition: 1 },
    ],
    "latest",
  );
  assert.deepEqual(done.positions, Object.fromEntries(end));
  assert.deepEqual(done.committed, Object.fromEntries(end));
  assert.ok(done.lag.every((l) => l.lag === 0));
  assert.ok(done.groupMetadata.generationId >= 1 && done.groupMetadata.memberId !== "");
  // Seen from here: the worker's member is in the group, with its commits.
  const [group] = await cluster.admin().describeGroups(["wg"]);
  assert.equal(group!.state, "Stable");
  assert.equal(group!.members.length, 1);
  assert.equal(group!.members[0]!.memberId, done.groupMetadata.memberId);
  // Closing the worker's cluster makes its consumer leave the group (no session timeout to wait out).
  w.send("close");
  await w.next("closed");
  const [after] = await cluster.admin().describeGroups(["wg"]);
  assert.equal(after!.members.length, 0);
  await w.exited();
});

test("a worker reads a backlog of several fetches, with records larger than a fetch, whole and in order", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 2 }]);
  const producer = await cluster.createProducer();
  // ~1.5 MB per partition: several of a worker's fetches (256 KiB); every 50th value is 300 KB,
  // larger than a fetch, which must still come whole (KIP-74), in its place.
  const value = (i: number) =>
    `${i}:`.padEnd(i % 50 === 7 ? 300_000 : 2_000, String.fromCharCode(97 + (i % 26)));
  const n = 800;
  for (let i = 0; i < n; i += 100) {
    const batch = [];
    for (let j = i; j < i + 100; j++)
      batch.push({ topic: "t", partition: j % 2, key: enc(`k${j}`), value: enc(value(j)) });
    await producer.send(batch);
  }
  const w = startWorker(t, cluster, "consume", { count: n, groupId: "big" });
  const got: { partition: number; key: string; value: string }[] = [];
  while (got.length < n) got.push(...((await w.next("records")).records as typeof got));
  for (const p of [0, 1]) {
    const keys = got.filter((r) => r.partition === p).map((r) => r.key);
    const want = Array.from({ length: n / 2 }, (_, i) => `k${2 * i + p}`);
    assert.deepEqual(keys, want, `partition ${p} in order, none lost or repeated`);
  }
  for (const r of got) assert.equal(r.value, value(Number(r.key.slice(1))), `value of ${r.key}`);
  await w.next("done");
  w.send("close");
  await w.next("closed");
  await w.exited();
});

test("a worker's consumer reads and waits on its partitions with one call per poll, not one per partition", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 4 }]);
  const w = startWorker(t, cluster, "prefetch", { count: 8 });
  await w.next("ready");
  const before = w.link.callCount;
  w.send("poll");
  const polled = await w.next("polled");
  assert.equal(polled.idle, 0);
  // 20 polls of 4 empty partitions: 20 calls (80 with a fetch per partition).
  const calls = w.link.callCount - before;
  assert.ok(calls >= 20 && calls < 40, `${calls} calls for 20 polls`);
  // Its long poll waits on the four partitions with one call.
  w.send("read");
  await w.next("waiting");
  await waitFor(() => w.link.pendingCalls > 0, { timeoutMs: 10_000, what: "the worker's wait" });
  assert.equal(w.link.pendingCalls, 1);
  const producer = await cluster.createProducer();
  await producer.send(
    [0, 1, 2, 3].flatMap((p) => [
      { topic: "t", partition: p, key: null, value: enc(`p${p}-a`) },
      { topic: "t", partition: p, key: null, value: enc(`p${p}-b`) },
    ]),
  );
  const done = await w.next("done");
  assert.deepEqual(
    [...(done.got as string[])].sort(),
    [0, 1, 2, 3].flatMap((p) => [`${p}:0:p${p}-a`, `${p}:1:p${p}-b`]),
  );
  await w.exited();
});

test("manual assignment in a worker: seek, pause/resume, positions, and a long poll woken by data", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 2 }]);
  const producer = await cluster.createProducer();
  await producer.send([{ topic: "t", partition: 1, key: null, value: enc("p1-a") }]);
  const w = startWorker(t, cluster, "manual");
  const ready = await w.next("ready");
  assert.deepEqual(ready.begin, { "t:0": 0, "t:1": 0 });
  assert.deepEqual(ready.end, { "t:0": 0, "t:1": 1 });
  // Partition 1 is paused: the worker waits until this record arrives on partition 0.
  await producer.send([
    { topic: "t", partition: 0, key: null, value: enc("p0-a") },
    { topic: "t", partition: 0, key: null, value: enc("p0-b") },
  ]);
  const done = await w.next("done");
  assert.deepEqual(done.first, ["0:0:p0-a", "0:1:p0-b"]);
  assert.deepEqual(done.second, ["1:0:p1-a"]);
  assert.deepEqual(done.third, ["0:1:p0-b"]); // after seek(tp0, 1)
  assert.equal(done.position0, 2);
  assert.ok((done.wokeAfterMs as number) < 5000, `woke after ${done.wokeAfterMs} ms`);
  await w.exited();
});

test("a worker's long poll ends at once on abort and on close; the broker's side drops the wait", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const w = startWorker(t, cluster, "abort", { topic: "t" });
  await w.next("waiting");
  await waitFor(() => w.link.pendingCalls === 1, { what: "the long poll to reach the broker" });
  w.send("abort");
  const aborted = await w.next("aborted");
  assert.equal(aborted.records, 0);
  assert.ok((aborted.abortMs as number) < 5000);
  await waitFor(() => w.link.pendingCalls === 0, { what: "the cancelled wait to be dropped" });
  w.send("close");
  await w.next("waiting-again");
  await waitFor(() => w.link.pendingCalls === 1, { what: "the second long poll to reach the broker" });
  w.send("close-now");
  const closed = await w.next("closed");
  assert.equal(closed.outcome, "INVALID_STATE"); // as locally: a poll cut short by close() reports the closed consumer
  assert.ok((closed.closeMs as number) < 5000, `close took ${closed.closeMs} ms`);
  await w.exited();
  await w.link.closed;
  assert.equal(w.link.pendingCalls, 0);
});

test("group with a member here and one in a worker: the worker's terminate() hands its partitions over", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 4 }]);
  const pollOwning = async (n: number) => {
    await local.poll({ maxWaitMs: 50 });
    return owned.length === n;
  };
  const local = await cluster.createConsumer({
    groupId: "mixed",
    autoOffsetReset: "earliest",
    sessionTimeoutMs: 1000,
  });
  let owned: TopicPartition[] = [];
  await local.subscribe(["t"], {
    onPartitionsAssigned: (tps) => void (owned = [...owned, ...tps]),
    onPartitionsRevoked: (tps) =>
      void (owned = owned.filter((o) => !tps.some((r) => r.partition === o.partition))),
  });
  await waitFor(() => pollOwning(4), {
    what: "the local member to own all partitions",
  });
  const w = startWorker(t, cluster, "consume", { groupId: "mixed", sessionTimeoutMs: 1000 });
  // Both members poll; the group rebalances to two partitions each.
  let workerOwns: TopicPartition[] = [];
  await waitFor(
    async () => {
      await local.poll({ maxWaitMs: 50 });
      const a = (await w.next("assigned", 100).catch(() => null)) as { partitions: TopicPartition[] } | null;
      if (a) workerOwns = a.partitions;
      return owned.length === 2 && workerOwns.length === 2;
    },
    { timeoutMs: 15_000, what: "two partitions on each member" },
  );
  const [stable] = await cluster.admin().describeGroups(["mixed"]);
  assert.equal(stable!.members.length, 2);
  // Records on the worker's partitions reach the worker.
  const producer = await cluster.createProducer();
  await producer.send(
    workerOwns.map((tp) => ({ topic: "t", partition: tp.partition, key: null, value: enc("w") })),
  );
  const recs = await w.next("records");
  assert.ok((recs.records as unknown[]).length >= 1);

  await w.worker.terminate();
  await w.link.closed;
  assert.equal(w.link.pendingCalls, 0);
  assert.equal(cluster.activeLinks.length, 0);
  // The dead member expires by session timeout; the local member gets everything back.
  await waitFor(() => pollOwning(4), {
    timeoutMs: 15_000,
    what: "the local member to take the dead worker's partitions",
  });
  const [after] = await cluster.admin().describeGroups(["mixed"]);
  assert.equal(after!.members.length, 1);
  await local.close();
});

test("transactional consume-transform-produce in a worker: read_committed sees commits only", async (t) => {
  const cluster = await open(t);
  const admin = cluster.admin();
  await admin.createTopics([
    { name: "in", partitions: 1 },
    { name: "out", partitions: 1 },
  ]);
  const producer = await cluster.createProducer();
  await producer.send(
    Array.from({ length: 10 }, (_, i) => ({ topic: "in", key: enc(`k${i}`), value: enc(`r${i}`) })),
  );
  const w = startWorker(t, cluster, "txn", { topic: "in", groupId: "txn-g" });
  const first = await w.next("committed-first");
  assert.deepEqual(first.committed, { "in:0": 5 });
  const committedReader = await cluster.createConsumer({ isolationLevel: "read_committed" });
  committedReader.assign([{ topic: "out", partition: 0 }]);
  await committedReader.seekToBeginning([{ topic: "out", partition: 0 }]);
  const firstOut = await pollUntil(committedReader, 5);
  assert.deepEqual(
    firstOut.map((r) => str(r.value)),
    ["r0-a", "r1-a", "r2-a", "r3-a", "r4-a"],
  );
  w.send("abort");
  const done = await w.next("done");
  assert.equal(done.committedAfterAbort, 5); // the aborted transaction's offsets were not committed
  assert.deepEqual(done.committed, { "in:0": 10 });
  await w.exited();

  const rest = await pollUntil(committedReader, 5);
  assert.deepEqual(
    rest.map((r) => str(r.value)),
    ["r5-c", "r6-c", "r7-c", "r8-c", "r9-c"],
  );
  assert.deepEqual(await committedReader.poll({ maxWaitMs: 50 }), []);
  // read_uncommitted sees the aborted records too; the group's offset is the committed one.
  const everything = await cluster.createConsumer();
  everything.assign([{ topic: "out", partition: 0 }]);
  await everything.seekToBeginning([{ topic: "out", partition: 0 }]);
  const all = await pollUntil(everything, 15);
  assert.equal(all.filter((r) => str(r.value)!.endsWith("-b")).length, 5);
  const offsets = await admin.listGroupOffsets("txn-g");
  assert.deepEqual(
    offsets.map((o) => [o.topic, o.partition, o.offset]),
    [["in", 0, 10]],
  );
  await committedReader.close();
  await everything.close();
});

test("sends over a link are in flight together, in order; a failed one aborts its transaction and the numbering resumes", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([
    { name: "out", partitions: 2 },
    { name: "small", partitions: 1, config: { "max.message.bytes": "1024" } },
  ]);
  const w = startWorker(t, cluster, "pipelined");
  const { out } = (await w.next("done")) as unknown as {
    out: {
      firstAnswers: [number, number, number][][];
      secondAnswers: (string | { code: string; message: string })[];
      commitAfterFailure: { code: string; message: string };
      plainAnswers: (string | { code: string; message: string })[];
    };
  };
  await w.exited();
  // Offsets in call order, though no send waited for the one before.
  assert.deepEqual(out.firstAnswers, [
    [
      [0, 0, 0],
      [1, 0, 0],
    ],
    [[1, 1, 2]],
    [
      [0, 1, 1],
      [1, 3, 3],
    ],
    [[1, 4, 5]],
    [
      [0, 2, 2],
      [1, 6, 6],
    ],
  ]);
  const [ok0, ok1, tooLarge, outOfOrder, ok4] = out.secondAnswers;
  assert.deepEqual([ok0, ok1, ok4], ["ok", "ok", "ok"]);
  assert.equal((tooLarge as { code: string }).code, "MESSAGE_TOO_LARGE");
  assert.match((tooLarge as { message: string }).message, /small-0/);
  assert.equal((outOfOrder as { code: string }).code, "OUT_OF_ORDER_SEQUENCE_NUMBER");
  assert.equal(out.commitAfterFailure.code, "INVALID_TXN_STATE");
  assert.match(out.commitAfterFailure.message, /max\.message\.bytes/);
  assert.equal((out.plainAnswers[0] as { code: string }).code, "MESSAGE_TOO_LARGE");
  assert.equal(out.plainAnswers[1], "ok");

  const read = async (topic: string, partitions: number, n: number) => {
    const c = await cluster.createConsumer({ isolationLevel: "read_committed" });
    const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
    c.assign(tps);
    await c.seekToBeginning(tps);
    const got = (await pollUntil(c, n)).map((r) => `${r.partition}:${str(r.value)}`);
    assert.deepEqual(await c.poll({ maxWaitMs: 50 }), []);
    await c.close();
    return got;
  };
  const outValues = await read("out", 2, 11);
  assert.deepEqual(
    outValues.filter((v) => v.startsWith("0:")),
    ["0:a0", "0:a2", "0:a4", "0:c0"],
  );
  assert.deepEqual(
    outValues.filter((v) => v.startsWith("1:")),
    ["1:b0", "1:a1", "1:b1", "1:b2", "1:a3", "1:b3", "1:b4"],
  );
  // The aborted transaction's records are not read; the next one's "kept" went on from the
  // broker's numbering (a rewind to the failed batch would be refused as out of order).
  assert.deepEqual(await read("small", 1, 3), ["0:kept", "0:plain-1", "0:plain-kept"]);
});

test("a send the broker's thread leaves unanswered past callTimeoutMs fails, and its producer stops", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const w = startWorker(t, cluster, "unanswered", { topic: "t", callTimeoutMs: 150 });
  await w.next("ready");
  w.send("go");
  // This thread is busy past the worker's call timeout: the worker's send waits unanswered.
  const until = performance.now() + 600;
  while (performance.now() < until);
  const { out } = (await w.next("done")) as unknown as {
    out: { send: { code: string; message: string }; next: { code: string; message: string } };
  };
  await w.exited();
  assert.equal(out.send.code, "REQUEST_TIMED_OUT");
  assert.match(out.send.message, /150 ms.*unknown/);
  assert.equal(out.next.code, "REQUEST_TIMED_OUT"); // the producer stopped: nothing more is sent
  // It was stored after all, in a transaction nobody can commit: a new producer with the same
  // transactional id aborts it, and read_committed readers never see it.
  const everything = await cluster.createConsumer();
  everything.assign([{ topic: "t", partition: 0 }]);
  await everything.seekToBeginning([{ topic: "t", partition: 0 }]);
  assert.deepEqual(
    (await pollUntil(everything, 2)).map((r) => str(r.value)),
    ["before", "late"],
  );
  await (await cluster.createProducer({ transactionalId: "unanswered" })).close();
  const committed = await cluster.createConsumer({ isolationLevel: "read_committed" });
  committed.assign([{ topic: "t", partition: 0 }]);
  await committed.seekToBeginning([{ topic: "t", partition: 0 }]);
  assert.deepEqual(await committed.poll({ maxWaitMs: 200 }), []);
  await everything.close();
  await committed.close();
});

test("errors cross the link with their class, code and message", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const w = startWorker(t, cluster, "errors", { topic: "t" });
  await w.next("in-transaction");
  // A newer producer with the same transactional id fences the worker's.
  const newer = await cluster.createProducer({ transactionalId: "fence-me" });
  w.send("fenced");
  await w.next("second-ready");
  const newer2 = await cluster.createProducer({ transactionalId: "fence-me-2" });
  w.send("fenced-2");
  await w.next("third-ready");
  const newer3 = await cluster.createProducer({ transactionalId: "fence-me-3" });
  w.send("fenced-3");
  const { errors } = (await w.next("done")) as unknown as {
    errors: Record<string, { code: string; message: string; kafkaError: boolean }>;
  };
  assert.equal(errors.describeUnknownTopic!.code, "UNKNOWN_TOPIC_OR_PARTITION");
  assert.equal(errors.describeUnknownTopic!.kafkaError, true);
  assert.match(errors.describeUnknownTopic!.message, /no-such-topic/);
  assert.equal(errors.createExistingTopic!.code, "TOPIC_ALREADY_EXISTS");
  assert.match(errors.createExistingTopic!.message, /"t"/);
  // Thrown by the broker on its thread (partitionLog), rethrown in the worker.
  assert.equal(errors.offsetsOfUnknownTopic!.code, "UNKNOWN_TOPIC_OR_PARTITION");
  assert.equal(errors.offsetsOfUnknownTopic!.kafkaError, true);
  // The log's OFFSET_OUT_OF_RANGE reaches the consumer's reset policy ("none": an error naming the partition).
  assert.equal(errors.fetchOutOfRange!.code, "OFFSET_OUT_OF_RANGE");
  assert.match(errors.fetchOutOfRange!.message, /t-0/);
  assert.equal(errors.produceToInternalTopic!.code, "INVALID_TOPIC_EXCEPTION");
  assert.ok(
    ["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"].includes(errors.commitAfterFenced!.code),
    errors.commitAfterFenced!.code,
  );
  assert.equal(errors.commitAfterFenced!.kafkaError, true);
  assert.equal(errors.sendAfterFenced!.code, errors.commitAfterFenced!.code); // fatal: sticks
  // Deferred transaction calls (sent with the next call): their error is that call's error, and fatal.
  const fenced = ["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"];
  assert.ok(fenced.includes(errors.firstSendAfterFenced!.code), JSON.stringify(errors.firstSendAfterFenced));
  assert.match(errors.firstSendAfterFenced!.message, /addPartitionsToTxn/);
  assert.equal(errors.commitAfterFailedSend!.code, errors.firstSendAfterFenced!.code);
  assert.ok(fenced.includes(errors.commitOffsetsAfterFenced!.code), JSON.stringify(errors));
  assert.match(errors.commitOffsetsAfterFenced!.message, /addOffsetsToTxn/);
  // An abort does not carry the deferred offset calls; a commit fails with theirs.
  assert.equal(errors.abortAfterBadOffsets, "no error");
  assert.equal(errors.commitAfterBadOffsets!.code, "UNKNOWN_TOPIC_OR_PARTITION");
  assert.match(errors.commitAfterBadOffsets!.message, /txnOffsetCommit \(sent with endTxn\)/);
  await newer2.close();
  await newer3.close();
  // The fenced transaction's record is never visible to read_committed.
  newer.beginTransaction();
  await newer.send([{ topic: "t", key: null, value: enc("newer") }]);
  await newer.commitTransaction();
  const reader = await cluster.createConsumer({ isolationLevel: "read_committed" });
  reader.assign([{ topic: "t", partition: 0 }]);
  await reader.seekToBeginning([{ topic: "t", partition: 0 }]);
  const got = await pollUntil(reader, 1);
  assert.deepEqual(
    got.map((r) => str(r.value)),
    ["newer"],
  );
  await reader.close();
  await w.exited();
});

test("a worker terminated mid-poll leaves nothing behind; the cluster closes promptly", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const manual = startWorker(t, cluster, "poll-forever");
  const grouped = startWorker(t, cluster, "poll-forever", { groupId: "pf" });
  await manual.next("polling");
  await grouped.next("polling");
  await waitFor(() => manual.link.pendingCalls > 0, { what: "the worker's long poll to reach the broker" });
  await manual.worker.terminate();
  await grouped.worker.terminate();
  await manual.link.closed;
  await grouped.link.closed;
  assert.equal(manual.link.pendingCalls, 0);
  assert.equal(grouped.link.pendingCalls, 0);
  assert.equal(cluster.activeLinks.length, 0);
  // No long poll of the dead worker is left waiting on the partition log (test-only look at its internals).
  const log = cluster.broker.partitionLog("t", 0) as unknown as { waiters: unknown[] };
  assert.equal(log.waiters.length, 0);
  const producer = await cluster.createProducer();
  await producer.send([{ topic: "t", key: null, value: enc("after") }]);
  const started = Date.now();
  await cluster.close();
  assert.ok(Date.now() - started < 5000, `close took ${Date.now() - started} ms`);
});

test("a worker that crashes mid-poll: its link closes, its member expires by session timeout", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 2 }]);
  const w = startWorker(t, cluster, "crash", { groupId: "crashy", sessionTimeoutMs: 500 });
  const { memberId } = await w.next("polling");
  const [before] = await cluster.admin().describeGroups(["crashy"]);
  assert.deepEqual(
    before!.members.map((m) => m.memberId),
    [memberId],
  );
  await w.exited();
  assert.equal(w.exitCode(), 1);
  assert.match(w.failure()!.message, /an app bug/);
  await w.link.closed;
  assert.equal(w.link.pendingCalls, 0);
  assert.equal(cluster.activeLinks.length, 0);
  await waitFor(async () => (await cluster.admin().describeGroups(["crashy"]))[0]!.members.length === 0, {
    what: "the crashed worker's member to expire",
  });
});

test("closing the broker's cluster under a worker: its poll ends and every later call fails clearly", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const w = startWorker(t, cluster, "outlive", { topic: "t" });
  await w.next("ready");
  await waitFor(() => w.link.pendingCalls > 0, { what: "the worker's long poll" });
  const started = Date.now();
  await cluster.close();
  assert.ok(Date.now() - started < 5000, `close took ${Date.now() - started} ms`);
  assert.equal(w.link.isOpen, false);
  w.send("go");
  const { errors } = (await w.next("done")) as unknown as {
    errors: Record<string, { code: string; message: string } | boolean>;
  };
  assert.equal(errors.connected, false);
  for (const name of ["pollOutcome", "send", "admin", "poll", "createProducer"]) {
    const e = errors[name] as { code: string; message: string };
    assert.equal(e.code, "BROKER_NOT_AVAILABLE", `${name}: ${JSON.stringify(e)}`);
    assert.match(e.message, /closed/);
  }
  await w.exited();
});

test("link.close() from the broker's side: the worker's calls fail instead of hanging", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 1 }]);
  const w = startWorker(t, cluster, "outlive", { topic: "t" });
  await w.next("ready");
  await w.link.close();
  await w.link.closed;
  w.send("go");
  const { errors } = (await w.next("done")) as unknown as {
    errors: Record<string, { code: string; message: string }>;
  };
  assert.equal(errors.send!.code, "BROKER_NOT_AVAILABLE");
  assert.match(errors.send!.message, /link to the broker.s thread is closed/);
  await w.exited();
  // The cluster itself is untouched.
  const p = await cluster.createProducer();
  await p.send([{ topic: "t", key: null, value: enc("still here") }]);
});

test("serveWaiting: a busy broker thread answers a worker's synchronous calls without yielding", async (t) => {
  const cluster = await open(t);
  await cluster.admin().createTopics([{ name: "t", partitions: 3 }]);
  const w = startWorker(t, cluster, "sends", { count: 50 });
  await w.next("ready");
  w.send("go");
  // This thread never gives its event loop a turn here: only serveWaiting answers the worker's
  // 50 sends (a synchronous produce each).
  const before = w.link.callCount;
  const until = performance.now() + 10_000;
  while (w.link.callCount < before + 50 && performance.now() < until) cluster.serveWaiting();
  assert.ok(w.link.callCount >= before + 50, `${w.link.callCount - before} calls answered while busy`);
  await w.next("sent");
  await w.exited();
  const c = await cluster.createConsumer({ autoOffsetReset: "earliest" });
  c.assign([0, 1, 2].map((partition) => ({ topic: "t", partition })));
  assert.equal((await pollUntil(c, 50)).length, 50);
  await c.close();
});
