// PdvFrameCodec.compileAll (the apps call it at start): the codecs it compiles, sharing one parse
// of each type's copybook, behave exactly like the ones compiled on first use.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PDV_CATALOG, PdvFrameCodec, samplePdvFrameSpecs } from "../../src/pdv/index.ts";

test("compileAll compiles every record once; the codecs encode and decode like those compiled on first use", () => {
  const eager = new PdvFrameCodec();
  const n = eager.compileAll();
  assert.equal(n, 2 * PDV_CATALOG.size - [...PDV_CATALOG.values()].filter((s) => !s.responseRecord).length);
  const first = eager.recordCodec("T031", "Q");
  assert.equal(eager.compileAll(), n);
  assert.equal(eager.recordCodec("T031", "Q"), first, "a second compileAll recompiles nothing");
  const lazy = new PdvFrameCodec();
  for (const s of samplePdvFrameSpecs(600, "compileAll")) {
    const { body, ...rest } = s;
    const frame = { header: { ...rest, version: 1 }, body };
    const bytes = eager.encode(frame);
    assert.deepEqual(bytes, lazy.encode(frame), `${s.type}/${s.direction}`);
    assert.deepEqual(eager.decode(bytes), lazy.decode(bytes), `${s.type}/${s.direction}`);
  }
});
