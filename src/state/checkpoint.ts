// Checkpoint file: store name -> next changelog offset to restore from (last applied + 1).
// Written atomically (temp file, fsync, rename) so a crash leaves the old or the new file,
// never a torn one. Like Kafka Streams' `.checkpoint`, it lets a restart restore only the
// changelog tail.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { threadId } from "node:worker_threads";
import { StateStoreError } from "./errors.ts";

export const CHECKPOINT_FILE_NAME = ".checkpoint";

interface CheckpointJson {
  readonly version: 1;
  readonly offsets: Record<string, number>;
}

export function writeCheckpointFile(path: string, offsets: ReadonlyMap<string, number>): void {
  const body: CheckpointJson = { version: 1, offsets: Object.fromEntries([...offsets].sort()) };
  const tmp = `${path}.${process.pid}-${threadId}.tmp`; // stream threads may write concurrently
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, `${JSON.stringify(body)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Offsets in the file, or an empty map when there is none. Throws STORE_CHECKPOINT_CORRUPT on bad content. */
export function readCheckpointFile(path: string): Map<string, number> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw new StateStoreError("STORE_IO", path, `cannot read checkpoint: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new StateStoreError(
      "STORE_CHECKPOINT_CORRUPT",
      path,
      `checkpoint is not JSON: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  const p = parsed as Partial<CheckpointJson> | null;
  if (
    p === null ||
    typeof p !== "object" ||
    p.version !== 1 ||
    typeof p.offsets !== "object" ||
    p.offsets === null
  ) {
    throw new StateStoreError(
      "STORE_CHECKPOINT_CORRUPT",
      path,
      "checkpoint lacks {version: 1, offsets: {...}}",
    );
  }
  const out = new Map<string, number>();
  for (const [store, off] of Object.entries(p.offsets)) {
    if (!Number.isSafeInteger(off) || (off as number) < 0) {
      throw new StateStoreError(
        "STORE_CHECKPOINT_CORRUPT",
        path,
        `offset of store '${store}' is ${JSON.stringify(off)}, not a non-negative integer`,
      );
    }
    out.set(store, off as number);
  }
  return out;
}
