// App 2, "rewards-correlation": pairs each request with its response by (type, terminal,
// sequence) within a window of event time, then fully decodes matched pairs only (the expensive
// part) into bets, rejected bets, cancellations, payouts and decoded pairs for the data lake.
// Keyed by terminal id throughout, so a terminal's T001 (its region) is always seen before its
// bets, and its bets before their cancellations.
import type { Counter } from "prom-client";
import type { Tally } from "../../src/observe/index.ts";
import {
  decodeHeaderFields,
  frameDirectionOf,
  frameTypeOf,
  PDV_CATALOG,
  PdvFrameCodec,
} from "../../src/pdv/index.ts";
import { type Serde, Serdes } from "../../src/serde/index.ts";
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  Record,
  Stores,
  Topology,
} from "../../src/streams/index.ts";
import type { AcceptedBet, BetCancellation, Payout, RejectedBet } from "./domain/index.ts";
import type { RewardsMetrics } from "./metrics.ts";
import {
  type DeadLetter,
  type DecodedPair,
  json,
  type PendingFrame,
  pendingFrameSerde,
  SOURCE_HEADER,
  toBase64,
  type UnmatchedFrame,
} from "./records.ts";
import { TOPICS } from "./topics.ts";

export const CORRELATION_STORE = "correlation-pending";
export const TERMINAL_STORE = "terminals";

const DECODER = "decode-pair";
const SINKS = {
  unmatched: "unmatched-sink",
  decoded: "decoded-sink",
  bets: "bets-sink",
  rejected: "bets-rejected-sink",
  canceled: "bets-canceled-sink",
  payouts: "payouts-sink",
  dlq: "dlq-sink",
} as const;

export interface CorrelationOptions {
  /** Longest event-time distance between a request and its response (default 30 000 ms). */
  readonly windowMs?: number;
  /** How long past a deadline stream time must go before a frame is declared unmatched (default 2 000 ms). */
  readonly graceMs?: number;
  /** How often (event time) expired frames are swept (default 2 000 ms). */
  readonly sweepIntervalMs?: number;
}

/** A frame as it travels from the correlator to the decoder. */
interface FrameRef {
  readonly bytes: Uint8Array;
  readonly timestamp: number;
  readonly source: string;
}

/** A matched pair, or a one-way frame (a type without a response, e.g. a T050 broadcast). */
type Correlated =
  | { readonly kind: "pair"; readonly request: FrameRef; readonly response: FrameRef }
  | { readonly kind: "single"; readonly frame: FrameRef };

const utf8 = new TextDecoder();
/**
 * Correlation key: the raw FH-TYPE (4 bytes), FH-TERMINAL-ID (4) and FH-SEQUENCE (4) of the
 * header, copied as is: 12 bytes, no text encoding on the hot path.
 */
function correlationKey(frame: Uint8Array): Uint8Array {
  const k = new Uint8Array(12);
  // Byte by byte: three subarray() views per frame cost more than the copy.
  for (let i = 0; i < 4; i++) {
    k[i] = frame[i]!;
    k[4 + i] = frame[7 + i]!;
    k[8 + i] = frame[15 + i]!;
  }
  return k;
}

/** Least wall-clock time between two index sweeps driven by records. */
const MIN_SWEEP_GAP_MS = 25;

/** Bytes of a correlation key (type, terminal, sequence). */
const KEY_BYTES = 12;

/**
 * A binary min-heap of (deadline, correlation key), packed in two typed arrays: one entry per
 * pending exchange, and at 20 000 frames/s a window of matched markers is ~300 000 of them; as
 * objects they were most of the correlation thread's heap for its collector to mark.
 */
