// Stateless operator nodes. Each is a tight loop over its children with no allocation beyond
// what the user's function returns.
import type { Change } from "../types.ts";
import { ProcessorNode } from "./node.ts";

type Fn2 = (a: unknown, b: unknown) => unknown;

export class MapNode extends ProcessorNode {
  private readonly fn: Fn2;
  constructor(name: string, fn: Fn2) {
    super(name);
    this.fn = fn;
  }
  process(key: unknown, value: unknown, ts: number): void {
    const kv = this.fn(key, value) as readonly [unknown, unknown];
    this.forward(kv[0], kv[1], ts);
  }
}

export class SelectKeyNode extends ProcessorNode {
  private readonly fn: Fn2;
  constructor(name: string, fn: Fn2) {
    super(name);
    this.fn = fn;
  }
  process(key: unknown, value: unknown, ts: number): void {
    this.forward(this.fn(key, value), value, ts);
  }
}

export class MapValuesNode extends ProcessorNode {
  private readonly fn: Fn2;
  constructor(name: string, fn: Fn2) {
    super(name);
    this.fn = fn;
  }
  process(key: unknown, value: unknown, ts: number): void {
    this.forward(key, this.fn(value, key), ts);
  }
}

export class FlatMapNode extends ProcessorNode {
  private readonly fn: Fn2;
  constructor(name: string, fn: Fn2) {
    super(name);
    this.fn = fn;
  }
  process(key: unknown, value: unknown, ts: number): void {
    for (const kv of this.fn(key, value) as Iterable<readonly [unknown, unknown]>)
      this.forward(kv[0], kv[1], ts);
  }
}

export class FlatMapValuesNode extends ProcessorNode {
  private readonly fn: Fn2;
  constructor(name: string, fn: Fn2) {
    super(name);
    this.fn = fn;
  }
  process(key: unknown, value: unknown, ts: number): void {
    const out = this.fn(value, key) as Iterable<unknown>;
    if (Array.isArray(out)) {
      for (let i = 0; i < out.length; i++) this.forward(key, out[i], ts);
    } else {
      for (const v of out) this.forward(key, v, ts);
    }
  }
}

export class FilterNode extends ProcessorNode {
  private readonly fn: Fn2;
  private readonly keep: boolean;
  constructor(name: string, fn: Fn2, not: boolean) {
    super(name);
    this.fn = fn;
    this.keep = !not;
  }
  process(key: unknown, value: unknown, ts: number): void {
    if (Boolean(this.fn(key, value)) === this.keep) this.forward(key, value, ts);
  }
}

export class PeekNode extends ProcessorNode {
  private readonly fn: Fn2;
  constructor(name: string, fn: Fn2) {
    super(name);
    this.fn = fn;
  }
  process(key: unknown, value: unknown, ts: number): void {
    this.fn(key, value);
    this.forward(key, value, ts);
  }
}

export class PassThroughNode extends ProcessorNode {
  process(key: unknown, value: unknown, ts: number): void {
    this.forward(key, value, ts);
  }
}

/** split(): the first predicate that matches wins; unmatched records go to the default branch if any. */
export class BranchNode extends ProcessorNode {
  private readonly predicates: (Fn2 | null)[];
  private readonly branchNames: string[];
  private branches: (ProcessorNode | undefined)[] = [];
  constructor(name: string, predicates: (Fn2 | null)[], branchNames: string[]) {
    super(name);
    this.predicates = predicates;
    this.branchNames = branchNames;
  }
  override init(ctx: Parameters<ProcessorNode["init"]>[0]): void {
    super.init(ctx);
    this.branches = this.branchNames.map((n) => this.childByName.get(n));
  }
  process(key: unknown, value: unknown, ts: number): void {
    const ps = this.predicates;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i];
      if (p === null || p(key, value)) {
        this.branches[i]?.process(key, value, ts);
        return;
      }
    }
  }
}

// ---- KTable nodes: values are Change<V> ----

export class TableMapValuesNode extends ProcessorNode {
  private readonly fn: Fn2;
  constructor(name: string, fn: Fn2) {
    super(name);
    this.fn = fn;
  }
  process(key: unknown, value: unknown, ts: number): void {
    const c = value as Change<unknown>;
    const nv = c.newValue === null ? null : this.fn(c.newValue, key);
    const ov = c.oldValue === null ? null : this.fn(c.oldValue, key);
    this.forward(key, { newValue: nv, oldValue: ov }, ts);
  }
}

export class TableFilterNode extends ProcessorNode {
  private readonly fn: Fn2;
  private readonly keep: boolean;
  constructor(name: string, fn: Fn2, not: boolean) {
    super(name);
    this.fn = fn;
    this.keep = !not;
  }
  private pass(key: unknown, v: unknown): unknown {
    return v !== null && Boolean(this.fn(key, v)) === this.keep ? v : null;
  }
  process(key: unknown, value: unknown, ts: number): void {
    const c = value as Change<unknown>;
    const nv = this.pass(key, c.newValue);
    const ov = this.pass(key, c.oldValue);
    // Nothing to say downstream when the key was filtered out before and after (as Kafka).
    if (nv === null && ov === null) return;
    this.forward(key, { newValue: nv, oldValue: ov }, ts);
  }
}

export class TableToStreamNode extends ProcessorNode {
  private readonly mapper: Fn2 | undefined;
  constructor(name: string, mapper?: Fn2) {
    super(name);
    this.mapper = mapper;
  }
  process(key: unknown, value: unknown, ts: number): void {
    const nv = (value as Change<unknown>).newValue;
    this.forward(this.mapper ? this.mapper(key, nv) : key, nv, ts);
  }
}
