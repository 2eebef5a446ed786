// `courant rewards ...`: the rewards system's verbs. Thin: parse, call apps/rewards, show progress.
import { resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { applyCampaigns, readCampaignFile } from "../../apps/rewards/campaigns-topic.ts";
import { loadCouponFile } from "../../apps/rewards/coupon-pool.ts";
import {
  REWARDS_APPS,
  type RewardsAppName,
  rewardsStateDir,
  startRewardsApps,
  waitUntilIdle,
} from "../../apps/rewards/pipeline.ts";
import * as clusterLayer from "../cluster/index.ts";
import { type Cluster, EmbeddedCluster } from "../cluster/index.ts";

export function placementFlag(v: string): "workers" | "inline" {
  if (v !== "workers" && v !== "inline")
    throw new InvalidArgumentError(`--placement must be "workers" or "inline", not "${v}"`);
  return v;
}

export interface ClusterFlags {
  readonly data: string;
  readonly bootstrap?: string;
}

/** The embedded broker on --data, or a running broker (courant start, Kafka) with --bootstrap. */
export async function openCluster(flags: ClusterFlags): Promise<Cluster> {
  if (flags.bootstrap) {
    const KafkaCluster = (
      clusterLayer as { KafkaCluster?: new (o: { bootstrapBrokers: string[]; clientId?: string }) => Cluster }
    ).KafkaCluster;
    if (!KafkaCluster)
      throw new Error("--bootstrap needs the Kafka client cluster, not available in this build");
    return new KafkaCluster({
      bootstrapBrokers: flags.bootstrap.split(",").map((s) => s.trim()),
      clientId: "courant-cli",
    });
  }
  try {
    return await EmbeddedCluster.open({ dataDir: resolve(flags.data) });
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new Error(
      `cannot open the embedded broker on ${resolve(flags.data)}: ${err.message}` +
        (/lock/i.test(err.message) || err.code === "DATA_DIR_LOCKED"
          ? " (is `courant start` running on it? then pass --bootstrap 127.0.0.1:9092)"
          : ""),
      { cause: e },
    );
  }
}

function clusterOptions(cmd: Command): Command {
  return cmd
    .option("--data <dir>", "data directory of the embedded broker", "./data")
    .option("--bootstrap <host:port>", "use a running broker over the Kafka protocol instead of --data");
}

async function withCluster<T>(flags: ClusterFlags, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const cluster = await openCluster(flags);
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}

function fail(e: unknown): never {
  const err = e as Error & { code?: string };
  console.error(`error${err.code ? ` [${err.code}]` : ""}: ${err.message}`);
  process.exit(1);
}

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

export function register(program: Command): void {
  const rewards = program
    .command("rewards")
    .description("The rewards system: campaigns, coupons, simulator, apps");
  registerRun(rewards);

  const campaigns = rewards
    .command("campaigns")
    .description("Promotional campaigns (compacted `campaigns` topic)");
  clusterOptions(
    campaigns
      .command("apply <file>")
      .description("Validate a YAML/JSON campaign file and write its campaigns to the `campaigns` topic")
      .option("--prune", "delete campaigns that are not in the file"),
  ).action(async (file: string, opts: ClusterFlags & { prune?: boolean }) => {
    try {
      const list = await readCampaignFile(file);
      const r = await withCluster(opts, (c) => applyCampaigns(c, list, { prune: opts.prune }));
      for (const c of list) {
        console.log(
          `applied ${c.id.padEnd(12)} ${c.spec.period.from} .. ${c.spec.period.to}  coupon ${c.spec.couponValue} €  cap ${c.capPerPdvPerDay}/PDV/day  budget ${c.spec.totalBudget} €`,
        );
      }
      for (const id of r.deleted) console.log(`deleted ${id}`);
    } catch (e) {
      fail(e);
    }
  });

  const coupons = rewards.command("coupons").description("Coupon pools (compacted `coupons` topic)");
  clusterOptions(
    coupons
      .command("load <file>")
      .description("Load a CSV or Parquet file of campaign_id,code into the `coupons` topic"),
  ).action(async (file: string, opts: ClusterFlags) => {
    try {
      const s = await withCluster(opts, (c) =>
        loadCouponFile(c, file, {
          onProgress: (p) => {
            if (process.stderr.isTTY)
              process.stderr.write(
                `\rloading ${file}: ${(p.fraction * 100).toFixed(0)}%  ${p.recordsWritten} codes`,
              );
          },
        }),
      );
      if (process.stderr.isTTY) process.stderr.write("\n");
      console.log(
        `loaded ${s.recordsWritten} codes from ${file} in ${s.durationMs} ms: ${JSON.stringify(s.campaigns)}`,
      );
      if (s.rowsRejected > 0) {
        console.log(`rejected ${s.rowsRejected} rows:`);
        for (const r of s.rejects) console.log(`  line ${r.line}: ${r.reason}`);
      }
    } catch (e) {
      fail(e);
    }
  });

  clusterOptions(
    rewards
      .command("simulate")
      .description("Simulate terminals: produce PDV frames to pdv.requests / pdv.responses")
      .option(
        "--rate <frames/s>",
        "target frames per second (0 = as fast as possible)",
        positiveInt("--rate"),
        2000,
      )
      .option("--duration <seconds>", "stop after this many seconds", Number)
      .option("--max-frames <n>", "stop after this many frames", positiveInt("--max-frames"))
      .option("--seed <seed>", "seed of every random choice", "1")
      .option("--terminals <n>", "number of terminals", positiveInt("--terminals"))
      .option("--pdvs <n>", "number of points of sale", positiveInt("--pdvs"))
      .option("--date <YYYY-MM-DD>", "first simulated day (Europe/Paris)")
      .option(
        "--partitions <n>",
        "partitions of the frame topics when created",
        positiveInt("--partitions"),
        4,
      ),
  ).action(
    async (
      opts: ClusterFlags & {
        rate: number;
        duration?: number;
        maxFrames?: number;
        seed: string;
        terminals?: number;
        pdvs?: number;
        date?: string;
        partitions: number;
      },
    ) => {
      const ac = new AbortController();
      process.once("SIGINT", () => ac.abort());
      try {
        // Loaded on use: the simulator pulls the whole frame catalog.
        const { runSimulator } = await import("../../apps/rewards/simulator/runner.ts");
        const s = await withCluster(opts, (c) =>
          runSimulator(
            c,
            {
              rate: opts.rate,
              durationMs: opts.duration === undefined ? undefined : opts.duration * 1000,
              maxFrames: opts.maxFrames,
              seed: opts.seed,
              terminals: opts.terminals,
              pdvs: opts.pdvs,
              date: opts.date,
              createTopics: { partitions: opts.partitions },
              signal: ac.signal,
            },
            (p) => {
              if (process.stderr.isTTY) {
                process.stderr.write(
                  `\r${p.frames} frames  ${p.framesPerSecond.toFixed(0)}/s  bets ${p.bets}  malformed ${p.malformed}  duplicates ${p.duplicates}  sim ${p.simulatedTime ? new Date(p.simulatedTime).toISOString() : "-"}   `,
                );
              }
            },
          ),
        );
        if (process.stderr.isTTY) process.stderr.write("\n");
        console.log(
          `simulated ${s.frames} frames (${s.requests} requests, ${s.responses} responses, ${s.bets} bets, ${s.malformed} malformed, ${s.duplicates} duplicates) in ${(s.elapsedMs / 1000).toFixed(1)} s, stopped by ${s.stoppedBy}`,
        );
      } catch (e) {
        fail(e);
      }
    },
  );
}

export function registerRun(rewards: Command): void {
  clusterOptions(
    rewards
      .command("run")
      .description("Run the rewards apps (header decoding, correlation, coupons) with exactly_once_v2")
      .option("--apps <list>", "apps to run, comma-separated", REWARDS_APPS.join(","))
      .option("--host <host>", "ops servers' address", "127.0.0.1")
      .option("--port <port>", "first ops port (0 = random ports)", positiveInt("--port"), 0)
      .option(
        "--partitions <n>",
        "partitions of the pipeline topics when created",
        positiveInt("--partitions"),
        4,
      )
      .option("--state-dir <dir>", "local state (default <data>/state)")
      .option(
        "--instance <name>",
        "this process's instance of the apps, when several processes share them on a Kafka cluster (each its own; default 1)",
      )
      .option(
        "--retention-days <n>",
        "days the coupons app keeps each coupon (and its PDV/day counter) after its bet's day; budgets are kept for ever (default 35)",
        (v: string) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 1)
            throw new InvalidArgumentError(
              `--retention-days must be a whole number of days >= 1, not "${v}"`,
            );
          return n;
        },
      )
      .option("--duration <seconds>", "stop after this many seconds", Number)
      .option("--until-idle", "stop once every input is consumed and nothing moves")
      .option(
        "--placement <where>",
        "workers (a worker thread per app; embedded broker only) or inline (one event loop); default workers with --data, inline with --bootstrap",
        placementFlag,
      ),
  ).action(
    async (
      opts: ClusterFlags & {
        apps: string;
        host: string;
        port: number;
        partitions: number;
        stateDir?: string;
        instance?: string;
        retentionDays?: number;
        duration?: number;
        untilIdle?: boolean;
        placement?: "workers" | "inline";
      },
    ) => {
      const names = opts.apps.split(",").map((s) => s.trim()) as RewardsAppName[];
      for (const n of names) {
        if (!REWARDS_APPS.includes(n))
          fail(new Error(`unknown app "${n}"; known: ${REWARDS_APPS.join(", ")}`));
      }
      const cluster = await openCluster(opts).catch(fail);
      const stop = new AbortController();
      const onSignal = () => {
        if (stop.signal.aborted) process.exit(130); // second Ctrl-C: do not wait any longer
        stop.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        const apps = await startRewardsApps({
          cluster,
          stateDir: opts.stateDir ?? rewardsStateDir(opts.data),
          instance: opts.instance,
          apps: names,
          host: opts.host,
          basePort: opts.port,
          partitions: opts.partitions,
          placement: opts.placement ?? (opts.bootstrap ? "inline" : "workers"),
          ...(opts.retentionDays === undefined
            ? {}
            : { ledgerRetention: { rewardRetentionDays: opts.retentionDays } }),
        });
        for (const a of apps.apps) {
          console.log(`${a.applicationId.padEnd(20)} ${a.url}/metrics  ${a.url}/health  ${a.url}/ready`);
        }
        if (apps.get("coupons")) console.log(`interactive queries: ${apps.get("coupons")!.url}/queries`);
        console.log("running");
        const waits: Promise<unknown>[] = [
          new Promise((r) => stop.signal.addEventListener("abort", r, { once: true })),
        ];
        if (opts.duration !== undefined) waits.push(new Promise((r) => setTimeout(r, opts.duration! * 1000)));
        if (opts.untilIdle) waits.push(waitUntilIdle(cluster, apps, { signal: stop.signal }));
        await Promise.race(waits);
        console.log("stopping");
        // A clean close commits and leaves the groups; if the broker is gone it cannot, so give up
        // after a while (the next start recovers from the last commit, as after a crash).
        const giveUp = setTimeout(() => {
          console.error("could not stop cleanly within 20 s (broker unreachable?); exiting");
          process.exit(1);
        }, 20_000);
        giveUp.unref();
        await apps.close();
      } catch (e) {
        await cluster.close().catch(() => {});
        fail(e);
      }
      await cluster.close();
      console.log("stopped");
    },
  );
}