export class DeadlineHeap {
  private d = new Float64Array(1024);
  private k = new Uint8Array(1024 * KEY_BYTES);
  private n = 0;
  private readonly last = new Uint8Array(KEY_BYTES);
  get size(): number {
    return this.n;
  }
  /** Deadline of the earliest entry (the heap must not be empty). */
  peek(): number {
    return this.d[0]!;
  }
  push(deadline: number, key: Uint8Array): void {
    if (key.length !== KEY_BYTES) return; // not a correlation key: nothing to expire by
    if (this.n === this.d.length) {
      const d = new Float64Array(this.n * 2);
      d.set(this.d);
      const k = new Uint8Array(this.n * 2 * KEY_BYTES);
      k.set(this.k);
      this.d = d;
      this.k = k;
    }
    const { d, k } = this;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p]! <= deadline) break;
      d[i] = d[p]!;
      k.copyWithin(i * KEY_BYTES, p * KEY_BYTES, (p + 1) * KEY_BYTES);
      i = p;
    }
    d[i] = deadline;
    k.set(key, i * KEY_BYTES);
  }
  /** Removes the earliest entry: returns its deadline and its key (fresh bytes). */
  pop(): { d: number; k: Uint8Array } {
    const { d, k } = this;
    const top = { d: d[0]!, k: k.slice(0, KEY_BYTES) };
    const n = --this.n;
    if (n > 0) {
      const ld = d[n]!;
      this.last.set(k.subarray(n * KEY_BYTES, (n + 1) * KEY_BYTES));
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && d[r]! < d[l]! ? r : l;
        if (d[c]! >= ld) break;
        d[i] = d[c]!;
        k.copyWithin(i * KEY_BYTES, c * KEY_BYTES, (c + 1) * KEY_BYTES);
        i = c;
      }
      d[i] = ld;
      k.set(this.last, i * KEY_BYTES);
    }
    return top;
  }
}
const REQUESTS_PREFIX = `${TOPICS.requests}/`;

function terminalOf(key: Uint8Array): number {
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(4);
}

function headerText(headers: readonly { key: string; value: Uint8Array | null }[], name: string): string {
  for (const h of headers) if (h.key === name && h.value !== null) return utf8.decode(h.value);
  return "";
}

/** Types whose catalog entry has no response record are one-way; unknown types are assumed two-way. */
function isOneWay(type: string): boolean {
  const spec = PDV_CATALOG.get(type);
  return spec !== undefined && spec.responseRecord === null;
}

class Correlator implements Processor<string, Uint8Array, string, Correlated | UnmatchedFrame> {
  private ctx!: ProcessorContext<string, Correlated | UnmatchedFrame>;
  private pending!: KeyValueStore<Uint8Array, PendingFrame>;
  private readonly windowMs: number;
  private readonly graceMs: number;
  private readonly sweepMs: number;
  private readonly metrics: RewardsMetrics;
  private readonly dupQ: Counter;
  /** Highest event time seen from each source topic (not persisted: it only delays expiry after a restart). */
  /** Min-heaps of the pending entries' deadlines, per state (Q, R, M). */
  private readonly earliest = [new DeadlineHeap(), new DeadlineHeap(), new DeadlineHeap()];
  private requestsTime = -1;
  private responsesTime = -1;
  private sweptRequestsTime = -1;
  private lastSweepWallMs = 0;
  private sweptResponsesTime = -1;
  private readonly dupR: Counter;

  constructor(options: CorrelationOptions, metrics: RewardsMetrics) {
    this.windowMs = options.windowMs ?? 30_000;
    this.graceMs = options.graceMs ?? 2_000;
    this.sweepMs = options.sweepIntervalMs ?? 2_000;
    this.metrics = metrics;
    this.dupQ = metrics.duplicates.labels("Q") as unknown as Counter;
    this.dupR = metrics.duplicates.labels("R") as unknown as Counter;
  }

  init(context: ProcessorContext<string, Correlated | UnmatchedFrame>): void {
    this.ctx = context;
    this.pending = context.getStateStore(CORRELATION_STORE);
    // Every pending entry's deadline sits in memory, in a min-heap per state, so sweeps never
    // scan the store. Rebuilt from the (restored) store: init runs after restore. (No persisted
    // deadline index: it cost four changelog writes per exchange for what one scan at start gives.)
    for (const { key, value } of this.pending.all()) {
      this.earliest[value.state === "Q" ? 0 : value.state === "R" ? 1 : 2]!.push(value.deadline, key);
    }
    context.schedule(this.sweepMs, "streamTime", (t) => this.sweep(t));
    context.schedule(MIN_SWEEP_GAP_MS * 4, "wallClockTime", (t) => {
      if (this.timeMoved()) this.sweep(t);
    });
  }

