import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { avroSerde, LocalSchemaRegistry, SchemaRegistryError, SerdeError } from "../../src/serde/index.ts";

const root = mkdtempSync(join(tmpdir(), "courant-serde-avro-"));
after(() => rmSync(root, { recursive: true, force: true }));

const orderV1 = {
  type: "record",
  name: "Order",
  fields: [
    { name: "id", type: "string" },
    { name: "qty", type: "int" },
    {
      name: "line",
      type: {
        type: "record",
        name: "Line",
        fields: [
          { name: "sku", type: "string" },
          { name: "price", type: "double" },
        ],
      },
    },
  ],
};
const orderV2 = {
  ...orderV1,
  fields: [...orderV1.fields, { name: "note", type: "string", default: "none" }],
};
const order = { id: "o-1", qty: 2, line: { sku: "A", price: 9.5 } };
const serdeErr =
  (re: RegExp, check: (e: SerdeError) => boolean = () => true) =>
  (e: unknown) =>
    e instanceof SerdeError && re.test(e.message) && check(e);

test("Confluent wire format: magic 0, 4-byte schema id, Avro body; round trip", () => {
  const registry = new LocalSchemaRegistry();
  const serde = avroSerde<typeof order>({ registry, schema: orderV1 });
  const bytes = serde.serialize("orders", order)!;
  assert.equal(bytes[0], 0);
  const id = new DataView(bytes.buffer).getUint32(1);
  assert.equal(id, 1);
  assert.equal(registry.latestVersionSync("orders-value")?.id, 1, "TopicNameStrategy subject");
  assert.deepEqual(JSON.parse(JSON.stringify(serde.deserialize("orders", bytes))), order);
  // Avro body is what avsc (any Avro implementation) writes: "o-1" = len 3 zigzag (6) + bytes
  assert.deepEqual([...bytes.subarray(5, 9)], [6, 0x6f, 0x2d, 0x31]);
  const keySerde = avroSerde<string>({ registry, schema: "string", isKey: true });
  keySerde.serialize("orders", "k");
  assert.ok(registry.subjectsSync().includes("orders-key"));
});

test("schema evolution: v1 data read with a v2 reader gets defaults; v2 data read with v1 drops the field", () => {
  const registry = new LocalSchemaRegistry();
  const v1 = avroSerde<Record<string, unknown>>({ registry, schema: orderV1 });
  const v2 = avroSerde<Record<string, unknown>>({ registry, schema: orderV2 });
  const old = v1.serialize("orders", order)!;
  const neu = v2.serialize("orders", { ...order, note: "fragile" })!;
  assert.notEqual(new DataView(old.buffer).getUint32(1), new DataView(neu.buffer).getUint32(1));
  assert.equal(v2.deserialize("orders", old)!.note, "none");
  assert.equal(v1.deserialize("orders", neu)!.note, undefined);
  assert.equal(v2.deserialize("orders", neu)!.note, "fragile");
});

test("incompatible schemas are refused by the registry (BACKWARD default) with the reason", () => {
  const registry = new LocalSchemaRegistry();
  avroSerde({ registry, schema: orderV1 }).serialize("orders", order);
  const bad = { ...orderV1, fields: [...orderV1.fields, { name: "must", type: "string" }] };
  assert.throws(
    () => avroSerde({ registry, schema: bad }).serialize("orders", { ...order, must: "x" }),
    serdeErr(
      /subject 'orders-value' \[INCOMPATIBLE_SCHEMA\].*BACKWARD.*version 1.*no matching field for default-less Order.must/,
    ),
  );
  assert.throws(
    () => registry.registerSync("orders-value", JSON.stringify(bad)),
    (e: unknown) => e instanceof SchemaRegistryError && e.code === "INCOMPATIBLE_SCHEMA" && e.status === 409,
  );
  registry.setCompatibilitySync("NONE", "orders-value");
  assert.equal(registry.registerSync("orders-value", JSON.stringify(bad)), 2);
});

test("a reader schema that cannot resolve the writer's is a SerdeError naming the schema id", () => {
  const registry = new LocalSchemaRegistry({ compatibility: "NONE" });
  const bytes = avroSerde({ registry, schema: orderV1 }).serialize("orders", order)!;
  const reader = avroSerde({
    registry,
    readerSchema: { ...orderV1, fields: [{ name: "id", type: "int" }] },
  });
  assert.throws(
    () => reader.deserialize("orders", bytes),
    serdeErr(
      /schema id 1 cannot be read with the reader schema: cannot read "string" as "int"/,
      (e) => e.schemaId === 1,
    ),
  );
});

test("corrupt bytes: bad magic, short header, unknown id, truncated field, trailing bytes", () => {
  const registry = new LocalSchemaRegistry();
  const serde = avroSerde<typeof order>({ registry, schema: orderV1 });
  const good = serde.serialize("orders", order)!;
  const bad = good.slice();
  bad[0] = 7;
  assert.throws(() => serde.deserialize("orders", bad), serdeErr(/unknown magic byte 0x07 at byte 0/));
  assert.throws(() => serde.deserialize("orders", good.subarray(0, 3)), serdeErr(/3 bytes is too short/));
  const unknown = good.slice();
  new DataView(unknown.buffer).setUint32(1, 99);
  assert.throws(
    () => serde.deserialize("orders", unknown),
    serdeErr(/unknown schema id 99 \(topic 'orders'\)/, (e) => e.schemaId === 99),
  );
  // cut inside line.price (the last 8 bytes are the double)
  assert.throws(
    () => serde.deserialize("orders", good.subarray(0, good.length - 3)),
    serdeErr(/field 'line.price'/, (e) => e.field === "line.price"),
  );
  const trailing = new Uint8Array([...good, 1, 2]);
  assert.throws(() => serde.deserialize("orders", trailing), serdeErr(/2 trailing bytes/));
});

