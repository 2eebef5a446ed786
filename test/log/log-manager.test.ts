import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isLogError, type LogErrorCode, LogManager, parseTopicConfig } from "../../src/log/index.ts";
import { waitFor } from "../../src/observe/index.ts";
import { batch, openManager, rmDir, tmpDir } from "./helpers.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];
function dir(): string {
  const d = tmpDir();
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmDir(d);
});

function code(c: LogErrorCode, re?: RegExp) {
  return (e: unknown) => isLogError(e, c) && (re === undefined || re.test((e as Error).message));
}

describe("topic config", () => {
  test("valid configs parse; bad ones fail naming topic, entry and rule", () => {
    const c = parseTopicConfig("t", {
      "cleanup.policy": "compact,delete",
      "retention.ms": "-1",
      "segment.bytes": "1048576",
      "min.compaction.lag.ms": "10",
      "message.timestamp.type": "LogAppendTime",
      "flush.policy": "every-batch",
    });
    assert.deepEqual(c.cleanupPolicy, { delete: true, compact: true });
    assert.equal(c.retentionMs, -1);
    assert.equal(c.messageTimestampType, "LogAppendTime");
    assert.equal(c.flushMode, "every-batch");
    const bad: [Record<string, string>, RegExp][] = [
      [{ "cleanup.policy": "forever" }, /topic "t": cleanup.policy="forever": must be "delete", "compact"/],
      [{ "retention.ms": "soon" }, /retention.ms="soon": not an integer/],
      [{ "retention.bytes": "-5" }, /retention.bytes="-5": must be -1 \(unlimited\) or >= 0/],
      [{ "segment.bytes": "10" }, /segment.bytes="10": must be >= 14/],
      [{ "segment.bytes": "4294967296" }, /32-bit/],
      [{ "min.compaction.lag.ms": "-1" }, /must be >= 0/],
      [{ "delete.retention.ms": "1.5" }, /not an integer/],
      [{ "message.timestamp.type": "Now" }, /CreateTime/],
      [{ "flush.policy": "sometimes" }, /every-batch/],
      [{ "retention.msec": "1" }, /unknown config "retention.msec" for topic "t"/],
      [{ "min.compaction.lag.ms": "100", "max.compaction.lag.ms": "50" }, /max.compaction.lag.ms/],
    ];
    for (const [cfg, re] of bad) assert.throws(() => parseTopicConfig("t", cfg), code("INVALID_CONFIG", re));
  });
});

describe("log manager", () => {
  test("create/describe/alter/add partitions/delete persist across restarts", async () => {
    const d = dir();
    const { mgr } = await openManager(d);
    const info = mgr.createTopic("orders", 3, { "cleanup.policy": "compact", "segment.bytes": "100000" });
    assert.equal(info.partitions, 3);
    assert.equal(mgr.partitionCount("orders"), 3);
    assert.equal(info.effectiveConfig["cleanup.policy"], "compact");
    assert.equal(info.effectiveConfig["retention.ms"], "604800000");
    assert.throws(() => mgr.createTopic("orders", 1), code("TOPIC_ALREADY_EXISTS"));
    assert.throws(
      () => mgr.createTopic("bad/name", 1),
      code("INVALID_TOPIC_EXCEPTION", /illegal character "\/"/),
    );
    assert.throws(() => mgr.createTopic("x", 0), code("INVALID_PARTITIONS"));
    assert.throws(() => mgr.createTopic("y", 1, { "retention.ms": "x" }), code("INVALID_CONFIG"));
    assert.equal(mgr.hasTopic("y"), false, "nothing is created when the config is invalid");
    mgr.partition("orders", 1).append(batch(2, {}, "o"));
    mgr.alterTopicConfig("orders", { "retention.ms": "1000", "segment.bytes": null });
    assert.throws(() => mgr.alterTopicConfig("orders", { "segment.bytes": "1" }), code("INVALID_CONFIG"));
    assert.equal(mgr.describeTopic("orders").config["retention.ms"], "1000");
    assert.equal(mgr.describeTopic("orders").config["segment.bytes"], undefined);
    mgr.addPartitions("orders", 5);
    assert.throws(() => mgr.addPartitions("orders", 4), code("INVALID_PARTITIONS", /has 5 partitions/));
    mgr.createTopic(".hidden_ok", 1);
    mgr.createTopic("gone", 2);
    mgr.partition("gone", 0).append(batch(1));
    mgr.deleteTopic("gone");
    assert.throws(() => mgr.partition("gone", 0), code("UNKNOWN_TOPIC_OR_PARTITION"));
    assert.throws(() => mgr.partition("orders", 9), code("UNKNOWN_TOPIC_OR_PARTITION", /no partition 9/));
    await mgr.close();
    assert.throws(() => mgr.listTopics(), code("LOG_CLOSED"));

    const { mgr: m2 } = await openManager(d);
    assert.deepEqual(m2.listTopics(), [".hidden_ok", "orders"]);
    const o = m2.describeTopic("orders");
    assert.equal(o.partitions, 5);
    assert.deepEqual(o.config, { "cleanup.policy": "compact", "retention.ms": "1000" });
    assert.equal(m2.partition("orders", 1).logEndOffset, 2);
    assert.equal(m2.partition("orders", 4).logEndOffset, 0);
    assert.equal(fs.existsSync(path.join(d, "topics", "gone")), false);
    await m2.close();
  });

  test("broker defaults apply under topic overrides and are validated", async () => {
    const d = dir();
    await assert.rejects(
      LogManager.open({ dataDir: d, defaultTopicConfig: { "flush.policy": "never" } }),
      code("INVALID_CONFIG"),
    );
    const { mgr } = await openManager(d, { defaultTopicConfig: { "flush.policy": "every-batch" } });
    mgr.createTopic("a", 1);
    mgr.createTopic("b", 1, { "flush.policy": "os" });
    assert.equal(mgr.partition("a", 0).config.flushMode, "every-batch");
    assert.equal(mgr.partition("b", 0).config.flushMode, "os");
    await mgr.close();
  });

  test("the data directory lock: a live holder is refused clearly, a dead one's stale lock is taken over", async () => {
    const d = dir();
    const { mgr } = await openManager(d);
    await assert.rejects(
      LogManager.open({ dataDir: d }),
      code("LOG_DIR_LOCKED", /already open in this process/),
    );
    await mgr.close();

    const child = spawn(process.execPath, [path.join(here, "../fixtures/log/hold-lock.ts"), d], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    await waitFor(() => out.includes("ready"), { timeoutMs: 20_000, what: "child holding the lock" });
    await assert.rejects(
      LogManager.open({ dataDir: d }),
      code("LOG_DIR_LOCKED", new RegExp(`in use by process ${child.pid}`)),
    );
    const exited = new Promise((r) => child.on("exit", r));
    child.kill("SIGKILL");
    await exited;
    assert.equal(
      fs.readFileSync(path.join(d, ".lock"), "utf8").trim(),
      String(child.pid),
      "stale lock left behind",
    );
    const { mgr: m2 } = await openManager(d);
    assert.ok(m2.hasTopic(`held-${child.pid}`));
    assert.equal(fs.readFileSync(path.join(d, ".lock"), "utf8").trim(), String(process.pid));
    await m2.close();
    assert.equal(fs.existsSync(path.join(d, ".lock")), false);
  });
});