  process(record: Record<string, Uint8Array>): void {
    const bytes = record.value;
    // The header was validated by app 1: only its type and direction matter here (checked).
    const type = frameTypeOf(bytes);
    const direction = frameDirectionOf(bytes);
    const ref: FrameRef = {
      bytes,
      timestamp: record.timestamp,
      source: headerText(record.headers, SOURCE_HEADER),
    };
    if (ref.source.startsWith(REQUESTS_PREFIX)) {
      if (record.timestamp > this.requestsTime) this.requestsTime = record.timestamp;
    } else if (record.timestamp > this.responsesTime) this.responsesTime = record.timestamp;
    // Task stream time is the max over both topics and may not move when the lagging topic
    // catches up, so the sweep also runs when either topic's own time has moved enough.
    // When a backlog replays hours of event time per second, sweeping every sweepMs of event time
    // would scan the index on almost every record: sweeps are also spaced in wall-clock time (a
    // wall-clock punctuation catches up when records stop).
    if (this.timeMoved() && this.ctx.currentSystemTimeMs() - this.lastSweepWallMs >= MIN_SWEEP_GAP_MS) {
      this.sweep(record.timestamp);
    }
    if (isOneWay(type)) {
      this.ctx.forward(record.withValue<Correlated>({ kind: "single", frame: ref }), DECODER);
      return;
    }
    const key = correlationKey(bytes);
    if (direction === "Q") this.onRequest(key, record, ref);
    else this.onResponse(key, record, ref);
  }

  private onRequest(key: Uint8Array, record: Record<string, Uint8Array>, ref: FrameRef): void {
    const entry = this.pending.get(key);
    const w = this.windowMs;
    if (entry === undefined) {
      this.wait(key, "Q", ref);
    } else if (entry.state === "R") {
      if (Math.abs(entry.timestamp - ref.timestamp) <= w) {
        this.match(key, record, ref, this.refOf(entry));
      } else {
        this.unmatched(
          record.key,
          entry,
          `response ${entry.source} came more than ${w} ms before its request`,
        );
        this.wait(key, "Q", ref);
      }
    } else if (Math.abs(ref.timestamp - entry.timestamp) <= w) {
      this.dupQ.inc(); // a terminal's retry (or a replayed copy): the exchange is already known
    } else {
      // The key is reused by a new exchange (the terminal restarted): the old one is over.
      if (entry.state === "Q") this.unmatched(record.key, entry, `no response within ${w} ms`);
      this.wait(key, "Q", ref);
    }
  }

  private onResponse(key: Uint8Array, record: Record<string, Uint8Array>, ref: FrameRef): void {
    const entry = this.pending.get(key);
    const w = this.windowMs;
    if (entry === undefined) {
      this.wait(key, "R", ref);
    } else if (entry.state === "Q") {
      if (Math.abs(ref.timestamp - entry.timestamp) <= w) {
        this.match(key, record, this.refOf(entry), ref);
      } else {
        // Too late for its request: the request stays pending and will expire as unmatched.
        const late: PendingFrame = {
          state: "R",
          timestamp: ref.timestamp,
          deadline: 0,
          source: ref.source,
          frame: ref.bytes,
        };
        this.unmatched(
          record.key,
          late,
          `response came ${ref.timestamp - entry.timestamp} ms after its request (window ${w} ms)`,
        );
      }
    } else {
      this.dupR.inc(); // M: a duplicate response never produces a second bet; R: a repeated early response
    }
  }

  private refOf(e: PendingFrame): FrameRef {
    return { bytes: e.frame, timestamp: e.timestamp, source: e.source };
  }

