// The catalog of PDV frame types the decoder recognises by FH-TYPE.
// - The contract's types (T001, T031, T033, T034, T050) with their copybooks copied verbatim
//   from the spec, and Courant's T090 coupon push, live in ./copybooks/*.cpy.
// - Production has more than 150 types; the rest are generated here, deterministically, as
//   plausible small layouts in the same fixed-format COBOL, so the pipeline meets a realistic
//   mix of types it must recognise and pass on. The generation is frozen by its seed: the same
//   code always yields the same 150 types and layouts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRandom, type Random } from "./random.ts";

export type FrameOrigin = "contract" | "courant" | "generated";

/** A field of a generated layout (enough to render the copybook and to make sample values). */
export type GeneratedField =
  | { readonly kind: "text"; readonly name: string; readonly length: number }
  | { readonly kind: "zoned"; readonly name: string; readonly digits: number; readonly signed: boolean }
  | { readonly kind: "binary"; readonly name: string; readonly digits: number }
  | {
      readonly kind: "packed";
      readonly name: string;
      readonly digits: number;
      readonly scale: number;
      readonly signed: boolean;
    }
  | { readonly kind: "timestamp"; readonly name: string }
  | { readonly kind: "bitmap24"; readonly name: string }
  | {
      readonly kind: "occurs";
      readonly name: string;
      readonly times: number;
      readonly fields: readonly GeneratedField[];
    };

export interface FrameTypeSpec {
  /** FH-TYPE, "T" and three digits. */
  readonly type: string;
  readonly title: string;
  readonly origin: FrameOrigin;
  /** Copybook source (fixed format) holding the request record and, if any, the response record. */
  readonly copybook: string;
  /** Name of the 01 record used for direction Q. */
  readonly requestRecord: string;
  /** Name of the 01 record used for direction R; null when the type has no response (broadcasts). */
  readonly responseRecord: string | null;
  /** Layout model of generated types (null for hand-written copybooks). */
  readonly generated: {
    readonly request: readonly GeneratedField[];
    readonly response: readonly GeneratedField[] | null;
  } | null;
}

const COPYBOOK_DIR = join(import.meta.dirname, "copybooks");

/** Reads one of the project's PDV copybooks (FRAMEHDR, T001, T031, T033, T034, T050, T090). */
export function readPdvCopybook(name: string): string {
  return readFileSync(join(COPYBOOK_DIR, `${name}.cpy`), "utf8");
}

const HANDWRITTEN: readonly { type: string; title: string; origin: FrameOrigin; response: boolean }[] = [
  { type: "T001", title: "Démarrage de la Borne", origin: "contract", response: true },
  { type: "T031", title: "Prise de pari", origin: "contract", response: true },
  { type: "T033", title: "Paiement", origin: "contract", response: true },
  { type: "T034", title: "Annulation de pari", origin: "contract", response: true },
  { type: "T050", title: "Diffusion des résultats", origin: "contract", response: false },
  { type: "T090", title: "Push coupon", origin: "courant", response: true },
];

// --- generated types ------------------------------------------------------------------------

const ACTIONS = [
  "Consultation",
  "Mise a jour",
  "Releve",
  "Controle",
  "Synchronisation",
  "Edition",
  "Transfert",
  "Cloture",
  "Ouverture",
  "Verification",
  "Reimpression",
  "Diffusion",
] as const;

const SUBJECTS = [
  "des cotes",
  "du solde de caisse",
  "des resultats",
  "du programme des courses",
  "des gains",
  "de la configuration",
  "des journaux",
  "du parc de bornes",
  "des operateurs",
  "des tickets",
  "des non-partants",
  "des rapports",
  "des limites de mise",
  "des messages PDV",
  "de la version logicielle",
  "des statistiques",
] as const;

const FIELD_TEMPLATES: readonly ((prefix: string, rnd: Random) => GeneratedField)[] = [
  (p) => ({ kind: "zoned", name: `${p}-REUNION`, digits: 2, signed: false }),
  (p) => ({ kind: "zoned", name: `${p}-COURSE`, digits: 2, signed: false }),
  (p) => ({ kind: "text", name: `${p}-OPERATOR-ID`, length: 8 }),
  (p, r) => ({ kind: "packed", name: `${p}-AMOUNT`, digits: r.pick([7, 9]), scale: 2, signed: true }),
  (p) => ({ kind: "binary", name: `${p}-COUNT`, digits: 4 }),
  (p, r) => ({ kind: "text", name: `${p}-CODE`, length: r.pick([2, 4, 6]) }),
  (p) => ({ kind: "text", name: `${p}-LABEL`, length: 20 }),
  (p) => ({ kind: "timestamp", name: `${p}-EVENT-TIME` }),
  (p) => ({ kind: "bitmap24", name: `${p}-HORSES-BITMAP` }),
  (p) => ({ kind: "binary", name: `${p}-REFERENCE`, digits: 9 }),
  (p) => ({ kind: "packed", name: `${p}-RATE`, digits: 7, scale: 4, signed: true }),
  (p) => ({ kind: "text", name: `${p}-FLAG`, length: 1 }),
  (p) => ({ kind: "zoned", name: `${p}-BUSINESS-DATE`, digits: 8, signed: false }),
  (p) => ({ kind: "zoned", name: `${p}-BALANCE`, digits: 11, signed: true }),
  (p) => ({ kind: "text", name: `${p}-TICKET-ID`, length: 20 }),
  (p) => ({ kind: "binary", name: `${p}-TERMINAL-REF`, digits: 9 }),
];

