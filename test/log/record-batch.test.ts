import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import {
  crc32c,
  decodeBatchRecords,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
  isLogError,
  iterateBatches,
  parseControlRecord,
  readBatchHeader,
  validateRecordBatch,
} from "../../src/log/index.ts";
import { crc32c as crc32cJs } from "../../src/log/crc32c.ts";
import { b, str } from "./helpers.ts";

const require = createRequire(import.meta.url);

describe("CRC-32C", () => {
  test("known vector and JS = native on random data", () => {
    assert.equal(crc32c(b("123456789")), 0xe3069283);
    assert.equal(crc32cJs(b("123456789")), 0xe3069283);
    const data = Buffer.alloc(100_003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + 13) & 0xff;
    for (const [s, e] of [
      [0, data.length],
      [3, 1000],
      [21, 77_777],
      [5, 5],
    ] as const) {
      assert.equal(crc32cJs(data, s, e), crc32c(data, s, e));
    }
  });
});

describe("record batch codec", () => {
  test("round trip: keys, null values, headers, timestamps, producer fields", () => {
    const buf = encodeRecordBatch(
      [
        {
          key: b("a"),
          value: b("1"),
          timestamp: 5000,
          headers: [
            { key: "h1", value: b("x") },
            { key: "ü", value: null },
          ],
        },
        { key: null, value: null, timestamp: 4000 },
        { key: b(""), value: b("3".repeat(300)), timestamp: 2 ** 41 },
      ],
      { baseOffset: 42, producerId: 2 ** 40 + 3, producerEpoch: 7, baseSequence: 11, transactional: true },
    );
    const { header: h, records } = decodeRecordBatch(buf);
    assert.equal(h.baseOffset, 42);
    assert.equal(h.lastOffset, 44);
    assert.equal(h.recordCount, 3);
    assert.equal(h.magic, 2);
    assert.equal(h.producerId, 2 ** 40 + 3);
    assert.equal(h.producerEpoch, 7);
    assert.equal(h.baseSequence, 11);
    assert.equal(h.isTransactional, true);
    assert.equal(h.isControl, false);
    assert.equal(h.maxTimestamp, 2 ** 41);
    assert.equal(h.sizeInBytes, buf.length);
    assert.deepEqual(
      records.map((r) => [r.offset, str(r.key), r.value === null ? null : r.value.length, r.timestamp]),
      [
        [42, "a", 1, 5000],
        [43, null, null, 4000],
        [44, "", 300, 2 ** 41],
      ],
    );
    assert.deepEqual(
      records[0]!.headers.map((x) => [x.key, str(x.value)]),
      [
        ["h1", "x"],
        ["ü", null],
      ],
    );
  });

  for (const compression of ["gzip", "zstd", "snappy", "lz4"] as const) {
    test(`compression ${compression} round trip`, () => {
      const records = Array.from({ length: 500 }, (_, i) => ({
        key: b(`k${i}`),
        value: b(`value-${i % 7}`.repeat(5)),
      }));
      const buf = encodeRecordBatch(records, { compression, timestamp: 1 });
      const plain = encodeRecordBatch(records, { timestamp: 1 });
      assert.ok(
        buf.length < plain.length / 2,
        `${compression} should compress (${buf.length} vs ${plain.length})`,
      );
      const d = decodeRecordBatch(buf);
      assert.equal(d.header.compression, compression);
      assert.equal(d.records.length, 500);
      assert.equal(str(d.records[499]!.value), records[499]!.value.toString());
    });
  }

  test("control batch (transaction marker)", () => {
    const buf = encodeControlBatch({
      type: "abort",
      producerId: 9,
      producerEpoch: 2,
      coordinatorEpoch: 5,
      timestamp: 77,
    });
    const { header, records } = decodeRecordBatch(buf);
    assert.equal(header.isControl, true);
    assert.equal(header.isTransactional, true);
    assert.equal(header.baseSequence, -1);
    assert.equal(records.length, 1);
    assert.deepEqual(parseControlRecord(records[0]!.key, records[0]!.value), {
      type: "abort",
      typeId: 0,
      coordinatorEpoch: 5,
    });
    const unknown = Buffer.from([0, 0, 0, 7]);
    assert.equal(parseControlRecord(unknown, null).type, "unknown");
  });

  test("corruption is detected with a clear error", () => {
    const buf = encodeRecordBatch([{ value: b("hello") }], { timestamp: 1 });
    const flipped = Buffer.from(buf);
    flipped[flipped.length - 2]! ^= 0x10;
    assert.throws(
      () => validateRecordBatch(flipped),
      (e: unknown) => isLogError(e, "CORRUPT_MESSAGE") && /CRC-32C/.test((e as Error).message),
    );
    assert.throws(
      () => validateRecordBatch(buf.subarray(0, buf.length - 1)),
      (e: unknown) => isLogError(e, "CORRUPT_MESSAGE") && /truncated/.test((e as Error).message),
    );
    const badMagic = Buffer.from(buf);
    badMagic[16] = 1;
    assert.throws(() => validateRecordBatch(badMagic), /magic 1/);
    assert.throws(() => readBatchHeader(buf.subarray(0, 30)), /truncated/);
    assert.throws(
      () => encodeRecordBatch([]),
      (e: unknown) => isLogError(e, "INVALID_RECORD"),
    );
  });

  test("iterateBatches stops at a partial trailing batch (as clients do with fetch responses)", () => {
    const a = encodeRecordBatch([{ value: b("a") }], { baseOffset: 0, timestamp: 1 });
    const c = encodeRecordBatch([{ value: b("c") }, { value: b("d") }], { baseOffset: 1, timestamp: 1 });
    const all = Buffer.concat([a, c, c.subarray(0, 20)]);
    assert.deepEqual(
      [...iterateBatches(all, true)].map((x) => [x.header.baseOffset, x.position]),
      [
        [0, 0],
        [1, a.length],
      ],
    );
    assert.equal(decodeRecordBatches(all).flatMap((d) => d.records).length, 3);
  });

  test("interop with kafkajs: its batches decode here, ours decode there", async () => {
    const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js");
    const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");
    const Decoder = require("kafkajs/src/protocol/decoder.js");
    const batchDecoder = require("kafkajs/src/protocol/recordBatch/v0/decoder.js");
    const { Types } = require("kafkajs/src/protocol/message/compression/index.js");
    const enc = await RecordBatch({
      compression: Types.GZIP,
      firstTimestamp: 1000,
      maxTimestamp: 1002,
      lastOffsetDelta: 2,
      records: [0, 1, 2].map((i) =>
        Record({
          offsetDelta: i,
          timestampDelta: i,
          key: b(`k${i}`),
          value: b(`v${i}`),
          headers: { h: b(`x${i}`) },
        }),
      ),
    });
    const theirs: Buffer = enc.buffer;
    const mine = decodeRecordBatch(theirs);
    assert.equal(mine.header.compression, "gzip");
    assert.deepEqual(
      mine.records.map((r) => [r.offset, str(r.key), str(r.value), r.timestamp, str(r.headers[0]!.value)]),
      [
        [0, "k0", "v0", 1000, "x0"],
        [1, "k1", "v1", 1001, "x1"],
        [2, "k2", "v2", 1002, "x2"],
      ],
    );
    const ours = encodeRecordBatch(
      [
        { key: b("a"), value: b("1"), timestamp: 10, headers: [{ key: "hk", value: b("hv") }] },
        { key: null, value: b("2"), timestamp: 12 },
      ],
      { baseOffset: 100, compression: "gzip" },
    );
    const decoded = await batchDecoder(new Decoder(ours));
    assert.equal(decoded.firstOffset, "100");
    assert.deepEqual(
      decoded.records.map((r: { offset: string; key: Buffer | null; value: Buffer; timestamp: string }) => [
        r.offset,
        r.key?.toString() ?? null,
        r.value.toString(),
        r.timestamp,
      ]),
      [
        ["100", "a", "1", "10"],
        ["101", null, "2", "12"],
      ],
    );
  });
});