  private wait(key: Uint8Array, state: "Q" | "R", ref: FrameRef): void {
    const deadline = ref.timestamp + this.windowMs;
    this.pending.put(key, {
      state,
      timestamp: ref.timestamp,
      deadline,
      source: ref.source,
      frame: ref.bytes,
    });
    this.earliest[state === "Q" ? 0 : 1]!.push(deadline, key);
  }

  private match(
    key: Uint8Array,
    record: Record<string, Uint8Array>,
    request: FrameRef,
    response: FrameRef,
  ): void {
    // The waiting side's heap entry is now obsolete: the sweep skips it (state/deadline differ).
    // Remember the match for one more window: retries of this exchange are recognised and dropped.
    const deadline = Math.max(request.timestamp, response.timestamp) + this.windowMs;
    this.pending.put(key, { state: "M", timestamp: request.timestamp, deadline, source: "", frame: EMPTY });
    this.earliest[2]!.push(deadline, key);
    this.ctx.forward(
      new Record<string, Correlated>(
        record.key,
        { kind: "pair", request, response },
        Math.max(request.timestamp, response.timestamp),
        record.headers,
      ),
      DECODER,
    );
  }

  private unmatched(terminalKey: string, e: PendingFrame, reason: string): void {
    let h: ReturnType<typeof decodeHeaderFields> | undefined;
    try {
      h = decodeHeaderFields(e.frame);
    } catch {
      h = undefined;
    }
    const direction = e.state === "R" ? "R" : "Q";
    this.metrics.unmatched.labels(direction).inc();
    const value: UnmatchedFrame = {
      direction,
      type: h?.type ?? "?",
      terminalId: h?.terminalId ?? Number(terminalKey),
      pdvId: h?.pdvId ?? 0,
      sequence: h?.sequence ?? 0,
      timestamp: e.timestamp,
      reason,
      source: e.source,
      rawBase64: toBase64(e.frame),
    };
    this.ctx.forward(new Record<string, UnmatchedFrame>(terminalKey, value, e.timestamp), SINKS.unmatched);
  }

  /**
   * Expires what can no longer be matched. Requests and responses come from two topics that are
   * read at their own pace, so "time" is tracked per source topic: a pending request expires only
   * once the *responses* have moved past its deadline (plus grace), a pending response once the
   * requests have. Each topic is in order per partition, so the outcome does not depend on how
   * the two were interleaved (nor on a crash and replay), only when it is emitted.
   */
  private timeMoved(): boolean {
    return (
      this.requestsTime - this.sweptRequestsTime >= this.sweepMs ||
      this.responsesTime - this.sweptResponsesTime >= this.sweepMs
    );
  }

  private sweep(_streamTime: number): void {
    this.lastSweepWallMs = this.ctx.currentSystemTimeMs();
    this.sweptRequestsTime = this.requestsTime;
    this.sweptResponsesTime = this.responsesTime;
    this.sweepState("Q", this.responsesTime - this.graceMs);
    this.sweepState("R", this.requestsTime - this.graceMs);
    this.sweepState("M", Math.min(this.requestsTime, this.responsesTime) - this.graceMs);
  }

  private sweepState(state: PendingFrame["state"], limit: number): void {
    // The heap holds every pending entry (rebuilt from the store when the task starts), so what is
    // due is known without scanning the store: work is proportional to what expires.
    const heap = this.earliest[state === "Q" ? 0 : state === "R" ? 1 : 2]!;
    while (heap.size > 0 && heap.peek() <= limit) {
      const { d, k } = heap.pop();
      const e = this.pending.get(k);
      if (e === undefined || e.deadline !== d || e.state !== state) continue; // superseded
      // put(k, null) is a delete that does not decode the old value again (just read above).
      this.pending.put(k, null);
      if (e.state === "M") continue;
      this.unmatched(
        String(terminalOf(k)),
        e,
        e.state === "Q" ? `no response within ${this.windowMs} ms` : "response without a request",
      );
    }
  }
}

const EMPTY = new Uint8Array(0);
/** Terminals PairDecoder mirrors in memory before it starts its mirror over. */
const TERMINAL_MIRROR_MAX = 100_000;

