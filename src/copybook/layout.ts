// Layout: resolves parsed items into fields with types, sizes and offsets (max-size layout).
import type { ConditionName, CopybookItem, ParsedCopybook, SourcePosition, UsageName } from "./ast.ts";
import { CopybookLayoutError } from "./errors.ts";
import { analysePicture, type PictureInfo } from "./picture.ts";

export type FieldType =
  | { readonly kind: "text"; readonly justified: boolean }
  | { readonly kind: "national" }
  | {
      readonly kind: "zoned";
      readonly digits: number;
      readonly scale: number;
      readonly signed: boolean;
      readonly signPosition: "leading" | "trailing";
      readonly separate: boolean;
      /** Explicit decimal point byte after this many digits (PIC 9(5).99), else -1. */
      readonly pointAt: number;
    }
  | { readonly kind: "edited"; readonly picture: PictureInfo }
  | {
      readonly kind: "packed";
      readonly digits: number;
      readonly scale: number;
      readonly signed: boolean;
      readonly noSign: boolean;
    }
  | {
      readonly kind: "binary";
      readonly digits: number;
      readonly scale: number;
      readonly signed: boolean;
      readonly littleEndian: boolean;
      /** COMP-5: the whole binary range is valid. */
      readonly native: boolean;
    }
  | { readonly kind: "float"; readonly bytes: 4 | 8 }
  | { readonly kind: "raw" };

export interface LayoutNode {
  /** Unique index of the node in its layout (pre-order). */
  readonly id: number;
  readonly name: string;
  /** Dotted path of names from the record (01) down, e.g. `RECORD.HEADER.ID`. */
  readonly path: string;
  readonly level: number;
  readonly filler: boolean;
  readonly pos: SourcePosition;
  readonly kind: "group" | "field";
  /** Offset from the start of the record in the max-size layout (first occurrence). */
  offset: number;
  /** Bytes of one occurrence (max size when it contains OCCURS DEPENDING ON). */
  size: number;
  occurs?: {
    readonly min: number;
    readonly max: number;
    dependingOn?: LayoutNode;
    readonly dependingName?: string;
  };
  redefines?: LayoutNode;
  readonly redefinedBy: LayoutNode[];
  readonly children: LayoutNode[];
  readonly parent: LayoutNode | null;
  readonly type?: FieldType;
  readonly picture?: PictureInfo;
  readonly usage: UsageName;
  readonly sync: boolean;
  readonly conditions: readonly ConditionName[];
  /** True when this node or a descendant has OCCURS DEPENDING ON. */
  variable: boolean;
  /** Set for level-66 RENAMES: the renamed range. */
  renames?: { from: LayoutNode; thru: LayoutNode };
}

export interface RecordLayout {
  readonly root: LayoutNode;
  /** All nodes in pre-order (root first). */
  readonly nodes: readonly LayoutNode[];
  /** Size of the record in its max-size layout. */
  readonly size: number;
  readonly renames: readonly LayoutNode[];
}

export interface LayoutOptions {
  /** Resolve PIC X / 9 usage defaults as Cobrix does for `PIC X COMP` etc. Nothing else for now. */
  readonly comp5LittleEndian?: boolean;
}

function binaryBytes(digits: number, usage: UsageName): number {
  if (usage === "comp9" && digits <= 2) return 1;
  if (digits <= 4) return 2;
  if (digits <= 9) return 4;
  if (digits <= 18) return 8;
  return Math.ceil((Math.log2(10) * digits + 1) / 8);
}

function layoutError(item: CopybookItem, message: string): CopybookLayoutError {
  return new CopybookLayoutError(item.pos.file, item.pos.line, item.pos.column, item.name, message);
}

interface Inherited {
  usage?: UsageName;
  sign?: { position: "leading" | "trailing"; separate: boolean };
}

