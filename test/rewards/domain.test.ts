import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type AcceptedBet,
  Campaign,
  CampaignBook,
  CouponLedger,
  MemoryLedgerStore,
  parisDay,
  parisLocalToEpochMs,
  parseCampaignFile,
} from "../../apps/rewards/domain/index.ts";

const T0 = parisLocalToEpochMs(2026, 11, 22, 14, 0); // a Sunday afternoon in Paris

function bet(over: Partial<AcceptedBet> = {}): AcceptedBet {
  return {
    ticketId: "TK000001",
    terminalId: 1001,
    pdvId: 75001,
    regionCode: 75,
    sequence: 5,
    reunion: 1,
    course: 3,
    betType: "QNP",
    formula: "U",
    totalStakeCents: 1000,
    acceptedStakeCents: 1000,
    paymentMode: "E",
    placedAt: T0,
    acceptedAt: T0 + 200,
    ...over,
  };
}

const YAML_FILE = `
campaigns:
  - id: QUINTE-NOV
    name: Quinté+ de novembre
    period: { from: "2026-11-01", to: "2026-11-30" }
    betTypes: [QNP, Q4P]
    races: [R1C3, R2]
    minimumStake: 5
    pdvRegions: [75, 92]
    couponValue: 2.5
    capPerPdvPerDay: 2
    totalBudget: 10
`;

test("Paris time: days and offsets across DST changes", () => {
  assert.equal(parisLocalToEpochMs(2026, 1, 15, 12), Date.UTC(2026, 0, 15, 11));
  assert.equal(parisLocalToEpochMs(2026, 7, 15, 12), Date.UTC(2026, 6, 15, 10));
  // 23:30 UTC on 21 Nov is already 22 Nov in Paris.
  assert.equal(parisDay(Date.UTC(2026, 10, 21, 23, 30)), "2026-11-22");
  // Spring gap (29 Mar 2026, 02:30 does not exist): moves forward to 03:30 CEST = 01:30 UTC.
  assert.equal(parisLocalToEpochMs(2026, 3, 29, 2, 30), Date.UTC(2026, 2, 29, 1, 30));
  // Autumn overlap (25 Oct 2026, 02:30 twice): the earlier instant.
  assert.equal(parisLocalToEpochMs(2026, 10, 25, 2, 30), Date.UTC(2026, 9, 25, 0, 30));
});

test("campaign file: YAML parsed, euros to cents, inclusive date-only period", () => {
  const [c] = parseCampaignFile(YAML_FILE, "demo.yaml");
  assert.ok(c);
  assert.equal(c.id, "QUINTE-NOV");
  assert.equal(c.couponValueCents, 250);
  assert.equal(c.totalBudgetCents, 1000);
  assert.equal(c.minimumStakeCents, 500);
  assert.equal(c.fromMs, parisLocalToEpochMs(2026, 11, 1));
  assert.equal(c.toMs, parisLocalToEpochMs(2026, 12, 1));
  assert.ok(c.isActiveAt(parisLocalToEpochMs(2026, 11, 30, 23, 59)));
  assert.ok(!c.isActiveAt(parisLocalToEpochMs(2026, 12, 1)));
  // JSON is accepted too, as a bare list.
  const json = JSON.stringify([{ ...c.spec, id: "J" }]);
  assert.equal(parseCampaignFile(json, "x.json")[0]?.id, "J");
});

