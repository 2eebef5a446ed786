// Copybook codec throughput (one core): decode MB/s and records/s for the Cobrix all-types record, a
// DISPLAY-only record, a COMP-3-heavy record and (when src/pdv exists) the PDV frame mix; plus encode.
// Run: node bench/copybook.ts   (COURANT_BENCH_SECONDS=2 to change the time per case)
import { existsSync, readFileSync } from "node:fs";
import { compileCopybook, type RecordCodec } from "../src/copybook/index.ts";

const SECONDS = Number(process.env.COURANT_BENCH_SECONDS ?? 1.5);

interface Row {
  name: string;
  recordBytes: number;
  decodeMBs: number;
  decodeRecs: number;
  encodeMBs: number;
}

// Throughput per core: bytes per second of CPU time of this process (the machine is shared, wall time
// would count other processes' time slices against us). Single-threaded, so CPU time ~ one core.
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function measure(fn: () => number): number {
  // warm up, then run for SECONDS of CPU; returns bytes per CPU second
  let bytes = 0;
  const warm = cpuSeconds();
  while (cpuSeconds() - warm < 0.3) fn();
  const t0 = cpuSeconds();
  let t = t0;
  while (t - t0 < SECONDS) {
    bytes += fn();
    t = cpuSeconds();
  }
  return bytes / (t - t0);
}

function benchCodec(name: string, codec: RecordCodec, data: Uint8Array, recordLength: number): Row {
  const n = Math.floor(data.length / recordLength);
  const decodeBps = measure(() => {
    let sink = 0;
    for (let i = 0; i < n; i++) {
      const r = codec.decode(data, i * recordLength, (i + 1) * recordLength);
      if (r !== null) sink++;
    }
    return sink * recordLength;
  });
  const records: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) records.push(codec.decode(data, i * recordLength, (i + 1) * recordLength));
  const out = new Uint8Array(codec.maxSize);
  const encodeBps = measure(() => {
    let total = 0;
    for (const r of records) total += codec.encodeInto(r, out, 0);
    return total;
  });
  return {
    name,
    recordBytes: recordLength,
    decodeMBs: decodeBps / 1e6,
    decodeRecs: decodeBps / recordLength,
    encodeMBs: encodeBps / 1e6,
  };
}

// Deterministic pseudo-random generator.
let seed = 12345;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
function rndInt(n: number): number {
  return Math.floor(rnd() * n);
}
const WORDS = ["PARIS", "LYON", "MARSEILLE", "QUINTE", "TIERCE", "ECURIE", "CHEVAL", "JOCKEY", "ARRIVEE"];
function rndText(max: number): string {
  let s = "";
  while (s.length < max - 8) s += `${WORDS[rndInt(WORDS.length)]} `;
  return s.slice(0, rndInt(max) + 1).trimEnd();
}

function makeData(codec: RecordCodec, count: number, gen: () => Record<string, unknown>): Uint8Array {
  const out = new Uint8Array(codec.maxSize * count);
  for (let i = 0; i < count; i++) codec.encodeInto(gen(), out, i * codec.maxSize);
  return out;
}

const rows: Row[] = [];

// 1. Cobrix all-types record (case 06).
const dir = new URL("../test/fixtures/copybook/cobrix/cases/06-type-variety/", import.meta.url).pathname;
{
  const codec = compileCopybook(readFileSync(`${dir}test6_copybook.cob`, "latin1"), {
    floatFormat: "ieee",
    strict: false,
    displaySpaces: true,
    nullDetection: true,
  });
  rows.push(
    benchCodec("cobrix all-types (lenient)", codec, readFileSync(`${dir}INTEGR.TYPES.NOV28.DATA.dat`), 1493),
  );
}

