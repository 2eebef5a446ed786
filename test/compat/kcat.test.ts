// kcat (librdkafka 2.0.2) against the broker: metadata, produce, consume, consumer groups, every codec.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isCompressionSupported } from "../../src/log/index.ts";
import { UserStore } from "../../src/wire/index.ts";
import { available, run, startBroker, type TestBroker } from "./harness.ts";

const KCAT = available("kcat");

describe("kcat compatibility", {
  skip: KCAT ? false : "kcat is not installed (apt-get install kcat)",
}, () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(async () => {
    await b?.close();
  });

  test("metadata (-L) lists the broker, with the controller a real node", async () => {
    await b.broker.createTopics({ topics: [{ name: "meta-t", numPartitions: 3 }] });
    const r = await run("kcat", ["-b", b.bootstrap, "-L", "-J"], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    const md = JSON.parse(r.stdout) as {
      brokers: { id: number }[];
      topics: { topic: string; partitions: unknown[] }[];
    };
    assert.deepEqual(
      md.brokers.map((x) => x.id),
      [1],
    );
    assert.equal(md.topics.find((t) => t.topic === "meta-t")?.partitions.length, 3);
  });

  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"] as const) {
    const skip = isCompressionSupported(codec) ? false : `the log does not support ${codec} yet`;
    test(`produce (-P) and consume (-C) with compression ${codec}`, { skip }, async () => {
      const topic = `codec-${codec}`;
      const lines = Array.from({ length: 500 }, (_, i) => `k${i % 7}:value-${i}-${"x".repeat(i % 50)}`);
      const p = await run(
        "kcat",
        ["-b", b.bootstrap, "-P", "-t", topic, "-K:", "-z", codec, "-X", "linger.ms=5"],
        {
          input: `${lines.join("\n")}\n`,
          timeoutMs: 30_000,
        },
      );
      assert.equal(p.code, 0, p.stderr);
      const c = await run(
        "kcat",
        ["-b", b.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k:%s\\n"],
        {
          timeoutMs: 30_000,
        },
      );
      assert.equal(c.code, 0, c.stderr);
      const got = c.stdout.trim().split("\n").sort();
      assert.deepEqual(got, [...lines].sort());
    });
  }

  test("consumer group (-G) reads everything and commits its offsets", async () => {
    const topic = "grp-kcat";
    const lines = Array.from({ length: 200 }, (_, i) => `m${i}`);
    const p = await run("kcat", ["-b", b.bootstrap, "-P", "-t", topic], {
      input: `${lines.join("\n")}\n`,
      timeoutMs: 30_000,
    });
    assert.equal(p.code, 0, p.stderr);
    const c = await run(
      "kcat",
      [
        "-b",
        b.bootstrap,
        "-G",
        "kcat-group",
        "-o",
        "beginning",
        "-e",
        "-f",
        "%s\\n",
        "-X",
        "auto.commit.interval.ms=100",
        topic,
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.trim().split("\n").sort(), [...lines].sort());
    const committed = b.broker.groupOffsets("kcat-group");
    const sum = committed.reduce((s, o) => s + o.value.offset, 0);
    assert.equal(
      sum,
      200,
      `committed ${JSON.stringify(committed.map((o) => [o.partition, o.value.offset]))}`,
    );
  });

  test("transactional produce (-X transactional.id) is visible to read_committed consumers", async () => {
    const topic = "txn-kcat";
    const p = await run("kcat", ["-b", b.bootstrap, "-P", "-t", topic, "-X", "transactional.id=kcat-tx"], {
      input: "a\nb\nc\n",
      timeoutMs: 30_000,
    });
    assert.equal(p.code, 0, p.stderr);
    const c = await run(
      "kcat",
      [
        "-b",
        b.bootstrap,
        "-C",
        "-t",
        topic,
        "-o",
        "beginning",
        "-e",
        "-f",
        "%s\\n",
        "-X",
        "isolation.level=read_committed",
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.trim().split("\n").sort(), ["a", "b", "c"]);
  });
});

describe("kcat with SASL", { skip: KCAT ? false : "kcat is not installed (apt-get install kcat)" }, () => {
  let b: TestBroker;
  before(async () => {
    const users = new UserStore();
    users.add("alice", "s3cret");
    b = await startBroker({ users });
  });
  after(async () => {
    await b?.close();
  });
  for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]) {
    test(`${mechanism}: right password produces and consumes, wrong one is refused`, async () => {
      const auth = (password: string) => [
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        `sasl.mechanisms=${mechanism}`,
        "-X",
        "sasl.username=alice",
        "-X",
        `sasl.password=${password}`,
      ];
      const topic = `sasl-${mechanism.toLowerCase()}`;
      const p = await run("kcat", ["-b", b.bootstrap, ...auth("s3cret"), "-P", "-t", topic], {
        input: "one\ntwo\n",
        timeoutMs: 20_000,
      });
      assert.equal(p.code, 0, p.stderr);
      const c = await run(
        "kcat",
        ["-b", b.bootstrap, ...auth("s3cret"), "-C", "-t", topic, "-o", "beginning", "-e", "-q"],
        {
          timeoutMs: 20_000,
        },
      );
      // the auto-created topic has 4 partitions: order across them is not defined
      assert.deepEqual(c.stdout.trim().split("\n").sort(), ["one", "two"]);
      const bad = await run("kcat", ["-b", b.bootstrap, ...auth("nope"), "-L", "-m", "2"], {
        timeoutMs: 20_000,
      });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /SASL authentication error/);
    });
  }
});
