// The wire server's own behaviour, independent of the broker: framing, headers, ApiVersions rules,
// ordering of pipelined requests, isolation of connections, SASL, and hostile input.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../../src/observe/index.ts";
import { ApiKey, type ApiSupport, Reader, UserStore, WireServer } from "../../src/wire/index.ts";
import { RawClient } from "./raw-client.ts";

type Handler = { support: ApiSupport; handle: (req: never) => Promise<object> | object };

function testHandlers(port: () => number): Map<number, Handler> {
  const h = new Map<number, Handler>();
  h.set(ApiKey.ApiVersions, { support: { min: 0, max: 3, lowestServed: 0 }, handle: () => ({}) });
  h.set(ApiKey.SaslHandshake, { support: { min: 0, max: 1, lowestServed: 0 }, handle: () => ({}) });
  h.set(ApiKey.SaslAuthenticate, { support: { min: 0, max: 2, lowestServed: 0 }, handle: () => ({}) });
  h.set(ApiKey.Metadata, {
    support: { min: 0, max: 9, lowestServed: 1 },
    handle: () => ({
      brokers: [{ nodeId: 1, host: "127.0.0.1", port: port(), rack: null }],
      clusterId: "test-cluster",
      controllerId: 1,
      topics: [],
    }),
  });
  // Heartbeat stands in for a slow request: it waits as many ms as the generation id says.
  h.set(ApiKey.Heartbeat, {
    support: { min: 0, max: 4, lowestServed: 0 },
    handle: async (req: { generationId: number }) => {
      await new Promise((r) => setTimeout(r, req.generationId));
      return { errorCode: 0 };
    },
  });
  return h;
}

