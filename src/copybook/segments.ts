// Multi-segment records: segment id -> active REDEFINES branch, and hierarchical parent/child rebuilding
// (Cobrix segment-children): child segments are nested as arrays inside their parent's branch object.

export interface HierarchyOptions {
  /** Output key of the segment id field in decoded records (e.g. "SEGMENT-ID"). */
  readonly segmentKey?: string;
  /** Or: how to get the segment id of a record (e.g. SegmentedCodec records: the record name). */
  readonly segmentOf?: (record: Record<string, unknown>) => string | number | null | undefined;
  /** Output key of each branch -> segment ids that select it. */
  readonly branches: Readonly<Record<string, readonly (string | number)[]>>;
  /** Parent branch -> child branches. Branches that are nobody's child are roots. */
  readonly children: Readonly<Record<string, readonly string[]>>;
}

interface Open {
  branch: string;
  object: Record<string, unknown>;
}

/**
 * Rebuilds parent/child segments into nested records. push() each decoded record in file order;
 * it returns the root records completed by this one (a root completes when the next root starts);
 * finish() returns the last one.
 */
export class HierarchyBuilder {
  private readonly opts: HierarchyOptions;
  private readonly idToBranch = new Map<string, string>();
  private readonly parentOf = new Map<string, string>();
  private stack: Open[] = [];
  private root: Record<string, unknown> | null = null;
  /** Records whose segment id is unknown or whose parent is missing (they are not nested). */
  readonly orphans: Array<{ record: Record<string, unknown>; reason: string }> = [];

  constructor(opts: HierarchyOptions) {
    this.opts = opts;
    for (const [branch, ids] of Object.entries(opts.branches))
      for (const id of ids) this.idToBranch.set(String(id), branch);
    for (const [parent, kids] of Object.entries(opts.children))
      for (const k of kids) this.parentOf.set(k, parent);
  }

  push(record: Record<string, unknown>): Record<string, unknown>[] {
    const raw = this.opts.segmentOf
      ? this.opts.segmentOf(record)
      : this.opts.segmentKey
        ? record[this.opts.segmentKey]
        : undefined;
    const id = String(raw ?? "").trim();
    const branch = this.idToBranch.get(id);
    if (!branch) {
      this.orphans.push({ record, reason: `unknown segment id '${id}'` });
      return [];
    }
    const parent = this.parentOf.get(branch);
    if (!parent) {
      const done = this.root ? [this.root] : [];
      this.root = record;
      this.stack = [{ branch, object: this.branchObject(record, branch) }];
      for (const k of this.opts.children[branch] ?? []) this.stack[0]!.object[k] ??= [];
      return done;
    }
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.branch !== parent) this.stack.pop();
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      this.orphans.push({ record, reason: `segment ${branch} ('${id}') has no open parent ${parent}` });
      return [];
    }
    const child = this.branchObject(record, branch);
    for (const k of this.opts.children[branch] ?? []) child[k] ??= [];
    let list = top.object[branch] as unknown[] | undefined;
    if (!Array.isArray(list)) top.object[branch] = list = [];
    list.push(child);
    this.stack.push({ branch, object: child });
    return [];
  }

  finish(): Record<string, unknown>[] {
    const done = this.root ? [this.root] : [];
    this.root = null;
    this.stack = [];
    return done;
  }

  private branchObject(record: Record<string, unknown>, branch: string): Record<string, unknown> {
    const o = record[branch];
    if (o !== null && typeof o === "object" && !Array.isArray(o)) return o as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    record[branch] = fresh;
    return fresh;
  }
}
