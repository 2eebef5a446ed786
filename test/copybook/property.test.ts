// Property: for random layouts and random values, encode -> decode gives the values back exactly, and so
// does decode -> JSON -> encode (exact decimals). COURANT_SOAK=1 runs many more layouts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileCopybook, type RecordCodec } from "../../src/copybook/index.ts";
import { rng } from "../fixtures/random.ts";

const SOAK = process.env.COURANT_SOAK === "1";
const LAYOUTS = SOAK ? 3000 : 150;
const RECORDS = SOAK ? 50 : 15;

interface Gen {
  r: () => number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
}
function gen(seed: number): Gen {
  const r = rng(seed);
  return { r, int: (n) => Math.floor(r() * n), pick: (xs) => xs[Math.floor(r() * xs.length)]! };
}

type ValueGen = (g: Gen) => unknown;
interface FieldSpec {
  clause: string;
  value: ValueGen;
}

const TEXT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,-/'()+&*%éèàç";

function decimalValue(digits: number, scale: number, signed: boolean, asString = digits > 15): ValueGen {
  return (g) => {
    const neg = signed && g.r() < 0.5;
    const len = 1 + g.int(digits);
    let d = "";
    for (let i = 0; i < len; i++) d += String(g.int(10));
    d = d.replace(/^0+(?=\d)/, "");
    if (!asString) {
      let n = Number(d);
      if (scale > 0) n = n / 10 ** scale;
      else if (scale < 0) n = n * 10 ** -scale;
      return neg && n !== 0 ? -n : n;
    }
    // string form: canonical decimal with exactly `scale` decimals
    let s: string;
    if (scale > 0) {
      const p = d.padStart(scale + 1, "0");
      s = `${p.slice(0, p.length - scale).replace(/^0+(?=\d)/, "")}.${p.slice(p.length - scale)}`;
    } else s = d;
    return neg && /[1-9]/.test(s) ? `-${s}` : s;
  };
}

function fieldSpec(g: Gen, page: string): FieldSpec {
  const kind = g.int(9);
  const signed = g.r() < 0.5;
  const S = signed ? "S" : "";
  switch (kind) {
    case 0: {
      const n = 1 + g.int(40);
      const just = g.r() < 0.15;
      return {
        clause: `PIC X(${n})${just ? " JUSTIFIED RIGHT" : ""}`,
        value: (gg) => {
          let s = "";
          const len = gg.int(n + 1);
          for (let i = 0; i < len; i++) s += gg.pick([...TEXT_CHARS]);
          s = just ? s.replace(/^\s+/, "") : s.replace(/\s+$/, "");
          return page === "ascii" ? s.replace(/[^\x20-\x7e]/g, "x") : s;
        },
      };
    }
    case 1:
    case 2: {
      // zoned DISPLAY with optional V, SIGN clauses
      const digits = 1 + g.int(page === "ascii" ? 18 : 30);
      const scale = g.int(Math.min(digits, 6) + 1);
      const ip = digits - scale;
      const pic = `${S}${ip ? `9(${ip})` : ""}${scale ? `V9(${scale})` : ""}`;
      const sign = signed
        ? g.pick(["", " SIGN LEADING", " SIGN TRAILING SEPARATE", " SIGN LEADING SEPARATE"])
        : "";
      return { clause: `PIC ${pic}${sign}`, value: decimalValue(digits, scale, signed) };
    }
    case 3: {
      const digits = 1 + g.int(31);
      const scale = g.int(Math.min(digits, 8) + 1);
      const ip = digits - scale;
      return {
        clause: `PIC ${S}${ip ? `9(${ip})` : ""}${scale ? `V9(${scale})` : ""} COMP-3`,
        value: decimalValue(digits, scale, signed),
      };
    }
    case 4: {
      const digits = 1 + g.int(18);
      const scale = g.int(Math.min(digits, 4) + 1);
      const ip = digits - scale;
      const usage = g.pick(["COMP", "COMP-4", "BINARY", "COMP-5"]);
      // COMP-5 holds its whole binary range: 8-byte COMP-5 values are decimal strings.
      const asString = digits > 15 || (usage === "COMP-5" && digits > 9);
      return {
        clause: `PIC ${S}${ip ? `9(${ip})` : ""}${scale ? `V9(${scale})` : ""} ${usage}`,
        value: decimalValue(digits, scale, signed, asString),
      };
    }
    case 5: {
      const which = g.int(3);
      if (which === 0) return { clause: "PIC SPPP9(4)", value: (gg) => (gg.int(19999) - 9999) / 1e7 || 0 };
      if (which === 1)
        return { clause: "PIC S9(4)PP COMP-3", value: (gg) => (gg.int(19999) - 9999) * 100 || 0 };
      return { clause: "PIC 9(6).99", value: (gg) => gg.int(1e8) / 100 };
    }
    case 6: {
      const tpl = g.pick([
        ["PIC Z(5)9.99-", 6, 2, true],
        ["PIC +9(6)", 6, 0, true],
        ["PIC 9(5)-", 5, 0, true],
        ["PIC ZZZ,ZZ9", 6, 0, false],
        ["PIC ***,**9.99CR", 6, 2, true],
      ] as const);
      return { clause: tpl[0], value: decimalValue(tpl[1], tpl[2], tpl[3]) };
    }
    case 7:
      return {
        clause: g.pick(["COMP-1", "COMP-2"]),
        // values exactly representable in both IBM hex and IEEE: small dyadic rationals
        value: (gg) => (gg.int(2 ** 20) - 2 ** 19) / 2 ** gg.int(12),
      };
    default: {
      const n = 1 + g.int(3);
      return {
        clause: `PIC N(${n})`,
        value: (gg) => Array.from({ length: gg.int(n + 1) }, () => gg.pick([..."AZ€é字"])).join(""),
      };
    }
  }
}

