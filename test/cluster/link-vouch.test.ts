// A worker's produce over a cluster link: batches its own encoder made travel vouched for and are
// appended without re-checking their CRC and framing (as the broker thread's own producers'), while
// anything else is checked in full, and a compacted topic still refuses a record without a key.
// Driven at the protocol level from this thread: the serving side sees what a LinkedCluster sends.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MessageChannel, type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import { EmbeddedCluster } from "../../src/cluster/index.ts";
import { encodeRecordBatch } from "../../src/log/index.ts";
import { waitFor } from "../../src/observe/index.ts";

const enc = (s: string) => Buffer.from(s, "utf8");

interface Reply {
  id: number;
  v?: { responses: { partitions: { errorCode: string; errorMessage?: string | null }[] }[] };
  e?: { code?: string; message?: string };
}

async function served(t: { after(fn: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), "courant-vouch-"));
  const cluster = await EmbeddedCluster.open({ dataDir: dir });
  t.after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await cluster.admin().createTopics([
    { name: "plain", partitions: 1 },
    { name: "compacted", partitions: 1, config: { "cleanup.policy": "compact" } },
  ]);
  const { port1, port2 } = new MessageChannel();
  cluster.serveLink(port1);
  const replies = new MessageChannel();
  const state = new Int32Array(new SharedArrayBuffer(8));
  port2.postMessage({ k: "hello", syncPort: replies.port2, state }, [replies.port2]);
  let id = 0;
  /** One produce call as the worker's end sends it; resolves with the broker's answer. */
  const produce = async (topic: string, records: Uint8Array, vouch: boolean | null): Promise<Reply> => {
    const callId = ++id;
    port2.postMessage({
      k: "call",
      id: callId,
      m: "produceSync",
      a: [
        { transactionalId: null, acks: -1, topics: [{ name: topic, partitions: [{ index: 0, records }] }] },
        [[vouch]],
      ],
      sync: true,
    });
    let reply: Reply | undefined;
    await waitFor(
      () => {
        const r = receiveMessageOnPort(replies.port1 as MessagePort);
        if (r !== undefined && (r.message as Reply).id === callId) reply = r.message as Reply;
        return reply !== undefined;
      },
      { timeoutMs: 10_000, what: `the answer to produce ${callId}` },
    );
    return reply!;
  };
  return { cluster, produce };
}

function corrupted(): Uint8Array {
  const b = encodeRecordBatch([{ key: enc("k"), value: enc("value") }], { timestamp: 1 });
  b[b.length - 3]! ^= 0xff; // inside the value: the CRC no longer matches
  return b;
}

test("over a link, a vouched batch is appended unchecked; an unvouched one is checked in full", async (t) => {
  const { produce } = await served(t);
  const unvouched = await produce("plain", corrupted(), null);
  const code = unvouched.e?.code ?? unvouched.v?.responses[0]?.partitions[0]?.errorCode;
  assert.equal(code, "CORRUPT_MESSAGE", JSON.stringify(unvouched));
  // Vouched: the worker's encoder made it and nothing touched it since, so the CRC is not recomputed
  // (the corruption here is the test's own doing, after the encoder).
  const vouched = await produce("plain", corrupted(), true);
  assert.equal(vouched.v?.responses[0]?.partitions[0]?.errorCode, "NONE", JSON.stringify(vouched));
});

test("over a link, a vouched batch with a keyless record is still refused by a compacted topic", async (t) => {
  const { produce } = await served(t);
  const keyless = encodeRecordBatch([{ key: null, value: enc("v") }], { timestamp: 1 });
  const r = await produce("compacted", keyless, false);
  const code = r.e?.code ?? r.v?.responses[0]?.partitions[0]?.errorCode;
  assert.notEqual(code, "NONE", JSON.stringify(r));
  assert.match(JSON.stringify(r), /key/i);
  const keyed = encodeRecordBatch([{ key: enc("k"), value: enc("v") }], { timestamp: 1 });
  const ok = await produce("compacted", keyed, true);
  assert.equal(ok.v?.responses[0]?.partitions[0]?.errorCode, "NONE", JSON.stringify(ok));
});