test("campaign file errors name the file, the campaign path and the field", () => {
  assert.throws(
    () => parseCampaignFile(YAML_FILE.replace("couponValue: 2.5", "couponValue: -1"), "demo.yaml"),
    (e: Error & { code?: string }) =>
      e.code === "CAMPAIGN_INVALID" && /demo\.yaml: \[0\]\.couponValue/.test(e.message),
  );
  assert.throws(
    () => parseCampaignFile(YAML_FILE.replace("QNP, Q4P", "QNP, XYZ"), "demo.yaml"),
    /\[0\]\.betTypes\[1\]/,
  );
  assert.throws(
    () => parseCampaignFile(YAML_FILE.replace("R1C3", "race3"), "f"),
    /races\[0\]: must be "R<meeting>"/,
  );
  assert.throws(
    () => parseCampaignFile(YAML_FILE.replace("couponValue: 2.5", "couponValue: 2.555"), "f"),
    /2 decimals/,
  );
  assert.throws(
    () => parseCampaignFile(YAML_FILE.replace("minimumStake", "minStake"), "f"),
    /minStake|Unrecognized/,
  );
  assert.throws(
    () => parseCampaignFile(YAML_FILE.replace('to: "2026-11-30"', 'to: "2026-10-01"'), "f"),
    /must be before/,
  );
  assert.throws(
    () => parseCampaignFile(YAML_FILE.replace("totalBudget: 10", "totalBudget: 1"), "f"),
    /exceeds totalBudget/,
  );
  assert.throws(
    () => parseCampaignFile("campaigns: [ {", "broken.yaml"),
    (e: Error & { code?: string }) => e.code === "CAMPAIGN_FILE_SYNTAX" && /broken\.yaml/.test(e.message),
  );
  assert.throws(() => parseCampaignFile("42", "n.yaml"), /n\.yaml: \(root\): expected a list of campaigns/);
  const one = parseCampaignFile(YAML_FILE)[0]!.spec;
  const dup = JSON.stringify([one, one]);
  assert.throws(
    () => parseCampaignFile(dup, "d"),
    (e: Error & { code?: string }) => e.code === "CAMPAIGN_DUPLICATE_ID",
  );
});

test("qualification: period, bet type, race, minimum stake, region", () => {
  const [c] = parseCampaignFile(YAML_FILE);
  assert.ok(c);
  assert.deepEqual(c.qualify(bet()), { ok: true });
  assert.deepEqual(c.qualify(bet({ reunion: 2, course: 7 })), { ok: true }); // R2 = any race of meeting 2
  assert.deepEqual(c.qualify(bet({ course: 4 })), { ok: false, reason: "race" });
  assert.deepEqual(c.qualify(bet({ betType: "SGA" })), { ok: false, reason: "bet_type" });
  assert.deepEqual(c.qualify(bet({ totalStakeCents: 499 })), { ok: false, reason: "stake_below_minimum" });
  assert.deepEqual(c.qualify(bet({ totalStakeCents: 500 })), { ok: true });
  assert.deepEqual(c.qualify(bet({ regionCode: 13 })), { ok: false, reason: "region" });
  assert.deepEqual(c.qualify(bet({ regionCode: null })), { ok: false, reason: "region" });
  assert.deepEqual(c.qualify(bet({ placedAt: parisLocalToEpochMs(2026, 12, 1) })), {
    ok: false,
    reason: "outside_period",
  });
  const open = Campaign.from({
    id: "ALL",
    period: { from: "2026-11-22T12:00", to: "2026-11-22T18:00" },
    couponValue: 1,
    capPerPdvPerDay: 1,
    totalBudget: 1,
  });
  assert.deepEqual(open.qualify(bet({ betType: "SGA", regionCode: null, totalStakeCents: 1 })), { ok: true });
  assert.deepEqual(open.qualify(bet({ placedAt: parisLocalToEpochMs(2026, 11, 22, 18) })), {
    ok: false,
    reason: "outside_period",
  });
});

test("CampaignBook: qualifying campaigns in id order", () => {
  const [q] = parseCampaignFile(YAML_FILE);
  const a = Campaign.from({
    id: "A-ANY",
    period: { from: "2026-11-01", to: "2026-11-30" },
    couponValue: 1,
    capPerPdvPerDay: 1,
    totalBudget: 5,
  });
  const book = new CampaignBook([q!, a]);
  assert.deepEqual(
    book.qualifyingFor(bet()).map((c) => c.id),
    ["A-ANY", "QUINTE-NOV"],
  );
  assert.deepEqual(
    book.qualifyingFor(bet({ betType: "SGA" })).map((c) => c.id),
    ["A-ANY"],
  );
  book.remove("A-ANY");
  assert.deepEqual(
    book.qualifyingFor(bet()).map((c) => c.id),
    ["QUINTE-NOV"],
  );
});