function generateFields(prefix: string, rnd: Random, min: number, max: number): GeneratedField[] {
  const n = rnd.int(min, max);
  const used = new Set<string>();
  const fields: GeneratedField[] = [];
  for (let i = 0; i < n; i++) {
    const f = rnd.pick(FIELD_TEMPLATES)(prefix, rnd);
    if (used.has(f.name)) continue;
    used.add(f.name);
    fields.push(f);
  }
  if (rnd.chance(0.3)) {
    const group = `${prefix}-LINE`;
    fields.push({
      kind: "occurs",
      name: group,
      times: rnd.int(2, 6),
      fields: [
        { kind: "text", name: `${group}-CODE`, length: 4 },
        { kind: "packed", name: `${group}-AMOUNT`, digits: 7, scale: 2, signed: true },
      ],
    });
  }
  return fields;
}

function picOf(f: Exclude<GeneratedField, { kind: "occurs" }>): string {
  switch (f.kind) {
    case "text":
      return `PIC X(${f.length}).`;
    case "bitmap24":
      return "PIC X(3).";
    case "zoned":
      return `PIC ${f.signed ? "S" : ""}9(${f.digits}).`;
    case "binary":
      return `PIC 9(${f.digits})  COMP.`;
    case "timestamp":
      return "PIC 9(17) COMP-3.";
    case "packed": {
      const int = f.digits - f.scale;
      const frac = f.scale > 0 ? `V9(${f.scale})` : "";
      return `PIC ${f.signed ? "S" : ""}9(${int})${frac} COMP-3.`;
    }
  }
}

function renderField(f: GeneratedField, level: number, indent: number, out: string[]): void {
  const lead = " ".repeat(7 + indent);
  const lv = String(level).padStart(2, "0");
  if (f.kind === "occurs") {
    out.push(`${lead}${lv}  ${f.name} OCCURS ${f.times} TIMES.`);
    for (const c of f.fields) renderField(c, level + 5, indent + 4, out);
    return;
  }
  out.push(`${lead}${lv}  ${f.name.padEnd(22)} ${picOf(f)}`);
}

function renderRecord(name: string, fields: readonly GeneratedField[], out: string[]): void {
  out.push(`       01  ${name}.`);
  for (const f of fields) renderField(f, 5, 4, out);
}

export function renderGeneratedCopybook(
  type: string,
  title: string,
  request: readonly GeneratedField[],
  response: readonly GeneratedField[] | null,
): string {
  const out: string[] = [`      * ${type} - "${title}"`, "      * (generated catalog entry)"];
  renderRecord(`${type}-REQUEST`, request, out);
  if (response) {
    out.push("");
    renderRecord(`${type}-RESPONSE`, response, out);
  }
  return `${out.join("\n")}\n`;
}

/** Number of generated types (production has "more than 150"). */
export const GENERATED_TYPE_COUNT = 150;
const CATALOG_SEED = "courant-pdv-catalog-v1";

function buildCatalog(): Map<string, FrameTypeSpec> {
  const catalog = new Map<string, FrameTypeSpec>();
  for (const h of HANDWRITTEN) {
    catalog.set(h.type, {
      type: h.type,
      title: h.title,
      origin: h.origin,
      copybook: readPdvCopybook(h.type),
      requestRecord: `${h.type}-REQUEST`,
      responseRecord: h.response ? `${h.type}-RESPONSE` : null,
      generated: null,
    });
  }
  const rnd = createRandom(CATALOG_SEED);
  const numbers: number[] = [];
  for (let n = 2; n < 400; n++) if (!catalog.has(typeName(n))) numbers.push(n);
  // Deterministic shuffle, keep the first 150, sort.
  for (let i = numbers.length - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [numbers[i], numbers[j]] = [numbers[j]!, numbers[i]!];
  }
  const chosen = numbers.slice(0, GENERATED_TYPE_COUNT).sort((a, b) => a - b);
  const titles = new Set<string>();
  for (const n of chosen) {
    const type = typeName(n);
    let title: string;
    do title = `${rnd.pick(ACTIONS)} ${rnd.pick(SUBJECTS)}`;
    while (titles.has(title) && titles.size < ACTIONS.length * SUBJECTS.length);
    titles.add(title);
    const request = generateFields(type, rnd, 1, 5);
    const response = rnd.chance(0.9) ? generateFields(type, rnd, 1, 7) : null;
    catalog.set(type, {
      type,
      title,
      origin: "generated",
      copybook: renderGeneratedCopybook(type, title, request, response),
      requestRecord: `${type}-REQUEST`,
      responseRecord: response ? `${type}-RESPONSE` : null,
      generated: { request, response },
    });
  }
  return new Map([...catalog.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function typeName(n: number): string {
  return `T${String(n).padStart(3, "0")}`;
}

/** Every known frame type by FH-TYPE, in type order. */
export const PDV_CATALOG: ReadonlyMap<string, FrameTypeSpec> = buildCatalog();

/** The types that matter to rewards. */
export const REWARDS_TYPES = ["T001", "T031", "T033", "T034", "T090"] as const;
