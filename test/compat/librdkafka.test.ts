// librdkafka 2.0.2 through python3-confluent-kafka: idempotence, groups, transactions, EOS, fencing, time lookups.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pythonHasConfluentKafka, run, startBroker, type TestBroker } from "./harness.ts";

const HAVE = pythonHasConfluentKafka();
const SCRIPT = join(import.meta.dirname, "librdkafka_scenarios.py");

describe("librdkafka (confluent_kafka) compatibility", {
  skip: HAVE
    ? false
    : "/usr/bin/python3 with confluent_kafka is missing (apt-get install python3-confluent-kafka)",
}, () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(async () => {
    await b?.close();
  });
  for (const scenario of [
    "idempotent",
    "groups",
    "transactions",
    "consume_transform_produce",
    "fencing",
    "offsets_for_times",
  ]) {
    test(scenario, async () => {
      const r = await run("/usr/bin/python3", [SCRIPT, b.bootstrap, scenario], { timeoutMs: 120_000 });
      const last = r.stdout.trim().split("\n").pop() ?? "";
      assert.equal(r.code, 0, `${last}\n${r.stderr.slice(-3000)}`);
      const res = JSON.parse(last) as { ok: boolean };
      assert.equal(res.ok, true);
    });
  }
});
