// Campaigns of the rewards benchmark: wide enough that caps and budgets never bind.
import { Campaign } from "../../apps/rewards/domain/index.ts";

const DAY = "2026-06-14";
export const BENCH_CAMPAIGNS = [
  {
    id: "QUINTE",
    period: { from: DAY, to: DAY },
    betTypes: ["QNP", "Q4P"],
    couponValue: 2,
    capPerPdvPerDay: 100_000,
    totalBudget: 10_000_000,
  },
  {
    id: "STAKE-5",
    period: { from: DAY, to: DAY },
    minimumStake: 5,
    couponValue: 1,
    capPerPdvPerDay: 100_000,
    totalBudget: 10_000_000,
  },
  {
    id: "REGIONS",
    period: { from: DAY, to: DAY },
    pdvRegions: [75, 11, 93],
    couponValue: 1.5,
    capPerPdvPerDay: 100_000,
    totalBudget: 10_000_000,
  },
].map((s) => Campaign.from(s));