/** A terminal's last start (T001): its PDV and region, for campaign region rules. */
interface TerminalInfo {
  readonly pdvId: number;
  readonly regionCode: number | null;
  readonly startedAt: number;
}

/** Exact cents of a decoded decimal (number, decimal string or bigint of cents). */
export function centsOf(v: unknown): number {
  if (typeof v === "number") return Math.round(v * 100);
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string") {
    const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(v);
    if (!m) throw new Error(`"${v}" is not a decimal amount`);
    const frac = (m[3] ?? "").padEnd(2, "0");
    const c = Number(m[2] || "0") * 100 + Number(frac.slice(0, 2));
    return m[1] === "-" ? -c : c;
  }
  if (v !== null && typeof v === "object" && "toString" in v) return centsOf(String(v));
  throw new Error(`not an amount: ${String(v)}`);
}

function text(v: unknown): string {
  return typeof v === "string" ? v.trimEnd() : String(v ?? "");
}

function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

/** Whether `v` holds a bigint or bytes (or nests too deep to tell cheaply). */
function needsReplacer(v: unknown, depth: number): boolean {
  if (typeof v === "bigint") return true;
  if (v === null || typeof v !== "object") return false;
  if (depth > 8 || v instanceof Uint8Array) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (needsReplacer(v[i], depth + 1)) return true;
    return false;
  }
  for (const k in v) if (needsReplacer((v as { [k: string]: unknown })[k], depth + 1)) return true;
  return false;
}

/** JSON for decoded records: bigint as a decimal string, bytes as base64 (decoded bodies may hold both). */
function decodedJson<T>(): Serde<T> {
  const replacer = (_k: string, v: unknown): unknown =>
    typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? toBase64(v) : v;
  const inner = json<T>();
  return {
    // A replacer costs a call per key; decoded bodies rarely hold bigint or bytes, so look first.
    serialize: (_t, v) =>
      v === null
        ? null
        : Buffer.from(needsReplacer(v, 0) ? JSON.stringify(v, replacer) : JSON.stringify(v), "utf8"),
    deserialize: (t, d) => inner.deserialize(t, d),
  };
}

type Decoded = AcceptedBet | RejectedBet | BetCancellation | Payout | DecodedPair | DeadLetter;

/**
 * One frame codec per thread, every record compiled before the first task processes: compiled on
 * first use, ~0.2 ms per record and 292 records, each task of each app paid it mid-stream.
 */
let threadCodec: PdvFrameCodec | undefined;
function pairCodec(): PdvFrameCodec {
  if (threadCodec === undefined) {
    threadCodec = new PdvFrameCodec();
    threadCodec.compileAll();
  }
  return threadCodec;
}

class PairDecoder implements Processor<string, Correlated, string, Decoded> {
  private ctx!: ProcessorContext<string, Decoded>;
  private terminals!: KeyValueStore<string, TerminalInfo>;
  private readonly codec = pairCodec();
  private readonly metrics: RewardsMetrics;
  private readonly matched: (type: string) => Tally;
  private readonly accepted: Tally;
  private readonly rejected: Tally;

  constructor(metrics: RewardsMetrics) {
    this.metrics = metrics;
    this.matched = metrics.tallies.matched;
    this.accepted = metrics.tallies.bets("accepted");
    this.rejected = metrics.tallies.bets("rejected");
  }

  init(context: ProcessorContext<string, Decoded>): void {
    this.ctx = context;
    this.terminals = context.getStateStore(TERMINAL_STORE);
  }

