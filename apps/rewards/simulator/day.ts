// The pure, deterministic generator of betting days: timestamped frames in event-time order, as
// the central system's queues would be mirrored into pdv.requests and pdv.responses.
import {
  epochMsToPdvTimestamp,
  HEADER_SIZE,
  PDV_CATALOG,
  PdvFrameCodec,
  type PdvBody,
  type PdvFrame,
  type PdvHeader,
  type Random,
  sampleBody,
} from "../../../src/pdv/index.ts";
import {
  type BetDraft,
  buildDay,
  buildPdvs,
  chooseRace,
  createRandom,
  type DayPlan,
  draftBet,
  localTime,
  payoutCents,
  type Race,
  type ResolvedOptions,
  resolveOptions,
  responseDelayMs,
  type SimulatorOptions,
  type Terminal,
  winChance,
} from "./model.ts";

export const REQUESTS_TOPIC = "pdv.requests";
export const RESPONSES_TOPIC = "pdv.responses";
export type PdvTopic = typeof REQUESTS_TOPIC | typeof RESPONSES_TOPIC;

/** What a simulated frame is, for tests that build a known answer. */
export type SimulatedKind =
  | "start" // T001
  | "bet" // T031
  | "payout" // T033
  | "cancel" // T034
  | "results" // T050 broadcast (central -> terminal queue, no response)
  | "other" // another type of the catalog
  | "malformed"; // a corrupted copy of a frame

export type Malformation =
  | "truncated"
  | "length-mismatch"
  | "bad-packed-header"
  | "bad-zoned-header"
  | "bad-direction"
  | "garbage";

export interface SimulatedFrame {
  readonly topic: PdvTopic;
  /** FH-TERMINAL-ID as a decimal string. */
  readonly key: string;
  /** The raw frame bytes. */
  readonly value: Uint8Array;
  /** Event time, epoch ms (= FH-TIMESTAMP for well-formed frames). */
  readonly timestamp: number;
  readonly kind: SimulatedKind;
  /** The logical frame (for malformed frames: the frame before corruption). */
  readonly frame: PdvFrame;
  /** A retry: same bytes (request) or same body (response) as an earlier frame. */
  readonly duplicate: boolean;
  readonly malformation?: Malformation;
}

interface Scheduled {
  t: number;
  n: number;
  frame?: SimulatedFrame;
  action?: () => void;
}

