// Restores a task's stores from their changelog topics (read_committed), from the local
// checkpoint when one exists, else from the beginning after clearing the store.
import type { ConsumedRecord, Consumer, TopicPartition } from "../../cluster/index.ts";
import type { KeyValueBytesStore, SessionBytesStore, WindowBytesStore } from "../../state/index.ts";
import { parseSessionChangelogKey, parseWindowChangelogKey } from "../internals/logged.ts";
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
    const w = parseSessionChangelogKey(rec.key);
    const st = s.inner as SessionBytesStore;
    if (rec.value === null) st.remove(w);
    else st.put(w, rec.value);
  }
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
    for (const r of recs) {
      const p = pending.get(r.topic);
      if (p === undefined) continue;
      applyChangelogRecord(p.s, r);
      p.done++;
      restored++;
    }
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
