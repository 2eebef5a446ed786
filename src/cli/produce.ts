// courant produce TOPIC: one record per line from stdin or --file, optionally "key<sep>value".
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import type { ProducerRecord } from "../cluster/index.ts";
import { action, parseCount, withCluster } from "./topics.ts";

interface ProduceOptions {
  data: string;
  file?: string;
  keySeparator?: string;
  partition?: string;
  batchSize: string;
  progress: boolean;
}

export function register(program: Command): void {
  program
    .command("produce")
    .description("append one record per input line (stdin or --file) to a topic")
    .argument("<topic>", "topic name")
    .option("--data <dir>", "data directory", "./data")
    .option("--file <path>", "read lines from this file instead of stdin")
    .option("--key-separator <sep>", "split each line at the first <sep> into key and value")
    .option("--partition <n>", "write every record to this partition (default: by key, sticky without key)")
    .option("--batch-size <n>", "records per append", "1000")
    .option("--no-progress", "no progress bar for --file")
    .action(
      action(async (topic: string, o: ProduceOptions) => {
        const batchSize = parseCount(o.batchSize, "--batch-size");
        const partition = o.partition === undefined ? undefined : parseCount(o.partition, "--partition", 0);
        const sep = o.keySeparator;
        if (sep === "") throw new Error("--key-separator must not be empty");
        const input = o.file ? createReadStream(o.file) : process.stdin;
        const total = o.file ? statSync(o.file).size : 0;
        const bar =
          o.file && o.progress && process.stderr.isTTY
            ? new cliProgress.SingleBar(
                {
                  format: "{bar} {percentage}% | {records} records | {eta_formatted} left",
                  stream: process.stderr,
                },
                cliProgress.Presets.shades_classic,
              )
            : null;
        bar?.start(total, 0, { records: 0 });
        let count = 0;
        let bytes = 0;
        await withCluster(o.data, async (c) => {
          if (!c.broker.partitionExists(topic, partition ?? 0))
            throw new Error(
              partition === undefined
                ? `topic "${topic}" does not exist (create it with: courant topics create ${topic})`
                : `partition ${partition} of topic "${topic}" does not exist`,
            );
          const producer = await c.createProducer();
          let pending: ProducerRecord[] = [];
          const flush = async () => {
            if (pending.length === 0) return;
            await producer.send(pending);
            count += pending.length;
            pending = [];
            bar?.update(bytes, { records: count });
          };
          const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
          for await (const line of lines) {
            bytes += Buffer.byteLength(line) + 1;
            let key: Uint8Array | null = null;
            let value = line;
            if (sep !== undefined) {
              const i = line.indexOf(sep);
              if (i >= 0) {
                key = Buffer.from(line.slice(0, i), "utf8");
                value = line.slice(i + sep.length);
              }
            }
            pending.push({ topic, partition, key, value: Buffer.from(value, "utf8") });
            if (pending.length >= batchSize) await flush();
          }
          await flush();
          await producer.close();
        });
        bar?.update(total, { records: count });
        bar?.stop();
        process.stderr.write(`produced ${count} record${count === 1 ? "" : "s"} to ${topic}\n`);
      }),
    );
}
