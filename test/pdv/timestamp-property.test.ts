// Property tests: the arithmetic FH-TIMESTAMP conversions give exactly what the string-based
// reference implementation gives (same value, or the same error code and message), over random
// instants, every DST transition of 1996-2100 to the millisecond around the switch, year ends,
// and malformed inputs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PdvFrameError } from "../../src/pdv/errors.ts";
import { createRandom } from "../../src/pdv/random.ts";
import { epochMsToPdvTimestamp, parisOffsetMs, pdvTimestampToEpochMs } from "../../src/pdv/timestamp.ts";
import * as ref from "./timestamp-reference.ts";

const HOUR = 3_600_000;

function outcome<T>(f: () => T): T | string {
  try {
    return f();
  } catch (e) {
    if (e instanceof PdvFrameError) return `${e.code}: ${e.message}`;
    throw e;
  }
}

function sameToDigits(t: number): void {
  assert.equal(
    outcome(() => epochMsToPdvTimestamp(t)),
    outcome(() => ref.epochMsToPdvTimestamp(t)),
    `epochMsToPdvTimestamp(${t})`,
  );
}

function sameToEpoch(raw: string | bigint | number): void {
  assert.equal(
    outcome(() => pdvTimestampToEpochMs(raw)),
    outcome(() => ref.pdvTimestampToEpochMs(raw)),
    `pdvTimestampToEpochMs(${typeof raw === "string" ? JSON.stringify(raw) : String(raw)})`,
  );
}

/** Every DST switch (UTC instant) of 1996..2100 by the reference rule. */
function transitions(): number[] {
  const out: number[] = [];
  for (let y = 1996; y <= 2100; y++) {
    for (let t = Date.UTC(y, 2, 24); t < Date.UTC(y, 3, 1); t += HOUR) {
      if (ref.parisOffsetMs(t) !== ref.parisOffsetMs(t - 1)) out.push(t);
    }
    for (let t = Date.UTC(y, 9, 24); t < Date.UTC(y, 10, 1); t += HOUR) {
      if (ref.parisOffsetMs(t) !== ref.parisOffsetMs(t - 1)) out.push(t);
    }
  }
  return out;
}

test("epoch -> digits matches the reference over random instants 1990-2200 and 9990-9999", () => {
  const r = createRandom("timestamp-property/to-digits");
  for (let i = 0; i < 40_000; i++) {
    sameToDigits(Date.UTC(1990, 0, 1) + Math.floor(r.next() * (Date.UTC(2200, 0, 1) - Date.UTC(1990, 0, 1))));
  }
  for (let i = 0; i < 5_000; i++) {
    sameToDigits(
      Date.UTC(9990, 0, 1) + Math.floor(r.next() * (Date.UTC(10001, 0, 1) - Date.UTC(9990, 0, 1))),
    );
  }
});

test("epoch -> digits and offsets match the reference around every DST switch 1996-2100", () => {
  const ts = transitions();
  assert.equal(ts.length, 2 * 105);
  const r = createRandom("timestamp-property/dst");
  for (const t of ts) {
    for (const d of [-2 * HOUR, -HOUR - 1, -HOUR, -HOUR + 1, -1, 0, 1, HOUR - 1, HOUR, HOUR + 1, 2 * HOUR]) {
      sameToDigits(t + d);
      assert.equal(parisOffsetMs(t + d), ref.parisOffsetMs(t + d));
    }
    for (let i = 0; i < 40; i++) sameToDigits(t + r.int(-3 * HOUR, 3 * HOUR));
  }
});

test("epoch -> digits matches the reference at year and day boundaries, fractions and odd values", () => {
  for (let y = 1994; y <= 2110; y++) {
    const t = Date.UTC(y, 0, 1);
    for (const d of [-2 * HOUR - 1, -2 * HOUR, -HOUR - 1, -HOUR, -1, 0, 1, HOUR]) sameToDigits(t + d);
  }
  const r = createRandom("timestamp-property/odd");
  for (let i = 0; i < 2_000; i++) {
    sameToDigits(Date.UTC(2026, 0, 1) + r.next() * 400 * 86_400_000); // fractional ms
    sameToDigits(-r.next() * 1e13);
  }
  for (const t of [
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    0,
    -0,
    -62_135_596_800_001,
    8.64e15,
    8.64e15 + 1,
    Date.UTC(9999, 11, 31, 21, 59, 59, 999),
    Date.UTC(9999, 11, 31, 22, 0, 0, 0),
    Date.UTC(9999, 11, 31, 23, 0, 0, 0),
    Date.UTC(1996, 0, 1) - 1,
    Date.UTC(1996, 0, 1),
  ]) {
    sameToDigits(t);
  }
});

test("digits -> epoch matches the reference for random valid local times and every minute of the switch days", () => {
  const r = createRandom("timestamp-property/to-epoch");
  for (let i = 0; i < 40_000; i++) {
    const t = Date.UTC(1990, 0, 1) + Math.floor(r.next() * (Date.UTC(2200, 0, 1) - Date.UTC(1990, 0, 1)));
    sameToEpoch(ref.epochMsToPdvTimestamp(t));
  }
  for (const t of transitions()) {
    const day = ref.epochMsToPdvTimestamp(t).slice(0, 8);
    for (let h = 0; h < 5; h++) {
      for (let m = 0; m < 60; m++) {
        const hm = `${String(h).padStart(2, "0")}${String(m).padStart(2, "0")}`;
        sameToEpoch(`${day}${hm}00000`);
        sameToEpoch(`${day}${hm}59${String(r.int(0, 999)).padStart(3, "0")}`);
      }
    }
  }
});

test("digits -> epoch matches the reference for random digits, bad calendars and malformed input", () => {
  const r = createRandom("timestamp-property/garbage");
  const digits = (n: number): string => {
    let s = "";
    for (let i = 0; i < n; i++) s += String(r.int(0, 9));
    return s;
  };
  for (let i = 0; i < 20_000; i++) {
    // Plausible shape, each part possibly out of range.
    const y = String(r.chance(0.1) ? r.int(0, 9999) : r.int(1995, 2100)).padStart(4, "0");
    const mo = String(r.int(0, 13)).padStart(2, "0");
    const d = String(r.int(0, 32)).padStart(2, "0");
    const h = String(r.int(0, 25)).padStart(2, "0");
    const mi = String(r.int(0, 61)).padStart(2, "0");
    const se = String(r.int(0, 61)).padStart(2, "0");
    sameToEpoch(`${y}${mo}${d}${h}${mi}${se}${digits(3)}`);
    sameToEpoch(digits(17));
  }
  for (let y = 1996; y <= 2104; y++) {
    for (const md of ["0228", "0229", "0230", "0331", "0431", "1231", "1232", "0100", "0001"]) {
      sameToEpoch(`${y}${md}120000000`);
    }
  }
  for (const raw of [
    "",
    "0",
    "2026061412",
    "2026061412300000X",
    "20260614123000000 ",
    " 20260614123000000",
    "202606141230000000",
    "2026061412300000",
    "+2026061412300000",
    "-2026061412300000",
    "2026061412300000.",
    "2026O614123000000",
    "00000000000000000",
    "00010101000000000",
    "00500615120000000",
    "09991231235959999",
    "99991231235959999",
    "19960101003000000",
    "19961231230000000",
    "19970101000000000",
    "19970101013000000",
    20260614123000000n,
    2026061412300000n,
    -1n,
    123456789012345678n,
    20260614123000,
    2026061412300000,
    -1,
    1.5,
    Number.NaN,
  ]) {
    sameToEpoch(raw);
  }
});
