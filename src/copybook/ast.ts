// The parsed copybook: items as written, before any layout computation.

export type UsageName =
  | "display"
  | "binary" // COMP, COMP-4, BINARY, COMPUTATIONAL(-4): PIC-sized big-endian binary
  | "comp5" // COMP-5: native binary (full range of its bytes)
  | "comp9" // COMP-9 (Cobrix extension): little-endian binary
  | "packed" // COMP-3, PACKED-DECIMAL
  | "packed-unsigned" // COMP-3U: packed without a sign nibble
  | "float" // COMP-1
  | "double" // COMP-2
  | "national"
  | "index"
  | "pointer";

export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type Literal = string | number | { readonly figurative: string };

export interface ConditionName {
  readonly name: string;
  /** Each entry is a value or an inclusive [low, high] range. */
  readonly values: ReadonlyArray<Literal | readonly [Literal, Literal]>;
}

export interface CopybookItem {
  readonly level: number;
  readonly name: string;
  readonly filler: boolean;
  readonly pos: SourcePosition;
  redefines?: string;
  picture?: string;
  usage?: UsageName;
  occurs?: {
    min: number;
    max: number;
    dependingOn?: string;
    /** OCCURS n TIMES without DEPENDING: min = max = n. */
  };
  sign?: { position: "leading" | "trailing"; separate: boolean };
  justified?: boolean;
  sync?: boolean;
  blankWhenZero?: boolean;
  value?: Literal;
  conditions: ConditionName[];
  /** Level 66 only. */
  renames?: { from: string; thru?: string };
  children: CopybookItem[];
}

export interface ParsedCopybook {
  /** 01 and 77 level items, in order. */
  readonly records: CopybookItem[];
}
