// Fuzzing the full stack: mutated real-client requests (kafkajs fixtures) against a real broker.
// The server must answer or close each connection, and keep serving.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Broker } from "../../src/broker/index.ts";
import {
  API_DEFINITIONS,
  ApiKey,
  type KafkaServer,
  SUPPORTED,
  serveBroker,
  Writer,
} from "../../src/wire/index.ts";
import { RawClient } from "./raw-client.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "wire", "kafkajs");
const FOLDERS: Record<string, keyof typeof ApiKey> = {
  produce: "Produce",
  listOffsets: "ListOffsets",
  metadata: "Metadata",
  offsetCommit: "OffsetCommit",
  offsetFetch: "OffsetFetch",
  findCoordinator: "FindCoordinator",
  heartbeat: "Heartbeat",
  leaveGroup: "LeaveGroup",
  describeGroups: "DescribeGroups",
  apiVersions: "ApiVersions",
  deleteTopics: "DeleteTopics",
  deleteRecords: "DeleteRecords",
  initProducerId: "InitProducerId",
  addPartitionsToTxn: "AddPartitionsToTxn",
  addOffsetsToTxn: "AddOffsetsToTxn",
  endTxn: "EndTxn",
  txnOffsetCommit: "TxnOffsetCommit",
  describeConfigs: "DescribeConfigs",
  alterConfigs: "AlterConfigs",
  // CreateTopics/CreatePartitions (a mutated count creates millions of partition directories),
  // JoinGroup/SyncGroup and Fetch (they legitimately wait) are left out.
};

function seeds(): Buffer[] {
  const out: Buffer[] = [];
  for (const [folder, api] of Object.entries(FOLDERS)) {
    const key = ApiKey[api];
    const support = SUPPORTED[api]!;
    const def = API_DEFINITIONS.get(key)!;
    for (const file of readdirSync(join(FIXTURES, folder, "fixtures"))) {
      const m = /^v(\d+)_request\.json$/.exec(file);
      if (!m) continue;
      const v = Number(m[1]);
      if (v < support.lowestServed || v > support.max) continue;
      const body = Buffer.from(
        (JSON.parse(readFileSync(join(FIXTURES, folder, "fixtures", file), "utf8")) as { data: number[] })
          .data,
      );
      const w = new Writer();
      w.int32(0);
      w.int16(key);
      w.int16(v);
      w.int32(1);
      w.nstring("fuzz", false);
      if (def.firstFlexibleVersion >= 0 && v >= def.firstFlexibleVersion) w.uvarint(0);
      w.rawBytes(body);
      w.patchInt32(0, w.length - 4);
      out.push(w.finish());
    }
  }
  return out;
}

describe("broker fuzz over the wire", () => {
  let dir: string;
  let broker: Broker;
  let server: KafkaServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "courant-fuzz-"));
    broker = await Broker.open({ dataDir: dir, brokerId: 1, autoCreateTopics: true, defaultPartitions: 2 });
    server = await serveBroker(broker, { port: 0, idleTimeoutMs: 5_000 });
  });
  after(async () => {
    await server?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("mutated requests from real clients", async () => {
    const all = seeds();
    assert.ok(all.length >= 30, `only ${all.length} seeds`);
    const rounds = process.env.COURANT_SOAK ? 20_000 : 300;
    const PROBE = 777777;
    const probe = RawClient.frame(ApiKey.ApiVersions, 0, PROBE, {});
    let rng = 99;
    const rand = (n: number): number => {
      rng = (rng * 1103515245 + 12345) & 0x7fffffff;
      return rng % n;
    };
    const port = server.address.port;
    let answered = 0;
    let closed = 0;
    let c = await RawClient.connect(port);
    for (let i = 0; i < rounds; i++) {
      if (c.isClosed) c = await RawClient.connect(port);
      const seed = Buffer.from(all[rand(all.length)]!);
      // first round per seed unmutated sometimes; else flip bytes after the api key/version
      const flips = rand(5);
      for (let f = 0; f < flips; f++) seed[8 + rand(seed.length - 8)] = rand(256);
      c.writeRaw(Buffer.concat([seed, probe]));
      try {
        for (;;) {
          const frame = await Promise.race([
            c.next(),
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error("slow")), 5000)),
          ]);
          if (frame.readInt32BE(0) === PROBE) break;
        }
        answered++;
      } catch (e) {
        if (e instanceof Error && e.message === "slow") {
          c.close(); // a request that waits (e.g. a transaction timeout) is not a failure
        }
        closed++;
        await c.closed;
      }
    }
    c.close();
    assert.equal(answered + closed, rounds);
    assert.ok(answered > 0);
    const ok = await RawClient.connect(port);
    const meta = await ok.request<{ controllerId: number }>(ApiKey.Metadata, 8, { topics: null });
    assert.equal(meta.controllerId, 1);
    ok.close();
  });
});
