import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Worker } from "node:worker_threads";
import {
  avroSerde,
  HttpSchemaRegistry,
  jsonSchemaSerde,
  SchemaRegistryError,
  SerdeError,
} from "../../src/serde/index.ts";

const root = mkdtempSync(join(tmpdir(), "courant-serde-http-"));
const file = join(root, "registry.json");
let worker: Worker;
let url: string;
let client: HttpSchemaRegistry;

before(async () => {
  worker = new Worker(new URL("./registry-server-worker.ts", import.meta.url), { workerData: { file } });
  url = await new Promise<string>((resolve, reject) => {
    worker.once("message", (m: { url: string }) => resolve(m.url));
    worker.once("error", reject);
  });
  client = new HttpSchemaRegistry({ url, timeoutMs: 5000 });
});
after(async () => {
  client.close();
  worker.postMessage("close");
  await new Promise((r) => worker.once("exit", r));
  rmSync(root, { recursive: true, force: true });
});

const user = {
  type: "record",
  name: "User",
  fields: [
    { name: "name", type: "string" },
    { name: "age", type: "int" },
  ],
};
const userV2 = {
  ...user,
  fields: [...user.fields, { name: "email", type: ["null", "string"], default: null }],
};

test("Avro serde over the HTTP registry: registers on first use, round-trips, persists on the server", () => {
  const serde = avroSerde<{ name: string; age: number }>({ registry: client, schema: user });
  const bytes = serde.serialize("users", { name: "Ana", age: 31 })!;
  const id = new DataView(bytes.buffer).getUint32(1);
  const fresh = new HttpSchemaRegistry({ url }); // empty cache: the deserializer fetches GET /schemas/ids/{id}
  try {
    const reader = avroSerde<{ name: string; age: number; email: string | null }>({
      registry: fresh,
      readerSchema: userV2,
    });
    assert.deepEqual(JSON.parse(JSON.stringify(reader.deserialize("users", bytes))), {
      name: "Ana",
      age: 31,
      email: null,
    });
  } finally {
    fresh.close();
  }
  const saved = JSON.parse(readFileSync(file, "utf8"));
  assert.deepEqual(saved.subjects["users-value"], [{ version: 1, id }]);
});

test("HTTP registry errors surface with Confluent codes: unknown id, incompatible schema", () => {
  const serde = avroSerde<unknown>({ registry: client, schema: user });
  const bytes = serde.serialize("people", { name: "x", age: 1 })!;
  new DataView(bytes.buffer).setUint32(1, 4242);
  assert.throws(
    () => serde.deserialize("people", bytes),
    (e: unknown) =>
      e instanceof SerdeError && /unknown schema id 4242/.test(e.message) && e.schemaId === 4242,
  );
  const breaking = { ...user, fields: [{ name: "name", type: "int" }] };
  assert.throws(
    () => client.registerSync("people-value", JSON.stringify(breaking)),
    (e: unknown) =>
      e instanceof SchemaRegistryError &&
      e.code === "INCOMPATIBLE_SCHEMA" &&
      e.status === 409 &&
      /cannot read "string" as "int"|cannot read/.test(e.message),
  );
});

test("async API: subjects, latest version, compatibility check and config", async () => {
  await client.register("orders-value", JSON.stringify(user));
  assert.ok((await client.subjects()).includes("orders-value"));
  const latest = await client.latestVersion("orders-value");
  assert.equal(latest?.version, 1);
  assert.equal(latest?.schemaType, "AVRO");
  assert.equal(await client.latestVersion("nope-value"), undefined);
  assert.deepEqual(await client.checkCompatibility("orders-value", JSON.stringify(userV2)), {
    compatible: true,
    messages: [],
  });
  const bad = await client.checkCompatibility(
    "orders-value",
    JSON.stringify({ ...user, fields: [{ name: "x", type: "int" }] }),
  );
  assert.equal(bad.compatible, false);
  assert.match(bad.messages.join(" "), /BACKWARD/);
  assert.equal(await client.getCompatibility(), "BACKWARD");
  await client.setCompatibility("FULL", "orders-value");
  assert.equal(await client.getCompatibility("orders-value"), "FULL");
  await assert.rejects(
    client.setCompatibility("SIDEWAYS" as "FULL"),
    (e: unknown) => e instanceof SchemaRegistryError && e.code === "INVALID_COMPATIBILITY_LEVEL",
  );
  assert.equal(client.lookupSync("orders-value", JSON.stringify(user))?.version, 1);
  assert.equal(client.lookupSync("orders-value", JSON.stringify(userV2)), undefined);
});

test("JSON Schema serde over the HTTP registry", () => {
  const serde = jsonSchemaSerde<{ a: number }>({
    registry: client,
    schema: { type: "object", properties: { a: { type: "integer" } }, required: ["a"] },
  });
  assert.deepEqual(serde.deserialize("js", serde.serialize("js", { a: 5 })), { a: 5 });
});

test("an unreachable registry is REGISTRY_UNAVAILABLE, sync and async, naming the URL", async () => {
  const dead = new HttpSchemaRegistry({ url: "http://127.0.0.1:9", timeoutMs: 2000 });
  try {
    assert.throws(
      () => dead.getSchemaByIdSync(1),
      (e: unknown) =>
        e instanceof SchemaRegistryError &&
        e.code === "REGISTRY_UNAVAILABLE" &&
        /127\.0\.0\.1:9/.test(e.message),
    );
    await assert.rejects(
      dead.getSchemaById(1),
      (e: unknown) => e instanceof SchemaRegistryError && e.code === "REGISTRY_UNAVAILABLE",
    );
    const serde = avroSerde<unknown>({ registry: dead, schema: user });
    assert.throws(
      () => serde.serialize("t", { name: "a", age: 1 }),
      (e: unknown) => e instanceof SerdeError && /REGISTRY_UNAVAILABLE/.test(e.message),
    );
  } finally {
    dead.close();
  }
});
