// courant topics create|list|describe|delete: topic admin on a data directory opened in-process
// (the directory's lock gives a clear error if a broker holds it).
import type { Command } from "commander";
import { EmbeddedCluster } from "../cluster/index.ts";

/** Opens the data directory as an in-process cluster for one CLI command, and closes it after. */
export async function withCluster<T>(dataDir: string, fn: (c: EmbeddedCluster) => Promise<T>): Promise<T> {
  const cluster = await EmbeddedCluster.open({
    dataDir,
    timerIntervalMs: 100,
    // A CLI consumer in a group uses short sessions: it may exit at any time.
    groupMinSessionTimeoutMs: 1000,
  });
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}

/** Runs a CLI action, printing `error: message` (no stack) and setting exit code 1 on failure. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const code =
        e && typeof e === "object" && "code" in e ? ` [${String((e as { code: unknown }).code)}]` : "";
      process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}${code}\n`);
      process.exitCode = 1;
    }
  };
}

export function parseConfigs(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const i = e.indexOf("=");
    if (i <= 0) throw new Error(`--config "${e}" is not key=value`);
    out[e.slice(0, i).trim()] = e.slice(i + 1).trim();
  }
  return out;
}

export function parseCount(value: string, what: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${what}: "${value}" is not an integer >= ${min}`);
  return n;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  const topics = program.command("topics").description("create, list, describe and delete topics");

  topics
    .command("create")
    .description("create a topic")
    .argument("<name>", "topic name")
    .option("--data <dir>", "data directory", "./data")
    .option("--partitions <n>", "number of partitions", "1")
    .option("--config <key=value>", "topic config (repeatable), e.g. cleanup.policy=compact", collect, [])
    .option("--if-not-exists", "succeed if the topic exists")
    .action(
      action(
        async (
          name: string,
          o: { data: string; partitions: string; config: string[]; ifNotExists?: boolean },
        ) => {
          const partitions = parseCount(o.partitions, "--partitions");
          const config = parseConfigs(o.config);
          await withCluster(o.data, (c) =>
            c.admin().createTopics([{ name, partitions, config }], { ifNotExists: o.ifNotExists }),
          );
          process.stdout.write(
            `created topic ${name} with ${partitions} partition${partitions === 1 ? "" : "s"}\n`,
          );
        },
      ),
    );

  topics
    .command("list")
    .description("list topics")
    .option("--data <dir>", "data directory", "./data")
    .option("--internal", "include internal topics")
    .action(
      action(async (o: { data: string; internal?: boolean }) => {
        const names = await withCluster(o.data, (c) => c.admin().listTopics({ includeInternal: o.internal }));
        for (const n of names) process.stdout.write(`${n}\n`);
      }),
    );

  topics
    .command("describe")
    .description("partitions, offsets and config of topics (all when none named)")
    .argument("[names...]", "topic names")
    .option("--data <dir>", "data directory", "./data")
    .option("--all-configs", "show every config, not only overrides")
    .action(
      action(async (names: string[], o: { data: string; allConfigs?: boolean }) => {
        await withCluster(o.data, async (c) => {
          const admin = c.admin();
          const list = names.length > 0 ? names : await admin.listTopics();
          for (const d of await admin.describeTopics(list)) {
            const overrides = c.broker.log.describeTopic(d.name).config;
            const shown = o.allConfigs ? d.config : overrides;
            const cfg = Object.entries(shown)
              .map(([k, v]) => `${k}=${v}`)
              .join(",");
            process.stdout.write(
              `Topic: ${d.name}\tPartitions: ${d.partitions.length}${d.internal ? "\tInternal: true" : ""}\tConfigs: ${cfg}\n`,
            );
            for (const p of d.partitions)
              process.stdout.write(
                `\tPartition: ${p.partition}\tLeader: ${p.leader}\tLogStartOffset: ${p.logStartOffset}\tHighWatermark: ${p.highWatermark}\n`,
              );
          }
        });
      }),
    );

  topics
    .command("delete")
    .description("delete topics")
    .argument("<names...>", "topic names")
    .option("--data <dir>", "data directory", "./data")
    .action(
      action(async (names: string[], o: { data: string }) => {
        await withCluster(o.data, (c) => c.admin().deleteTopics(names));
        for (const n of names) process.stdout.write(`deleted topic ${n}\n`);
      }),
    );
}