/** Builds the layout of one record (an 01 or 77 item). */
export function buildLayout(record: CopybookItem, _options: LayoutOptions = {}): RecordLayout {
  const nodes: LayoutNode[] = [];
  const renameItems: Array<{ item: CopybookItem; node: LayoutNode }> = [];

  const build = (
    item: CopybookItem,
    parent: LayoutNode | null,
    inh: Inherited,
    pathPrefix: string,
  ): LayoutNode => {
    const usage: UsageName = item.usage ?? inh.usage ?? "display";
    const sign = item.sign ?? inh.sign;
    const path = pathPrefix ? `${pathPrefix}.${item.name}` : item.name;
    const isElementary = item.children.filter((c) => c.level !== 66).length === 0;
    let type: FieldType | undefined;
    let picture: PictureInfo | undefined;
    let size = 0;
    if (item.level === 66) {
      const node: LayoutNode = {
        id: nodes.length,
        name: item.name,
        path,
        level: 66,
        filler: false,
        pos: item.pos,
        kind: "group",
        offset: 0,
        size: 0,
        redefinedBy: [],
        children: [],
        parent,
        usage,
        sync: false,
        conditions: [],
        variable: false,
      };
      renameItems.push({ item, node });
      return node;
    }
    if (isElementary) {
      if (item.picture !== undefined) {
        const pi = analysePicture(item.picture);
        if (typeof pi === "string") throw layoutError(item, pi);
        picture = pi;
        if (pi.category === "alphanumeric" || pi.category === "alphabetic") {
          if (usage === "binary" || usage === "comp5" || usage === "comp9") {
            type = { kind: "raw" };
            size = pi.length;
          } else if (usage === "packed-unsigned") {
            type = { kind: "packed", digits: pi.length * 2, scale: 0, signed: false, noSign: true };
            size = pi.length;
          } else if (usage === "display") {
            type = { kind: "text", justified: item.justified === true };
            size = pi.length;
          } else throw layoutError(item, `USAGE ${usage} is not valid for PIC ${item.picture}`);
        } else if (pi.category === "national") {
          type = { kind: "national" };
          size = pi.length * 2;
        } else if (pi.category === "edited") {
          if (usage !== "display")
            throw layoutError(item, `an edited PIC ${item.picture} must be USAGE DISPLAY`);
          type = { kind: "edited", picture: pi };
          size = pi.length;
        } else {
          switch (usage) {
            case "display":
            case "national": {
              // An explicit SIGN ... SEPARATE on an unsigned PIC still reserves the sign byte (Cobrix reads
              // such data; IBM would reject the clause): the field is treated as signed.
              const separate = sign?.separate === true && (pi.signed || item.sign !== undefined);
              type = {
                kind: "zoned",
                digits: pi.digits,
                scale: pi.scale,
                signed: pi.signed || separate,
                signPosition: sign?.position ?? "trailing",
                separate,
                pointAt: pi.explicitPoint ? pi.pointAt! : -1,
              };
              size = pi.digits + (separate ? 1 : 0) + (pi.explicitPoint ? 1 : 0);
              break;
            }
            case "packed":
              if (pi.explicitPoint)
                throw layoutError(
                  item,
                  `an explicit decimal point needs USAGE DISPLAY (PIC ${item.picture})`,
                );
              type = { kind: "packed", digits: pi.digits, scale: pi.scale, signed: pi.signed, noSign: false };
              size = Math.floor(pi.digits / 2) + 1;
              break;
            case "packed-unsigned":
              type = { kind: "packed", digits: pi.digits, scale: pi.scale, signed: false, noSign: true };
              size = Math.ceil(pi.digits / 2);
              break;
            case "binary":
            case "comp5":
            case "comp9":
              type = {
                kind: "binary",
                digits: pi.digits,
                scale: pi.scale,
                signed: pi.signed,
                littleEndian: usage === "comp9",
                native: usage === "comp5",
              };
              size = binaryBytes(pi.digits, usage);
              break;
            case "float":
            case "double":
              type = { kind: "float", bytes: usage === "float" ? 4 : 8 };
              size = usage === "float" ? 4 : 8;
              break;
            default:
              throw layoutError(item, `USAGE ${usage} is not valid with PIC ${item.picture}`);
          }
        }
      } else if (usage === "float" || usage === "double") {
        type = { kind: "float", bytes: usage === "float" ? 4 : 8 };
        size = usage === "float" ? 4 : 8;
      } else if (usage === "index" || usage === "pointer") {
        type = { kind: "binary", digits: 9, scale: 0, signed: true, littleEndian: false, native: true };
        size = 4;
      } else {
        throw layoutError(item, "expected a PIC clause or subordinate items");
      }
    } else if (item.picture !== undefined) {
      throw layoutError(item, "a group item cannot have a PIC clause");
    }
    const node: LayoutNode = {
      id: nodes.length,
      name: item.name,
      path,
      level: item.level,
      filler: item.filler,
      pos: item.pos,
      kind: isElementary ? "field" : "group",
      offset: 0,
      size,
      redefinedBy: [],
      children: [],
      parent,
      usage,
      sync: item.sync === true,
      conditions: item.conditions,
      variable: false,
      ...(type ? { type } : {}),
      ...(picture ? { picture } : {}),
    };
    if (item.occurs) {
      if (item.level === 1 || item.level === 77)
        throw layoutError(item, "OCCURS is not allowed at level 01/77");
      node.occurs = {
        min: item.occurs.min,
        max: item.occurs.max,
        ...(item.occurs.dependingOn ? { dependingName: item.occurs.dependingOn } : {}),
      };
      if (item.occurs.max < 1 && !item.occurs.dependingOn)
        throw layoutError(item, "OCCURS needs at least 1 occurrence");
    }
    nodes.push(node);
    const childInh: Inherited = {
      ...((item.usage ?? inh.usage) ? { usage: item.usage ?? inh.usage } : {}),
      ...(sign ? { sign } : {}),
    };
    for (const c of item.children) node.children.push(build(c, node, childInh, path));
    return node;
  };

  const root = build(record, null, {}, "");

  // Name lookup for REDEFINES / DEPENDING ON / RENAMES.
  const byName = new Map<string, LayoutNode[]>();
  for (const n of nodes) {
    const list = byName.get(n.name);
    if (list) list.push(n);
    else byName.set(n.name, [n]);
  }
  const resolve = (ref: string, from: LayoutNode, what: string): LayoutNode => {
    const parts = ref.toUpperCase().split(/\s+OF\s+|\s+IN\s+/);
    let cands = byName.get(parts[0]!) ?? [];
    for (const q of parts.slice(1)) {
      cands = cands.filter((c) => {
        for (let p = c.parent; p; p = p.parent) if (p.name === q) return true;
        return false;
      });
    }
    if (cands.length === 0) {
      throw new CopybookLayoutError(
        from.pos.file,
        from.pos.line,
        from.pos.column,
        from.name,
        `${what} ${ref} is not defined in record ${root.name}`,
      );
    }
    if (cands.length === 1) return cands[0]!;
    // Prefer the nearest preceding definition.
    const before = cands.filter((c) => c.id < from.id);
    return before.length ? before[before.length - 1]! : cands[0]!;
  };

  // REDEFINES: the target must be the preceding sibling at the same level (or an earlier redefinition of it).
  const itemsById = new Map<LayoutNode, CopybookItem>();
  const mapItems = (item: CopybookItem, node: LayoutNode): void => {
    itemsById.set(node, item);
    item.children.forEach((c, i) => {
      mapItems(c, node.children[i]!);
    });
  };
  mapItems(record, root);
  for (const n of nodes) {
    const item = itemsById.get(n)!;
    if (!item.redefines) continue;
    const siblings = n.parent ? n.parent.children : [];
    const idx = siblings.indexOf(n);
    let target: LayoutNode | undefined;
    for (let k = idx - 1; k >= 0; k--) {
      const s = siblings[k]!;
      if (s.name === item.redefines && !s.redefines) {
        target = s;
        break;
      }
      if (!s.redefines) break;
    }
    if (!target) {
      throw layoutError(
        item,
        `REDEFINES ${item.redefines}: the redefined item must precede it at the same level (only other REDEFINES of it between)`,
      );
    }
    n.redefines = target;
    target.redefinedBy.push(n);
  }

  // Sizes and offsets (max-size layout), SYNC alignment relative to the record start.
  const alignOf = (n: LayoutNode): number => {
    if (!n.sync || n.kind !== "field" || !n.type) return 1;
    if (n.type.kind === "binary" || n.type.kind === "float") return Math.min(8, n.size);
    return 1;
  };
  const place = (n: LayoutNode, offset: number): number => {
    if (n.kind === "field") {
      const a = alignOf(n);
      if (a > 1 && offset % a !== 0) offset += a - (offset % a);
      n.offset = offset;
      return offset + n.size * (n.occurs ? n.occurs.max : 1);
    }
    n.offset = offset;
    let pos = offset;
    let setBase = offset;
    let setEnd = offset;
    for (const c of n.children) {
      if (c.level === 66) continue;
      if (c.redefines) {
        const end = place(c, c.redefines.offset);
        setEnd = Math.max(setEnd, end);
        pos = setEnd;
        continue;
      }
      setBase = pos;
      const end = place(c, setBase);
      // A field that gets aligned moves the group start for the first child only.
      if (c === n.children[0] && c.offset !== offset) n.offset = c.offset;
      setEnd = end;
      pos = end;
    }
    n.size = pos - n.offset;
    if (n.occurs && n.occurs.max > 1) {
      // Element size: round up to the strictest alignment inside (IBM slack bytes between occurrences).
      let maxAlign = 1;
      const visit = (x: LayoutNode): void => {
        maxAlign = Math.max(maxAlign, alignOf(x));
        for (const c of x.children) visit(c);
      };
      visit(n);
      if (n.size % maxAlign !== 0) n.size += maxAlign - (n.size % maxAlign);
    }
    return n.offset + n.size * (n.occurs ? n.occurs.max : 1);
  };
  const total = place(root, 0);

  // DEPENDING ON
  for (const n of nodes) {
    if (!n.occurs?.dependingName) continue;
    const counter = resolve(n.occurs.dependingName, n, "DEPENDING ON");
    if (counter.kind !== "field") {
      throw new CopybookLayoutError(
        n.pos.file,
        n.pos.line,
        n.pos.column,
        n.name,
        `DEPENDING ON ${counter.name} must be an elementary item`,
      );
    }
    if (counter.id > n.id) {
      throw new CopybookLayoutError(
        n.pos.file,
        n.pos.line,
        n.pos.column,
        n.name,
        `DEPENDING ON ${counter.name} must come before the table it sizes`,
      );
    }
    for (let p: LayoutNode | null = n; p; p = p.parent) {
      if (p === counter)
        throw new CopybookLayoutError(
          n.pos.file,
          n.pos.line,
          n.pos.column,
          n.name,
          "DEPENDING ON counter cannot be inside its own table",
        );
    }
    n.occurs.dependingOn = counter;
    for (let p: LayoutNode | null = n; p; p = p.parent) p.variable = true;
  }

  // RENAMES
  for (const { item, node } of renameItems) {
    const from = resolve(item.renames!.from, node, "RENAMES");
    const thru = item.renames!.thru ? resolve(item.renames!.thru, node, "RENAMES THRU") : from;
    if (thru.offset + thru.size < from.offset) {
      throw layoutError(
        item,
        `RENAMES ${from.name} THRU ${thru.name}: ${thru.name} ends before ${from.name} starts`,
      );
    }
    node.renames = { from, thru };
    node.offset = from.offset;
    node.size = thru.offset + thru.size * (thru.occurs ? thru.occurs.max : 1) - from.offset;
  }
  return { root, nodes, size: total - root.offset + root.offset, renames: renameItems.map((r) => r.node) };
}

export function buildLayouts(parsed: ParsedCopybook, options?: LayoutOptions): RecordLayout[] {
  return parsed.records.map((r) => buildLayout(r, options));
}
