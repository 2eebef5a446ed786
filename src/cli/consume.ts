// courant consume TOPIC: prints each record's value on its own line (key, partition, offset and
// timestamp before it, tab-separated, with the --print-* flags).
import type { Command } from "commander";
import type { ConsumedRecord, IsolationLevel, TopicPartition } from "../cluster/index.ts";
import { action, parseCount, withCluster } from "./topics.ts";

interface ConsumeOptions {
  data: string;
  group?: string;
  fromBeginning?: boolean;
  isolation: string;
  max?: string;
  timeoutMs?: string;
  printKey?: boolean;
  printPartition?: boolean;
  printOffset?: boolean;
  printTimestamp?: boolean;
  partition?: string;
}

export function formatRecord(r: ConsumedRecord, o: ConsumeOptions): string {
  const fields: string[] = [];
  if (o.printPartition) fields.push(String(r.partition));
  if (o.printOffset) fields.push(String(r.offset));
  if (o.printTimestamp) fields.push(String(r.timestamp));
  if (o.printKey) fields.push(r.key === null ? "null" : Buffer.from(r.key).toString("utf8"));
  fields.push(r.value === null ? "null" : Buffer.from(r.value).toString("utf8"));
  return fields.join("\t");
}

export function register(program: Command): void {
  program
    .command("consume")
    .description("print records of a topic, one value per line")
    .argument("<topic>", "topic name")
    .option("--data <dir>", "data directory", "./data")
    .option("--group <id>", "consume as a member of this group (commits offsets)")
    .option("--from-beginning", "start at the earliest offset when there is no committed offset")
    .option("--isolation <level>", "read_committed | read_uncommitted", "read_uncommitted")
    .option("--partition <n>", "read only this partition (no group)")
    .option("--max <n>", "exit after this many records")
    .option("--timeout-ms <ms>", "exit when no record arrives for this long")
    .option("--print-key", "print the key before the value")
    .option("--print-partition", "print the partition")
    .option("--print-offset", "print the offset")
    .option("--print-timestamp", "print the timestamp (ms since the epoch)")
    .action(
      action(async (topic: string, o: ConsumeOptions) => {
        if (o.isolation !== "read_committed" && o.isolation !== "read_uncommitted")
          throw new Error(`--isolation must be read_committed or read_uncommitted, not "${o.isolation}"`);
        const max = o.max === undefined ? Number.POSITIVE_INFINITY : parseCount(o.max, "--max");
        const idle =
          o.timeoutMs === undefined ? Number.POSITIVE_INFINITY : parseCount(o.timeoutMs, "--timeout-ms", 0);
        if (o.group && o.partition !== undefined)
          throw new Error("--partition and --group exclude each other");
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        let printed = 0;
        try {
          await withCluster(o.data, async (c) => {
            const n = c.broker.partitionCount(topic);
            if (n === undefined) throw new Error(`topic "${topic}" does not exist`);
            const consumer = await c.createConsumer({
              groupId: o.group,
              isolationLevel: o.isolation as IsolationLevel,
              autoOffsetReset: o.fromBeginning ? "earliest" : "latest",
              sessionTimeoutMs: 10_000,
              heartbeatIntervalMs: 1000,
            });
            if (o.group) await consumer.subscribe([topic]);
            else {
              const tps: TopicPartition[] = [];
              if (o.partition !== undefined) {
                const p = parseCount(o.partition, "--partition", 0);
                if (p >= n)
                  throw new Error(`topic "${topic}" has ${n} partitions; there is no partition ${p}`);
                tps.push({ topic, partition: p });
              } else for (let p = 0; p < n; p++) tps.push({ topic, partition: p });
              consumer.assign(tps);
            }
            let lastRecordAt = Date.now();
            const out: string[] = [];
            while (printed < max && !stop.signal.aborted) {
              const wait = Math.min(
                1000,
                Number.isFinite(idle) ? Math.max(0, idle - (Date.now() - lastRecordAt)) : 1000,
              );
              const records = await consumer.poll({
                maxWaitMs: wait,
                maxRecords: Math.min(500, max - printed),
                signal: stop.signal,
              });
              if (records.length > 0) lastRecordAt = Date.now();
              for (const r of records) {
                out.push(formatRecord(r, o));
                printed++;
              }
              if (out.length > 0) {
                process.stdout.write(`${out.join("\n")}\n`);
                out.length = 0;
              }
              if (o.group && records.length > 0) {
                if (printed >= max) {
                  // Commit exactly past what was printed.
                  const last = new Map<string, { topic: string; partition: number; offset: number }>();
                  for (const r of records)
                    last.set(`${r.topic}:${r.partition}`, {
                      topic: r.topic,
                      partition: r.partition,
                      offset: r.offset + 1,
                    });
                  await consumer.commit([...last.values()]);
                } else await consumer.commit();
              }
              if (Date.now() - lastRecordAt >= idle) break;
            }
            await consumer.close();
          });
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      }),
    );
}
