import assert from "node:assert/strict";
import { test } from "node:test";
import { inMemoryKeyValueStore, inMemorySessionStore, inMemoryWindowStore } from "../../src/state/index.ts";
import { b, keyValueContract, sessionContract, windowContract } from "./store-contract.ts";

keyValueContract("memory kv", () => inMemoryKeyValueStore("kv"));
windowContract("memory window", (o) => inMemoryWindowStore("win", o));
sessionContract("memory session", (o) => inMemorySessionStore("sess", o));

test("memory stores refuse use after close with STORE_CLOSED", () => {
  const st = inMemoryKeyValueStore("closed-kv");
  st.close();
  assert.throws(
    () => st.get(b("a")),
    (e: Error & { code?: string }) => e.code === "STORE_CLOSED" && /closed-kv/.test(e.message),
  );
});

test("memory window: a second put to the latest (key, window) replaces the value (regression)", () => {
  const st = inMemoryWindowStore("win", { windowSizeMs: 10, retentionMs: 1000 });
  st.put(b("k"), b("1"), 100);
  st.put(b("k"), b("2"), 100);
  assert.equal(Buffer.from(st.fetch(b("k"), 100)!).toString(), "2");
  assert.equal([...st.fetchRange(b("k"), 0, 1000)].length, 1);
  assert.equal(st.approximateNumEntries(), 1);
});
