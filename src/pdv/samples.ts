// Random but valid frame bodies for every catalog type, and a sample of the production frame
// mix (for benchmarks, fuzzing seeds and the simulator's "other" frames).
import { type GeneratedField, PDV_CATALOG } from "./catalog.ts";
import { PdvFrameCodec } from "./codec.ts";
import { PdvFrameError } from "./errors.ts";
import { createRandom, type Random } from "./random.ts";
import { epochMsToPdvTimestamp } from "./timestamp.ts";
import type { PdvBody, PdvDirection } from "./types.ts";

const TEXT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -";
const BET_TYPES = ["SGA", "SPL", "CGA", "CPL", "TRI", "Q4P", "QNP", "MLT"];
const DAY_START = Date.UTC(2026, 5, 14, 8, 0, 0);

function text(r: Random, max: number): string {
  const n = r.int(0, max);
  let s = "";
  for (let i = 0; i < n; i++) s += TEXT_ALPHABET[r.int(0, TEXT_ALPHABET.length - 1)];
  return s.trimEnd();
}

function digits(r: Random, n: number): number {
  // Up to n digits, at most 15 so the value stays an exact JS number.
  const d = Math.min(n, 15);
  return Math.floor(r.next() * 10 ** r.int(1, d));
}

function decimal(r: Random, intDigits: number, scale: number, signed: boolean): number {
  const units = digits(r, Math.min(intDigits + scale, 15));
  const v = units / 10 ** scale;
  const x = Number(v.toFixed(scale));
  return signed && x !== 0 && r.chance(0.2) ? -x : x;
}

function timestamp(r: Random): string {
  return epochMsToPdvTimestamp(DAY_START + r.int(0, 14 * 3_600_000));
}

function horses(r: Random, max: number): number[] {
  const out: number[] = [];
  for (let h = 1; h <= 24; h++) if (out.length < max && r.chance(0.2)) out.push(h);
  return out;
}

function generatedValue(f: GeneratedField, r: Random): unknown {
  switch (f.kind) {
    case "text":
      return text(r, f.length);
    case "zoned":
      return f.signed && r.chance(0.3) ? -digits(r, f.digits) || 0 : digits(r, f.digits);
    case "binary":
      return digits(r, f.digits);
    case "packed":
      return decimal(r, f.digits - f.scale, f.scale, f.signed);
    case "timestamp":
      return timestamp(r);
    case "bitmap24":
      return horses(r, 24);
    case "occurs":
      return Array.from({ length: f.times }, () => generatedBody(f.fields, r));
  }
}

function generatedBody(fields: readonly GeneratedField[], r: Random): PdvBody {
  const body: Record<string, unknown> = {};
  for (const f of fields) body[f.name] = generatedValue(f, r);
  return body;
}

/**
 * A random valid body for a catalog type and direction (copybook field names to values). Throws
 * NO_LAYOUT when the type is unknown or has no record for that direction.
 */