describe("wire server", () => {
  let server: WireServer;
  let port = 0;
  before(async () => {
    server = new WireServer({
      port: 0,
      handlers: testHandlers(() => port),
      frameTimeoutMs: 300,
      maxRequestBytes: 1 << 20,
    });
    ({ port } = await server.listen());
  });
  after(async () => {
    await server.close();
  });

  test("ApiVersions v3 (flexible request header) is answered with a v0 response header", async () => {
    const c = await RawClient.connect(port);
    const res = await c.request<{ errorCode: number; apiKeys: { apiKey: number; minVersion: number }[] }>(
      ApiKey.ApiVersions,
      3,
      { clientSoftwareName: "t", clientSoftwareVersion: "1" },
    );
    assert.equal(res.errorCode, 0);
    assert.ok(res.apiKeys.some((k) => k.apiKey === ApiKey.Metadata && k.minVersion === 0));
    // SASL APIs are advertised only when the server authenticates
    assert.ok(!res.apiKeys.some((k) => k.apiKey === ApiKey.SaslHandshake));
    c.close();
  });

  test("an unsupported ApiVersions version gets a v0 body with UNSUPPORTED_VERSION", async () => {
    const c = await RawClient.connect(port);
    const p = c.next();
    c.writeRaw(frameV(9));
    const frame = await p;
    const r = new Reader(frame);
    assert.equal(r.int32(), 7);
    assert.equal(r.int16(), 35);
    c.close();
  });

  test("pipelined requests are answered in order; a slow one does not block another connection", async () => {
    const a = await RawClient.connect(port);
    const b = await RawClient.connect(port);
    const frames: Buffer[] = [];
    const waits: Promise<Buffer>[] = [];
    frames.push(RawClient.frame(ApiKey.Heartbeat, 3, 1, { groupId: "g", generationId: 300, memberId: "m" }));
    waits.push(a.next());
    for (let i = 2; i <= 50; i++) {
      frames.push(RawClient.frame(ApiKey.Metadata, 4, i, { topics: null, allowAutoTopicCreation: false }));
      waits.push(a.next());
    }
    a.writeRaw(Buffer.concat(frames));
    // meanwhile another connection is served at once
    const t0 = Date.now();
    const meta = await b.request<{ controllerId: number }>(ApiKey.Metadata, 9, { topics: null });
    assert.equal(meta.controllerId, 1);
    assert.ok(Date.now() - t0 < 250, "the other connection was not blocked by the slow request");
    const got = await Promise.all(waits);
    assert.deepEqual(
      got.map((f) => f.readInt32BE(0)),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    a.close();
    b.close();
  });

  test("hostile frames close only their own connection, with the server still serving", async () => {
    const cases: { name: string; bytes: Buffer }[] = [
      { name: "negative size", bytes: Buffer.from([0xff, 0xff, 0xff, 0xff]) },
      { name: "size above max", bytes: int32(1 << 30) },
      { name: "size below header", bytes: Buffer.concat([int32(3), Buffer.alloc(3)]) },
      { name: "unknown api key", bytes: rekey(999) },
      { name: "unserved version", bytes: RawClient.frame(ApiKey.Metadata, 0, 1, { topics: [] }) },
      { name: "truncated body", bytes: truncatedBody() },
      { name: "huge array", bytes: hugeArray() },
    ];
    for (const k of cases) {
      const c = await RawClient.connect(port);
      c.writeRaw(k.bytes);
      await waitFor(() => c.isClosed, { timeoutMs: 2000, what: `close after ${k.name}` });
    }
    // slow sender: half a frame, then nothing
    const slow = await RawClient.connect(port);
    slow.writeRaw(RawClient.frame(ApiKey.Metadata, 4, 1, { topics: null }).subarray(0, 10));
    await waitFor(() => slow.isClosed, { timeoutMs: 3000, what: "slow sender closed" });
    const ok = await RawClient.connect(port);
    const meta = await ok.request<{ clusterId: string }>(ApiKey.Metadata, 4, { topics: null });
    assert.equal(meta.clusterId, "test-cluster");
    ok.close();
  });

  test("fuzz: mutated requests never crash the server", async () => {
    const rounds = process.env.COURANT_SOAK ? 20_000 : 400;
    const seeds = [
      RawClient.frame(ApiKey.Metadata, 8, 1, { topics: [{ name: "t" }] }),
      RawClient.frame(ApiKey.Metadata, 4, 1, { topics: [{ name: "abc" }], allowAutoTopicCreation: true }),
      RawClient.frame(ApiKey.Metadata, 1, 1, { topics: null }),
      RawClient.frame(ApiKey.ApiVersions, 3, 1, { clientSoftwareName: "x", clientSoftwareVersion: "1" }),
    ];
    const PROBE = 424242;
    const probe = RawClient.frame(ApiKey.ApiVersions, 0, PROBE, {});
    let rng = 12345;
    const rand = (n: number): number => {
      rng = (rng * 1103515245 + 12345) & 0x7fffffff;
      return rng % n;
    };
    let closedByServer = 0;
    let answered = 0;
    let c = await RawClient.connect(port);
    for (let i = 0; i < rounds; i++) {
      if (c.isClosed) c = await RawClient.connect(port);
      const seed = Buffer.from(seeds[rand(seeds.length)]!);
      const flips = 1 + rand(4);
      for (let f = 0; f < flips; f++) seed[4 + rand(seed.length - 4)] = rand(256);
      // each mutated request is followed by a valid probe: the server must answer it or close the connection
      c.writeRaw(Buffer.concat([seed, probe]));
      try {
        for (;;) {
          const frame = await Promise.race([
            c.next(),
            new Promise<never>((_, reject) =>
              setTimeout(
                () => reject(new Error(`round ${i}: no answer, no close after ${seed.toString("hex")}`)),
                3000,
              ),
            ),
          ]);
          if (frame.readInt32BE(0) === PROBE) break;
        }
        answered++;
      } catch (e) {
        if (!c.isClosed && !(e instanceof Error && e.message === "connection closed")) throw e;
        closedByServer++;
        await c.closed;
      }
    }
    c.close();
    assert.equal(answered + closedByServer, rounds);
    assert.ok(closedByServer > 0 && answered > 0, `answered ${answered}, closed ${closedByServer}`);
    const ok = await RawClient.connect(port);
    const meta = await ok.request<{ controllerId: number }>(ApiKey.Metadata, 4, { topics: null });
    assert.equal(meta.controllerId, 1);
    ok.close();
    assert.ok(server.isListening);
  });
});

describe("wire server memory budget", () => {
  test("connections beyond the server-wide byte budget pause instead of buffering, then all complete", async () => {
    let port = 0;
    const server = new WireServer({ port: 0, handlers: testHandlers(() => port), maxBufferedBytes: 300_000 });
    ({ port } = await server.listen());
    const names = Array.from({ length: 40 }, (_, i) => `${i}-${"t".repeat(4000)}`);
    const clients = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(port)));
    const frame = RawClient.frame(ApiKey.Metadata, 4, 1, {
      topics: names.map((name) => ({ name })),
      allowAutoTopicCreation: false,
    });
    assert.ok(frame.length > 150_000);
    const answers = clients.map((c) => {
      const p = c.next();
      c.writeRaw(frame);
      return p;
    });
    const got = await Promise.all(answers);
    assert.equal(got.length, 6);
    // six 160 KB frames never sat in memory at once: at most the budget plus what was in flight
    assert.ok(server.peakBufferedBytes < 6 * frame.length, `peak ${server.peakBufferedBytes}`);
    for (const c of clients) c.close();
    await waitFor(() => server.bufferedBytes === 0, { timeoutMs: 2000, what: "budget released" });
    await server.close();
  });
});

