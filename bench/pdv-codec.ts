// PDV frame codec hot paths of the rewards pipeline, per operation: CPU ns (process.cpuUsage, the
// machine is shared) and bytes allocated (young-generation growth between forced GCs).
//   ts->epoch     pdvTimestampToEpochMs(header.timestamp)      (frames app, every frame)
//   epoch->ts     epochMsToPdvTimestamp(ms)                    (coupons app, 3 per push)
//   header        decodeHeaderFields(frame)                    (frames + correlation apps)
//   header+epoch  both, as the frames app does
//   T090 encode   PdvFrameCodec.encode of a coupon push, with its 3 timestamps (coupons app)
//   pair decode   PdvFrameCodec.decode of a T031 request and its response (correlation app)
//   compileAll    a fresh codec compiling every record of the catalog (once per app start)
// Run: node bench/pdv-codec.ts   (re-executes itself with --expose-gc and a large young generation)
import { spawnSync } from "node:child_process";
import { encodePush } from "../apps/rewards/coupons-app.ts";
import type { Reward } from "../apps/rewards/domain/index.ts";
import {
  decodeHeaderFields,
  epochMsToPdvTimestamp,
  PdvFrameCodec,
  pdvTimestampToEpochMs,
  sampleBody,
  createRandom,
} from "../src/pdv/index.ts";

if (typeof globalThis.gc !== "function") {
  const res = spawnSync(
    process.execPath,
    ["--expose-gc", "--min-semi-space-size=64", "--max-semi-space-size=64", ...process.argv.slice(1)],
    { stdio: "inherit" },
  );
  process.exit(res.status ?? 1);
}
const gc = globalThis.gc as () => void;
const SECONDS = Number(process.env.COURANT_BENCH_SECONDS ?? 1);

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

let sink = 0;
/** fn runs one batch of `ops` operations. Returns CPU ns per op and allocated bytes per op. */
function measure(ops: number, fn: () => void): { ns: number; bytes: number } {
  const warm = cpuNs();
  while (cpuNs() - warm < 0.3e9) fn();
  // Allocation: one batch between two full GCs (the batch must fit in the 64 MB semi-space).
  gc();
  const h0 = process.memoryUsage().heapUsed;
  fn();
  const h1 = process.memoryUsage().heapUsed;
  const bytes = Math.max(0, h1 - h0) / ops;
  let n = 0;
  const t0 = cpuNs();
  let t = t0;
  while (t - t0 < SECONDS * 1e9) {
    fn();
    n += ops;
    t = cpuNs();
  }
  return { ns: (t - t0) / n, bytes };
}

const codec = new PdvFrameCodec();
codec.compileAll();
const r = createRandom("bench/pdv-codec");
const DAY = Date.UTC(2026, 5, 14, 6, 0, 0);
const N = 4096;

const epochs: number[] = [];
for (let i = 0; i < N; i++) epochs.push(DAY + r.int(0, 14 * 3_600_000));
const stamps = epochs.map(epochMsToPdvTimestamp);

function header(type: string, direction: "Q" | "R", i: number, ts: string) {
  return {
    type,
    direction,
    version: 1,
    terminalId: 100_000_001 + (i % 9999),
    pdvId: 1_000_001 + (i % 999),
    sequence: 1 + (i % 5000),
    timestamp: ts,
    status: 0,
  };
}

// T031 pairs as the simulator makes them.
const pairs: Array<[Uint8Array, Uint8Array]> = [];
for (let i = 0; i < N; i++) {
  pairs.push([
    codec.encode({ header: header("T031", "Q", i, stamps[i]!), body: sampleBody("T031", "Q", r) }),
    codec.encode({
      header: header("T031", "R", i, stamps[(i + 1) % N]!),
      body: sampleBody("T031", "R", r),
    }),
  ]);
}
const frames = pairs.flat();

// A coupon push as the coupons app builds it (its own encodePush).
const rewards: Reward[] = [];
for (let i = 0; i < N; i++) {
  rewards.push({
    terminalId: 100_000_001 + (i % 9999),
    pdvId: 1_000_001 + (i % 999),
    campaignId: `CAMP-${i % 7}`,
    couponIndex: i,
    couponCode: `C${String(i).padStart(15, "0")}`,
    valueCents: 500 + (i % 1000),
    ticketId: `TK${String(i * 7919).padStart(18, "0")}`,
    day: "2026-06-14",
    betPlacedAt: epochs[i]! - 1_000,
    issuedAt: epochs[i]!,
    status: "issued",
  });
}

const rows: Array<{ name: string; ns: number; bytes: number }> = [];
const run = (name: string, ops: number, fn: () => void): void => {
  rows.push({ name, ...measure(ops, fn) });
};

run("ts->epoch", N, () => {
  for (let i = 0; i < N; i++) sink += pdvTimestampToEpochMs(stamps[i]!);
});
run("epoch->ts", N, () => {
  for (let i = 0; i < N; i++) sink += epochMsToPdvTimestamp(epochs[i]!).length;
});
run("header", frames.length, () => {
  for (let i = 0; i < frames.length; i++) sink += decodeHeaderFields(frames[i]!).sequence;
});
run("header+epoch", frames.length, () => {
  for (let i = 0; i < frames.length; i++)
    sink += pdvTimestampToEpochMs(decodeHeaderFields(frames[i]!).timestamp);
});
run("T090 encode", N, () => {
  for (let i = 0; i < N; i++) sink += encodePush(codec, "I", rewards[i]!, epochs[i]! + 5).length;
});
run("pair decode", N, () => {
  for (let i = 0; i < N; i++) {
    const [q, s] = pairs[i]!;
    sink += codec.decode(q).header.sequence + codec.decode(s).header.sequence;
  }
});
{
  // Once per app start: a few fresh codecs, best CPU time.
  let best = Number.POSITIVE_INFINITY;
  let count = 0;
  for (let k = 0; k < 3; k++) {
    const t0 = cpuNs();
    count = new PdvFrameCodec().compileAll();
    best = Math.min(best, cpuNs() - t0);
  }
  rows.push({ name: `compileAll (${count} records)`, ns: best, bytes: Number.NaN });
}

console.log(`${"case".padEnd(28)}${"CPU ns/op".padStart(12)}${"bytes/op".padStart(10)}`);
for (const row of rows) {
  console.log(
    `${row.name.padEnd(28)}${row.ns.toFixed(0).padStart(12)}${(Number.isNaN(row.bytes) ? "-" : row.bytes.toFixed(0)).padStart(10)}`,
  );
}
const key = (s: string): string =>
  s
    .replace(/\(.*\)/, "")
    .trim()
    .replace(/[^a-zA-Z0-9]+/g, "_")
    .toLowerCase();
const figures: Record<string, number> = {};
for (const row of rows) {
  figures[`${key(row.name)}_ns`] = Math.round(row.ns);
  if (!Number.isNaN(row.bytes)) figures[`${key(row.name)}_bytes`] = Math.round(row.bytes);
}
if (sink === 0.5) console.log(""); // keep the results alive
console.log(JSON.stringify(figures));