export function sampleBody(type: string, direction: PdvDirection, r: Random): PdvBody {
  const spec = PDV_CATALOG.get(type);
  if (spec === undefined) throw new PdvFrameError("NO_LAYOUT", `unknown frame type ${type}`);
  if (direction === "R" && spec.responseRecord === null) {
    throw new PdvFrameError("NO_LAYOUT", `frame type ${type} has no response`);
  }
  if (spec.generated) {
    const fields = direction === "Q" ? spec.generated.request : spec.generated.response!;
    return generatedBody(fields, r);
  }
  const q = direction === "Q";
  switch (type) {
    case "T001": {
      if (q) {
        return {
          "T001-SOFTWARE-VERSION": "PDV4.2.1",
          "T001-OPERATOR-ID": `OP${r.int(100_000, 999_999)}`,
          "T001-REGION-CODE": r.int(1, 999),
          "T001-OPEN-DATE": 20260614,
        };
      }
      const n = r.int(0, 12);
      return {
        "T001-SESSION-ID": text(r, 12),
        "T001-SERVER-TIME": timestamp(r),
        "T001-MEETING-COUNT": n,
        "T001-MEETING": Array.from({ length: n }, (_, i) => ({
          "T001-REUNION": i + 1,
          "T001-RACE-COUNT": r.int(1, 16),
          "T001-RACECOURSE": text(r, 20),
        })),
      };
    }
    case "T031": {
      if (q) {
        const n = r.int(1, 20);
        const unit = r.int(150, 99_999) / 100;
        const mult = r.int(1, 20);
        return {
          "T031-REUNION": r.int(1, 12),
          "T031-COURSE": r.int(1, 16),
          "T031-BET-TYPE": r.pick(BET_TYPES),
          "T031-FORMULA": r.pick(["U", "C", "T", "X"]),
          "T031-UNIT-STAKE": unit,
          "T031-MULTIPLIER": mult,
          "T031-TOTAL-STAKE": Math.round(unit * mult * 100) / 100,
          "T031-PAYMENT-MODE": r.pick(["E", "C", "V"]),
          "T031-FIELD-BITMAP": horses(r, 8),
          "T031-NB-SELECTIONS": n,
          "T031-SELECTION": Array.from({ length: n }, () => r.int(1, 24)),
        };
      }
      const rejected = r.chance(0.05);
      return {
        "T031-TICKET-ID": rejected ? "" : `2606141000${r.int(10_000_000, 99_999_999)}01`,
        "T031-ACCEPTED-STAKE": rejected ? 0 : r.int(150, 500_000) / 100,
        "T031-REJECT-REASON": rejected ? "SI" : "",
        "T031-BALANCE": r.int(-1_000_000, 100_000_000) / 100,
      };
    }
    case "T033":
      return q
        ? { "T033-TICKET-ID": `26061410${r.int(10_000_000, 99_999_999)}0042` }
        : {
            "T033-TICKET-ID": `26061410${r.int(10_000_000, 99_999_999)}0042`,
            "T033-AMOUNT-PAID": r.int(0, 10_000_000) / 100,
            "T033-PAYMENT-MODE": r.pick(["E", "C"]),
          };
    case "T034":
      return q
        ? {
            "T034-TICKET-ID": `26061410${r.int(10_000_000, 99_999_999)}0042`,
            "T034-REASON-CODE": r.int(1, 2),
          }
        : {
            "T034-TICKET-ID": `26061410${r.int(10_000_000, 99_999_999)}0042`,
            "T034-REFUNDED-STAKE": r.int(0, 1_000_000) / 100,
          };
    case "T050":
      return r.chance(0.5)
        ? {
            "T050-REUNION": r.int(1, 12),
            "T050-COURSE": r.int(1, 16),
            "T050-KIND": "A",
            "T050-ARRIVAL": { "T050-PLACE": Array.from({ length: 8 }, () => r.int(0, 24)) },
          }
        : {
            "T050-REUNION": r.int(1, 12),
            "T050-COURSE": r.int(1, 16),
            "T050-KIND": "O",
            "T050-ODDS": {
              "T050-HORSE": r.int(1, 24),
              "T050-ODDS-VALUE": r.int(110, 99_900) / 100,
              "T050-STAMP": Number(timestamp(r).slice(0, 14)),
            },
          };
    case "T090":
      return q
        ? {
            "T090-ACTION": r.pick(["I", "C"]),
            "T090-COUPON-CODE": text(r, 16),
            "T090-CAMPAIGN-ID": text(r, 12),
            "T090-VALUE-CENTS": r.int(100, 5_000),
            "T090-TICKET-ID": `26061410${r.int(10_000_000, 99_999_999)}0042`,
            "T090-ISSUED-AT": timestamp(r),
            "T090-EXPIRES-AT": timestamp(r),
            "T090-MESSAGE": "Bon de 5,00 € offert",
          }
        : { "T090-COUPON-CODE": text(r, 16), "T090-ACK-CODE": "OK" };
    default:
      throw new PdvFrameError("NO_LAYOUT", `no sample generator for ${type}`);
  }
}

/** Share of each kind of frame in the production mix (rough): bets dominate. */
const MIX: readonly { type: string; weight: number }[] = [
  { type: "T031", weight: 70 },
  { type: "T001", weight: 2 },
  { type: "T033", weight: 8 },
  { type: "T034", weight: 2 },
  { type: "T050", weight: 1 },
  { type: "*", weight: 17 },
];

export interface SampleFrameSpec {
  readonly type: string;
  readonly direction: PdvDirection;
  readonly terminalId: number;
  readonly pdvId: number;
  readonly sequence: number;
  readonly timestamp: string;
  readonly status: number;
  readonly body: PdvBody;
}

/** Deterministic logical frames of the production mix (encode them with PdvFrameCodec). */
export function samplePdvFrameSpecs(n: number, seed: number | string = 1): SampleFrameSpec[] {
  const r = createRandom(`samples/${seed}`);
  const generated = [...PDV_CATALOG.values()].filter((s) => s.origin === "generated");
  const weights = MIX.map((m) => m.weight);
  const out: SampleFrameSpec[] = [];
  for (let i = 0; i < n; i++) {
    const pick = MIX[r.weightedIndex(weights)]!.type;
    const spec = pick === "*" ? r.pick(generated) : PDV_CATALOG.get(pick)!;
    const direction: PdvDirection = spec.responseRecord !== null && r.chance(0.5) ? "R" : "Q";
    out.push({
      type: spec.type,
      direction,
      terminalId: 100_000_001 + r.int(0, 9_999),
      pdvId: 1_000_001 + r.int(0, 999),
      sequence: r.int(1, 5_000),
      timestamp: timestamp(r),
      status: direction === "R" && r.chance(0.03) ? -r.int(1, 999) : 0,
      body: sampleBody(spec.type, direction, r),
    });
  }
  return out;
}

/**
 * `n` encoded frames of the production mix, deterministic for a seed (for benchmarks: the copybook
 * bench measures the PDV frame mix with it).
 */
export function samplePdvFrames(n: number, seed: number | string = 1): Uint8Array[] {
  const codec = new PdvFrameCodec();
  return samplePdvFrameSpecs(n, seed).map((s) =>
    codec.encode({
      header: {
        type: s.type,
        direction: s.direction,
        version: 1,
        terminalId: s.terminalId,
        pdvId: s.pdvId,
        sequence: s.sequence,
        timestamp: s.timestamp,
        status: s.status,
      },
      body: s.body,
    }),
  );
}
