// A task-migration error (the group moved on, or says so) under exactly-once: the thread closes
// its tasks dirty and rejoins the group; the rebalance gives it its tasks back even when the
// assignment does not change, and processing resumes with exact outputs. On the embedded cluster
// and over the wire (KafkaCluster against the embedded broker served over the Kafka protocol).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Cluster, KafkaCluster, KafkaError, type Producer } from "../../src/cluster/index.ts";
import { waitFor } from "../../src/observe/index.ts";
import { KafkaStreams } from "../../src/streams/index.ts";
import { serveBroker } from "../../src/wire/index.ts";
import { crashAppOptions, crashTopology } from "../fixtures/streams/crash-app.ts";
import { assertCountsExact, seedJoinInput, EventSender } from "../fixtures/streams/join-input.ts";
import { openTestCluster, readCommitted } from "../fixtures/streams/test-cluster.ts";

const USERS = 10;
const BATCH = 25;
const dec = (b: Uint8Array | null) => (b === null ? "" : new TextDecoder().decode(b));

/**
 * The cluster with one fault on demand: after arm(), the next sendOffsetsToTransaction of a
 * producer it created fails with ILLEGAL_GENERATION (what the coordinator answers a stale member),
 * while the group itself does not move.
 */
function withInjectedMigration(base: Cluster, { canRejoin }: { canRejoin: boolean }) {
  let armed = false;
  let fired = 0;
  const cluster: Cluster = {
    kind: base.kind,
    admin: () => base.admin(),
    createConsumer: async (o) => {
      const c = await base.createConsumer(o);
      if (canRejoin) return c;
      // A Consumer implementation without the optional enforceRebalance.
      return new Proxy(c, {
        get: (target, key) => {
          if (key === "enforceRebalance") return undefined;
          const v = Reflect.get(target, key);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
    },
    close: () => base.close(),
    serveWaiting: base.serveWaiting?.bind(base),
    createProducer: async (o) => {
      const p = await base.createProducer(o);
      const send = p.sendOffsetsToTransaction.bind(p);
      (p as { sendOffsetsToTransaction: Producer["sendOffsetsToTransaction"] }).sendOffsetsToTransaction =
        async (offsets, group) => {
          if (armed) {
            armed = false;
            fired++;
            throw new KafkaError("ILLEGAL_GENERATION", "injected: the group generation is stale");
          }
          return send(offsets, group);
        };
      return p;
    },
  };
  return {
    cluster,
    arm: () => {
      armed = true;
    },
    fired: () => fired,
  };
}

for (const over of ["embedded", "wire", "embedded, a consumer without enforceRebalance"] as const) {
  test(`after a task-migration error at a commit the thread gets its tasks back and resumes exactly once (${over})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "courant-migration-"));
    const broker = await openTestCluster(dir);
    const server = await serveBroker(broker.broker, { port: 0 });
    const client =
      over === "wire"
        ? new KafkaCluster({ bootstrapBrokers: [`127.0.0.1:${server.address.port}`], clientId: "migration" })
        : undefined;
    const fault = withInjectedMigration(client ?? broker, {
      canRejoin: over !== "embedded, a consumer without enforceRebalance",
    });
    let app: KafkaStreams | undefined;
    t.after(async () => {
      await app?.close();
      await client?.close();
      await server.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const { admin, producer } = await seedJoinInput(broker, 2, USERS);
    const events = new EventSender(producer, USERS, BATCH);
    const sendBatch = () => events.send();
    const allCommitted = async () => {
      const ev = (await admin.describeLag("migration")).filter((l) => l.topic === "events");
      return ev.length === 2 && ev.reduce((s, l) => s + (l.committed ?? 0), 0) === events.sent;
    };
    app = new KafkaStreams(
      crashTopology(),
      crashAppOptions(fault.cluster, join(dir, "state"), { applicationId: "migration" }),
    );
    await app.start();
    await sendBatch();
    await waitFor(allCommitted, { timeoutMs: 20_000, intervalMs: 20, what: "the first batch committed" });

    // The next commit carries the second batch (outputs, changelog writes, offsets) and fails.
    fault.arm();
    await sendBatch();
    await waitFor(() => fault.fired() === 1, {
      timeoutMs: 20_000,
      intervalMs: 5,
      what: "the injected error",
    });
    await sendBatch();
    await waitFor(allCommitted, {
      timeoutMs: 20_000,
      intervalMs: 20,
      what: `all ${events.sent} events committed after the migration error`,
    });
    assert.equal(app.state, "RUNNING");
    await app.close();
    app = undefined;

    // counts: per user exactly 1, 2, ..., n (the aborted counts were restored away and redone once).
    assertCountsExact(await readCommitted(broker, "counts"), USERS, events.sent);
    // enriched: every event once, with its user's region.
    const enriched = (await readCommitted(broker, "enriched")).map((r) => {
      const v = JSON.parse(dec(r.value)) as { i: number; region: string };
      assert.equal(v.region, `region-${(v.i % USERS) % 3}`);
      return v.i;
    });
    assert.deepEqual(
      enriched.sort((a, b) => a - b),
      Array.from({ length: events.sent }, (_, i) => i),
    );
  });
}

// A second instance joins over the wire while the first processes: platformatic completes the
// rebalance in the background, and the first instance learns it at its next poll, after the new
// owner may have started. Its commits (the revocation's included) must not land in the new
// generation: the moved partitions would be processed twice.
test("a second instance takes partitions over the wire while events flow: outputs exactly once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-handover-"));
  const broker = await openTestCluster(dir);
  const server = await serveBroker(broker.broker, { port: 0 });
  const clients: KafkaCluster[] = [];
  const apps: KafkaStreams[] = [];
  t.after(async () => {
    for (const a of apps) await a.close();
    for (const c of clients) await c.close();
    await server.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { admin, producer } = await seedJoinInput(broker, 4, USERS);
  const start = async (instance: string) => {
    const client = new KafkaCluster({
      bootstrapBrokers: [`127.0.0.1:${server.address.port}`],
      clientId: instance,
    });
    clients.push(client);
    const app = new KafkaStreams(
      crashTopology(),
      crashAppOptions(client, join(dir, instance), {
        applicationId: "handover",
        commitIntervalMs: 50,
        instanceId: instance,
        pollMs: 20,
      }),
    );
    apps.push(app);
    await app.start();
    return app;
  };
  const events = new EventSender(producer, USERS, BATCH);
  const sendBatch = (n: number) => events.send(n);
  await start("a");
  for (let k = 0; k < 10; k++) await sendBatch(200);
  const second = start("b");
  // Input keeps coming while b joins and the partitions move.
  for (let k = 0; k < 20; k++) {
    await sendBatch(100);
    await new Promise<void>((r) => setImmediate(r));
  }
  await second;
  await waitFor(
    async () => {
      const ev = (await admin.describeLag("handover")).filter((l) => l.topic === "events");
      return ev.length === 4 && ev.reduce((s, l) => s + (l.committed ?? 0), 0) === events.sent;
    },
    { timeoutMs: 30_000, intervalMs: 20, what: `all ${events.sent} events committed` },
  );
  for (const a of apps.splice(0)) await a.close();
  assertCountsExact(await readCommitted(broker, "counts", 4), USERS, events.sent);
  const enriched = (await readCommitted(broker, "enriched", 4)).map(
    (r) => (JSON.parse(dec(r.value)) as { i: number }).i,
  );
  assert.deepEqual(
    enriched.sort((x, y) => x - y),
    Array.from({ length: events.sent }, (_, i) => i),
  );
});