function setup(codes = 10) {
  const [c] = parseCampaignFile(YAML_FILE); // cap 2 per PDV per day, budget 10 € = 4 coupons of 2.50
  const store = new MemoryLedgerStore();
  store.addCoupons(
    "QUINTE-NOV",
    Array.from({ length: codes }, (_, i) => `QN-${i}`),
  );
  return { c: c!, store, ledger: new CouponLedger(store) };
}

test("ledger: exactly one coupon per (bet, campaign)", () => {
  const { c, ledger } = setup();
  const first = ledger.issue(c, bet());
  assert.ok(first.issued);
  assert.equal(first.reward.couponCode, "QN-0");
  assert.equal(first.reward.day, "2026-11-22");
  assert.deepEqual(ledger.issue(c, bet()), { issued: false, reason: "duplicate" });
  assert.equal(ledger.budget(c).issuedCount, 1);
});

test("ledger: PDV daily cap, then a new day, budget never exceeded", () => {
  const { c, ledger } = setup();
  const outcomes = [1, 2, 3].map((i) => ledger.issue(c, bet({ ticketId: `T${i}` })));
  assert.deepEqual(
    outcomes.map((o) => (o.issued ? o.reward.couponCode : o.reason)),
    ["QN-0", "QN-1", "cap_reached"],
  );
  // Another PDV has its own cap.
  assert.ok(ledger.issue(c, bet({ ticketId: "T4", pdvId: 92001 })).issued);
  // Next day, same PDV: the cap starts again; budget (4 coupons) now binds.
  const nextDay = T0 + 86_400_000;
  assert.ok(ledger.issue(c, bet({ ticketId: "T5", placedAt: nextDay })).issued);
  assert.deepEqual(ledger.issue(c, bet({ ticketId: "T6", placedAt: nextDay })), {
    issued: false,
    reason: "budget_exhausted",
  });
  const b = ledger.budget(c);
  assert.equal(b.usedCents, 1000);
  assert.equal(b.remainingCents, 0);
  assert.equal(b.issuedCount, 4);
});

test("ledger: cancellation frees budget and cap; codes are never reused; no second coupon for the bet", () => {
  const { c, ledger } = setup();
  for (const t of ["T1", "T2"]) assert.ok(ledger.issue(c, bet({ ticketId: t })).issued);
  assert.equal(ledger.issue(c, bet({ ticketId: "T3" })).issued, false); // cap
  const cancel = ledger.cancel(c.id, {
    ticketId: "T1",
    terminalId: 1001,
    pdvId: 75001,
    refundedStakeCents: 1000,
    reasonCode: 1,
    canceledAt: T0 + 60_000,
  });
  assert.ok(cancel.canceled);
  assert.equal(cancel.cancellation.couponCode, "QN-0");
  assert.equal(cancel.cancellation.valueCents, 250);
  assert.deepEqual(
    ledger.cancel(c.id, {
      ticketId: "T1",
      terminalId: 1001,
      pdvId: 75001,
      refundedStakeCents: 1000,
      reasonCode: 1,
      canceledAt: T0 + 61_000,
    }),
    { canceled: false, reason: "already_canceled" },
  );
  assert.deepEqual(
    ledger.cancel(c.id, {
      ticketId: "NOPE",
      terminalId: 1,
      pdvId: 1,
      refundedStakeCents: 0,
      reasonCode: 1,
      canceledAt: T0,
    }),
    { canceled: false, reason: "not_rewarded" },
  );
  // The cap place is free again; the next coupon takes a fresh code.
  const again = ledger.issue(c, bet({ ticketId: "T3" }));
  assert.ok(again.issued);
  assert.equal(again.reward.couponCode, "QN-2");
  // The cancelled bet itself never gets a second coupon.
  assert.deepEqual(ledger.issue(c, bet({ ticketId: "T1" })), { issued: false, reason: "duplicate" });
  const b = ledger.budget(c);
  assert.deepEqual([b.usedCents, b.issuedCount, b.canceledCount, b.activeCount], [500, 3, 1, 2]);
});

