// In-process calls complete through promises alone, so a busy produce or poll loop would never give the
// event loop a turn: timers (heartbeats, the broker's coordinator clock) and I/O would starve. Clients
// call `maybeYield()` on every operation; it yields to the macrotask queue once a few milliseconds of
// uninterrupted work have passed, which costs nothing measurable on the hot path.
import { setImmediate as immediate } from "node:timers/promises";

const SLICE_MS = 4;
let sliceStart = performance.now();
let scheduled = false;

function markTurn(): void {
  sliceStart = performance.now();
  scheduled = false;
}

/** Resolves at once while the current slice is short; otherwise after the event loop had a turn. */
export function maybeYield(): Promise<void> | undefined {
  if (!scheduled) {
    // Any macrotask that runs starts a new slice.
    scheduled = true;
    setImmediate(markTurn);
  }
  if (performance.now() - sliceStart < SLICE_MS) return undefined;
  return immediate().then(markTurn);
}
