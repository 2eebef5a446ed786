// Corrupt input must end in a SerdeError (or a value), never a crash or a non-Serde error.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  avroSerde,
  jsonSchemaSerde,
  LocalSchemaRegistry,
  SerdeError,
  Serdes,
} from "../../src/serde/index.ts";

const ROUNDS = process.env.COURANT_SOAK === "1" ? 50_000 : 3_000;

const schema = {
  type: "record",
  name: "Bet",
  fields: [
    { name: "ticket", type: "string" },
    { name: "stake", type: "double" },
    {
      name: "legs",
      type: {
        type: "array",
        items: {
          type: "record",
          name: "Leg",
          fields: [
            { name: "race", type: "string" },
            { name: "n", type: "int" },
          ],
        },
      },
    },
    { name: "tags", type: { type: "map", values: "long" } },
    { name: "kind", type: { type: "enum", name: "Kind", symbols: ["WIN", "PLACE"] } },
    { name: "note", type: ["null", "string"], default: null },
    { name: "nothing", type: { type: "array", items: "null" } },
  ],
};

test("random corruption of Avro, JSON Schema and primitive values only ever raises SerdeError", () => {
  const registry = new LocalSchemaRegistry();
  const avro = avroSerde<unknown>({ registry, schema });
  const json = jsonSchemaSerde<unknown>({
    schema: { type: "object", properties: { a: { type: "array" } } },
    registry,
  });
  const good = [
    {
      serde: avro,
      bytes: avro.serialize("t", {
        ticket: "T1",
        stake: 2.5,
        legs: [{ race: "R1C3", n: 4 }],
        tags: { a: 1 },
        kind: "WIN",
        note: "x",
        nothing: [null, null],
      })!,
    },
    { serde: json, bytes: json.serialize("j", { a: [1, 2, { b: "c" }] })! },
    { serde: Serdes.Int64, bytes: Serdes.Int64.serialize("t", 123)! },
    { serde: Serdes.String, bytes: Serdes.String.serialize("t", "héllo")! },
  ];
  let seed = 99;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  let errors = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const { serde, bytes } = good[i % good.length]!;
    const b = new Uint8Array(bytes);
    const mutation = rnd(4);
    let data: Uint8Array = b;
    if (mutation === 0) b[5 + rnd(Math.max(1, b.length - 5))] = rnd(256);
    else if (mutation === 1) data = b.subarray(0, rnd(b.length + 1));
    else if (mutation === 2)
      data = new Uint8Array([...b, ...Array.from({ length: 1 + rnd(8) }, () => rnd(256))]);
    else for (let j = 0; j < 3; j++) b[rnd(b.length)] = rnd(256);
    try {
      serde.deserialize("t", data);
    } catch (e) {
      errors++;
      assert.ok(e instanceof SerdeError, `round ${i}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  assert.ok(errors > ROUNDS / 4, `most corruptions are detected (${errors}/${ROUNDS})`);
});
