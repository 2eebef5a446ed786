import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  CachingKeyValueStore,
  type ChangelogRecord,
  ChangeLoggingKeyValueStore,
  ChangeLoggingSessionStore,
  ChangeLoggingWindowStore,
  changelogTopicName,
  inMemoryKeyValueStore,
  inMemorySessionStore,
  inMemoryWindowStore,
  LmdbEnvironment,
  lmdbKeyValueStore,
  lmdbSessionStore,
  lmdbWindowStore,
  RecordCache,
} from "../../src/state/index.ts";
import { b, s } from "./store-contract.ts";

const root = mkdtempSync(join(tmpdir(), "courant-state-changelog-"));
after(() => rmSync(root, { recursive: true, force: true }));

const show = (recs: ChangelogRecord[]) =>
  recs.map((r) => [Buffer.from(r.key).toString("hex"), r.value && s(r.value)]);

test("changelog topic name follows Kafka Streams", () => {
  assert.equal(changelogTopicName("wordcount", "counts"), "wordcount-counts-changelog");
});

test("key-value writes are logged and a restore from the log rebuilds the store", () => {
  const log: ChangelogRecord[] = [];
  const st = new ChangeLoggingKeyValueStore(inMemoryKeyValueStore("kv"), (key, value) =>
    log.push({ key, value }),
  );
  st.put(b("a"), b("1"));
  st.put(b("b"), b("2"));
  st.putIfAbsent(b("a"), b("ignored"));
  st.delete(b("b"));
  st.put(b("c"), b("3"));
  assert.deepEqual(
    log.map((r) => [s(r.key), r.value && s(r.value)]),
    [
      ["a", "1"],
      ["b", "2"],
      ["b", null],
      ["c", "3"],
    ],
  );
  const restored = inMemoryKeyValueStore("kv");
  restored.restoreBatch(log, log.length);
  assert.deepEqual(restored.all(), st.all());
  assert.equal(restored.checkpoint(), 4);
});

test("window writes are logged by entry key (duplicates keep their sequence) and restore exactly", () => {
  const log: ChangelogRecord[] = [];
  const opts = { windowSizeMs: 100, retentionMs: 10_000, retainDuplicates: true };
  const st = new ChangeLoggingWindowStore(inMemoryWindowStore("join", opts), (key, value) =>
    log.push({ key, value }),
  );
  st.put(b("k"), b("x"), 5);
  st.put(b("k"), b("y"), 5);
  st.put(b("j"), b("z"), 7);
  assert.equal(log.length, 3);
  assert.notDeepEqual(log[0]!.key, log[1]!.key);
  const env = LmdbEnvironment.open(join(root, "win"));
  const restored = lmdbWindowStore(env, "join", opts);
  restored.restoreBatch(log, 3);
  assert.deepEqual(
    restored.fetchRange(b("k"), 0, 10).map((kv) => s(kv.value)),
    ["x", "y"],
  );
  assert.deepEqual(
    show(restored.all().map((kv) => ({ key: kv.key.key, value: kv.value }))),
    show([...st.all()].map((kv) => ({ key: kv.key.key, value: kv.value }))),
  );
  return env.close();
});

test("session writes and removals are logged and restore exactly", async () => {
  const log: ChangelogRecord[] = [];
  const st = new ChangeLoggingSessionStore(
    inMemorySessionStore("s", { retentionMs: 100_000 }),
    (key, value) => log.push({ key, value }),
  );
  st.put({ key: b("u"), windowStart: 0, windowEnd: 10 }, b("1"));
  st.put({ key: b("u"), windowStart: 30, windowEnd: 40 }, b("1"));
  // merge: remove both, put the merged session
  st.remove({ key: b("u"), windowStart: 0, windowEnd: 10 });
  st.remove({ key: b("u"), windowStart: 30, windowEnd: 40 });
  st.put({ key: b("u"), windowStart: 0, windowEnd: 40 }, b("2"));
  const env = LmdbEnvironment.open(join(root, "sess"));
  const restored = lmdbSessionStore(env, "s", { retentionMs: 100_000 });
  restored.restoreBatch(log, log.length);
  assert.deepEqual(
    restored.all().map((kv) => [s(kv.key.key), kv.key.windowStart, kv.key.windowEnd, s(kv.value)]),
    [["u", 0, 40, "2"]],
  );
  await env.close();
});

test("caching over change logging logs only the coalesced updates", async () => {
  const env = LmdbEnvironment.open(join(root, "stack"));
  const log: ChangelogRecord[] = [];
  const logged = new ChangeLoggingKeyValueStore(lmdbKeyValueStore(env, "counts"), (key, value) =>
    log.push({ key, value }),
  );
  const st = new CachingKeyValueStore(logged, new RecordCache(1 << 20));
  for (let i = 0; i < 100; i++) st.put(b(`k${i % 3}`), b(String(i)));
  assert.equal(log.length, 0);
  await st.flush();
  assert.deepEqual(
    log.map((r) => [s(r.key), r.value && s(r.value)]),
    [
      ["k1", "97"],
      ["k2", "98"],
      ["k0", "99"],
    ],
  );
  await env.close();
});