// 2. DISPLAY-only record (text and zoned decimals), 200 bytes.
const displayCopybook = `
       01  CUSTOMER.
           05  CUST-ID            PIC 9(10).
           05  CUST-NAME          PIC X(30).
           05  CUST-CITY          PIC X(20).
           05  CUST-ZIP           PIC 9(5).
           05  CUST-COUNTRY       PIC X(2).
           05  CUST-BALANCE       PIC S9(9)V99.
           05  CUST-LIMIT         PIC 9(7)V99.
           05  CUST-OPENED        PIC 9(8).
           05  CUST-SEGMENT       PIC X(4).
           05  CUST-SCORE         PIC S9(3).
           05  CUST-EMAIL         PIC X(40).
           05  CUST-PHONE         PIC X(15).
           05  CUST-VISITS        PIC 9(6).
           05  CUST-LAST-AMOUNT   PIC S9(7)V99.
           05  CUST-STATUS        PIC X(1).
           05  CUST-NOTES         PIC X(21).
`;
{
  const codec = compileCopybook(displayCopybook, { format: "free", codePage: "cp1147" });
  const data = makeData(codec, 2000, () => ({
    "CUST-ID": rndInt(1e9),
    "CUST-NAME": rndText(30),
    "CUST-CITY": rndText(20),
    "CUST-ZIP": rndInt(99999),
    "CUST-COUNTRY": "FR",
    "CUST-BALANCE": (rndInt(2e9) - 1e9) / 100,
    "CUST-LIMIT": rndInt(1e8) / 100,
    "CUST-OPENED": 20200101 + rndInt(60000),
    "CUST-SEGMENT": "GOLD",
    "CUST-SCORE": rndInt(1999) - 999,
    "CUST-EMAIL": `${rndText(20).replace(/ /g, ".")}@example.fr`,
    "CUST-PHONE": "+33 1 23 45 67",
    "CUST-VISITS": rndInt(999999),
    "CUST-LAST-AMOUNT": (rndInt(2e8) - 1e8) / 100,
    "CUST-STATUS": "A",
    "CUST-NOTES": rndText(21),
  }));
  rows.push(benchCodec("DISPLAY-only (200 B)", codec, data, codec.maxSize));
}

// 3. COMP-3-heavy record.
const comp3Copybook = `
       01  LEDGER.
           05  LED-ACCOUNT        PIC 9(11)   COMP-3.
           05  LED-BRANCH         PIC 9(5)    COMP-3.
           05  LED-CURRENCY       PIC X(3).
           05  LED-OPEN-BAL       PIC S9(13)V99 COMP-3.
           05  LED-CLOSE-BAL      PIC S9(13)V99 COMP-3.
           05  LED-DAY OCCURS 12 TIMES.
               10  LED-DEBIT      PIC S9(9)V99 COMP-3.
               10  LED-CREDIT     PIC S9(9)V99 COMP-3.
               10  LED-COUNT      PIC 9(5)    COMP-3.
           05  LED-RATE           PIC S9(3)V9(6) COMP-3.
           05  LED-UPDATED        PIC 9(17)   COMP-3.
`;
{
  const codec = compileCopybook(comp3Copybook, { format: "free" });
  const data = makeData(codec, 2000, () => ({
    "LED-ACCOUNT": rndInt(1e11),
    "LED-BRANCH": rndInt(99999),
    "LED-CURRENCY": "EUR",
    "LED-OPEN-BAL": (rndInt(2e12) - 1e12) / 100,
    "LED-CLOSE-BAL": (rndInt(2e12) - 1e12) / 100,
    "LED-DAY": Array.from({ length: 12 }, () => ({
      "LED-DEBIT": (rndInt(2e10) - 1e10) / 100,
      "LED-CREDIT": (rndInt(2e10) - 1e10) / 100,
      "LED-COUNT": rndInt(99999),
    })),
    "LED-RATE": (rndInt(2e9) - 1e9) / 1e6,
    "LED-UPDATED": "20260101120000123",
  }));
  rows.push(benchCodec(`COMP-3-heavy (${codec.maxSize} B)`, codec, data, codec.maxSize));
}

