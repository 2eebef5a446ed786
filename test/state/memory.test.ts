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