  /**
   * The terminals' last starts, mirrored as the objects last read or written: every accepted bet
   * reads its terminal's region, and the store read (write buffer, lmdb, JSON) was ~4 % of the
   * correlation thread. A fleet has thousands of terminals; past TERMINAL_MIRROR_MAX the mirror
   * starts over. Like the ledger's mirrors, it dies with the processor when the task's state is
   * restored or rolled back; the store (and its changelog) gets every write as before.
   */
  private readonly terminalMirror = new Map<string, TerminalInfo | undefined>();
  private terminal(id: string): TerminalInfo | undefined {
    if (this.terminalMirror.has(id)) return this.terminalMirror.get(id);
    const t = this.terminals.get(id);
    this.mirrorTerminal(id, t);
    return t;
  }
  private putTerminal(id: string, t: TerminalInfo): void {
    this.terminals.put(id, t);
    this.mirrorTerminal(id, t);
  }
  private mirrorTerminal(id: string, t: TerminalInfo | undefined): void {
    if (this.terminalMirror.size >= TERMINAL_MIRROR_MAX && !this.terminalMirror.has(id))
      this.terminalMirror.clear();
    this.terminalMirror.set(id, t);
  }

  process(record: Record<string, Correlated>): void {
    const c = record.value;
    if (c.kind === "single") {
      const f = this.decode(record, c.frame);
      if (f === null) return;
      this.emit(SINKS.decoded, record, {
        type: f.header.type,
        terminalId: f.header.terminalId,
        pdvId: f.header.pdvId,
        sequence: f.header.sequence,
        status: f.header.status,
        requestTime: c.frame.timestamp,
        responseTime: c.frame.timestamp,
        request: f.body === null ? null : (f.body as DecodedPair["request"]),
        response: null,
      });
      return;
    }
    const q = this.decode(record, c.request);
    if (q === null) return;
    const r = this.decode(record, c.response);
    if (r === null) return;
    const h = r.header;
    this.matched(h.type).inc();
    const qb = q.body ?? {};
    const rb = r.body ?? {};
    const placedAt = c.request.timestamp;
    const at = c.response.timestamp;
    try {
      switch (h.type) {
        case "T001":
          if (h.status === 0) {
            const region = qb["T001-REGION-CODE"];
            this.putTerminal(String(h.terminalId), {
              pdvId: h.pdvId,
              regionCode: region === undefined || region === null ? null : num(region),
              startedAt: placedAt,
            });
          }
          break;
        case "T031": {
          if (h.status === 0) {
            const t = this.terminal(String(h.terminalId));
            const bet: AcceptedBet = {
              ticketId: text(rb["T031-TICKET-ID"]),
              terminalId: h.terminalId,
              pdvId: h.pdvId,
              regionCode: t?.regionCode ?? null,
              sequence: h.sequence,
              reunion: num(qb["T031-REUNION"]),
              course: num(qb["T031-COURSE"]),
              betType: text(qb["T031-BET-TYPE"]),
              formula: text(qb["T031-FORMULA"]),
              totalStakeCents: centsOf(qb["T031-TOTAL-STAKE"]),
              acceptedStakeCents: centsOf(rb["T031-ACCEPTED-STAKE"]),
              paymentMode: text(qb["T031-PAYMENT-MODE"]),
              placedAt,
              acceptedAt: at,
            };
            this.accepted.inc();
            this.emit(SINKS.bets, record, bet);
          } else {
            const rejected: RejectedBet = {
              terminalId: h.terminalId,
              pdvId: h.pdvId,
              sequence: h.sequence,
              status: h.status,
              rejectReason: text(rb["T031-REJECT-REASON"]),
              betType: text(qb["T031-BET-TYPE"]),
              totalStakeCents: centsOf(qb["T031-TOTAL-STAKE"]),
              placedAt,
            };
            this.rejected.inc();
            this.emit(SINKS.rejected, record, rejected);
          }
          break;
        }
        case "T033":
          if (h.status === 0) {
            const payout: Payout = {
              ticketId: text(rb["T033-TICKET-ID"]),
              terminalId: h.terminalId,
              pdvId: h.pdvId,
              amountPaidCents: centsOf(rb["T033-AMOUNT-PAID"]),
              paymentMode: text(rb["T033-PAYMENT-MODE"]),
              paidAt: at,
            };
            this.metrics.payouts.inc();
            this.emit(SINKS.payouts, record, payout);
          }
          break;
        case "T034":
          if (h.status === 0) {
            const cancel: BetCancellation = {
              ticketId: text(rb["T034-TICKET-ID"] ?? qb["T034-TICKET-ID"]),
              terminalId: h.terminalId,
              pdvId: h.pdvId,
              refundedStakeCents: centsOf(rb["T034-REFUNDED-STAKE"]),
              reasonCode: num(qb["T034-REASON-CODE"]),
              canceledAt: at,
            };
            this.metrics.cancellations.inc();
            this.emit(SINKS.canceled, record, cancel);
          }
          break;
      }
    } catch (e) {
      this.deadLetter(record, c.response, "BAD_FIELD", `${h.type} pair: ${(e as Error).message}`, null);
      return;
    }
    this.emit(SINKS.decoded, record, {
      type: h.type,
      terminalId: h.terminalId,
      pdvId: h.pdvId,
      sequence: h.sequence,
      status: h.status,
      requestTime: placedAt,
      responseTime: at,
      request: q.body === null ? null : (q.body as DecodedPair["request"]),
      response: r.body === null ? null : (r.body as DecodedPair["response"]),
    });
  }