// 4. Header-only decode of the DISPLAY record (lazy: 2 fields of 16).
{
  const codec = compileCopybook(displayCopybook, { format: "free", codePage: "cp1147" });
  const data = makeData(codec, 2000, () => ({
    "CUST-ID": rndInt(1e9),
    "CUST-NAME": rndText(30),
    "CUST-CITY": rndText(20),
    "CUST-ZIP": rndInt(99999),
    "CUST-COUNTRY": "FR",
    "CUST-BALANCE": 1,
    "CUST-LIMIT": 1,
    "CUST-OPENED": 20200101,
    "CUST-SEGMENT": "GOLD",
    "CUST-SCORE": 1,
    "CUST-EMAIL": "a@b.fr",
    "CUST-PHONE": "+33",
    "CUST-VISITS": 1,
    "CUST-LAST-AMOUNT": 1,
    "CUST-STATUS": "A",
    "CUST-NOTES": "",
  }));
  const pick = codec.pick(["CUST-ID", "CUST-STATUS"]);
  const len = codec.maxSize;
  const n = data.length / len;
  const bps = measure(() => {
    for (let i = 0; i < n; i++) pick.decode(data, i * len, (i + 1) * len);
    return n * len;
  });
  rows.push({
    name: "DISPLAY header-only pick (2 of 16 fields)",
    recordBytes: len,
    decodeMBs: bps / 1e6,
    decodeRecs: bps / len,
    encodeMBs: Number.NaN,
  });
}

// 5. PDV frame mix, through the PDV layer's public index when it exists.
let pdvMBs: number | null = null;
const pdvIndex = new URL("../src/pdv/index.ts", import.meta.url);
if (existsSync(pdvIndex.pathname)) {
  try {
    const pdv = (await import(pdvIndex.href)) as {
      samplePdvFrames?: (n: number, seed?: number) => Uint8Array[];
      PdvFrameCodec?: new () => { decode(bytes: Uint8Array): unknown };
    };
    if (typeof pdv.samplePdvFrames === "function" && typeof pdv.PdvFrameCodec === "function") {
      const frames = pdv.samplePdvFrames(2000, 1);
      const codec = new pdv.PdvFrameCodec();
      let total = 0;
      for (const f of frames) total += f.length;
      const bps = measure(() => {
        for (const f of frames) codec.decode(f);
        return total;
      });
      pdvMBs = bps / 1e6;
      const avg = total / frames.length;
      rows.push({
        name: "PDV frame mix (src/pdv full decode)",
        recordBytes: Math.round(avg),
        decodeMBs: pdvMBs,
        decodeRecs: bps / avg,
        encodeMBs: Number.NaN,
      });
    }
  } catch (err) {
    console.error(`PDV frame mix skipped: ${(err as Error).message}`);
  }
}

const pad = (s: string, n: number): string => s.padEnd(n);
const num = (x: number, d = 1): string => (Number.isNaN(x) ? "-" : x.toFixed(d)).padStart(12);
console.log(
  `${pad("case", 44)}${"bytes".padStart(7)}${"decode MB/s".padStart(12)}${"records/s".padStart(12)}${"encode MB/s".padStart(12)}`,
);
for (const r of rows) {
  console.log(
    `${pad(r.name, 44)}${String(r.recordBytes).padStart(7)}${num(r.decodeMBs)}${num(r.decodeRecs, 0)}${num(r.encodeMBs)}`,
  );
}
const figures: Record<string, number> = {
  all_types_mb_per_s: +rows[0]!.decodeMBs.toFixed(1),
  all_types_records_per_s: Math.round(rows[0]!.decodeRecs),
  display_mb_per_s: +rows[1]!.decodeMBs.toFixed(1),
  display_records_per_s: Math.round(rows[1]!.decodeRecs),
  comp3_mb_per_s: +rows[2]!.decodeMBs.toFixed(1),
  comp3_records_per_s: Math.round(rows[2]!.decodeRecs),
  display_encode_mb_per_s: +rows[1]!.encodeMBs.toFixed(1),
  comp3_encode_mb_per_s: +rows[2]!.encodeMBs.toFixed(1),
  header_pick_mb_per_s: +rows[3]!.decodeMBs.toFixed(1),
};
if (pdvMBs !== null) figures.pdv_mix_mb_per_s = +pdvMBs.toFixed(1);
console.log(JSON.stringify(figures));