describe("snappy and lz4 interoperate with @platformatic/kafka's codecs", () => {
  test("both directions, and xerial-framed snappy (Java producers) is read", async () => {
    const w = (await import("@platformatic/wasm-utils")) as unknown as {
      lz4Compress(d: Uint8Array): Uint8Array;
      lz4Decompress(d: Uint8Array): Uint8Array;
      snappyCompress(d: Uint8Array): Uint8Array;
      snappyDecompress(d: Uint8Array): Uint8Array;
    };
    const { lz4Compress, lz4Decompress } = await import("../../src/log/lz4.ts");
    const { snappyCompress, snappyCompressRaw, snappyDecompress } = await import("../../src/log/snappy.ts");
    for (const data of [
      Buffer.from("hello hello hello world ".repeat(5000) + "xyz"),
      Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24)),
      Buffer.alloc(0),
    ]) {
      assert.ok(lz4Decompress(w.lz4Compress(data)).equals(data));
      assert.ok(Buffer.from(w.lz4Decompress(lz4Compress(data))).equals(data));
      assert.ok(snappyDecompress(w.snappyCompress(data)).equals(data));
      assert.ok(Buffer.from(w.snappyDecompress(snappyCompressRaw(data))).equals(data));
      assert.ok(snappyDecompress(snappyCompress(data)).equals(data));
    }
    assert.throws(() => lz4Decompress(Buffer.from("not lz4 at all")), /bad magic/);
  });
});

