// Two instances started with the same instance id (static membership, exactly-once): the group
// instance id and the transactional id of each thread derive from it, so the one that joins fences
// the other. FENCED_INSTANCE_ID is fatal (KIP-345): the fenced instance stops in ERROR and says why,
// without asking its uncaughtErrorHandler (a replacement thread would take the id back and fence the
// other, for ever); the other goes on processing, exactly once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import pino from "pino";
import { KafkaError } from "../../src/cluster/index.ts";
import { MetricsRegistry, waitFor } from "../../src/observe/index.ts";
import { KafkaStreams, replaceThreadUpTo, StreamsError } from "../../src/streams/index.ts";
import { isInstanceFenced, isTaskMigration } from "../../src/streams/runtime/thread.ts";
import { crashTopology } from "../fixtures/streams/crash-app.ts";
import { assertCountsExact, seedJoinInput, EventSender } from "../fixtures/streams/join-input.ts";
import { openTestCluster, readCommitted } from "../fixtures/streams/test-cluster.ts";

const USERS = 10;
const BATCH = 50;
const APP = "fencing";
const dec = (b: Uint8Array | null) => (b === null ? "" : new TextDecoder().decode(b));

test("FENCED_INSTANCE_ID is not a task migration; ILLEGAL_GENERATION still is", () => {
  const fenced = new KafkaError("FENCED_INSTANCE_ID", 'static member "x-1" was fenced by a newer instance');
  assert.equal(isTaskMigration(fenced), false);
  assert.equal(isInstanceFenced(fenced), true);
  // In a cause chain, or only in the message (an error that lost its code).
  const wrapped = new Error("commit failed", { cause: fenced });
  assert.equal(isTaskMigration(wrapped), false);
  assert.equal(isInstanceFenced(wrapped), true);
  assert.equal(isTaskMigration(new Error("JoinGroup failed: FENCED_INSTANCE_ID")), false);
  assert.equal(isInstanceFenced(new Error("JoinGroup failed: FENCED_INSTANCE_ID")), true);
  // A fencing that comes with a migration code is still a fencing.
  assert.equal(isTaskMigration(new KafkaError("REBALANCE_IN_PROGRESS", "x", { cause: fenced })), false);
  assert.equal(isTaskMigration(new KafkaError("ILLEGAL_GENERATION", "TxnOffsetCommit failed")), true);
  assert.equal(
    isTaskMigration(new Error("commit failed", { cause: new KafkaError("ILLEGAL_GENERATION", "x") })),
    true,
  );
  assert.equal(isInstanceFenced(new KafkaError("ILLEGAL_GENERATION", "x")), false);
  assert.equal(isInstanceFenced(new KafkaError("PRODUCER_FENCED", "x")), false);
});

