// OffsetDelete over the wire (librdkafka 0081 aborts the client when the API is missing).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Broker } from "../../src/broker/index.ts";
import { ApiKey, serveBroker } from "../../src/wire/index.ts";
import { RawClient } from "./raw-client.ts";

test("OffsetDelete removes a committed offset of an Empty group", async () => {
  const dir = mkdtempSync(join(tmpdir(), "courant-offdel-"));
  const broker = await Broker.open({ dataDir: dir, timerIntervalMs: 0 });
  const server = await serveBroker(broker, { port: 0 });
  const c = await RawClient.connect(server.address.port);
  try {
    broker.createTopics({ topics: [{ name: "t", numPartitions: 2 }] });
    const commit = broker.offsetCommit({
      groupId: "g",
      generationId: -1,
      memberId: "",
      topics: [
        { name: "t", partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] },
      ],
    });
    assert.equal(commit[0]!.partitions[0]!.errorCode, "NONE");
    const res = await c.request<{
      errorCode: number;
      topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
    }>(ApiKey.OffsetDelete, 0, {
      groupId: "g",
      topics: [{ name: "t", partitions: [{ partitionIndex: 0 }] }],
    });
    assert.equal(res.errorCode, 0);
    assert.deepEqual(res.topics, [{ name: "t", partitions: [{ partitionIndex: 0, errorCode: 0 }] }]);
    const fetched = broker.offsetFetch({ groupId: "g", topics: [{ name: "t", partitionIndexes: [0] }] });
    assert.equal(fetched.topics[0]?.partitions[0]?.committedOffset, -1);
  } finally {
    c.close();
    await server.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
