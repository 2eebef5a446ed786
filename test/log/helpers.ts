// Shared helpers of the log tests.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/observe/index.ts";
import {
  encodeRecordBatch,
  LogManager,
  type LogManagerOptions,
  type RecordInput,
} from "../../src/log/index.ts";

export function tmpDir(prefix = "courant-log-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function b(s: string): Buffer {
  return Buffer.from(s);
}

export function str(v: Uint8Array | null): string | null {
  return v === null ? null : Buffer.from(v).toString();
}

/** n records with values `${prefix}${i}` and keys `k${i}`. */
export function recs(n: number, prefix = "v", start = 0, ts?: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: b(`k${start + i}`),
    value: b(`${prefix}${start + i}`),
    ...(ts === undefined ? {} : { timestamp: ts }),
  }));
}

export function batch(n: number, opts: Parameters<typeof encodeRecordBatch>[1] = {}, prefix = "v"): Buffer {
  return encodeRecordBatch(recs(n, prefix), { timestamp: 1_000, ...opts });
}

export async function openManager(
  dir: string,
  opts: Partial<LogManagerOptions> = {},
): Promise<{ mgr: LogManager; clock: ManualClock }> {
  const clock = (opts.clock as ManualClock | undefined) ?? new ManualClock(Date.now());
  const mgr = await LogManager.open({ dataDir: dir, maintenanceIntervalMs: 0, clock, ...opts });
  return { mgr, clock };
}
