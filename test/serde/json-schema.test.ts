import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonSchemaSerde, LocalSchemaRegistry, SerdeError } from "../../src/serde/index.ts";

const bet = {
  type: "object",
  properties: {
    ticket: { type: "string" },
    stake: { type: "number", minimum: 0 },
    legs: {
      type: "array",
      items: { type: "object", properties: { race: { type: "string" } }, required: ["race"] },
    },
  },
  required: ["ticket", "stake"],
  additionalProperties: false,
};
const enc = (s: string) => new TextEncoder().encode(s);
const serdeErr = (re: RegExp, field?: string) => (e: unknown) =>
  e instanceof SerdeError && re.test(e.message) && (field === undefined || e.field === field);

test("plain JSON Schema serde validates both ways and names the JSON pointer", () => {
  const serde = jsonSchemaSerde<Record<string, unknown>>({ schema: bet });
  const v = { ticket: "T1", stake: 2, legs: [{ race: "R1C3" }] };
  assert.deepEqual(serde.deserialize("bets", serde.serialize("bets", v)), v);
  assert.throws(
    () => serde.serialize("bets", { ticket: "T1", stake: -1 }),
    serdeErr(/on serialize: \/stake: must be >= 0/, "/stake"),
  );
  assert.throws(
    () => serde.deserialize("bets", enc('{"ticket":"T","stake":1,"legs":[{"horse":1}]}')),
    serdeErr(/on deserialize: \/legs\/0\/race: must have required property 'race'/, "/legs/0/race"),
  );
  assert.throws(
    () => serde.deserialize("bets", enc('{"stake":1}')),
    serdeErr(/\/ticket: must have required/, "/ticket"),
  );
  assert.throws(() => serde.deserialize("bets", enc("{nope")), serdeErr(/not valid JSON.*topic 'bets'/));
  assert.throws(() => jsonSchemaSerde({ schema: { type: "nonsense" } }), serdeErr(/invalid JSON Schema/));
});

test("with a registry: wire format, subject registration, unknown ids and type mismatch", () => {
  const registry = new LocalSchemaRegistry();
  const serde = jsonSchemaSerde<Record<string, unknown>>({ schema: bet, registry });
  const bytes = serde.serialize("bets", { ticket: "T1", stake: 1 })!;
  assert.equal(bytes[0], 0);
  const id = new DataView(bytes.buffer).getUint32(1);
  assert.equal(registry.getSchemaByIdSync(id).schemaType, "JSON");
  assert.equal(registry.latestVersionSync("bets-value")?.id, id);
  assert.deepEqual(serde.deserialize("bets", bytes), { ticket: "T1", stake: 1 });
  const unknown = bytes.slice();
  new DataView(unknown.buffer).setUint32(1, 77);
  assert.throws(() => serde.deserialize("bets", unknown), serdeErr(/unknown schema id 77/));
  const avroId = registry.registerSync("other", '"string"', "AVRO");
  const wrong = bytes.slice();
  new DataView(wrong.buffer).setUint32(1, avroId);
  assert.throws(() => serde.deserialize("bets", wrong), serdeErr(/is AVRO, not JSON/));
});

test("JSON Schema compatibility: a new required property is not BACKWARD compatible", () => {
  const registry = new LocalSchemaRegistry();
  registry.registerSync("bets-value", JSON.stringify(bet), "JSON");
  const withOptional = { ...bet, properties: { ...bet.properties, shop: { type: "string" } } };
  assert.equal(
    registry.checkCompatibilitySync("bets-value", JSON.stringify(withOptional), "JSON").compatible,
    true,
  );
  const withRequired = { ...withOptional, required: ["ticket", "stake", "shop"] };
  const res = registry.checkCompatibilitySync("bets-value", JSON.stringify(withRequired), "JSON");
  assert.equal(res.compatible, false);
  assert.match(res.messages[0]!, /\/shop: reader requires property 'shop'/);
  const retyped = { ...bet, properties: { ...bet.properties, stake: { type: "string" } } };
  assert.match(
    registry.checkCompatibilitySync("bets-value", JSON.stringify(retyped), "JSON").messages[0]!,
    /\/stake: writer type 'number' cannot be read as string/,
  );
});
