// A bounds-checking walk over Avro binary data, run before avsc decodes it. avsc trusts
// block counts: 7 corrupt bytes claiming an array of 2^28 items make it allocate until the
// process dies (measured: heap out of memory). The walk refuses counts that cannot fit in the
// remaining bytes (and caps items that encode in zero bytes), and names the field where the
// data breaks, so corrupt input is a SerdeError and never a crash.
import type avro from "avsc";

export interface AvroWalkFailure {
  /** Field path, e.g. "legs.0.race" ("(root)" for the top level). */
  readonly path: string;
  readonly reason: string;
}

/** Items of zero-byte types (null, empty records) a single value may hold. */
export const MAX_ZERO_SIZE_ITEMS = 1_000_000;

class WalkError extends Error {
  readonly path: string[];
  constructor(path: string[], reason: string) {
    super(reason);
    this.path = path;
  }
}

interface Walker {
  pos: number;
  readonly buf: Uint8Array;
  zeroSizeItems: number;
}

function readLong(w: Walker, path: string[]): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (w.pos >= w.buf.length) throw new WalkError(path, `bytes end inside a varint (byte ${w.pos})`);
    const b = w.buf[w.pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2; // zigzag
    mul *= 128;
  }
  throw new WalkError(path, `varint longer than 10 bytes at byte ${w.pos - 10}`);
}

function need(w: Walker, n: number, path: string[], what: string): void {
  if (n < 0 || w.pos + n > w.buf.length) {
    throw new WalkError(
      path,
      `${what} of ${n} bytes at byte ${w.pos} runs past the end (${w.buf.length} bytes)`,
    );
  }
}

/** Smallest encoding of a type, in bytes (0 for null and records of zero-size fields). */
function minSize(type: avro.Type, seen = new Set<avro.Type>()): number {
  const t = type as avro.Type & Record<string, unknown>;
  const name = type.typeName;
  if (name.startsWith("logical:")) return minSize(t.underlyingType as avro.Type, seen);
  switch (name) {
    case "null":
      return 0;
    case "float":
      return 4;
    case "double":
      return 8;
    case "fixed":
      return t.size as number;
    case "record":
    case "error": {
      if (seen.has(type)) return 1; // recursive records: assume non-empty
      seen.add(type);
      let n = 0;
      for (const f of t.fields as { type: avro.Type }[]) n += minSize(f.type, seen);
      return n;
    }
    default:
      return 1; // varint-prefixed and union/enum/boolean encodings take at least one byte
  }
}

function walk(type: avro.Type, w: Walker, path: string[]): void {
  const t = type as avro.Type & Record<string, unknown>;
  const name = type.typeName;
  if (name.startsWith("logical:")) {
    walk(t.underlyingType as avro.Type, w, path);
    return;
  }
  switch (name) {
    case "null":
      return;
    case "boolean":
      need(w, 1, path, "boolean");
      w.pos += 1;
      return;
    case "int":
    case "long":
    case "enum": {
      const v = readLong(w, path);
      if (name === "enum" && (v < 0 || v >= (t.symbols as string[]).length)) {
        throw new WalkError(path, `enum index ${v} out of range (${(t.symbols as string[]).length} symbols)`);
      }
      return;
    }
    case "float":
      need(w, 4, path, "float");
      w.pos += 4;
      return;
    case "double":
      need(w, 8, path, "double");
      w.pos += 8;
      return;
    case "fixed":
      need(w, t.size as number, path, "fixed");
      w.pos += t.size as number;
      return;
    case "string":
    case "bytes": {
      const len = readLong(w, path);
      need(w, len, path, name);
      w.pos += len;
      return;
    }
    case "record":
    case "error":
      for (const f of t.fields as { name: string; type: avro.Type }[]) walk(f.type, w, [...path, f.name]);
      return;
    case "union:unwrapped":
    case "union:wrapped": {
      const types = t.types as avro.Type[];
      const i = readLong(w, path);
      if (i < 0 || i >= types.length)
        throw new WalkError(path, `union branch ${i} out of range (${types.length} branches)`);
      walk(types[i]!, w, path);
      return;
    }
    case "array":
    case "map": {
      const items = (name === "array" ? t.itemsType : t.valuesType) as avro.Type;
      const itemMin = minSize(items) + (name === "map" ? 1 : 0);
      let index = 0;
      for (;;) {
        let n = readLong(w, path);
        if (n === 0) return;
        if (n < 0) {
          n = -n;
          const size = readLong(w, path);
          need(w, size, path, `${name} block`);
        }
        if (itemMin > 0) need(w, n * itemMin, path, `${name} block of ${n} items`);
        else if ((w.zeroSizeItems += n) > MAX_ZERO_SIZE_ITEMS) {
          throw new WalkError(path, `more than ${MAX_ZERO_SIZE_ITEMS} zero-byte items in one value`);
        }
        for (let k = 0; k < n; k++, index++) {
          if (name === "map") {
            const len = readLong(w, path);
            need(w, len, path, "map key");
            w.pos += len;
          }
          walk(items, w, [...path, String(index)]);
        }
      }
    }
    default:
      throw new WalkError(path, `unsupported Avro type ${name}`);
  }
}

/** undefined when `buf` holds exactly one well-formed value of `type`; else where and why not. */
export function checkAvroBinary(type: avro.Type, buf: Uint8Array): AvroWalkFailure | undefined {
  const w: Walker = { pos: 0, buf, zeroSizeItems: 0 };
  try {
    walk(type, w, []);
  } catch (e) {
    if (e instanceof WalkError) return { path: e.path.join(".") || "(root)", reason: e.message };
    throw e;
  }
  if (w.pos !== buf.length) {
    return { path: "(root)", reason: `${buf.length - w.pos} trailing bytes after the value (byte ${w.pos})` };
  }
  return undefined;
}

/** Types whose decoding can allocate per a count in the data (arrays, maps), needing a walk first. */
export function hasCollections(type: avro.Type, seen = new Set<avro.Type>()): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  const t = type as avro.Type & Record<string, unknown>;
  const name = type.typeName;
  if (name === "array" || name === "map") return true;
  if (name.startsWith("logical:")) return hasCollections(t.underlyingType as avro.Type, seen);
  if (name === "record" || name === "error") {
    return (t.fields as { type: avro.Type }[]).some((f) => hasCollections(f.type, seen));
  }
  if (name.startsWith("union")) return (t.types as avro.Type[]).some((u) => hasCollections(u, seen));
  return false;
}
