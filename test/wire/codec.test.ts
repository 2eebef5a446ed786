// Generated codecs: staleness check, and byte-for-byte round trips of kafkajs's captures from real brokers.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { GENERATED_DIR, generateWire, MESSAGES_DIR } from "../../scripts/gen-wire.ts";
import {
  API_DEFINITIONS,
  ApiKey,
  Reader,
  readConsumerProtocolAssignment,
  readConsumerProtocolSubscription,
  readFetchResponse,
  readProduceRequest,
  WireDecodeError,
  Writer,
  writeConsumerProtocolAssignment,
  writeConsumerProtocolSubscription,
  writeFetchResponse,
} from "../../src/wire/index.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "wire", "kafkajs");

// kafkajs folder -> API key; folders of APIs whose schemas are not in the Kafka schema set are listed as such.
const FOLDER_KEY: Record<string, number | null> = {
  produce: 0,
  fetch: 1,
  listOffsets: 2,
  metadata: 3,
  offsetCommit: 8,
  offsetFetch: 9,
  findCoordinator: 10,
  joinGroup: 11,
  heartbeat: 12,
  leaveGroup: 13,
  syncGroup: 14,
  describeGroups: 15,
  apiVersions: 18,
  createTopics: 19,
  deleteTopics: 20,
  deleteRecords: 21,
  initProducerId: 22,
  addPartitionsToTxn: 24,
  addOffsetsToTxn: 25,
  endTxn: 26,
  txnOffsetCommit: 28,
  describeConfigs: 32,
  alterConfigs: 33,
  saslAuthenticate: 36,
  createPartitions: 37,
  // ACLs and partition reassignment are not part of Courant's schema set.
  describeAcls: null,
  createAcls: null,
  deleteAcls: null,
  alterPartitionReassignments: null,
  listPartitionReassignments: null,
};

function load(path: string): Buffer {
  return Buffer.from((JSON.parse(readFileSync(path, "utf8")) as { data: number[] }).data);
}

function roundTrip(
  bytes: Buffer,
  read: (r: Reader, v: number) => unknown,
  write: (w: Writer, v: number, m: never) => void,
  v: number,
): void {
  const r = new Reader(bytes);
  const decoded = read(r, v);
  assert.equal(r.pos, bytes.length, `decoder consumed ${r.pos} of ${bytes.length} bytes`);
  const w = new Writer();
  write(w, v, decoded as never);
  const out = w.finish();
  assert.equal(out.toString("hex"), bytes.toString("hex"));
}

describe("generated codecs", () => {
  test("committed generated code is up to date with scripts/gen-wire.ts", () => {
    const files = generateWire(MESSAGES_DIR);
    const committed = readdirSync(GENERATED_DIR).sort();
    assert.deepEqual(
      committed,
      [...files.keys()].sort(),
      "generated file set differs: run node scripts/gen-wire.ts",
    );
    for (const [name, text] of files) {
      assert.equal(
        readFileSync(join(GENERATED_DIR, name), "utf8"),
        text,
        `src/wire/generated/${name} is stale: run node scripts/gen-wire.ts`,
      );
    }
  });

  test("the API table covers every API Courant serves", () => {
    for (const name of Object.keys(ApiKey))
      assert.ok(API_DEFINITIONS.get(ApiKey[name as keyof typeof ApiKey]));
    assert.equal(API_DEFINITIONS.get(ApiKey.Fetch)?.maxVersion, 17);
    assert.equal(API_DEFINITIONS.get(ApiKey.Fetch)?.firstFlexibleVersion, 12);
  });
});