interface Built {
  text: string;
  value: (g: Gen) => Record<string, unknown>;
}

function buildLayout(g: Gen, page: string): Built {
  const lines: string[] = ["01 REC."];
  let seq = 0;
  type Item = (g: Gen) => [string, unknown][];
  const items: Item[] = [];
  const fieldCount = 1 + g.int(10);
  for (let i = 0; i < fieldCount; i++) {
    const name = `F${++seq}`;
    const shape = g.int(10);
    if (shape < 6) {
      const f = fieldSpec(g, page);
      lines.push(`  05 ${name} ${f.clause}.`);
      items.push((gg) => [[name, f.value(gg)]]);
    } else if (shape < 8) {
      const times = 1 + g.int(4);
      const f = fieldSpec(g, page);
      lines.push(`  05 ${name} ${f.clause} OCCURS ${times} TIMES.`);
      items.push((gg) => [[name, Array.from({ length: times }, () => f.value(gg))]]);
    } else if (shape === 8 && g.r() < 0.3) {
      // a wide group (decoded and encoded by chunk functions)
      const width = 33 + g.int(40);
      const specs: Array<[string, FieldSpec]> = [];
      lines.push(`  05 ${name}.`);
      for (let k = 0; k < width; k++) {
        const kn = `${name}-W${k}`;
        const f = fieldSpec(g, page);
        lines.push(`    10 ${kn} ${f.clause}.`);
        specs.push([kn, f]);
      }
      items.push((gg) => [[name, Object.fromEntries(specs.map(([kn, f]) => [kn, f.value(gg)]))]]);
    } else if (shape < 9) {
      const kids = 1 + g.int(3);
      const specs: Array<[string, FieldSpec]> = [];
      const times = g.r() < 0.5 ? 1 + g.int(3) : 0;
      lines.push(`  05 ${name}${times ? ` OCCURS ${times}` : ""}.`);
      for (let k = 0; k < kids; k++) {
        const kn = `${name}-${k}`;
        const f = fieldSpec(g, page);
        lines.push(`    10 ${kn} ${f.clause}.`);
        specs.push([kn, f]);
      }
      const one = (gg: Gen): Record<string, unknown> =>
        Object.fromEntries(specs.map(([kn, f]) => [kn, f.value(gg)]));
      items.push((gg) => [[name, times ? Array.from({ length: times }, () => one(gg)) : one(gg)]]);
    } else {
      // OCCURS DEPENDING ON with its counter before it (anywhere in the record: fields after it shift)
      const cn = `${name}-N`;
      const max = 1 + g.int(5);
      const f = fieldSpec(g, page);
      const nested = g.r() < 0.5; // counter inside a group before the table
      if (nested) lines.push(`  05 ${name}-H.`, `    10 ${cn} PIC 9(2) COMP.`);
      else lines.push(`  05 ${cn} PIC 9(2) COMP.`);
      lines.push(`  05 ${name} ${f.clause} OCCURS 0 TO ${max} TIMES DEPENDING ON ${cn}.`);
      items.push((gg) => {
        const n = gg.int(max + 1);
        return [
          nested ? [`${name}-H`, { [cn]: n }] : [cn, n],
          [name, Array.from({ length: n }, () => f.value(gg))],
        ];
      });
    }
  }
  return {
    text: lines.join("\n"),
    value: (gg) => Object.fromEntries(items.flatMap((it) => it(gg))),
  };
}

describe("property: random layouts round-trip exactly", () => {
  it(`${LAYOUTS} layouts x ${RECORDS} records: encode -> decode, decode -> JSON -> encode`, () => {
    for (let l = 0; l < LAYOUTS; l++) {
      const seed = 1000 + l;
      const g = gen(seed);
      const page = g.pick(["cp037", "cp1147", "cp500", "cp273", "ascii"]);
      const floatFormat = g.pick(["ibm", "ibm-le", "ieee", "ieee-le"] as const);
      const built = buildLayout(g, page);
      let codec: RecordCodec;
      try {
        codec = compileCopybook(built.text, { format: "free", codePage: page, floatFormat });
      } catch (err) {
        assert.fail(`seed ${seed}: layout does not compile: ${(err as Error).message}\n${built.text}`);
      }
      for (let k = 0; k < RECORDS; k++) {
        const rec = built.value(g);
        const ctx = `seed ${seed} record ${k} page ${page} ${floatFormat}\n${built.text}\n${JSON.stringify(rec)}`;
        let bytes: Uint8Array;
        try {
          bytes = codec.encode(rec);
        } catch (err) {
          assert.fail(`${ctx}\nencode failed: ${(err as Error).message}`);
        }
        let back: Record<string, unknown>;
        try {
          back = codec.decode(bytes);
        } catch (err) {
          assert.fail(
            `${ctx}\ndecode failed: ${(err as Error).message}\n${Buffer.from(bytes).toString("hex")}`,
          );
        }
        assert.deepEqual(back, rec, ctx);
        const again = codec.encode(JSON.parse(JSON.stringify(back)) as Record<string, unknown>);
        assert.deepEqual(again, bytes, ctx);
      }
    }
  });
});