for (const flowing of [false, true]) {
  const when = flowing ? "while events flow" : "after a's input is committed";
  test(`a second instance with the same instance id, started ${when}: one stops in ERROR saying why, the other goes on exactly once`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "courant-fencing-"));
    const broker = await openTestCluster(dir);
    const apps: KafkaStreams[] = [];
    t.after(async () => {
      for (const a of apps) await a.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const { admin, producer } = await seedJoinInput(broker, 2, USERS);
    const events = new EventSender(producer, USERS, BATCH);
    const sendBatch = () => events.send();
    const allCommitted = async () =>
      (await admin.describeLag(APP))
        .filter((l) => l.topic === "events")
        .reduce((n, l) => n + (l.committed ?? 0), 0) === events.sent;
    const asked: string[] = [];
    const errorLogs = new Map<string, string[]>();
    const start = async (name: string) => {
      const lines: string[] = [];
      errorLogs.set(name, lines);
      const replaceUpTo3 = replaceThreadUpTo(3, 60_000);
      const app = new KafkaStreams(crashTopology(), {
        applicationId: APP,
        cluster: broker,
        processingGuarantee: "exactly_once_v2",
        commitIntervalMs: 50,
        // Two processes on one machine: a state directory each, the same instance id.
        stateDir: join(dir, name),
        instanceId: "x",
        staticMembership: true,
        // Heartbeats every 200 ms: a fenced member learns it within that.
        sessionTimeoutMs: 600,
        pollMs: 20,
        cacheMaxBytes: 0,
        metrics: new MetricsRegistry(),
        logger: pino({ level: "error" }, { write: (line: string) => void lines.push(line) }),
        // As the rewards apps: a failed thread is replaced, up to 3 times a minute.
        uncaughtErrorHandler: (e) => {
          asked.push(`${name}: ${e.message}`);
          return replaceUpTo3(e);
        },
      });
      apps.push(app);
      await app.start();
      return app;
    };

    const a = await start("a");
    await sendBatch();
    await waitFor(allCommitted, { timeoutMs: 10_000, intervalMs: 10, what: "a's first batch committed" });
    await waitFor(() => a.state === "RUNNING", { timeoutMs: 10_000, intervalMs: 10, what: "a running" });

    // With events flowing, a is busy when b starts: b's transactional producer fences a's (the
    // transactional id derives from the instance id too) before a's heartbeat learns of the fencing.
    let flow = true;
    const flowed = flowing
      ? (async () => {
          while (flow) {
            await sendBatch();
            await new Promise<void>((r) => setImmediate(r));
          }
        })()
      : Promise.resolve();
    const b = await start("b");
    await waitFor(() => a.state === "ERROR" || b.state === "ERROR", {
      timeoutMs: 10_000,
      intervalMs: 10,
      what: "one of the two instances stopped",
    });
    flow = false;
    await flowed;
    const [stopped, survivor, stoppedName] = a.state === "ERROR" ? [a, b, "a"] : [b, a, "b"];
    t.diagnostic(`${stoppedName} stopped; cause: ${(stopped.failure?.cause as Error | undefined)?.message}`);
    await waitFor(() => survivor.state === "RUNNING", {
      timeoutMs: 10_000,
      intervalMs: 10,
      what: "the other instance running",
    });

    // The stopped one says why, in its failure and in one error line of its log.
    assert.ok(stopped.failure instanceof StreamsError, `failure: ${stopped.failure}`);
    assert.equal(stopped.failure.code, "FENCED");
    assert.ok(isInstanceFenced(stopped.failure));
    assert.match(stopped.failure.message, /group instance id "x-1" of group "fencing"/);
    assert.match(stopped.failure.message, /another instance was started with the same instance id \("x"\)/);
    assert.match(stopped.failure.message, /rather than take the id back/);
    const logged = errorLogs.get(stoppedName)!;
    assert.equal(logged.filter((l) => l.includes("taken over by another member")).length, 1, logged.join(""));
    // Neither instance replaced a thread: no uncaughtErrorHandler was asked anything.
    assert.deepEqual(asked, []);
    assert.equal(survivor.failure, undefined);

    // The survivor goes on: input sent after the fencing is processed. Meanwhile (a bounded wait on
    // the survivor's progress, no sleep) the stopped one stays stopped and the survivor running.
    for (let k = 0; k < 3; k++) {
      await sendBatch();
      await waitFor(
        async () => {
          assert.equal(stopped.state, "ERROR");
          assert.equal(survivor.state, "RUNNING");
          return allCommitted();
        },
        { timeoutMs: 10_000, intervalMs: 10, what: `all ${events.sent} events committed by the survivor` },
      );
    }
    assert.equal(stopped.state, "ERROR");
    assert.equal(survivor.state, "RUNNING");
    const members = (await admin.describeGroups([APP]))[0]!.members;
    assert.equal(members.length, 1, "one member: the survivor's thread");

    for (const app of apps.splice(0)) await app.close();
    // Exactly once: per user the counts 1..n, every event enriched once.
    assertCountsExact(
      await readCommitted(broker, "counts", 2, { noOpenTransaction: true }),
      USERS,
      events.sent,
    );
    const enriched = (await readCommitted(broker, "enriched")).map(
      (r) => (JSON.parse(dec(r.value)) as { i: number }).i,
    );
    assert.deepEqual(
      enriched.sort((x, y) => x - y),
      Array.from({ length: events.sent }, (_, i) => i),
    );
  });
}