describe("header keys", () => {
  test("decode right across many distinct keys (same lengths, non-ASCII, more than are kept) and repeats", () => {
    const keys = Array.from({ length: 40 }, (_, i) =>
      i % 5 === 0 ? `ключ-${i}` : `key-${String(i).padStart(2, "0")}`,
    );
    keys.push("", "é", "e", "k".repeat(100));
    for (let round = 0; round < 3; round++) {
      const records = keys.map((k, i) => ({
        key: Buffer.from(`r${i}`),
        value: Buffer.from(`v${i}`),
        headers: [
          { key: k, value: Buffer.from(k) },
          { key: keys[(i + round) % keys.length]!, value: null },
        ],
      }));
      const decoded = decodeBatchRecords(encodeRecordBatch(records, { timestamp: 1 }), 0);
      assert.deepEqual(
        decoded.map((r) => r.headers.map((h) => h.key)),
        records.map((r) => r.headers.map((h) => h.key)),
      );
      for (const r of decoded) assert.equal(Buffer.from(r.headers[0]!.value!).toString(), r.headers[0]!.key);
    }
  });
});

describe("decodeBatchRecords window", () => {
  test("minOffset skips records and limit caps them; the result equals a slice of the full decode", () => {
    const records = Array.from({ length: 10 }, (_, i) => ({
      key: b(`k${i}`),
      value: b(`v${i}`),
      headers: i % 2 ? [{ key: "h", value: b(String(i)) }] : [],
    }));
    const bytes = encodeRecordBatch(records, { baseOffset: 100, timestamp: 5 });
    const all = decodeBatchRecords(bytes, 0);
    for (const [min, limit] of [
      [0, Number.POSITIVE_INFINITY],
      [103, 4],
      [105, 1],
      [109, 5],
      [110, 3],
      [100, 0],
    ] as const) {
      const got = decodeBatchRecords(bytes, 0, min, limit);
      const want = all.filter((r) => r.offset >= min).slice(0, limit);
      assert.deepEqual(got, want, `min ${min} limit ${limit}`);
    }
  });
});

test("header keys: many records with a few keys (remembered) and others in turn, ASCII or not, round trip", () => {
  const keys = ["courant.source", "courant.ingest", "trace-é", "courant.source", "x", "courant.ingest"];
  const records = Array.from({ length: 60 }, (_, i) => ({
    key: b(`k${i}`),
    value: b(`v${i}`),
    headers: [
      { key: keys[i % keys.length]!, value: b(`h${i}`) },
      { key: keys[(i + 1) % keys.length]!, value: null },
      { key: `fresh-${i % 7}`, value: b("") },
    ],
  }));
  const back = decodeBatchRecords(encodeRecordBatch(records, { timestamp: 1 }));
  assert.equal(back.length, records.length);
  for (let i = 0; i < records.length; i++) {
    assert.deepEqual(
      back[i]!.headers.map((h) => [h.key, h.value === null ? null : str(h.value)]),
      records[i]!.headers.map((h) => [h.key, h.value === null ? null : str(h.value)]),
    );
  }
});