describe("kafkajs fixtures decode and re-encode byte for byte", () => {
  const folders = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory());
  let checked = 0;
  for (const folder of folders) {
    const key = FOLDER_KEY[folder.name];
    assert.ok(key !== undefined, `unmapped fixture folder ${folder.name}`);
    if (key === null) continue;
    const api = API_DEFINITIONS.get(key)!;
    const dir = join(FIXTURES, folder.name, "fixtures");
    for (const file of readdirSync(dir).sort()) {
      const m = /^v(\d+)_(request|response)/.exec(file);
      if (!m) continue;
      const v = Number(m[1]);
      const isRequest = m[2] === "request";
      test(`${folder.name}/${file}`, () => {
        const bytes = load(join(dir, file));
        if (file === "v1_response_missing_throttle_time.json") {
          // A v0-format body sent to a v1 request: must fail as v1 (so a client retries) and parse as v0.
          assert.throws(() => roundTrip(bytes, api.readResponse, api.writeResponse, 1), WireDecodeError);
          roundTrip(bytes, api.readResponse, api.writeResponse, 0);
          return;
        }
        if (isRequest) roundTrip(bytes, api.readRequest, api.writeRequest, v);
        else roundTrip(bytes, api.readResponse, api.writeResponse, v);
        checked++;
      });
    }
  }

  // kafkajs writes version 1 in these payloads but the v0 layout (no owned partitions / no trailing
  // fields), so they are decoded with the v0 schema, as Kafka's lenient parser does.
  test("consumer protocol payloads (subscription, assignment)", () => {
    const sub = [
      "joinGroup/fixtures/v1_assignerMetadata.json",
      "joinGroup/fixtures/v2_assignerMetadata.json",
      "describeGroups/fixtures/v1_memberMetadata.json",
    ];
    for (const f of sub) {
      const bytes = load(join(FIXTURES, f));
      const v = bytes.readInt16BE(0);
      const r = new Reader(bytes, 2);
      const s = readConsumerProtocolSubscription(r, 0);
      assert.equal(r.pos, bytes.length);
      const w = new Writer();
      w.int16(v);
      writeConsumerProtocolSubscription(w, 0, s);
      assert.equal(w.finish().toString("hex"), bytes.toString("hex"), f);
    }
    for (const f of [
      "describeGroups/fixtures/v1_memberAssignment.json",
      "syncGroup/fixtures/v1_memberAssignment.json",
    ]) {
      const bytes = load(join(FIXTURES, f));
      const v = bytes.readInt16BE(0);
      const r = new Reader(bytes, 2);
      const a = readConsumerProtocolAssignment(r, 0);
      assert.equal(r.pos, bytes.length);
      const w = new Writer();
      w.int16(v);
      writeConsumerProtocolAssignment(w, 0, a);
      assert.equal(w.finish().toString("hex"), bytes.toString("hex"), f);
    }
  });

  test("fixture count", () => {
    assert.ok(checked >= 150, `only ${checked} fixtures checked`);
  });
});

describe("hostile and edge input", () => {
  test("truncated produce request names the shortfall", () => {
    const bytes = load(join(FIXTURES, "produce/fixtures/v3_request.json"));
    for (let cut = 0; cut < bytes.length; cut += 7) {
      assert.throws(
        () => readProduceRequest(new Reader(bytes.subarray(0, cut)), 3),
        (e: unknown) => e instanceof WireDecodeError && /truncated|array|length/.test(e.message),
      );
    }
  });

  test("huge array length is rejected without allocation", () => {
    const w = new Writer();
    w.nstring(null, false); // transactional id
    w.int16(-1);
    w.int32(30000);
    w.int32(0x7fffffff); // topics array length
    assert.throws(
      () => readProduceRequest(new Reader(w.finish()), 3),
      (e: unknown) => e instanceof WireDecodeError && e.code === "BAD_LENGTH",
    );
  });

  test("flexible fetch response with tagged fields round-trips, records stay as given", () => {
    const records = Buffer.alloc(10_000, 7);
    const msg = {
      throttleTimeMs: 1,
      sessionId: 0,
      responses: [
        {
          topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
          partitions: [
            {
              partitionIndex: 3,
              highWatermark: 2 ** 40,
              lastStableOffset: 99,
              logStartOffset: 0,
              currentLeader: { leaderId: 1, leaderEpoch: 5 },
              abortedTransactions: [{ producerId: 7, firstOffset: 8 }],
              records,
            },
          ],
        },
      ],
      nodeEndpoints: [{ nodeId: 1, host: "h", port: 9092, rack: null }],
    };
    const w = new Writer();
    writeFetchResponse(w, 16, msg);
    const chunks = w.finishChunks();
    assert.ok(
      chunks.some((c) => c === records),
      "large records are passed through by reference",
    );
    const bytes = Buffer.concat(chunks);
    const back = readFetchResponse(new Reader(bytes), 16);
    const p = back.responses[0]!.partitions[0]!;
    assert.equal(p.highWatermark, 2 ** 40);
    assert.deepEqual(p.currentLeader, { leaderId: 1, leaderEpoch: 5 });
    assert.deepEqual(p.abortedTransactions, [{ producerId: 7, firstOffset: 8 }]);
    assert.deepEqual(Buffer.from(p.records!), records);
    assert.equal(back.nodeEndpoints[0]!.host, "h");
    const w2 = new Writer();
    writeFetchResponse(w2, 16, back);
    assert.equal(w2.finish().toString("hex"), bytes.toString("hex"));
  });
});
