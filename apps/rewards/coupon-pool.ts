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
