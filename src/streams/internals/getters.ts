// Value getters: how a join or a downstream operator reads the current value of a KTable by key.
// A materialized table reads its store; a derived table (mapValues, filter, join) composes its
// parent's getter, as Kafka Streams' KTableValueGetterSupplier.
import type { KeyValueStore, ValueAndTimestamp } from "../stores.ts";
import type { TaskContext } from "./context.ts";

export interface ValueGetter {
  get(key: unknown): ValueAndTimestamp<unknown> | undefined;
}

export interface ValueGetterSupplier {
  readonly storeNames: readonly string[];
  make(ctx: TaskContext): ValueGetter;
}

export function storeGetter(storeName: string): ValueGetterSupplier {
  return {
    storeNames: [storeName],
    make(ctx) {
      const store = ctx.getStore(storeName) as KeyValueStore<unknown, ValueAndTimestamp<unknown>>;
      return { get: (k) => store.get(k) };
    },
  };
}

export function mappedGetter(
  parent: ValueGetterSupplier,
  fn: (v: unknown, k: unknown) => unknown,
): ValueGetterSupplier {
  return {
    storeNames: parent.storeNames,
    make(ctx) {
      const p = parent.make(ctx);
      return {
        get(k) {
          const vt = p.get(k);
          if (vt === undefined || vt.value === null) return vt;
          return { value: fn(vt.value, k), timestamp: vt.timestamp };
        },
      };
    },
  };
}

export function filteredGetter(
  parent: ValueGetterSupplier,
  fn: (k: unknown, v: unknown) => unknown,
  not: boolean,
): ValueGetterSupplier {
  return {
    storeNames: parent.storeNames,
    make(ctx) {
      const p = parent.make(ctx);
      return {
        get(k) {
          const vt = p.get(k);
          if (vt === undefined || vt.value === null) return vt;
          return Boolean(fn(k, vt.value)) !== not ? vt : undefined;
        },
      };
    },
  };
}

export function joinedGetter(
  left: ValueGetterSupplier,
  right: ValueGetterSupplier,
  joiner: (l: unknown, r: unknown, k: unknown) => unknown,
  mode: "inner" | "left" | "outer",
): ValueGetterSupplier {
  return {
    storeNames: [...left.storeNames, ...right.storeNames],
    make(ctx) {
      const l = left.make(ctx);
      const r = right.make(ctx);
      return {
        get(k) {
          const lv = l.get(k);
          const rv = r.get(k);
          const lval = lv?.value ?? null;
          const rval = rv?.value ?? null;
          if (mode === "inner" && (lval === null || rval === null)) return undefined;
          if (mode === "left" && lval === null) return undefined;
          if (mode === "outer" && lval === null && rval === null) return undefined;
          return {
            value: joiner(lval, rval, k),
            timestamp: Math.max(lv?.timestamp ?? -1, rv?.timestamp ?? -1),
          };
        },
      };
    },
  };
}
