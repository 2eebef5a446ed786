// The terminal simulator (apps/rewards/simulator): determinism, well-formed frames, the protocol
// (T001 first, sequences, echoed correlation keys, retries), the behaviour the brief asks for
// (skewed bets, rejections, ~2 % cancellations within minutes, payouts after races, malformed and
// other frames) and the runner on the embedded cluster.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  generateDays,
  REQUESTS_TOPIC,
  RESPONSES_TOPIC,
  runSimulator,
  type SimulatedFrame,
  simulateDay,
  type SimulatorProgress,
} from "../../apps/rewards/simulator/index.ts";
import { type ConsumedRecord, EmbeddedCluster } from "../../src/cluster/index.ts";
import { PDV_CATALOG, PdvFrameCodec, PdvFrameError, pdvTimestampToEpochMs } from "../../src/pdv/index.ts";

const codec = new PdvFrameCodec();
const DAY = { seed: "test-day", terminals: 60, pdvs: 15 };
const day = simulateDay(DAY);

function digest(frames: readonly SimulatedFrame[]): string {
  const h = createHash("sha256");
  for (const f of frames) h.update(`${f.topic}|${f.key}|${f.timestamp}|${f.kind}|`).update(f.value);
  return h.digest("hex");
}

test("the same seed gives the same day byte for byte; another seed another day", () => {
  assert.ok(day.length > 20_000, `${day.length} frames`);
  assert.equal(digest(simulateDay(DAY)), digest(day));
  assert.notEqual(digest(simulateDay({ ...DAY, seed: "other" })), digest(day));
  // The lazy generator yields the same frames as the array form.
  const lazy: SimulatedFrame[] = [];
  for (const f of generateDays(DAY)) {
    lazy.push(f);
    if (lazy.length === 1000) break;
  }
  assert.equal(digest(lazy), digest(day.slice(0, 1000)));
});

test("frames are in event-time order, well-formed, and say what they carry", () => {
  let prev = 0;
  for (const f of day) {
    assert.ok(f.timestamp >= prev, "event-time order");
    prev = f.timestamp;
    assert.ok(f.topic === REQUESTS_TOPIC || f.topic === RESPONSES_TOPIC);
    if (f.kind === "malformed") {
      assert.throws(() => codec.decodeHeader(f.value), PdvFrameError, f.malformation);
      continue;
    }
    const decoded = codec.decode(f.value);
    assert.deepEqual(decoded.header, f.frame.header);
    assert.deepEqual(decoded.body, f.frame.body);
    assert.equal(f.key, String(decoded.header.terminalId));
    if (!f.duplicate || decoded.header.direction === "R") {
      assert.equal(pdvTimestampToEpochMs(decoded.header.timestamp), f.timestamp);
    }
    const wantTopic =
      decoded.header.direction === "R" || decoded.header.type === "T050" ? RESPONSES_TOPIC : REQUESTS_TOPIC;
    assert.equal(f.topic, wantTopic, `${decoded.header.type}/${decoded.header.direction}`);
  }
});

test("protocol: T001 first with sequence 1, increasing sequences, responses echo their request", () => {
  const lastSeq = new Map<number, number>();
  const requests = new Map<string, SimulatedFrame>();
  let duplicates = 0;
  let restarts = 0;
  for (const f of day) {
    if (f.kind === "malformed" || f.kind === "results") continue;
    const h = f.frame.header;
    const key = `${h.type}|${h.terminalId}|${h.sequence}`;
    if (h.direction === "Q") {
      if (f.duplicate) {
        // A retry resends the very same bytes.
        assert.deepEqual(f.value, requests.get(key)!.value);
        duplicates++;
        continue;
      }
      const last = lastSeq.get(h.terminalId);
      if (h.type === "T001") {
        assert.equal(h.sequence, 1);
        if (last !== undefined) restarts++;
      } else {
        assert.ok(last !== undefined, `terminal ${h.terminalId} sent ${h.type} before its T001`);
        assert.ok(h.sequence > last, "sequences increase between restarts");
      }
      lastSeq.set(h.terminalId, h.sequence);
      assert.equal(h.status, 0);
      requests.set(key, f);
    } else {
      const q = requests.get(key);
      assert.ok(q, `response without request ${key}`);
      assert.ok(f.timestamp > q.timestamp);
      assert.equal(h.pdvId, q.frame.header.pdvId);
    }
  }
  assert.ok(duplicates > 0, "some retries");
  assert.ok(restarts > 0, "some terminal restarts");
  assert.equal(lastSeq.size, DAY.terminals);
});

