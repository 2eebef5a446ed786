// The runtime's window change logging: duplicates (join buffers) are logged under the store's own
// entry keys, so a restore after a restart keeps every duplicate; an overwrite of an in-memory
// window is logged as the new value alone.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  inMemoryWindowStore,
  LmdbEnvironment,
  lmdbMirroredWindowStore,
  lmdbWindowStore,
  type WindowBytesStore,
} from "../../src/state/index.ts";
import type { TaskContext } from "../../src/streams/internals/context.ts";
import { LoggedWindowStore } from "../../src/streams/internals/logged.ts";
import { memoryStoreProvider } from "../../src/streams/internals/task.ts";

const root = mkdtempSync(join(tmpdir(), "courant-window-changelog-"));
const envs: LmdbEnvironment[] = [];
after(async () => {
  for (const e of envs) await e.close();
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
function env(): LmdbEnvironment {
  const e = LmdbEnvironment.open(join(root, `env-${n++}`));
  envs.push(e);
  return e;
}

interface Logged {
  key: Uint8Array;
  value: Uint8Array | null;
}
function fakeContext(log: Logged[]): TaskContext {
  return {
    timestamp: 0,
    collector: { send: (_t: string, key: Uint8Array, value: Uint8Array | null) => log.push({ key, value }) },
  } as unknown as TaskContext;
}

const options = { windowSizeMs: 1000, retentionMs: 100_000, retainDuplicates: true };
const key = new Uint8Array([1]);
const values = (s: WindowBytesStore) => [...s.fetchRange(key, 0, 10_000)].map((e) => e.value[0]);

const kinds: [string, () => WindowBytesStore & { restoreBatch(r: Logged[], next?: number): void }][] = [
  ["lmdb", () => lmdbWindowStore(env(), "join", options)],
  ["lmdb mirrored", () => lmdbMirroredWindowStore(env(), "join", options)],
  ["memory", () => inMemoryWindowStore("join", options)],
];

for (const [kind, make] of kinds) {
  test(`join-buffer duplicates written after a restart keep their own changelog keys (${kind})`, () => {
    const log: Logged[] = [];
    const ctx = fakeContext(log);
    const first = new LoggedWindowStore(make(), "t", 0, ctx, true);
    for (const v of [10, 11, 12]) first.put(key, new Uint8Array([v]), 5000);
    // Restart: the state is restored from the changelog, then a new duplicate arrives.
    const raw = make();
    raw.restoreBatch(log.slice(), log.length);
    const second = new LoggedWindowStore(raw, "t", 0, ctx, true);
    second.put(key, new Uint8Array([13]), 5000);
    assert.deepEqual(values(raw), [10, 11, 12, 13]);
    // A full restore from the whole changelog gives the same buffer.
    const restored = make();
    restored.restoreBatch(log, log.length);
    assert.deepEqual(values(restored), [10, 11, 12, 13]);
  });
}

test("an overwrite of an in-memory window is logged as the new value alone", () => {
  const log: Logged[] = [];
  const o = { windowSizeMs: 1000, retentionMs: 100_000, retainDuplicates: false };
  // As the runtime builds it: the provider's in-memory store behind the overwrite guard.
  const raw = memoryStoreProvider.window("w", false, "0_0", o);
  const st = new LoggedWindowStore(raw, "t", 0, fakeContext(log), false);
  st.put(key, new Uint8Array([1]), 5000);
  st.put(key, new Uint8Array([2]), 5000);
  assert.deepEqual(
    log.map((r) => r.value?.[0] ?? null),
    [1, 2],
  );
  assert.deepEqual(
    [...st.fetchRange(key, 0, 10_000)].map((e) => e.value[0]),
    [2],
  );
});
