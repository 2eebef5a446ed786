// `courant start` (npm start) end to end: runs, prints the ops URLs and live progress, stops by
// itself with --duration, and a second start resumes (state kept, coupons not reloaded, the
// simulator goes on with the next day). Also the CLI verbs' clear errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const dir = mkdtempSync(join(tmpdir(), "courant-start-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function courant(args: string[], timeoutMs = 120_000): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ["bin/courant.js", ...args], {
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, COURANT_LOG_LEVEL: "error" },
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test("courant start runs the whole system for --duration, and a second start resumes", {
  timeout: 300_000,
}, () => {
  const data = join(dir, "data");
  const args = [
    "start",
    "--data",
    data,
    "--port",
    "0",
    "--wire-port",
    "0",
    "--rate",
    "400",
    "--terminals",
    "20",
  ];
  const first = courant([...args, "--duration", "8"]);
  assert.equal(first.status, 0, first.out);
  assert.match(first.out, /kafka protocol\s+127\.0\.0\.1:\d+/);
  assert.match(first.out, /campaigns\s+QUINTE-2026, IDF-COUPLE, R1C3-BOOST/);
  assert.match(first.out, /12900 codes loaded/);
  for (const app of ["rewards-frames", "rewards-correlation", "rewards-coupons"]) {
    assert.match(first.out, new RegExp(`${app}\\s+http://127\\.0\\.0\\.1:\\d+/metrics`));
  }
  assert.match(first.out, /frames\/s .*bets \d+ .*coupons \+\d+ -\d+ .*budget .*dlq \d+ .*lag \d+ .*p99/);
  assert.match(first.out, /from 2026-06-14 \(run 1\)/);
  assert.match(first.out, /stopped cleanly/);
  const memory = JSON.parse(readFileSync(join(data, "simulator.json"), "utf8")) as {
    runs: number;
    lastDay: string;
  };
  assert.equal(memory.runs, 1);

  const second = courant([...args, "--duration", "5"]);
  assert.equal(second.status, 0, second.out);
  assert.match(second.out, /coupons\s+already loaded/);
  assert.match(second.out, /\(run 2\)/);
  assert.match(second.out, /stopped cleanly/);
});

test("CLI: campaigns apply names the file and field of a bad campaign, and exits 1", () => {
  const bad = join(dir, "bad.yaml");
  writeFileSync(
    bad,
    "campaigns:\n  - id: X\n    period: { from: 2026-01-01, to: 2026-01-02 }\n    couponValue: -1\n    capPerPdvPerDay: 1\n    totalBudget: 10\n",
  );
  const r = courant(["rewards", "campaigns", "apply", bad, "--data", join(dir, "cli-data")]);
  assert.equal(r.status, 1);
  assert.match(r.out, /CAMPAIGN_INVALID/);
  assert.match(r.out, /bad\.yaml: \[0\]\.couponValue/);
});