test("bets: skewed to the quinté and simple bets, realistic stakes, some rejected, field bitmaps for champs", () => {
  const bets = day.filter((f) => f.kind === "bet" && f.frame.header.direction === "Q" && !f.duplicate);
  const responses = day.filter((f) => f.kind === "bet" && f.frame.header.direction === "R" && !f.duplicate);
  const byRace = new Map<string, number>();
  const byType = new Map<string, number>();
  const stakes: number[] = [];
  for (const b of bets) {
    const body = b.frame.body as Record<string, unknown>;
    const race = `R${body["T031-REUNION"]}C${body["T031-COURSE"]}`;
    byRace.set(race, (byRace.get(race) ?? 0) + 1);
    byType.set(String(body["T031-BET-TYPE"]), (byType.get(String(body["T031-BET-TYPE"])) ?? 0) + 1);
    const unit = body["T031-UNIT-STAKE"] as number;
    const total = body["T031-TOTAL-STAKE"] as number;
    stakes.push(total);
    assert.ok(unit >= 1.3 && total >= unit * (body["T031-MULTIPLIER"] as number) - 1e-9);
    const champ = body["T031-FORMULA"] === "C" || body["T031-FORMULA"] === "T";
    assert.equal((body["T031-FIELD-BITMAP"] as number[]).length > 0, champ);
    assert.equal((body["T031-SELECTION"] as number[]).length, body["T031-NB-SELECTIONS"]);
  }
  const races = [...byRace.entries()].sort((a, b) => b[1] - a[1]);
  // The quinté (only race with QNP bets) is the most played.
  const quinte = new Set(
    bets
      .filter((b) => (b.frame.body as Record<string, unknown>)["T031-BET-TYPE"] === "QNP")
      .map((b) => {
        const body = b.frame.body as Record<string, unknown>;
        return `R${body["T031-REUNION"]}C${body["T031-COURSE"]}`;
      }),
  );
  assert.equal(quinte.size, 1);
  assert.equal(races[0]![0], [...quinte][0]);
  assert.ok(races[0]![1] > 3 * races[races.length - 1]![1]);
  assert.ok((byType.get("SGA") ?? 0) + (byType.get("SPL") ?? 0) > bets.length * 0.35);
  stakes.sort((a, b) => a - b);
  const median = stakes[Math.floor(stakes.length / 2)]!;
  const p99 = stakes[Math.floor(stakes.length * 0.99)]!;
  assert.ok(median >= 3 && median <= 20, `median stake ${median}`);
  assert.ok(p99 > 10 * median, `heavy tail: p99 ${p99}`);
  const rejected = responses.filter((r) => r.frame.header.status < 0);
  const rate = rejected.length / responses.length;
  assert.ok(rate > 0.015 && rate < 0.05, `rejection rate ${rate}`);
  for (const r of rejected) {
    const body = r.frame.body as Record<string, unknown>;
    assert.notEqual(body["T031-REJECT-REASON"], "");
    assert.equal(body["T031-TICKET-ID"], "");
  }
});

test("cancellations (~2 %) within minutes of accepted bets, payouts after the race", () => {
  const accepted = new Map<string, { at: number; stake: number; terminal: string }>();
  const raceStart = new Map<string, number>();
  let cancels = 0;
  let payouts = 0;
  for (const f of day) {
    if (f.kind === "malformed" || f.duplicate) continue;
    const h = f.frame.header;
    const body = (f.frame.body ?? {}) as Record<string, unknown>;
    if (f.kind === "bet" && h.direction === "R" && h.status === 0) {
      accepted.set(String(body["T031-TICKET-ID"]), {
        at: f.timestamp,
        stake: body["T031-ACCEPTED-STAKE"] as number,
        terminal: `${h.terminalId}`,
      });
    }
    if (f.kind === "results") {
      raceStart.set(`R${body["T050-REUNION"]}C${body["T050-COURSE"]}`, f.timestamp);
    }
    if (f.kind === "cancel" && h.direction === "Q") {
      cancels++;
      const bet = accepted.get(String(body["T034-TICKET-ID"]));
      assert.ok(bet, "a cancellation names an accepted ticket");
      assert.ok(f.timestamp - bet.at < 30 * 60_000, "within minutes");
      assert.equal(bet.terminal, String(h.terminalId), "from the same terminal");
    }
    if (f.kind === "cancel" && h.direction === "R" && h.status === 0) {
      const bet = accepted.get(String(body["T034-TICKET-ID"]))!;
      assert.equal(body["T034-REFUNDED-STAKE"], bet.stake);
    }
    if (f.kind === "payout" && h.direction === "Q") {
      payouts++;
      assert.ok(accepted.has(String(body["T033-TICKET-ID"])), "a payout names an accepted ticket");
    }
  }
  const rate = cancels / accepted.size;
  assert.ok(rate > 0.008 && rate < 0.035, `cancel rate ${rate}`);
  assert.ok(payouts > accepted.size * 0.05, `${payouts} payouts for ${accepted.size} bets`);
  assert.ok(raceStart.size > 20, "results broadcast per race");
});

