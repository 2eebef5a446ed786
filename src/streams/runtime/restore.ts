// Restores a task's stores from their changelog topics (read_committed), from the local
// checkpoint when one exists, else from the beginning after clearing the store.
import type { ConsumedRecord, Consumer, TopicPartition } from "../../cluster/index.ts";
import {
  type KeyValueBytesStore,
  parseSessionEntryKey,
  type SessionBytesStore,
  type WindowBytesStore,
} from "../../state/index.ts";
import { parseWindowChangelogKey } from "../internals/logged.ts";
import type { StreamTask, TaskStore } from "../internals/task.ts";
import type { RestoreProgress } from "./config.ts";

export function applyChangelogRecord(s: TaskStore, rec: ConsumedRecord): void {
  const kind = s.def.spec.kind;
  if (rec.key === null) return;
  if (kind === "keyValue") {
    (s.inner as KeyValueBytesStore).put(rec.key, rec.value);
  } else if (kind === "window") {
    const { key, windowStart } = parseWindowChangelogKey(rec.key, s.def.spec.retainDuplicates ?? false);
    (s.inner as WindowBytesStore).put(key, rec.value, windowStart);
  } else {
    const { key, start, end } = parseSessionEntryKey(rec.key);
    const w = { key, windowStart: start, windowEnd: end };
    const st = s.inner as SessionBytesStore;
    if (rec.value === null) st.remove(w);
    else st.put(w, rec.value);
  }
}

interface BatchRestorable {
  restoreBatch(records: Iterable<{ key: Uint8Array; value: Uint8Array | null }>, nextOffset?: number): void;
}

/**
 * Applies a poll's changelog records store by store: in one batch (one lmdb transaction with its
 * checkpoint) when the store supports it, else record by record. Returns how many were applied.
 */
export function applyChangelogBatch<P extends { s: TaskStore }>(
  recs: readonly ConsumedRecord[],
  target: (topic: string, partition: number) => P | undefined,
  onApplied?: (p: P, n: number) => void,
): number {
  let applied = 0;
  const groups = new Map<P, ConsumedRecord[]>();
  for (const r of recs) {
    const p = target(r.topic, r.partition);
    if (p === undefined || r.key === null) continue;
    let g = groups.get(p);
    if (g === undefined) groups.set(p, (g = []));
    g.push(r);
  }
  for (const [p, list] of groups) {
    const inner = p.s.inner as unknown as Partial<BatchRestorable>;
    if (typeof inner.restoreBatch === "function") {
      inner.restoreBatch(
        list as { key: Uint8Array; value: Uint8Array | null }[],
        list[list.length - 1]!.offset + 1,
      );
    } else {
      for (const r of list) applyChangelogRecord(p.s, r);
    }
    applied += list.length;
    onApplied?.(p, list.length);
  }
  return applied;
}

/**
 * Brings every logged store of `task` up to the end of its changelog partition. Returns the next
 * changelog offset per store (for checkpoints) and how many records were applied.
 */
export async function restoreTask(
  task: StreamTask,
  consumer: Consumer,
  checkpointOf: (store: string) => number | undefined,
  onProgress?: (p: RestoreProgress) => void,
): Promise<{ next: Map<string, number>; restored: number }> {
  const next = new Map<string, number>();
  const byTopic = new Map<string, { s: TaskStore; tp: TopicPartition; start: number | undefined }>();
  for (const s of task.stores.values()) {
    if (s.changelogTopic === undefined) continue;
    const tp = { topic: s.changelogTopic, partition: task.partition };
    const start = checkpointOf(s.def.spec.name);
    if (start === undefined) await (s.inner as unknown as { clear(): void | Promise<void> }).clear();
    byTopic.set(s.changelogTopic, { s, tp, start });
  }
  if (byTopic.size === 0) return { next, restored: 0 };
  const tps = [...byTopic.values()].map((x) => x.tp);
  const ends = await consumer.endOffsets(tps);
  const begins = await consumer.beginningOffsets(tps);
  consumer.assign(tps);
  const pending = new Map<string, { s: TaskStore; end: number; done: number; total: number }>();
  for (const [topic, x] of byTopic) {
    const k = `${topic}:${task.partition}`;
    const end = ends.get(k) ?? 0;
    const from = Math.max(x.start ?? 0, begins.get(k) ?? 0);
    consumer.seek(x.tp, from);
    next.set(x.s.def.spec.name, end);
    if (from < end) pending.set(topic, { s: x.s, end, done: 0, total: end - from });
    else
      onProgress?.({
        store: x.s.def.spec.name,
        taskId: task.id,
        changelog: topic,
        partition: task.partition,
        restored: 0,
        total: 0,
        done: true,
      });
  }
  let restored = 0;
  while (pending.size > 0) {
    const recs = await consumer.poll({ maxWaitMs: 200, maxRecords: 10_000 });
    restored += applyChangelogBatch(
      recs,
      (topic) => pending.get(topic),
      (p, n) => (p.done += n),
    );
    for (const [topic, p] of [...pending]) {
      const pos = await consumer.position({ topic, partition: task.partition });
      const done = pos >= p.end;
      onProgress?.({
        store: p.s.def.spec.name,
        taskId: task.id,
        changelog: topic,
        partition: task.partition,
        restored: p.done,
        total: p.total,
        done,
      });
      if (done) pending.delete(topic);
    }
  }
  consumer.assign([]);
  return { next, restored };
}
