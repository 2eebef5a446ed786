// `courant start` (what `npm start` runs): the rewards system end to end on this machine. Opens the
// embedded broker on ./data (kept across runs) and serves it over the Kafka protocol, applies the
// demo campaigns and coupon pools, runs the terminal simulator and the three apps, and shows live
// progress. Ctrl-C stops cleanly; starting again resumes (apps from their committed offsets and
// state, the simulator with the day after the last one it played).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { applyCampaigns, readCampaignFile } from "../../apps/rewards/campaigns-topic.ts";
import { loadCouponFile } from "../../apps/rewards/coupon-pool.ts";
import { formatSnapshot, RewardsDashboard } from "../../apps/rewards/dashboard.ts";
import { rewardsStateDir, startRewardsApps } from "../../apps/rewards/pipeline.ts";
import { TOPICS } from "../../apps/rewards/topics.ts";
import { EmbeddedCluster } from "../cluster/index.ts";
import { placementFlag } from "./rewards.ts";

const DEMO_DIR = new URL("../../apps/rewards/demo/", import.meta.url);
const FIRST_DAY = "2026-06-14";

interface SimulatorMemory {
  /** Runs started so far (each one plays new days with its own seed). */
  readonly runs: number;
  /** Last simulated day played (YYYY-MM-DD), or null. */
  readonly lastDay: string | null;
}

function nextDay(day: string): string {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function parisDayOf(ms: number): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris" }).format(new Date(ms));
}

interface StartFlags {
  readonly data: string;
  readonly rate: number;
  readonly duration?: number;
  readonly port: number;
  readonly wire: boolean;
  readonly wirePort: number;
  readonly partitions: number;
  readonly terminals: number;
  readonly placement: "workers" | "inline";
}

