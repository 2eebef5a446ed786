// The terminal simulator: a deterministic generator of betting days (frames on pdv.requests and
// pdv.responses) and a runner that produces them to a Cluster. Written against Courant's public
// API, like a user's application.
export {
  generateDays,
  type Malformation,
  malform,
  type PdvTopic,
  REQUESTS_TOPIC,
  RESPONSES_TOPIC,
  type SimulatedFrame,
  type SimulatedKind,
  simulateDay,
} from "./day.ts";
export { BET_TYPES, type BetType, resolveOptions, type SimulatorOptions } from "./model.ts";
export { simulatorProgressBar } from "./progress.ts";
export {
  type RunSimulatorOptions,
  runSimulator,
  type SimulatorProgress,
  type SimulatorSummary,
} from "./runner.ts";
