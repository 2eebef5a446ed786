// The data verbs of the CLI, run as real processes on a temporary data directory.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { EmbeddedCluster } from "../../src/cluster/index.ts";

const CLI = fileURLToPath(new URL("../fixtures/broker/cli.ts", import.meta.url));

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("topics, produce, consume and groups verbs work on one data directory", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, "data");
  assert.equal(run(["topics", "create", "orders", "--partitions", "2", "--data", data]).code, 0);
  const bad = run(["topics", "create", "x", "--config", "retention.ms=never", "--data", data]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /error: .*retention\.ms.*\[INVALID_CONFIG\]/);
  assert.equal(run(["topics", "list", "--data", data]).out, "orders\n");

  const file = join(dir, "in.txt");
  writeFileSync(file, "a=1\nb=2\nc=3\n");
  const p = run(["produce", "orders", "--file", file, "--key-separator", "=", "--data", data]);
  assert.equal(p.code, 0, p.err);
  assert.match(p.err, /produced 3 records/);
  assert.equal(run(["produce", "orders", "--partition", "1", "--data", data], "x\ny\n").code, 0);

  const all = run(["consume", "orders", "--from-beginning", "--max", "5", "--print-key", "--data", data]);
  assert.equal(all.code, 0, all.err);
  assert.deepEqual(all.out.trim().split("\n").sort(), ["a\t1", "b\t2", "c\t3", "null\tx", "null\ty"]);

  const one = run([
    "consume",
    "orders",
    "--partition",
    "1",
    "--from-beginning",
    "--max",
    "1",
    "--print-partition",
    "--print-offset",
    "--data",
    data,
  ]);
  assert.match(one.out, /^1\t0\t/);

  const g = run([
    "consume",
    "orders",
    "--group",
    "readers",
    "--from-beginning",
    "--max",
    "5",
    "--data",
    data,
  ]);
  assert.equal(g.code, 0, g.err);
  assert.equal(g.out.trim().split("\n").length, 5);
  assert.match(run(["groups", "list", "--data", data]).out, /^readers\tEmpty/m);
  const d = run(["groups", "describe", "readers", "--data", data]);
  assert.match(d.out, /orders\s+0\s+\d+\s+\d+\s+0/);
  assert.match(d.out, /orders\s+1\s+\d+\s+\d+\s+0/);
  // Nothing left for the group: a timeout ends the command with no output.
  const again = run(["consume", "orders", "--group", "readers", "--timeout-ms", "200", "--data", data]);
  assert.equal(again.out, "");

  assert.equal(run(["consume", "missing", "--max", "1", "--data", data]).code, 1);
  assert.equal(run(["topics", "delete", "orders", "--data", data]).code, 0);
  assert.equal(run(["topics", "list", "--data", data]).out, "");
});

test("a verb on a data directory held by a running broker fails with a clear error", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cluster = await EmbeddedCluster.open({ dataDir: dir, timerIntervalMs: 0 });
  t.after(() => cluster.close());
  const r = run(["topics", "list", "--data", dir]);
  assert.equal(r.code, 1);
  assert.match(r.err, /^error: .*(lock|in use|held|running).*/im);
  assert.match(r.err, new RegExp(String(process.pid)));
});