export async function runStart(flags: StartFlags): Promise<void> {
  const data = resolve(flags.data);
  mkdirSync(data, { recursive: true });
  const tty = process.stdout.isTTY === true;
  const say = (s: string) => console.log(s);
  say(`courant start: data in ${data}`);
  const cluster = await EmbeddedCluster.open({ dataDir: join(data, "broker") });
  const stop = new AbortController();
  const onSignal = () => {
    if (!stop.signal.aborted) {
      if (tty) process.stdout.write("\n");
      say("stopping (Ctrl-C again to force)…");
      stop.abort();
    } else process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let wire: { close(): Promise<void>; address: { host: string; port: number } } | undefined;
  let apps: Awaited<ReturnType<typeof startRewardsApps>> | undefined;
  let simulator: Promise<unknown> | undefined;
  let view: NodeJS.Timeout | undefined;
  try {
    if (flags.wire) {
      try {
        const { serveBroker } = await import("../wire/index.ts");
        wire = await serveBroker(cluster.broker, { host: "127.0.0.1", port: flags.wirePort });
        say(
          `kafka protocol      ${wire.address.host}:${wire.address.port}   (kcat -b ${wire.address.host}:${wire.address.port} -L)`,
        );
      } catch (e) {
        say(`kafka protocol      not served: ${(e as Error).message}`);
      }
    }
    // Reference data: campaigns (validated, idempotent) and coupon pools (loaded once).
    const campaignFile = new URL("campaigns.yaml", DEMO_DIR).pathname;
    const campaigns = await readCampaignFile(campaignFile);
    await applyCampaigns(cluster, campaigns);
    say(`campaigns           ${campaigns.map((c) => c.id).join(", ")}  (${campaignFile})`);
    const [coupons] = await cluster
      .admin()
      .describeTopics([TOPICS.coupons])
      .catch(() => []);
    const couponFile = new URL("coupons.csv", DEMO_DIR).pathname;
    if (!coupons || coupons.partitions.every((p) => p.highWatermark === 0)) {
      const s = await loadCouponFile(cluster, couponFile, {
        onProgress: (p) => {
          if (tty) process.stdout.write(`\rcoupons           loading ${(p.fraction * 100).toFixed(0)}%`);
        },
      });
      if (tty) process.stdout.write("\r");
      say(
        `coupons             ${s.recordsWritten} codes loaded from ${couponFile} ${JSON.stringify(s.campaigns)}`,
      );
    } else {
      say(`coupons             already loaded (courant rewards coupons load FILE adds more)`);
    }

    const appOptions = {
      cluster,
      stateDir: rewardsStateDir(data),
      partitions: flags.partitions,
      basePort: flags.port,
      livenessWorker: true,
      placement: flags.placement,
    };
    try {
      apps = await startRewardsApps(appOptions);
    } catch (e) {
      if ((e as { code?: string }).code !== "OPS_LISTEN_FAILED" || flags.port === 0) throw e;
      say(`ops ports           ${flags.port}.. are busy (${(e as Error).message}); using free ports`);
      apps = await startRewardsApps({ ...appOptions, basePort: 0 });
    }
    for (const a of apps.apps) {
      const live = a.livenessUrl ? `  liveness ${a.livenessUrl}/health` : "";
      say(`${a.applicationId.padEnd(20)}${a.url}/metrics  ${a.url}/ready${live}`);
    }
    const q = apps.get("coupons")!.url;
    say(
      `queries             ${q}/rewards/campaigns  ${q}/rewards/pdv/<pdv>/coupons  ${q}/rewards/tickets/<ticket>/coupons`,
    );

    // The simulator continues with the day after the last one played.
    const memoryFile = join(data, "simulator.json");
    const memory: SimulatorMemory = existsSync(memoryFile)
      ? (JSON.parse(readFileSync(memoryFile, "utf8")) as SimulatorMemory)
      : { runs: 0, lastDay: null };
    const date = memory.lastDay ? nextDay(memory.lastDay) : FIRST_DAY;
    let lastDay = memory.lastDay;
    const remember = () => writeFileSync(memoryFile, JSON.stringify({ runs: memory.runs + 1, lastDay }));
    remember();
    say(
      `simulator           ${flags.terminals} terminals, ${flags.rate} frames/s, from ${date} (run ${memory.runs + 1})`,
    );
    const { runSimulator } = await import("../../apps/rewards/simulator/runner.ts");
    simulator = runSimulator(
      cluster,
      {
        seed: `start-${memory.runs + 1}`,
        date,
        terminals: flags.terminals,
        pdvs: Math.max(1, Math.floor(flags.terminals / 4)),
        rate: flags.rate,
        createTopics: { partitions: flags.partitions },
        signal: stop.signal,
      },
      (p) => {
        if (p.simulatedTime > 0) lastDay = parisDayOf(p.simulatedTime);
      },
    ).finally(remember);

    const dashboard = new RewardsDashboard(cluster, apps);
    let lastLine = 0;
    const show = async () => {
      const s = await dashboard.snapshot();
      const line = formatSnapshot(s);
      if (tty) process.stdout.write(`\r${line}\x1b[K`);
      else if (Date.now() - lastLine >= 5000) {
        lastLine = Date.now();
        say(line);
      }
    };
    view = setInterval(() => void show().catch(() => {}), 1000);
    const waits: Promise<unknown>[] = [
      new Promise((r) => stop.signal.addEventListener("abort", r, { once: true })),
    ];
    if (flags.duration !== undefined) waits.push(new Promise((r) => setTimeout(r, flags.duration! * 1000)));
    await Promise.race(waits);
    stop.abort();
    clearInterval(view);
    await show().catch(() => {});
    if (tty) process.stdout.write("\n");
    await simulator;
  } finally {
    if (view) clearInterval(view);
    stop.abort();
    await simulator?.catch(() => {});
    await apps?.close();
    await wire?.close();
    await cluster.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  say("stopped cleanly; `npm start` again resumes");
}

export function register(program: Command): void {
  program
    .command("start")
    .description(
      "Run the rewards system end to end: embedded broker, demo campaigns, simulator, the three apps",
    )
    .option("--data <dir>", "data directory (kept across runs)", "./data")
    .option("--rate <frames/s>", "simulator rate", (v) => Number(v), 2000)
    .option("--terminals <n>", "simulated terminals", (v) => Number(v), 200)
    .option("--duration <seconds>", "stop by itself after this many seconds", (v) => Number(v))
    .option("--port <port>", "first ops port of the three apps (0 = random)", (v) => Number(v), 8091)
    .option("--no-wire", "do not serve the broker over the Kafka protocol")
    .option("--wire-port <port>", "Kafka protocol port", (v) => Number(v), 9092)
    .option("--partitions <n>", "partitions of the pipeline's topics", (v) => Number(v), 4)
    .option(
      "--placement <where>",
      "where the apps run: workers (a worker thread each, default) or inline (one event loop)",
      placementFlag,
      "workers",
    )
    .action(async (flags: StartFlags) => {
      try {
        await runStart(flags);
      } catch (e) {
        const err = e as Error & { code?: string };
        console.error(`\nerror${err.code ? ` [${err.code}]` : ""}: ${err.message}`);
        process.exitCode = 1;
      }
    });
}