describe("wire server with SASL", () => {
  let server: WireServer;
  let port = 0;
  before(async () => {
    const users = new UserStore();
    users.add("alice", "s3cret");
    server = new WireServer({ port: 0, handlers: testHandlers(() => port), users });
    ({ port } = await server.listen());
  });
  after(async () => {
    await server.close();
  });

  test("requests before authentication close the connection", async () => {
    const c = await RawClient.connect(port);
    c.writeRaw(RawClient.frame(ApiKey.Metadata, 4, 1, { topics: null }));
    await waitFor(() => c.isClosed, { timeoutMs: 2000, what: "unauthenticated close" });
  });

  for (const mechanism of ["plain", "scram-sha-256", "scram-sha-512"] as const) {
    test(`kafkajs authenticates with ${mechanism}; a wrong password is refused`, async () => {
      const { Kafka, logLevel } = await import("kafkajs");
      const ok = new Kafka({
        brokers: [`127.0.0.1:${port}`],
        logLevel: logLevel.NOTHING,
        sasl: { mechanism, username: "alice", password: "s3cret" } as never,
        retry: { retries: 0 },
      }).admin();
      await ok.connect();
      const cluster = await ok.describeCluster();
      assert.equal(cluster.controller, 1);
      await ok.disconnect();
      const bad = new Kafka({
        brokers: [`127.0.0.1:${port}`],
        logLevel: logLevel.NOTHING,
        sasl: { mechanism, username: "alice", password: "wrong" } as never,
        retry: { retries: 0 },
      }).admin();
      await assert.rejects(bad.connect(), /SASL|auth/i);
      await bad.disconnect();
    });
  }
});

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function frameV(version: number): Buffer {
  const f = RawClient.frame(ApiKey.ApiVersions, 0, 7, {});
  f.writeInt16BE(version, 6);
  return f;
}

function rekey(key: number): Buffer {
  const f = RawClient.frame(ApiKey.Metadata, 4, 1, { topics: null });
  f.writeInt16BE(key, 4);
  return f;
}

function truncatedBody(): Buffer {
  const f = RawClient.frame(ApiKey.Metadata, 4, 1, { topics: [{ name: "abcdef" }] });
  const cut = f.subarray(0, f.length - 5);
  cut.writeInt32BE(cut.length - 4, 0);
  return cut;
}

function hugeArray(): Buffer {
  const f = RawClient.frame(ApiKey.Metadata, 4, 1, { topics: [] });
  // topics array length sits right after the client id "test": 4 size + 8 header + 2+4 client id
  f.writeInt32BE(0x7ffffff0, 18);
  return f;
}