test("ledger: an exhausted coupon pool stops issuing without spending budget", () => {
  const { c, ledger } = setup(1);
  assert.ok(ledger.issue(c, bet({ ticketId: "T1" })).issued);
  assert.deepEqual(ledger.issue(c, bet({ ticketId: "T2", pdvId: 2 })), {
    issued: false,
    reason: "no_coupon_code",
  });
  assert.equal(ledger.budget(c).usedCents, 250);
});

test("ledger invariants hold on a random sequence of bets and cancellations", () => {
  const { c, store, ledger } = setup(1000);
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const tickets: string[] = [];
  for (let i = 0; i < 2000; i++) {
    if (rnd() < 0.2 && tickets.length) {
      const t = tickets[Math.floor(rnd() * tickets.length)]!;
      ledger.cancel(c.id, {
        ticketId: t,
        terminalId: 1,
        pdvId: 1,
        refundedStakeCents: 0,
        reasonCode: 1,
        canceledAt: T0,
      });
    } else {
      const t = `T${i}`;
      tickets.push(t);
      ledger.issue(
        c,
        bet({
          ticketId: t,
          pdvId: 1 + Math.floor(rnd() * 3),
          placedAt: T0 + Math.floor(rnd() * 3) * 86_400_000,
        }),
      );
    }
    const active = [...store.rewards.values()].filter((r) => r.status === "issued");
    assert.ok(active.reduce((s, r) => s + r.valueCents, 0) <= c.totalBudgetCents);
    const perPdvDay = new Map<string, number>();
    for (const r of active)
      perPdvDay.set(`${r.pdvId}|${r.day}`, (perPdvDay.get(`${r.pdvId}|${r.day}`) ?? 0) + 1);
    for (const n of perPdvDay.values()) assert.ok(n <= c.capPerPdvPerDay);
  }
  const codes = [...store.rewards.values()].map((r) => r.couponCode);
  assert.equal(new Set(codes).size, codes.length, "no coupon code handed out twice");
});

test("ledger: a cancellation that overtakes its bet takes the coupon back as soon as it is issued", () => {
  const { c, ledger } = setup();
  const early = {
    ticketId: "T9",
    terminalId: 1001,
    pdvId: 75001,
    refundedStakeCents: 1000,
    reasonCode: 1,
    canceledAt: T0 + 5000,
  };
  assert.deepEqual(ledger.cancel(c.id, early), { canceled: false, reason: "not_rewarded" });
  const out = ledger.issue(c, bet({ ticketId: "T9" }));
  assert.ok(out.issued);
  assert.ok(out.canceled?.canceled);
  assert.equal(out.canceled.cancellation.couponCode, out.reward.couponCode);
  const b = ledger.budget(c);
  assert.deepEqual([b.usedCents, b.issuedCount, b.canceledCount], [0, 1, 1]);
  // Its place under the PDV cap is free: two more coupons fit (cap 2).
  assert.ok(ledger.issue(c, bet({ ticketId: "U1" })).issued);
  assert.ok(ledger.issue(c, bet({ ticketId: "U2" })).issued);
  // Same final state as the usual order (bet, then cancellation).
  const other = setup().ledger;
  assert.ok(other.issue(c, bet({ ticketId: "T9" })).issued);
  assert.ok(other.cancel(c.id, early).canceled);
  const b2 = other.budget(c);
  assert.deepEqual([b2.usedCents, b2.issuedCount, b2.canceledCount], [0, 1, 1]);
});

test("pendingFrameSerde: round trip (Uint8Array or Buffer input), the frame a view of the input, clear errors on truncation", async () => {
  const { pendingFrameSerde } = await import("../../apps/rewards/records.ts");
  const frame = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const v = {
    state: "R" as const,
    timestamp: 1_750_000_000_123,
    deadline: 1_750_000_030_123,
    source: "pdv.responses/2/99",
    frame,
  };
  const bytes = pendingFrameSerde.serialize("t", v)!;
  for (const input of [new Uint8Array(bytes), Buffer.from(bytes)]) {
    const back = pendingFrameSerde.deserialize("t", input)!;
    assert.deepEqual({ ...back, frame: [...back.frame] }, { ...v, frame: [...frame] });
    // A view of what the store handed out (stores never rewrite those bytes): no copy per read.
    assert.equal(back.frame.buffer, input.buffer);
    assert.equal(back.frame.byteOffset, input.byteOffset + bytes.length - 300);
  }
  const matched = pendingFrameSerde.serialize("t", {
    ...v,
    state: "M",
    source: "",
    frame: new Uint8Array(0),
  })!;
  assert.equal(pendingFrameSerde.deserialize("t", matched)!.frame.length, 0);
  assert.throws(() => pendingFrameSerde.deserialize("t", bytes.subarray(0, 10)), /too short/);
  const bad = Buffer.from(bytes);
  bad.writeUInt16BE(60_000, 17);
  assert.throws(() => pendingFrameSerde.deserialize("t", bad), /overruns/);
});

