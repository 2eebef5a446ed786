import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, test } from "node:test";
import { decodeCommand, encodeCommand } from "../../src/cli/frames.ts";
import {
  encodeLengthPrefixed,
  PdvFrameCodec,
  PdvFrameError,
  readLengthPrefixedFrames,
  samplePdvFrames,
  splitLengthPrefixedFrames,
} from "../../src/pdv/index.ts";

const dir = mkdtempSync(join(tmpdir(), "courant-frames-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const codec = new PdvFrameCodec();

class Collect extends Writable {
  text = "";
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    this.text += chunk.toString();
    cb();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

// 40 sample frames, then an undecodable body, an unknown type, a bad header, and good frames after them.
const good = samplePdvFrames(40, "cli");
const unknown = codec.encode({
  header: {
    type: "T998",
    direction: "Q",
    version: 1,
    terminalId: 9,
    pdvId: 9,
    sequence: 9,
    timestamp: "20260614120000000",
    status: 0,
  },
  bodyBytes: Uint8Array.of(1, 2, 3),
});
const badHeader = good[0]!.slice();
badHeader[4] = 0x00;

test("frames decode prints one JSON object per frame, errors in place, and a summary", async () => {
  // Make sure the bad body really is invalid: put a bad nibble in a packed field of a T031 request.
  const t031q = good.find((f) => {
    const h = codec.decodeHeader(f);
    return h.type === "T031" && h.direction === "Q";
  })!;
  const invalid = t031q.slice();
  invalid[32 + 8] = 0xaa;
  const frames = [...good.slice(0, 20), invalid, unknown, badHeader, ...good.slice(20)];
  const file = join(dir, "mixed.bin");
  writeFileSync(file, concat(frames.map(encodeLengthPrefixed)));
  const out = new Collect();
  const err = new Collect();
  const code = await decodeCommand(file, {}, out, err);
  assert.equal(code, 2);
  const lines = out.text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, frames.length);
  for (const [i, l] of lines.entries()) assert.equal(l.frameIndex, i);
  assert.deepEqual(lines[20].error, {
    code: "BAD_FIELD",
    message: lines[20].error.message,
    frameIndex: 20,
    field: "T031-UNIT-STAKE",
    byteOffset: 40,
  });
  assert.match(lines[20].error.message, /^frame 20, field T031-UNIT-STAKE, byte 40: /);
  assert.equal(lines[21].body, null);
  assert.equal(lines[21].header["FH-TYPE"], "T998");
  assert.equal(lines[21].bodyHex, "010203");
  assert.equal(lines[22].error.field, "FH-DIRECTION");
  assert.equal(lines[22].error.byteOffset, 4);
  // The frames around the bad ones are decoded with the copybook's names.
  assert.equal(typeof lines[23].header["FH-TERMINAL-ID"], "number");
  assert.ok(Object.keys(lines[23].body).every((k: string) => k.startsWith(lines[23].header["FH-TYPE"])));
  assert.match(
    err.text,
    /^43 frames: 40 decoded, 1 header-only, 2 undecodable in \d+ ms; \d+ types \(top: T031 /,
  );
});

test("frames encode reverses decode byte for byte (JSON lines -> length-prefixed frames)", async () => {
  const unknownToo = [...good, unknown];
  const file = join(dir, "good.bin");
  writeFileSync(file, concat(unknownToo.map(encodeLengthPrefixed)));
  const json = new Collect();
  assert.equal(await decodeCommand(file, {}, json, new Collect()), 0);
  const jsonFile = join(dir, "good.jsonl");
  writeFileSync(jsonFile, `${json.text}\n{"not": "a frame"}\nnot json\n`);
  const out = new Collect();
  const err = new Collect();
  assert.equal(await encodeCommand(jsonFile, out, err), 2);
  assert.deepEqual(Buffer.concat(out.chunks), readFileSync(file));
  assert.match(err.text, /line 43: a frame needs a "header" object\nline 44: not JSON/);
  assert.match(err.text, /41 frames encoded, 2 lines refused/);
});

test("a broken length prefix stops decoding with an error object and exit code 1", async () => {
  const file = join(dir, "cut.bin");
  const all = concat(good.slice(0, 3).map(encodeLengthPrefixed));
  writeFileSync(file, all.subarray(0, all.length - 5));
  const out = new Collect();
  const err = new Collect();
  assert.equal(await decodeCommand(file, {}, out, err), 1);
  const lines = out.text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.equal(lines[2].error.code, "BAD_LENGTH_PREFIX");
  assert.equal(lines[2].error.frameIndex, 2);
  assert.match(err.text, /stream broken/);
  const missing = new Collect();
  assert.equal(await decodeCommand(join(dir, "nope.bin"), {}, new Collect(), missing), 1);
  assert.match(missing.text, /cannot read/);
});

test("length-prefixed framing: streaming across chunk boundaries equals one-buffer splitting", async () => {
  const all = concat(good.map(encodeLengthPrefixed));
  async function* chunks(size: number) {
    for (let i = 0; i < all.length; i += size) yield all.subarray(i, i + size);
  }
  const whole = [...splitLengthPrefixedFrames(all)].map((f) => Buffer.from(f.bytes).toString("hex"));
  for (const size of [1, 3, 7, 64, 100_000]) {
    const got: string[] = [];
    for await (const f of readLengthPrefixedFrames(chunks(size)))
      got.push(Buffer.from(f.bytes).toString("hex"));
    assert.deepEqual(got, whole, `chunk ${size}`);
  }
  assert.deepEqual(
    whole,
    good.map((g) => Buffer.from(g).toString("hex")),
  );
  assert.throws(
    () => [...splitLengthPrefixedFrames(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1))],
    PdvFrameError,
  );
  assert.throws(() => [...splitLengthPrefixedFrames(Uint8Array.of(0, 0))], PdvFrameError);
});

test("the courant binary wires the verbs (decode from a file, catalog)", () => {
  const file = join(dir, "two.bin");
  writeFileSync(file, concat(good.slice(0, 2).map(encodeLengthPrefixed)));
  const bin = new URL("../../bin/courant.js", import.meta.url).pathname;
  const res = spawnSync(process.execPath, [bin, "frames", "decode", file], { encoding: "utf8" });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trimEnd().split("\n").length, 2);
  assert.match(res.stderr, /2 frames: 2 decoded/);
  const cat = spawnSync(process.execPath, [bin, "frames", "catalog"], { encoding: "utf8" });
  assert.equal(cat.status, 0, cat.stderr);
  assert.ok(cat.stdout.trimEnd().split("\n").length >= 156);
  assert.match(cat.stdout, /T090 {2}courant/);
});
