import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { StateDirectory } from "../../src/state/index.ts";
import { b, s } from "./store-contract.ts";

const root = mkdtempSync(join(tmpdir(), "courant-statedir-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("tasks share one instance environment; one flush commits all tasks with their checkpoints", async () => {
  const dir = new StateDirectory(root, "app-1");
  const t0 = dir.task("0_0");
  const t1 = dir.task("0_1");
  const a = t0.keyValueStore("counts");
  const c = t1.keyValueStore("counts");
  const w = t1.windowStore("win", { windowSizeMs: 10, retentionMs: 100_000 });
  a.put(b("k"), b("task0"));
  c.put(b("k"), b("task1"));
  w.put(b("k"), b("w"), 5);
  await dir.flush(
    new Map([
      [t0.storeName("counts"), 10],
      [t1.storeName("counts"), 20],
    ]),
  );
  assert.deepEqual(dir.taskIdsOnDisk(), ["0_0", "0_1"]);
  await dir.close();

  const again = new StateDirectory(root, "app-1");
  assert.equal(s(again.task("0_1").keyValueStore("counts").get(b("k"))), "task1");
  assert.equal(s(again.task("0_0").keyValueStore("counts").get(b("k"))), "task0");
  assert.equal(again.task("0_1").checkpoint("counts"), 20);
  again.deleteTask("0_1");
  assert.deepEqual(again.taskIdsOnDisk(), ["0_0"]);
  assert.equal(again.task("0_1").keyValueStore("counts").get(b("k")), undefined);
  assert.equal(again.task("0_1").checkpoint("counts"), undefined);
  assert.equal(again.task("0_0").checkpoint("counts"), 10);
  await again.destroy();
  assert.equal(existsSync(join(root, "app-1")), false);
});

test("unsafe application and task ids are refused", async () => {
  assert.throws(
    () => new StateDirectory(root, "../evil"),
    (e: Error & { code?: string }) => e.code === "STORE_INVALID_ARGUMENT",
  );
  const dir = new StateDirectory(root, "ok");
  assert.throws(() => dir.task("a/b"), /task id/);
  await dir.close();
});

test("storeProvider: persistent stores on lmdb under the task, others in memory", async () => {
  const dir = new StateDirectory(root, "prov");
  const p = dir.storeProvider();
  const kv = p.keyValue("counts", true, "1_2");
  const mem = p.keyValue("scratch", false, "1_2");
  const win = p.window("w", true, "1_2", { windowSizeMs: 10, retentionMs: 100, retainDuplicates: false });
  const sess = p.session("s", false, "1_2", { retentionMs: 100 });
  assert.equal(kv.persistent, true);
  assert.equal(kv.name, "1_2.counts");
  assert.equal(mem.persistent, false);
  assert.equal(win.persistent, true);
  assert.equal(sess.persistent, false);
  const join = p.window("j", true, "1_2", { windowSizeMs: 10, retentionMs: 100, retainDuplicates: true });
  assert.equal(join.constructor.name, "LmdbMirroredWindowStore", "join buffers are mirrored in memory");
  assert.equal(win.constructor.name, "LmdbWindowStore");
  await dir.destroy();
});

test("stream threads share the instance environment: concurrent commits from worker threads all land", async () => {
  const { Worker } = await import("node:worker_threads");
  const runs = ["0_0", "0_1", "1_0"].map((taskId) => {
    const w = new Worker(new URL("./thread-worker.ts", import.meta.url), {
      workerData: { root, taskId, n: 200 },
    });
    // listen for exit at once: a worker may finish before any later listener is attached
    return new Promise<void>((resolve, reject) => {
      let done = false;
      w.once("message", () => {
        done = true;
      });
      w.once("error", reject);
      w.once("exit", (code) =>
        done && code === 0 ? resolve() : reject(new Error(`worker ${taskId} exited ${code}`)),
      );
    });
  });
  await Promise.all(runs);
  const dir = new StateDirectory(root, "threads");
  assert.deepEqual(dir.taskIdsOnDisk(), ["0_0", "0_1", "1_0"]);
  for (const id of ["0_0", "0_1", "1_0"]) {
    const st = dir.task(id).keyValueStore("counts");
    assert.equal(st.approximateNumEntries(), 200);
    assert.equal(s(st.get(b(`${id}-199`))), "19");
    assert.equal(dir.task(id).checkpoint("counts"), 20);
  }
  await dir.destroy();
});