test("campaignWorkSerde: bets and cancellations round trip; JSON of an earlier run is read; bad records are named", async () => {
  const { campaignWorkSerde } = await import("../../apps/rewards/campaign-work.ts");
  const bet = {
    ticketId: "T-000123-é",
    terminalId: 100_000_001,
    pdvId: 75_001,
    regionCode: null,
    sequence: 42,
    reunion: 1,
    course: 3,
    betType: "QNP",
    formula: "U",
    totalStakeCents: 1_250,
    acceptedStakeCents: 1_250,
    paymentMode: "CASH",
    placedAt: 1_750_000_000_123,
    acceptedAt: 1_750_000_000_456,
  };
  for (const work of [
    { kind: "bet" as const, bet },
    { kind: "bet" as const, bet: { ...bet, regionCode: 11 } },
    {
      kind: "cancel" as const,
      cancellation: {
        ticketId: "T-1",
        terminalId: 7,
        pdvId: 8,
        refundedStakeCents: 300,
        reasonCode: 2,
        canceledAt: 1,
      },
    },
  ]) {
    const bytes = campaignWorkSerde.serialize("t", work)!;
    assert.deepEqual(campaignWorkSerde.deserialize("t", bytes), work);
    assert.deepEqual(campaignWorkSerde.deserialize("t", new Uint8Array(bytes)), work);
    assert.deepEqual(campaignWorkSerde.deserialize("t", Buffer.from(JSON.stringify(work))), work);
  }
  const bytes = campaignWorkSerde.serialize("t", { kind: "bet", bet })!;
  assert.throws(
    () => campaignWorkSerde.deserialize("t", bytes.subarray(0, 30)),
    /ends inside \w+ \(byte \d+\)/,
  );
  assert.throws(() => campaignWorkSerde.deserialize("t", Uint8Array.of(9, 0x42)), /unknown version 9/);
  assert.throws(() => campaignWorkSerde.deserialize("t", Uint8Array.of(1, 0x58)), /unknown kind/);
});

test("ledger serdes: counters and budget accounts round-trip in binary, and JSON stored by earlier versions still reads", async () => {
  const { counterSerde, budgetAccountSerde } = await import("../../apps/rewards/records.ts");
  for (const n of [0, 1, 7, 123_456, 2 ** 40]) {
    const b = counterSerde.serialize("t", n)!;
    assert.equal(b.length, 9);
    assert.equal(counterSerde.deserialize("t", b), n);
  }
  assert.equal(counterSerde.deserialize("t", Buffer.from("42")), 42);
  assert.throws(() => counterSerde.deserialize("t", Uint8Array.of(1, 0, 0)), /counter record of 3 bytes/);
  const account = {
    campaignId: "ÉTÉ-2026",
    usedCents: 123_450,
    issuedCount: 300,
    canceledCount: 7,
    nextCouponIndex: 301,
  };
  const bytes = budgetAccountSerde.serialize("t", account)!;
  assert.equal(bytes[0], 1);
  assert.deepEqual(budgetAccountSerde.deserialize("t", bytes), account);
  assert.deepEqual(budgetAccountSerde.deserialize("t", new Uint8Array(bytes)), account);
  assert.deepEqual(budgetAccountSerde.deserialize("t", Buffer.from(JSON.stringify(account))), account);
  assert.throws(() => budgetAccountSerde.deserialize("t", bytes.subarray(0, 20)), /too short/);
});
