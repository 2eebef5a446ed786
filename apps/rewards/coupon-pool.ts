// The coupon pool of each campaign, as loaded from the data lake (a CSV or Parquet file of
// campaign_id,code rows) into the compacted `coupons` topic. Each code gets a position in its
// campaign's pool (file order), and the record key is "<campaign>#<position>": the campaign's
// owner allocates codes by position, so allocating is one point lookup, never a scan, and a
// crash-replayed allocation picks the very same code.
import type { Cluster } from "../../src/cluster/index.ts";
import {
  type LoadProgress,
  type LoadSummary,
  loadFileIntoTopic,
  RowRejected,
} from "../../src/connect/index.ts";
import { TOPICS } from "./topics.ts";

const POSITION_DIGITS = 9;

export function couponPoolKey(campaignId: string, index: number): string {
  return `${campaignId}#${String(index).padStart(POSITION_DIGITS, "0")}`;
}

export function parseCouponPoolKey(key: string): { campaignId: string; index: number } | null {
  const i = key.lastIndexOf("#");
  if (i <= 0) return null;
  const index = Number(key.slice(i + 1));
  return Number.isInteger(index) ? { campaignId: key.slice(0, i), index } : null;
}

/** T090-COUPON-CODE is PIC X(16): codes must fit, in the EBCDIC-safe printable ASCII subset. */
const CODE = /^[A-Za-z0-9._-]{1,16}$/;

export interface CouponLoadOptions {
  readonly topic?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: LoadProgress) => void;
}

export interface CouponLoadSummary extends LoadSummary {
  /** Codes per campaign in the file. */
  readonly campaigns: Readonly<Record<string, number>>;
}

/**
 * Loads a coupon file (columns `campaign_id` and `code`; CSV with a header row, or Parquet) into
 * the coupons topic. Loading the same file again rewrites the same keys with the same codes, so
 * it is idempotent; appending codes to a campaign extends its pool. Rows with a missing or
 * malformed field, or a code repeated within a campaign, are rejected and reported by line.
 */
export async function loadCouponFile(
  cluster: Cluster,
  path: string,
  options: CouponLoadOptions = {},
): Promise<CouponLoadSummary> {
  const next = new Map<string, number>();
  const seen = new Map<string, Set<string>>();
  const summary = await loadFileIntoTopic(cluster, path, {
    topic: options.topic ?? TOPICS.coupons,
    signal: options.signal,
    onLoadProgress: options.onProgress,
    toRecord: (row) => {
      const campaignId = (row.fields.campaign_id ?? row.fields.campaign ?? "").trim();
      const code = (row.fields.code ?? row.fields.coupon_code ?? "").trim();
      if (!campaignId) throw new RowRejected("campaign_id is empty or missing");
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,11}$/.test(campaignId)) {
        throw new RowRejected(`campaign_id "${campaignId}" is not a valid campaign id`);
      }
      if (!CODE.test(code)) {
        throw new RowRejected(`code "${code}" must be 1-16 characters among A-Z a-z 0-9 . _ -`);
      }
      let codes = seen.get(campaignId);
      if (!codes) seen.set(campaignId, (codes = new Set()));
      if (codes.has(code)) throw new RowRejected(`code ${code} appears twice for campaign ${campaignId}`);
      codes.add(code);
      const index = next.get(campaignId) ?? 0;
      next.set(campaignId, index + 1);
      return { key: couponPoolKey(campaignId, index), value: code };
    },
  });
  return { ...summary, campaigns: Object.fromEntries(next) };
}

/** What a TopicTable keeps its entries in (a Map by default). */
export interface TableEntries {
  get(key: string): string | undefined;
  set(key: string, value: string): unknown;
  delete(key: string): boolean;
  readonly size: number;
  entries(): Iterable<[string, string]>;
}

/** 1 length byte + the 16 ASCII bytes of T090-COUPON-CODE. */
const SLOT = 17;
/** A position beyond this is not packed (it would size a pool for nothing). */
const MAX_PACKED_POSITION = 1 << 26;

/**
 * The coupon pools as the coupons app holds them: per campaign, its codes packed by position in
 * one byte array (17 bytes a code), not one string per code in a Map. A day's pools are hundreds of
 * thousands of codes; as strings in a Map they were most of the main thread's heap, and every
 * major garbage collection marked them all (it showed as latency). A key or code that does not
 * fit the packed form (not "<campaign>#<position>", not 1-16 ASCII bytes) is kept as is.
 */
export class PackedCouponPools implements TableEntries {
  private readonly pools = new Map<string, { bytes: Uint8Array; end: number }>();
  private readonly other = new Map<string, string>();
  private packed = 0;

  get size(): number {
    return this.packed + this.other.size;
  }

  get(key: string): string | undefined {
    const at = this.slot(key);
    if (at === null) return this.other.get(key);
    const { bytes, offset } = at;
    const n = bytes[offset]!;
    if (n === 0) return undefined;
    let s = "";
    for (let i = 1; i <= n; i++) s += String.fromCharCode(bytes[offset + i]!);
    return s;
  }

  set(key: string, value: string): this {
    const k = parseCouponPoolKey(key);
    if (k === null || k.index < 0 || k.index >= MAX_PACKED_POSITION || !packable(value)) {
      this.other.set(key, value);
      return this;
    }
    this.other.delete(key);
    let pool = this.pools.get(k.campaignId);
    if (pool === undefined)
      this.pools.set(k.campaignId, (pool = { bytes: new Uint8Array(SLOT * 1024), end: 0 }));
    const need = (k.index + 1) * SLOT;
    if (need > pool.bytes.length) {
      const grown = new Uint8Array(Math.max(need, pool.bytes.length * 2));
      grown.set(pool.bytes.subarray(0, pool.end * SLOT));
      pool.bytes = grown;
    }
    const offset = k.index * SLOT;
    if (pool.bytes[offset] === 0) this.packed++;
    pool.bytes[offset] = value.length;
    for (let i = 0; i < value.length; i++) pool.bytes[offset + 1 + i] = value.charCodeAt(i);
    if (k.index >= pool.end) pool.end = k.index + 1;
    return this;
  }

  delete(key: string): boolean {
    if (this.other.delete(key)) return true;
    const at = this.slot(key);
    if (at === null || at.bytes[at.offset] === 0) return false;
    at.bytes[at.offset] = 0;
    this.packed--;
    return true;
  }

  *entries(): IterableIterator<[string, string]> {
    for (const [campaignId, pool] of this.pools)
      for (let i = 0; i < pool.end; i++) {
        const key = couponPoolKey(campaignId, i);
        const code = this.get(key);
        if (code !== undefined) yield [key, code];
      }
    yield* this.other.entries();
  }

  private slot(key: string): { bytes: Uint8Array; offset: number } | null {
    const k = parseCouponPoolKey(key);
    if (k === null) return null;
    const pool = this.pools.get(k.campaignId);
    if (pool === undefined || k.index < 0 || k.index >= pool.end) return null;
    return { bytes: pool.bytes, offset: k.index * SLOT };
  }
}

function packable(code: string): boolean {
  if (code.length < 1 || code.length > SLOT - 1) return false;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