  private decode(
    record: Record<string, Correlated>,
    f: FrameRef,
  ): ReturnType<PdvFrameCodec["decode"]> | null {
    try {
      return this.codec.decode(f.bytes);
    } catch (e) {
      const err = e as Error & { code?: string; field?: string };
      this.deadLetter(record, f, err.code ?? "BAD_FIELD", err.message, err.field ?? null);
      return null;
    }
  }

  private deadLetter(
    record: Record<string, Correlated>,
    f: FrameRef,
    code: string,
    reason: string,
    field: string | null,
  ): void {
    const [topic = "?", partition = "-1", offset = "-1"] = f.source.split("/");
    this.metrics.dlq.labels("body", code).inc();
    this.emit(SINKS.dlq, record, {
      stage: "body",
      code,
      reason,
      field,
      byteOffset: null,
      sourceTopic: topic,
      sourcePartition: Number(partition),
      sourceOffset: Number(offset),
      sourceTimestamp: f.timestamp,
      key: record.key,
      frameLength: f.bytes.length,
      rawBase64: toBase64(f.bytes),
    } satisfies DeadLetter);
  }

  private emit(sink: string, record: Record<string, Correlated>, value: Decoded): void {
    this.ctx.forward(new Record<string, Decoded>(record.key, value, record.timestamp, record.headers), sink);
  }
}

export interface CorrelationAppOptions extends CorrelationOptions {
  readonly metrics: RewardsMetrics;
}

export function buildCorrelationTopology(options: CorrelationAppOptions): Topology {
  const { metrics } = options;
  const t = new Topology()
    .addSource<string, Uint8Array>("frames", TOPICS.valid, {
      keySerde: Serdes.String,
      valueSerde: Serdes.Bytes,
    })
    .addProcessor("correlate", () => new Correlator(options, metrics), "frames")
    .addProcessor(DECODER, () => new PairDecoder(metrics), "correlate")
    .addStateStore(
      Stores.keyValueStore({
        name: CORRELATION_STORE,
        keySerde: Serdes.Bytes,
        valueSerde: pendingFrameSerde,
      }),
      "correlate",
    )
    .addStateStore(
      Stores.keyValueStore({
        name: TERMINAL_STORE,
        keySerde: Serdes.String,
        valueSerde: json<TerminalInfo>(),
      }),
      DECODER,
    )
    .addSink(
      SINKS.unmatched,
      TOPICS.unmatched,
      { keySerde: Serdes.String, valueSerde: json<UnmatchedFrame>() },
      "correlate",
    );
  const sinks: [string, string][] = [
    [SINKS.decoded, TOPICS.decoded],
    [SINKS.bets, TOPICS.bets],
    [SINKS.rejected, TOPICS.betsRejected],
    [SINKS.canceled, TOPICS.betsCanceled],
    [SINKS.payouts, TOPICS.payouts],
    [SINKS.dlq, TOPICS.dlq],
  ];
  for (const [name, topic] of sinks)
    t.addSink(name, topic, { keySerde: Serdes.String, valueSerde: decodedJson<Decoded>() }, DECODER);
  return t;
}
