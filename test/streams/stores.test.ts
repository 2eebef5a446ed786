// Typed store views over the byte stores: which puts may skip the defensive copy.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Serdes } from "../../src/serde/index.ts";
import { inMemoryKeyValueStore, StateDirectory } from "../../src/state/index.ts";
import { declareFreshSerializer, timestampedSerde } from "../../src/streams/index.ts";
import { LoggedKeyValueStore } from "../../src/streams/internals/logged.ts";
import { TypedKeyValueStore } from "../../src/streams/stores.ts";

const root = mkdtempSync(join(tmpdir(), "courant-streams-stores-"));
const dirs: StateDirectory[] = [];
after(async () => {
  for (const d of dirs) await d.close();
  rmSync(root, { recursive: true, force: true });
});

function lmdbStore(name: string) {
  const sd = new StateDirectory(root, name);
  dirs.push(sd);
  return sd.task("0_0").keyValueStore("s");
}

const sent: { key: Uint8Array | null; value: Uint8Array | null }[] = [];
const ctx = {
  timestamp: 5,
  collector: {
    send: (_t: string, key: Uint8Array | null, value: Uint8Array | null) => void sent.push({ key, value }),
    partitionsFor: () => undefined,
  },
} as unknown as ConstructorParameters<typeof LoggedKeyValueStore>[3];

for (const [label, make] of [
  ["lmdb", () => lmdbStore("bytes-copy")],
  ["memory", () => inMemoryKeyValueStore("s")],
] as const) {
  test(`${label}: a Bytes value is copied at put, so the caller may reuse its array`, () => {
    const raw = make();
    const typed = new TypedKeyValueStore(
      new LoggedKeyValueStore(raw, "t", 0, ctx),
      Serdes.String,
      Serdes.Bytes,
      "t",
    );
    const scratch = new Uint8Array([1, 2, 3]);
    typed.put("k", scratch);
    scratch[0] = 9;
    assert.deepEqual([...typed.get("k")!], [1, 2, 3]);
    const keyScratch = new Uint8Array([7]);
    const byBytesKey = new TypedKeyValueStore(raw, Serdes.Bytes, Serdes.String, "t");
    byBytesKey.put(keyScratch, "x");
    keyScratch[0] = 8;
    assert.equal(byBytesKey.get(new Uint8Array([7])), "x");
    assert.equal(byBytesKey.get(new Uint8Array([8])), undefined);
  });
}

test("fresh serializers (String, timestamped, declared) hand their bytes to the changelog uncopied; lmdb's write buffer keeps a copy", () => {
  const raw = lmdbStore("owned");
  const logged = new LoggedKeyValueStore(raw, "t", 0, ctx);
  const made: Uint8Array[] = [];
  const json = declareFreshSerializer<{ n: number }>({
    serialize: (_t, v) => {
      if (v === null) return null;
      const out = Buffer.from(JSON.stringify(v));
      made.push(out);
      return out;
    },
    deserialize: (_t, d) => (d === null ? null : (JSON.parse(Buffer.from(d).toString()) as { n: number })),
  });
  const typed = new TypedKeyValueStore(logged, Serdes.String, json, "t");
  sent.length = 0;
  typed.put("a", { n: 1 });
  // lmdb's write buffer copies every value into its arena (no array kept per write): same bytes.
  assert.deepEqual(Buffer.from(raw.get(Buffer.from("a"))!), made[0]);
  assert.equal(sent[0]!.value, made[0], "the changelog record carries the serialized array");
  assert.deepEqual(typed.get("a"), { n: 1 });
  typed.put("a", null);
  assert.equal(typed.get("a"), undefined);
  let lastOut: Uint8Array | undefined;
  const marked = {
    serializesFresh: true,
    serialize: (_t: string, v: string | null) => (v === null ? null : (lastOut = Buffer.from(v))),
    deserialize: (_t: string, d: Uint8Array | null) => (d === null ? null : Buffer.from(d).toString()),
  };
  const byMarker = new TypedKeyValueStore(raw, Serdes.String, marked, "t");
  byMarker.put("m", "x");
  assert.deepEqual(Buffer.from(raw.get(Buffer.from("m"))!), lastOut);
  assert.equal(byMarker.get("m"), "x");
  const ts = new TypedKeyValueStore(raw, Serdes.String, timestampedSerde(Serdes.String), "t");
  ts.put("b", { value: "v", timestamp: 42 });
  assert.deepEqual(ts.get("b"), { value: "v", timestamp: 42 });
});

test("through a record cache and on window stores, a caller's Bytes value is never shared with the store", async () => {
  const { CachingKeyValueStore, RecordCache } = await import("../../src/state/index.ts");
  const { TypedWindowStore } = await import("../../src/streams/stores.ts");
  const sd = new StateDirectory(root, "cached");
  dirs.push(sd);
  const raw = sd.task("0_0").keyValueStore("c");
  const cached = new CachingKeyValueStore(
    new LoggedKeyValueStore(raw, "t", 0, ctx),
    new RecordCache(1 << 20),
  );
  const bytesView = new TypedKeyValueStore(cached, Serdes.String, Serdes.Bytes, "t");
  const scratch = new Uint8Array([1, 2]);
  bytesView.put("k", scratch);
  scratch[0] = 9;
  assert.deepEqual([...bytesView.get("k")!], [1, 2]);
  cached.flush();
  scratch[1] = 9;
  assert.deepEqual([...raw.get(Buffer.from("k"))!], [1, 2]);
  const strView = new TypedKeyValueStore(cached, Serdes.String, Serdes.String, "t");
  strView.put("s", "v1");
  cached.flush();
  assert.equal(Buffer.from(raw.get(Buffer.from("s"))!).toString(), "v1");
  assert.equal(strView.get("s"), "v1");

  const win = sd.task("0_0").windowStore("w", { windowSizeMs: 10, retentionMs: 1000 });
  const wBytes = new TypedWindowStore(win, Serdes.String, Serdes.Bytes, "t");
  const ws = new Uint8Array([5]);
  wBytes.put("a", ws, 100);
  ws[0] = 6;
  assert.deepEqual([...wBytes.fetch("a", 100)!], [5]);
  const made: Uint8Array[] = [];
  const fresh = declareFreshSerializer<string>({
    serialize: (_t, v) => (v === null ? null : (made[made.length] = Buffer.from(v))),
    deserialize: (_t, d) => (d === null ? null : Buffer.from(d).toString()),
  });
  const wFresh = new TypedWindowStore(win, Serdes.String, fresh, "t");
  wFresh.put("b", "x", 200);
  assert.deepEqual(Buffer.from(win.fetch(Buffer.from("b"), 200)!), made[0]);
  assert.equal(wFresh.fetch("b", 200), "x");
});