/** A binary min-heap ordered by (t, n): n is the insertion counter, so ties are deterministic. */
class EventQueue {
  private readonly items: Scheduled[] = [];
  private counter = 0;
  get size(): number {
    return this.items.length;
  }
  push(t: number, item: Omit<Scheduled, "t" | "n">): void {
    const e: Scheduled = { t, n: this.counter++, ...item };
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p]!, e)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = e;
  }
  pop(): Scheduled | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && less(a[r]!, a[l]!) ? r : l;
      if (less(last, a[c]!)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

function less(a: Scheduled, b: Scheduled): boolean {
  return a.t < b.t || (a.t === b.t && a.n < b.n);
}

interface TerminalState {
  readonly terminal: Terminal;
  sequence: number;
  ticketCounter: number;
  balanceCents: number;
  opensAt: number;
  closesAt: number;
  restartAt: number | null;
}

const SOFTWARE_VERSIONS = ["PDV4.2.1", "PDV4.2.1", "PDV4.2.1", "PDV4.3.0", "PDV4.1.7"];
const REJECTIONS: readonly { status: number; reason: string }[] = [
  { status: -101, reason: "SI" }, // solde insuffisant
  { status: -205, reason: "CL" }, // course close
  { status: -310, reason: "PL" }, // plafond de mise
  { status: -412, reason: "NP" }, // non-partant
];
const T050_TOPIC: PdvTopic = RESPONSES_TOPIC;

const cents = (c: number): number => c / 100;

/**
 * Generates the frames of one or more betting days in event-time order. Pure and deterministic:
 * the same options yield the same sequence of frames, byte for byte. Lazy, so endless runs
 * (days: Infinity) use bounded memory.
 */
export function* generateDays(options: SimulatorOptions = {}): Generator<SimulatedFrame, void, undefined> {
  const o = resolveOptions(options);
  // The simulator's values are valid by construction (tests decode every frame it makes).
  const codec = new PdvFrameCodec({ verifyEncoding: false });
  const world = buildPdvs(o, createRandom(`${o.seed}/world`));
  for (let dayIndex = 0; dayIndex < o.days; dayIndex++) {
    yield* generateOneDay(o, dayIndex, world.terminals, codec);
  }
}

/** All frames of the simulation as an array (for tests and known-answer days). */
export function simulateDay(options: SimulatorOptions = {}): SimulatedFrame[] {
  if (options.days === Infinity) throw new RangeError("simulateDay needs a finite number of days");
  return [...generateDays(options)];
}

function* generateOneDay(
  o: ResolvedOptions,
  dayIndex: number,
  terminals: readonly Terminal[],
  codec: PdvFrameCodec,
): Generator<SimulatedFrame, void, undefined> {
  const rnd = createRandom(`${o.seed}/day/${dayIndex}`);
  const day = buildDay(o, dayIndex, rnd.fork("plan"));
  const q = new EventQueue();
  const otherTypes = [...PDV_CATALOG.values()].filter((s) => s.origin === "generated");
  const malformRnd = rnd.fork("malformed");

  const emit = (
    topic: PdvTopic,
    kind: SimulatedKind,
    t: number,
    header: Omit<PdvHeader, "bodyLength" | "timestamp">,
    body: PdvBody | null,
    duplicate = false,
  ): SimulatedFrame => {
    const timestamp = epochMsToPdvTimestamp(t);
    const value = codec.encode({ header: { ...header, timestamp }, body });
    const frame: PdvFrame = {
      header: { ...header, timestamp, bodyLength: value.length - HEADER_SIZE },
      body,
      record: body === null ? null : `${header.type}-${header.direction === "Q" ? "REQUEST" : "RESPONSE"}`,
    };
    const f: SimulatedFrame = {
      topic,
      key: String(header.terminalId),
      value,
      timestamp: t,
      kind,
      frame,
      duplicate,
    };
    q.push(t, { frame: f });
    if (malformRnd.chance(o.malformedRate)) {
      const m = malform(value, malformRnd);
      q.push(t + 1, {
        frame: {
          ...f,
          value: m.bytes,
          timestamp: t + 1,
          kind: "malformed",
          malformation: m.kind,
          duplicate: false,
        },
      });
    }
    return f;
  };

  /** A request and (unless lost) its response; returns the response time, or null when lost/late. */
  const exchange = (
    st: TerminalState,
    kind: SimulatedKind,
    type: string,
    t: number,
    requestBody: PdvBody | null,
    respond: (() => { status: number; body: PdvBody | null }) | null,
    r: Random,
  ): { respondedAt: number | null; status: number; sequence: number } => {
    st.sequence = st.sequence >= 999_999_999 ? 1 : st.sequence + 1;
    const head = {
      type,
      direction: "Q" as const,
      version: 1,
      terminalId: st.terminal.id,
      pdvId: st.terminal.pdv.id,
      sequence: st.sequence,
      status: 0,
    };
    const request = emit(REQUESTS_TOPIC, kind, t, head, requestBody);
    if (respond === null) return { respondedAt: null, status: 0, sequence: st.sequence };
    const { status, body } = respond();
    const retry = r.chance(o.retryRate);
    if (r.chance(o.lostResponseRate)) return { respondedAt: null, status, sequence: st.sequence };
    const late = r.chance(o.lateResponseRate);
    const at = t + (late ? r.int(31_000, 90_000) : responseDelayMs(r));
    const rhead = { ...head, direction: "R" as const, status };
    emit(RESPONSES_TOPIC, kind, at, rhead, body);
    if (retry) {
      // The terminal timed out waiting (3 s) and resent the same bytes; the central system
      // answers the duplicate with the same body.
      const again = t + 3_000 + r.int(0, 500);
      q.push(again, { frame: { ...request, timestamp: again, duplicate: true } });
      emit(RESPONSES_TOPIC, kind, again + responseDelayMs(r), rhead, body, true);
    }
    return { respondedAt: late ? null : at, status, sequence: st.sequence };
  };

  const start = (st: TerminalState, t: number, r: Random): void => {
    st.sequence = 0;
    const t1 = r.fork("t001");
    exchange(
      st,
      "start",
      "T001",
      t,
      {
        "T001-SOFTWARE-VERSION": t1.pick(SOFTWARE_VERSIONS),
        "T001-OPERATOR-ID": st.terminal.operatorId,
        "T001-REGION-CODE": st.terminal.pdv.region,
        "T001-OPEN-DATE": Number(day.date.replaceAll("-", "")),
      },
      () => ({
        status: 0,
        body: {
          "T001-SESSION-ID": `S${String(st.terminal.id).slice(-6)}${String(t1.int(0, 99_999)).padStart(5, "0")}`,
          "T001-SERVER-TIME": epochMsToPdvTimestamp(t + 40),
          "T001-MEETING-COUNT": day.meetings.length,
          "T001-MEETING": day.meetings.map((m) => ({
            "T001-REUNION": m.reunion,
            "T001-RACE-COUNT": m.races.length,
            "T001-RACECOURSE": m.racecourse,
          })),
        },
      }),
      r,
    );
  };

  const placeBet = (st: TerminalState, t: number, r: Random): void => {
    const race = chooseRace(day, t, r);
    if (race === null) return;
    const bet = draftBet(race, r);
    const reject = r.chance(o.rejectRate) ? r.pick(REJECTIONS) : null;
    const ticketId = `${day.date.slice(2).replaceAll("-", "")}${String(st.terminal.id).padStart(9, "0")}${String(++st.ticketCounter).padStart(5, "0")}`;
    if (reject === null && bet.paymentMode === "E") st.balanceCents += bet.totalCents;
    const balance = st.balanceCents;
    const ex = exchange(
      st,
      "bet",
      "T031",
      t,
      betRequestBody(bet),
      () => ({
        status: reject ? reject.status : 0,
        body: {
          "T031-TICKET-ID": reject ? "" : ticketId,
          "T031-ACCEPTED-STAKE": reject ? 0 : cents(bet.totalCents),
          "T031-REJECT-REASON": reject ? reject.reason : "",
          "T031-BALANCE": cents(balance),
        },
      }),
      r,
    );
    if (reject !== null || ex.respondedAt === null) return;
    // Follow-ups of an accepted bet: a cancellation within minutes, or a payout after the race.
    if (r.chance(o.cancelRate) && race.start - ex.respondedAt > 60_000) {
      const at = Math.min(ex.respondedAt + 10_000 + Math.round(r.exponential(120_000)), race.start - 30_000);
      q.push(at, { action: () => cancelBet(st, at, ticketId, bet, race, r.fork(`cancel/${ticketId}`)) });
      return;
    }
    if (r.chance(winChance(bet.betType))) {
      const at = race.start + 15 * 60_000 + Math.round(r.exponential(45 * 60_000));
      if (at < st.closesAt) {
        q.push(at, { action: () => requestPayout(st, at, ticketId, bet, r.fork(`payout/${ticketId}`)) });
      }
    }
  };

  const cancelBet = (
    st: TerminalState,
    t: number,
    ticketId: string,
    bet: BetDraft,
    race: Race,
    r: Random,
  ): void => {
    const tooLate = t >= race.start - 20_000 || r.chance(0.05);
    if (!tooLate && bet.paymentMode === "E") st.balanceCents -= bet.totalCents;
    exchange(
      st,
      "cancel",
      "T034",
      t,
      { "T034-TICKET-ID": ticketId, "T034-REASON-CODE": r.chance(0.8) ? 1 : 2 },
      () => ({
        status: tooLate ? -34 : 0,
        body: { "T034-TICKET-ID": ticketId, "T034-REFUNDED-STAKE": tooLate ? 0 : cents(bet.totalCents) },
      }),
      r,
    );
  };

  const requestPayout = (st: TerminalState, t: number, ticketId: string, bet: BetDraft, r: Random): void => {
    const amount = payoutCents(bet, r);
    const refused = r.chance(0.01);
    const mode = amount > 100_000 ? "C" : "E";
    if (!refused && mode === "E") st.balanceCents -= amount;
    exchange(
      st,
      "payout",
      "T033",
      t,
      { "T033-TICKET-ID": ticketId },
      () => ({
        status: refused ? -60 : 0,
        body: {
          "T033-TICKET-ID": ticketId,
          "T033-AMOUNT-PAID": refused ? 0 : cents(amount),
          "T033-PAYMENT-MODE": mode,
        },
      }),
      r,
    );
  };

  const otherFrame = (st: TerminalState, t: number, r: Random): void => {
    const spec = r.pick(otherTypes);
    exchange(
      st,
      "other",
      spec.type,
      t,
      sampleBody(spec.type, "Q", r),
      spec.responseRecord === null
        ? null
        : () => ({ status: r.chance(0.05) ? -1 : 0, body: sampleBody(spec.type, "R", r) }),
      r,
    );
  };

  // Terminals: a T001 at opening, bets until closing, sometimes a restart.
  const states: TerminalState[] = terminals.map((terminal) => {
    const opensAt = localTime(day.date, terminal.pdv.opensAt) + rnd.int(0, 20 * 60_000);
    const closesAt = localTime(day.date, terminal.pdv.closesAt);
    const restartAt = rnd.chance(o.restartRate) ? opensAt + rnd.int(0, closesAt - opensAt) : null;
    return { terminal, sequence: 0, ticketCounter: 0, balanceCents: 20_000, opensAt, closesAt, restartAt };
  });
  for (const st of states) {
    const r = rnd.fork(`terminal/${st.terminal.id}`);
    const meanGap = 3_600_000 / (o.betsPerTerminalPerHour * st.terminal.pdv.busyness);
    const act = (t: number): void => {
      if (t >= st.closesAt) return;
      if (st.restartAt !== null && t >= st.restartAt) {
        st.restartAt = null;
        start(st, t, r);
      } else if (r.chance(o.otherTypeRate)) {
        otherFrame(st, t, r);
      } else {
        placeBet(st, t, r);
      }
      const next = t + 1_000 + Math.round(r.exponential(meanGap * intensity(day, t)));
      q.push(next, { action: () => act(next) });
    };
    q.push(st.opensAt, {
      action: () => {
        start(st, st.opensAt, r);
        const first = st.opensAt + 5_000 + Math.round(r.exponential(meanGap));
        q.push(first, { action: () => act(first) });
      },
    });
  }
  // Race results broadcast (T050 arrival) to one open terminal per race.
  const resultsRnd = rnd.fork("results");
  for (const race of day.races) {
    const at = race.start + 4 * 60_000 + resultsRnd.int(0, 60_000);
    const target = resultsRnd.pick(states);
    q.push(at, {
      action: () => {
        target.sequence = target.sequence >= 999_999_999 ? 1 : target.sequence + 1;
        emit(
          T050_TOPIC,
          "results",
          at,
          {
            type: "T050",
            direction: "Q",
            version: 1,
            terminalId: target.terminal.id,
            pdvId: target.terminal.pdv.id,
            sequence: target.sequence,
            status: 0,
          },
          {
            "T050-REUNION": race.reunion,
            "T050-COURSE": race.course,
            "T050-KIND": "A",
            "T050-ARRIVAL": { "T050-PLACE": padArrival(race.arrival) },
          },
        );
      },
    });
  }

  for (let item = q.pop(); item !== undefined; item = q.pop()) {
    if (item.frame) yield item.frame;
    else item.action?.();
  }
}

function padArrival(arrival: readonly number[]): number[] {
  const a = [...arrival];
  while (a.length < 8) a.push(0);
  return a;
}

/** Bets are busier around lunch and in the afternoon (the multiplier scales the mean gap). */
function intensity(day: DayPlan, t: number): number {
  const hour = (t - day.midnight) / 3_600_000;
  if (hour >= 11.5 && hour < 16) return 0.6;
  if (hour >= 16 && hour < 19) return 0.9;
  return 1.4;
}

function betRequestBody(bet: BetDraft): PdvBody {
  return {
    "T031-REUNION": bet.race.reunion,
    "T031-COURSE": bet.race.course,
    "T031-BET-TYPE": bet.betType,
    "T031-FORMULA": bet.formula,
    "T031-UNIT-STAKE": cents(bet.unitCents),
    "T031-MULTIPLIER": bet.multiplier,
    "T031-TOTAL-STAKE": cents(bet.totalCents),
    "T031-PAYMENT-MODE": bet.paymentMode,
    "T031-FIELD-BITMAP": [...bet.fieldHorses],
    "T031-NB-SELECTIONS": bet.selections.length,
    "T031-SELECTION": [...bet.selections],
  };
}

/** A corrupted copy of a frame, invalid by construction (the header decoder rejects it). */
export function malform(frame: Uint8Array, r: Random): { kind: Malformation; bytes: Uint8Array } {
  const kinds: Malformation[] = [
    "truncated",
    "length-mismatch",
    "bad-packed-header",
    "bad-zoned-header",
    "bad-direction",
    "garbage",
  ];
  const kind = r.pick(kinds);
  const b = frame.slice();
  switch (kind) {
    case "truncated":
      return { kind, bytes: b.subarray(0, r.int(0, b.length - 1)) };
    case "length-mismatch": {
      const declared = (b[30]! << 8) | b[31]!;
      const wrong = declared + (r.chance(0.5) ? r.int(1, 40) : -r.int(1, Math.max(1, declared)));
      const v = wrong < 0 || wrong === declared ? declared + 1 : wrong;
      b[30] = (v >> 8) & 0xff;
      b[31] = v & 0xff;
      return { kind, bytes: b };
    }
    case "bad-packed-header":
      b[11] = 0xfa; // FH-PDV-ID: nibble A is not a digit
      return { kind, bytes: b };
    case "bad-zoned-header":
      b[5] = 0x4b; // FH-VERSION: "." is not a zoned digit
      return { kind, bytes: b };
    case "bad-direction":
      b[4] = 0xe7; // "X"
      return { kind, bytes: b };
    case "garbage": {
      const g = new Uint8Array(r.int(HEADER_SIZE, 120));
      for (let i = 0; i < g.length; i++) g[i] = r.int(0, 255);
      g[0] = 0x00; // never "T": FH-TYPE is invalid whatever follows
      return { kind, bytes: g };
    }
  }
}
