// The state flush interval of a stream thread: the configured one, or the longer
// saturatedStateFlushIntervalMs while the thread's event loop has no idle time (a backlog).
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveOptions } from "../../src/streams/runtime/config.ts";
import { stateFlushIntervalFor } from "../../src/streams/runtime/thread.ts";

// Only the options are resolved here: a stand-in with the one method the check looks for.
const base = { applicationId: "flush", cluster: { createConsumer: () => undefined } as never };

test("a saturated thread flushes its state at the saturated interval; otherwise, or when unset, at the usual one", () => {
  const o = resolveOptions({ ...base, stateFlushIntervalMs: 100, saturatedStateFlushIntervalMs: 500 });
  assert.equal(stateFlushIntervalFor(o, false), 100);
  assert.equal(stateFlushIntervalFor(o, true), 500);
  const plain = resolveOptions({ ...base, stateFlushIntervalMs: 100 });
  assert.equal(plain.saturatedStateFlushIntervalMs, undefined);
  assert.equal(stateFlushIntervalFor(plain, true), 100);
  assert.equal(stateFlushIntervalFor(resolveOptions(base), true), 1000);
});

test("saturatedStateFlushIntervalMs must be a non-negative integer", () => {
  for (const bad of [-1, 1.5]) {
    assert.throws(
      () => resolveOptions({ ...base, saturatedStateFlushIntervalMs: bad }),
      (e: Error & { code?: string }) =>
        e.code === "CONFIG_INVALID" && /saturatedStateFlushIntervalMs/.test(e.message),
    );
  }
});
