import assert from "node:assert/strict";
import { test } from "node:test";
import { compileCopybook } from "../../src/copybook/index.ts";
import { copybookSerde, SerdeError } from "../../src/serde/index.ts";

const codec = compileCopybook(
  `
       01  ORDER-REC.
           05  ORDER-ID      PIC X(6).
           05  AMOUNT        PIC S9(5)V99 COMP-3.
`,
  { codePage: "cp037" },
);

test("copybook serde round-trips a record and keeps null as a tombstone", () => {
  const serde = copybookSerde(codec);
  const bytes = serde.serialize("orders", { "ORDER-ID": "A12", AMOUNT: 12.5 });
  assert.ok(bytes);
  assert.equal(bytes.length, 10);
  const back = serde.deserialize("orders", bytes);
  assert.equal(back?.["ORDER-ID"], "A12");
  assert.equal(Number(back?.AMOUNT), 12.5);
  assert.equal(serde.serialize("orders", null), null);
  assert.equal(serde.deserialize("orders", null), null);
});

test("copybook serde names topic, field and byte of a corrupt packed decimal", () => {
  const serde = copybookSerde(codec);
  const bytes = serde.serialize("orders", { "ORDER-ID": "A12", AMOUNT: 1 })!;
  bytes[7] = 0xab; // 0xA and 0xB are not digits of a packed decimal
  assert.throws(
    () => serde.deserialize("orders", bytes),
    (e: unknown) =>
      e instanceof SerdeError &&
      e.topic === "orders" &&
      /AMOUNT/.test(e.field ?? "") &&
      /byte 6/.test(e.message),
  );
});

test("copybook serde rejects a record of the wrong length", () => {
  const serde = copybookSerde(codec);
  assert.throws(() => serde.deserialize("orders", new Uint8Array(3)), SerdeError);
});
