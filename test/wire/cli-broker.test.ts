// `courant broker start` as a user runs it: prints its address, serves Kafka and ops HTTP, stops on SIGTERM,
// refuses a remote listener without authentication.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { waitFor } from "../../src/observe/index.ts";
import { ApiKey } from "../../src/wire/index.ts";
import { RawClient } from "./raw-client.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "courant.js");

function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, "broker", "start", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, COURANT_LOG_LEVEL: "warn" },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      done = true;
      resolve(code);
    }),
  );
  return { child, exited, out: () => out, err: () => err, done: () => done };
}

test("broker start serves Kafka and ops HTTP, and stops on SIGTERM", async () => {
  const dir = mkdtempSync(join(tmpdir(), "courant-cli-"));
  const b = start(["--data", dir, "--port", "0", "--http-port", "0"]);
  try {
    await waitFor(() => /listening on/.test(b.out()) || b.done(), {
      timeoutMs: 60_000,
      what: "broker start",
    });
    const m = /listening on 127\.0\.0\.1:(\d+) \(PLAINTEXT\).*ops (http:\/\/\S+)/.exec(b.out());
    assert.ok(m, `unexpected output: ${b.out()} ${b.err()}`);
    const c = await RawClient.connect(Number(m[1]));
    const md = await c.request<{ brokers: { nodeId: number; port: number }[]; controllerId: number }>(
      ApiKey.Metadata,
      8,
      {
        topics: null,
      },
    );
    assert.equal(md.controllerId, 1);
    assert.equal(md.brokers[0]!.port, Number(m[1]));
    c.close();
    const ready = await fetch(`${m[2]}/ready`);
    assert.equal(ready.status, 200);
    const metrics = await (await fetch(`${m[2]}/metrics`)).text();
    assert.match(metrics, /courant_wire_connections/);
    b.child.kill("SIGTERM");
    assert.equal(await b.exited, 0);
  } finally {
    // never leave a broker behind: the test process would not exit
    if (!b.done()) b.child.kill("SIGKILL");
    await b.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("broker start refuses a non-loopback address without authentication", async () => {
  const dir = mkdtempSync(join(tmpdir(), "courant-cli-"));
  try {
    const b = start(["--data", dir, "--host", "0.0.0.0", "--port", "0", "--http-port", "0"]);
    assert.equal(await b.exited, 1);
    assert.match(b.err(), /refusing to listen on 0\.0\.0\.0 without authentication/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
