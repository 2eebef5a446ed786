import assert from "node:assert/strict";
import { test } from "node:test";
import { PdvFrameError } from "../../src/pdv/errors.ts";
import { epochMsToPdvTimestamp, parisOffsetMs, pdvTimestampToEpochMs } from "../../src/pdv/timestamp.ts";

test("winter and summer local times convert to the right instants", () => {
  assert.equal(pdvTimestampToEpochMs("20260115123000250"), Date.UTC(2026, 0, 15, 11, 30, 0, 250));
  assert.equal(pdvTimestampToEpochMs("20260614123000000"), Date.UTC(2026, 5, 14, 10, 30, 0, 0));
  assert.equal(epochMsToPdvTimestamp(Date.UTC(2026, 5, 14, 10, 30, 0, 7)), "20260614123000007");
  assert.equal(pdvTimestampToEpochMs(20260115123000250n), Date.UTC(2026, 0, 15, 11, 30, 0, 250));
});

test("spring-forward gap moves forward, autumn overlap takes the earlier (summer) instant", () => {
  // 2026-03-29: 02:00 CET -> 03:00 CEST (01:00 UTC).
  assert.equal(pdvTimestampToEpochMs("20260329023000000"), Date.UTC(2026, 2, 29, 1, 30));
  assert.equal(epochMsToPdvTimestamp(Date.UTC(2026, 2, 29, 1, 30)), "20260329033000000");
  assert.equal(pdvTimestampToEpochMs("20260329030000000"), Date.UTC(2026, 2, 29, 1, 0));
  assert.equal(pdvTimestampToEpochMs("20260329015959999"), Date.UTC(2026, 2, 29, 0, 59, 59, 999));
  // 2026-10-25: 03:00 CEST -> 02:00 CET (01:00 UTC); 02:30 happens twice.
  assert.equal(pdvTimestampToEpochMs("20261025023000000"), Date.UTC(2026, 9, 25, 0, 30));
  assert.equal(pdvTimestampToEpochMs("20261025030000000"), Date.UTC(2026, 9, 25, 2, 0));
  assert.equal(epochMsToPdvTimestamp(Date.UTC(2026, 9, 25, 1, 30)), "20261025023000000");
});

test("the EU rule agrees with the ICU time-zone data every 30 minutes over 1996-2037 (sampled)", () => {
  const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Paris", timeZoneName: "shortOffset" });
  let checked = 0;
  for (let t = Date.UTC(1996, 0, 1); t < Date.UTC(2038, 0, 1); t += 30 * 60_000 * 97) {
    const name = fmt.formatToParts(new Date(t)).find((p) => p.type === "timeZoneName")!.value;
    const expected = name === "GMT+2" ? 7_200_000 : 3_600_000;
    assert.equal(parisOffsetMs(t), expected, new Date(t).toISOString());
    checked++;
  }
  assert.ok(checked > 7000);
});

test("round trip epoch -> digits -> epoch for instants outside the overlap hour", () => {
  for (let t = Date.UTC(2025, 0, 1); t < Date.UTC(2027, 0, 1); t += 3_600_000 * 7 + 12_345) {
    const back = pdvTimestampToEpochMs(epochMsToPdvTimestamp(t));
    const d = epochMsToPdvTimestamp(t);
    if (d.slice(4, 8) === "1025" || d.slice(4, 8) === "1026") continue; // ambiguous hour possible
    assert.equal(back, t, d);
  }
});

test("invalid dates are rejected with BAD_TIMESTAMP", () => {
  for (const bad of ["20261301000000000", "20260230120000000", "20260614246000000", "2026061412", "0"]) {
    assert.throws(
      () => pdvTimestampToEpochMs(bad),
      (e: unknown) => e instanceof PdvFrameError && e.code === "BAD_TIMESTAMP",
      bad,
    );
  }
  assert.throws(() => pdvTimestampToEpochMs("2026061412300000X"), PdvFrameError);
});