test("values that do not match the writer schema name the field", () => {
  const serde = avroSerde<unknown>({ registry: new LocalSchemaRegistry(), schema: orderV1 });
  assert.throws(
    () => serde.serialize("orders", { id: "o", qty: "two", line: { sku: "A", price: 1 } }),
    serdeErr(/field 'qty': expected int, got "two"/, (e) => e.field === "qty"),
  );
  assert.throws(
    () => avroSerde({ registry: new LocalSchemaRegistry() }).serialize("t", { a: 1 }),
    serdeErr(/no writer schema/),
  );
});

test("autoRegister off requires the schema to be registered already", () => {
  const registry = new LocalSchemaRegistry();
  const serde = avroSerde({ registry, schema: orderV1, autoRegister: false });
  assert.throws(
    () => serde.serialize("orders", order),
    serdeErr(/not registered under subject 'orders-value'/),
  );
  registry.registerSync("orders-value", JSON.stringify(orderV1));
  assert.equal(serde.serialize("orders", order)![4], 1);
});

test("the local registry persists to its file, dedupes schemas, and reports a corrupt file", () => {
  const file = join(root, "registry.json");
  const r1 = new LocalSchemaRegistry({ file });
  const id = r1.registerSync("a-value", JSON.stringify(orderV1));
  assert.equal(
    r1.registerSync("b-value", JSON.stringify(orderV1)),
    id,
    "same schema, same id across subjects",
  );
  assert.equal(r1.registerSync("a-value", JSON.stringify(orderV1)), id, "re-registering is idempotent");
  r1.setCompatibilitySync("FULL", "a-value");
  const r2 = new LocalSchemaRegistry({ file });
  assert.equal(r2.getSchemaByIdSync(id).schemaType, "AVRO");
  assert.deepEqual(r2.subjectsSync(), ["a-value", "b-value"]);
  assert.equal(r2.getCompatibilitySync("a-value"), "FULL");
  assert.equal(r2.getCompatibilitySync("b-value"), "BACKWARD");
  assert.equal(r2.registerSync("c-value", '"string"'), id + 1);
  writeFileSync(file, "{oops");
  assert.throws(
    () => new LocalSchemaRegistry({ file }),
    (e: unknown) => e instanceof SchemaRegistryError && e.code === "REGISTRY_CORRUPT",
  );
  assert.throws(
    () => r2.registerSync("x", '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}'),
    (e: unknown) =>
      e instanceof SchemaRegistryError &&
      e.code === "INVALID_SCHEMA" &&
      /invalid Avro schema/.test(e.message),
  );
  assert.throws(
    () => r2.getSchemaByIdSync(12345),
    (e: unknown) => e instanceof SchemaRegistryError && e.code === "SCHEMA_NOT_FOUND",
  );
});

test("FORWARD and FULL_TRANSITIVE compatibility", () => {
  const r = new LocalSchemaRegistry({ compatibility: "FORWARD" });
  r.registerSync("s", JSON.stringify(orderV2));
  // removing a field with a default is FORWARD compatible (old readers fill the default)
  assert.equal(r.checkCompatibilitySync("s", JSON.stringify(orderV1)).compatible, true);
  const r2 = new LocalSchemaRegistry({ compatibility: "FULL_TRANSITIVE" });
  r2.registerSync("s", JSON.stringify(orderV1));
  r2.registerSync("s", JSON.stringify(orderV2));
  const v3 = { ...orderV1, fields: orderV1.fields.filter((f) => f.name !== "qty") };
  const res = r2.checkCompatibilitySync("s", JSON.stringify(v3));
  assert.equal(res.compatible, false);
  assert.ok(
    res.messages.some((m) => /version 1/.test(m)) && res.messages.some((m) => /version 2/.test(m)),
    res.messages.join("\n"),
  );
});

test("a corrupt block count cannot make the decoder allocate without bound (7 bytes once killed the process)", () => {
  const registry = new LocalSchemaRegistry();
  for (const items of ["int", "null"]) {
    const serde = avroSerde<unknown>({
      registry,
      schema: {
        type: "record",
        name: `Bomb_${items}`,
        fields: [{ name: "xs", type: { type: "array", items } }],
      },
    });
    const ok = serde.serialize(`bomb-${items}`, { xs: items === "int" ? [1, 2] : [null] })!;
    const id = new DataView(ok.buffer).getUint32(1);
    // block count 2^28 (zigzag varint), then the end-of-array 0
    let z = 2 ** 29;
    const body: number[] = [];
    while (z >= 0x80) {
      body.push((z % 128) | 0x80);
      z = Math.floor(z / 128);
    }
    body.push(z, 0);
    const bomb = new Uint8Array([0, 0, 0, 0, id, ...body]);
    assert.throws(
      () => serde.deserialize(`bomb-${items}`, bomb),
      serdeErr(
        items === "int"
          ? /array block of 268435456 items .* runs past the end/
          : /more than 1000000 zero-byte items/,
        (e) => e.field === "xs",
      ),
    );
  }
});
