import assert from "node:assert/strict";
import { test } from "node:test";
import { MetricsRegistry, waitFor } from "../../src/observe/index.ts";
import { OpsServer, QueryError } from "../../src/server/index.ts";

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test("serves /metrics in Prometheus text with the courant_ prefix", async () => {
  const metrics = new MetricsRegistry();
  metrics.counter("rewards_coupons_issued_total", "coupons issued").inc(3);
  const server = new OpsServer({ name: "t", metrics });
  const url = await server.start();
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    assert.match(await res.text(), /^courant_rewards_coupons_issued_total 3$/m);
  } finally {
    await server.close();
  }
});

test("/health answers 200 with loop figures; /ready follows the probe", async () => {
  let restored = false;
  const server = new OpsServer({
    name: "app",
    ready: () => ({
      ready: restored,
      checks: [{ name: "state restored", ok: restored }],
    }),
  });
  const url = await server.start();
  try {
    const h = await getJson(`${url}/health`);
    assert.equal(h.status, 200);
    assert.equal(h.body.status, "ok");
    assert.equal(typeof h.body.eventLoopDelayP99Ms, "number");
    const r1 = await getJson(`${url}/ready`);
    assert.equal(r1.status, 503);
    assert.equal(r1.body.ready, false);
    restored = true;
    const r2 = await getJson(`${url}/ready`);
    assert.equal(r2.status, 200);
    assert.deepEqual(r2.body.checks, [{ name: "state restored", ok: true }]);
  } finally {
    await server.close();
  }
});

test("a throwing readiness probe answers 503 with the reason, not a crash", async () => {
  const server = new OpsServer({
    name: "app",
    ready: () => {
      throw new Error("group coordinator unreachable");
    },
  });
  const url = await server.start();
  try {
    const r = await getJson(`${url}/ready`);
    assert.equal(r.status, 503);
    assert.match(JSON.stringify(r.body), /group coordinator unreachable/);
  } finally {
    await server.close();
  }
});

test("interactive-query routes: value, 404 on undefined, QueryError status, 500 on bug", async () => {
  const coupons = new Map([["42", [{ code: "A1" }]]]);
  const server = new OpsServer({ name: "q" });
  server.mountQueries("/rewards", [
    { path: "/pdv/:pdvId/coupons", handler: ({ params }) => coupons.get(params.pdvId ?? "") },
    {
      path: "/restoring",
      handler: () => {
        throw new QueryError(503, "NOT_READY", "store coupons is restoring");
      },
    },
    {
      path: "/bug",
      handler: () => {
        throw new TypeError("boom");
      },
    },
  ]);
  const url = await server.start();
  try {
    assert.deepEqual((await getJson(`${url}/rewards/pdv/42/coupons`)).body, [{ code: "A1" }]);
    assert.equal((await getJson(`${url}/rewards/pdv/7/coupons`)).status, 404);
    const nr = await getJson(`${url}/rewards/restoring`);
    assert.equal(nr.status, 503);
    assert.equal(nr.body.error, "NOT_READY");
    const bug = await getJson(`${url}/rewards/bug`);
    assert.equal(bug.status, 500);
    assert.match(String(bug.body.message), /boom/);
    const idx = await getJson(`${url}/queries`);
    assert.equal((idx.body.routes as unknown[]).length, 3);
    assert.throws(() => server.mountQueries("/late", []), { code: "OPS_ALREADY_STARTED" });
  } finally {
    await server.close();
  }
});

test("a port already in use gives a clear error", async () => {
  const a = new OpsServer({ name: "a" });
  const url = await a.start();
  const port = Number(new URL(url).port);
  const b = new OpsServer({ name: "b", port });
  try {
    await assert.rejects(b.start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, "OPS_LISTEN_FAILED");
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
  } finally {
    await a.close();
  }
});

test("worker-thread liveness answers while the main loop is blocked, and reports the stall", async () => {
  const server = new OpsServer({ name: "busy", livenessPort: 0, maxLoopStallMs: 150 });
  await server.start();
  const live = server.livenessUrl!;
  try {
    const ok = await getJson(`${live}/health`);
    assert.equal(ok.status, 200);
    // Block the main thread synchronously, then ask the worker from a child request issued
    // before the block: the worker's answer is computed during the stall.
    const { Worker } = await import("node:worker_threads");
    const prober = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
       setTimeout(async () => {
         const r = await fetch(workerData + "/health");
         parentPort.postMessage({ status: r.status, body: await r.json() });
       }, 300);`,
      { eval: true, workerData: live },
    );
    const answer = new Promise<{ status: number; body: Record<string, unknown> }>((resolve) =>
      prober.once("message", resolve),
    );
    const until = Date.now() + 700;
    while (Date.now() < until) {
      // busy: a starved stream thread
    }
    const a = await answer;
    await prober.terminate();
    assert.equal(a.status, 503);
    assert.equal(a.body.status, "stalled");
    assert.ok((a.body.mainLoopStallMs as number) > 150);
  } finally {
    await server.close();
  }
});

test("/health answers 503 with the reason once the failure probe reports one, on both ports", async () => {
  let failure: string | undefined;
  const server = new OpsServer({ name: "app", livenessPort: 0, failure: () => failure });
  const url = await server.start();
  const live = server.livenessUrl!;
  try {
    assert.equal((await getJson(`${url}/health`)).status, 200);
    assert.equal((await getJson(`${live}/health`)).status, 200);
    failure = "app stopped processing after an error (state ERROR)";
    const main = await getJson(`${url}/health`);
    assert.equal(main.status, 503);
    assert.deepEqual(main.body, { status: "failed", name: "app", reason: failure });
    // The liveness worker learns it with the next heartbeat (every 100 ms).
    let w = await getJson(`${live}/health`);
    await waitFor(async () => (w = await getJson(`${live}/health`)).status === 503, {
      timeoutMs: 5_000,
      intervalMs: 20,
      what: "the liveness worker to report the failure",
    });
    assert.equal(w.body.status, "failed");
  } finally {
    await server.close();
  }
});
