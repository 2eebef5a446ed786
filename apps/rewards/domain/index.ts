// The rewards domain: campaigns, qualification, the coupon ledger. Pure; no I/O.
export * from "./campaign.ts";
export * from "./events.ts";
export * from "./ledger.ts";
export { parisDay, parisLocalToEpochMs, parisOffsetMs } from "./paris-time.ts";
