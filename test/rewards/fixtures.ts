// Shared fixtures of the rewards tests: a small simulated day with plenty of edge cases, and
// campaigns wide enough that caps and budgets never bind (so the answer is order-independent).
import { Campaign } from "../../apps/rewards/domain/index.ts";
import type { SimulatorOptions } from "../../apps/rewards/simulator/model.ts";
import { epochMsToPdvTimestamp, PdvFrameCodec } from "../../src/pdv/index.ts";

export const DAY = "2026-06-14";

export const SMALL_DAY: SimulatorOptions = {
  seed: 7,
  terminals: 12,
  pdvs: 5,
  date: DAY,
  days: 1,
  cancelRate: 0.08,
  retryRate: 0.03,
  lostResponseRate: 0.01,
  lateResponseRate: 0.01,
  malformedRate: 0.01,
};

export const TEST_CAMPAIGNS = [
  {
    id: "QUINTE",
    period: { from: DAY, to: DAY },
    betTypes: ["QNP", "Q4P"],
    couponValue: 2,
    capPerPdvPerDay: 10_000,
    totalBudget: 1_000_000,
  },
  {
    id: "STAKE-5",
    period: { from: DAY, to: DAY },
    minimumStake: 5,
    couponValue: 1,
    capPerPdvPerDay: 10_000,
    totalBudget: 1_000_000,
  },
  {
    id: "REGIONS",
    period: { from: DAY, to: DAY },
    pdvRegions: [75, 11, 93],
    couponValue: 1.5,
    capPerPdvPerDay: 10_000,
    totalBudget: 1_000_000,
  },
  {
    id: "R1-ONLY",
    period: { from: `${DAY}T12:00`, to: `${DAY}T18:00` },
    races: ["R1"],
    couponValue: 3,
    capPerPdvPerDay: 10_000,
    totalBudget: 1_000_000,
  },
].map((s) => Campaign.from(s));

export const CODES = 5000;

/** A T050 broadcast at `at`: moves stream time forward so every correlation window closes. */
export function clockTick(at: number, terminalId = 1): Uint8Array {
  return new PdvFrameCodec().encode({
    header: {
      type: "T050",
      direction: "Q",
      version: 1,
      terminalId,
      pdvId: 1,
      sequence: 1,
      timestamp: epochMsToPdvTimestamp(at),
      status: 0,
    },
    body: {
      "T050-REUNION": 1,
      "T050-COURSE": 1,
      "T050-KIND": "A",
      "T050-ARRIVAL": { "T050-PLACE": [3, 1, 4, 5, 9, 2, 6, 8] },
    },
  });
}

/** The day of the crash tests: seed and terminal count vary, the mix of incidents does not. */
export function crashDay(seed: number, terminals: number): SimulatorOptions {
  return {
    seed,
    terminals,
    pdvs: 15,
    date: DAY,
    days: 1,
    cancelRate: 0.06,
    retryRate: 0.03,
    lostResponseRate: 0.01,
    lateResponseRate: 0.01,
    malformedRate: 0.005,
  };
}

/**
 * Coupon pools of a crash test: larger than any campaign's qualifying bets, so nothing binds and
 * the answer does not depend on the order in which different terminals' bets reach a campaign.
 */
export const CRASH_CODES = 4 * CODES;