test("other catalog types and a small rate of malformed frames are mixed in", () => {
  const others = new Set(day.filter((f) => f.kind === "other").map((f) => f.frame.header.type));
  assert.ok(others.size > 80, `${others.size} other types`);
  for (const t of others) assert.equal(PDV_CATALOG.get(t)!.origin, "generated");
  const malformed = day.filter((f) => f.kind === "malformed");
  assert.ok(malformed.length > 0 && malformed.length < day.length * 0.005, `${malformed.length}`);
  const heavy = simulateDay({ ...DAY, terminals: 10, pdvs: 3, malformedRate: 0.05 });
  const kinds = new Set(heavy.filter((f) => f.kind === "malformed").map((f) => f.malformation));
  assert.equal(kinds.size, 6);
});

test("several days: terminals restart every morning and dates advance", () => {
  const two = simulateDay({ seed: 3, terminals: 5, pdvs: 2, days: 2 });
  const t001 = two.filter((f) => f.kind === "start" && f.frame.header.direction === "Q" && !f.duplicate);
  const dates = new Set(t001.map((f) => f.frame.header.timestamp.slice(0, 8)));
  assert.deepEqual([...dates].sort(), ["20260614", "20260615"]);
  assert.ok(t001.every((f) => f.frame.header.sequence === 1));
});

test("options are validated", () => {
  assert.throws(() => simulateDay({ terminals: 0 }), RangeError);
  assert.throws(() => simulateDay({ meetings: 13 }), RangeError);
  assert.throws(() => simulateDay({ cancelRate: 2 }), RangeError);
  assert.throws(() => simulateDay({ date: "14/06/2026" }), RangeError);
  assert.throws(() => simulateDay({ days: Infinity }), RangeError);
});

test("runSimulator produces the generated frames to a cluster, keyed by terminal, with progress", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-sim-"));
  const cluster = await EmbeddedCluster.open({ dataDir: dir, timerIntervalMs: 20 });
  t.after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const reports: SimulatorProgress[] = [];
  const options = { seed: "runner", terminals: 20, pdvs: 5, maxFrames: 3_000, batchSize: 400 };
  const summary = await runSimulator(cluster, { ...options, progressIntervalMs: 0 }, (p) => reports.push(p));
  assert.equal(summary.frames, 3_000);
  assert.equal(summary.stoppedBy, "maxFrames");
  assert.equal(summary.requests + summary.responses, 3_000);
  assert.ok(reports.length >= 2 && reports.at(-1)!.done);
  const expected: SimulatedFrame[] = [];
  for (const f of generateDays(options)) {
    expected.push(f);
    if (expected.length === 3_000) break;
  }
  const consumer = await cluster.createConsumer();
  const tps = [0, 1, 2, 3].flatMap((p) =>
    [REQUESTS_TOPIC, RESPONSES_TOPIC].map((topic) => ({ topic, partition: p })),
  );
  consumer.assign(tps);
  await consumer.seekToBeginning(tps);
  const got: ConsumedRecord[] = [];
  const deadline = Date.now() + 20_000;
  while (got.length < 3_000 && Date.now() < deadline) got.push(...(await consumer.poll({ maxWaitMs: 200 })));
  await consumer.close();
  assert.equal(got.length, 3_000);
  const key = (topic: string, k: string, v: Uint8Array, ts: number) =>
    `${topic}|${k}|${ts}|${Buffer.from(v).toString("hex")}`;
  assert.deepEqual(
    got.map((r) => key(r.topic, Buffer.from(r.key!).toString(), r.value!, r.timestamp)).sort(),
    expected.map((f) => key(f.topic, f.key, f.value, f.timestamp)).sort(),
  );
  // Rate limiting and a duration stop, and an abort.
  const ac = new AbortController();
  const paced = await runSimulator(cluster, {
    ...options,
    maxFrames: undefined,
    rate: 2_000,
    durationMs: 300,
    signal: ac.signal,
  });
  assert.equal(paced.stoppedBy, "duration");
  assert.ok(paced.frames > 0 && paced.frames <= 2_000 * 0.3 + 200, `${paced.frames}`);
  ac.abort();
  const aborted = await runSimulator(cluster, { ...options, signal: ac.signal });
  assert.equal(aborted.stoppedBy, "signal");
  assert.equal(aborted.frames, 0);
});
