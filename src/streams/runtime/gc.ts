// V8 settings a stream thread's allocation pattern needs (see
// KafkaStreamsOptions.allocationSitePretenuring for why and what was measured).
import { setFlagsFromString } from "node:v8";

let pretenuringOff = false;

/** Turns V8's allocation-site pretenuring off for the whole process (V8 flags are per process). */
export function disableAllocationSitePretenuring(): void {
  if (pretenuringOff) return;
  setFlagsFromString("--no-allocation-site-pretenuring");
  pretenuringOff = true;
}

/** True once a KafkaStreams of this thread has turned pretenuring off. */
export function allocationSitePretenuringDisabled(): boolean {
  return pretenuringOff;
}
