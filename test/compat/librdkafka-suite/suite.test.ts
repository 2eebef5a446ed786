// librdkafka's own integration suite (Debian's librdkafka 2.0.2 tests/) against a freshly started
// `courant broker start`. Every test of tests.allow marked `core` must pass (all of them with
// COURANT_SOAK=1). The suite is built once into ~/.cache/courant/librdkafka (COURANT_CACHE) by
// scripts/librdkafka-suite.sh setup; this file builds it only when COURANT_LIBRDKAFKA_SUITE=1, and
// skips otherwise. FINDINGS.md explains every test that is not in the allow-list.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../../../src/observe/index.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..", "..");
const SCRIPT = join(ROOT, "scripts", "librdkafka-suite.sh");
const SOAK = process.env.COURANT_SOAK === "1";
const BUILD_ALLOWED = process.env.COURANT_LIBRDKAFKA_SUITE === "1";
// Per-test logs are kept in the cache (not the temp dir) so a failure can be read after the run.
const LOG_DIR = join(
  process.env.COURANT_CACHE ?? join(homedir(), ".cache", "courant"),
  "librdkafka",
  "logs-node-test",
);

export interface AllowedTest {
  /** Four-digit test number, as librdkafka's TESTS variable takes it. */
  readonly num: string;
  /** Part of the default (quick) set; the others run with COURANT_SOAK=1. */
  readonly core: boolean;
  /** librdkafka's `noautocreate` scenario: run against a broker without topic auto-creation. */
  readonly noAutoCreate: boolean;
  /** Run against a broker with SASL users (SCRAM-SHA-256), connecting with SASL_PLAINTEXT. */
  readonly sasl: boolean;
  readonly note: string;
}

const TAGS = ["core", "noautocreate", "sasl"];
const SASL_MECHANISM = "SCRAM-SHA-256";

/** Parses tests.allow: `NUM [core] [noautocreate] [sasl] [# note]` per line, `#` comments. */
export function parseAllowList(text: string): AllowedTest[] {
  const out: AllowedTest[] = [];
  text.split("\n").forEach((raw, i) => {
    const [body = "", ...rest] = raw.split("#");
    const words = body.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return;
    const [num, ...tags] = words;
    if (num === undefined || !/^\d{4}$/.test(num)) {
      throw new Error(`tests.allow line ${i + 1}: expected a 4-digit test number, got "${raw}"`);
    }
    for (const t of tags) {
      if (!TAGS.includes(t)) {
        throw new Error(`tests.allow line ${i + 1}: unknown tag "${t}" (known: ${TAGS.join(", ")})`);
      }
    }
    if (tags.includes("noautocreate") && tags.includes("sasl")) {
      throw new Error(`tests.allow line ${i + 1}: noautocreate and sasl cannot be combined`);
    }
    out.push({
      num,
      core: tags.includes("core"),
      noAutoCreate: tags.includes("noautocreate"),
      sasl: tags.includes("sasl"),
      note: rest.join("#").trim(),
    });
  });
  return out;
}

interface Exec {
  code: number | null;
  out: string;
}

function exec(args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [SCRIPT, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Why the suite cannot run here, or undefined when it can (building it first if allowed). */
async function unavailable(): Promise<string | undefined> {
  // Opt-in: the suite takes 3-4 minutes and its timing-sensitive tests flake when npm test runs
  // other files beside it (0015/0017/0018 seen failing that way), so it runs on demand only.
  if (!BUILD_ALLOWED && !SOAK)
    return "opt-in: set COURANT_LIBRDKAFKA_SUITE=1 (builds the suite if needed) or COURANT_SOAK=1";
  const status = await exec(["status"], 30_000);
  if (status.code === 0) return undefined;
  if (!BUILD_ALLOWED) {
    return `librdkafka suite not built (${status.out.trim()}); set COURANT_LIBRDKAFKA_SUITE=1 to fetch and build it (~2 min), or run scripts/librdkafka-suite.sh setup`;
  }
  const setup = await exec(["setup"], 20 * 60_000);
  if (setup.code !== 0) return `librdkafka suite setup failed: ${setup.out.trim().slice(-2000)}`;
  return undefined;
}

const allow = parseAllowList(readFileSync(join(HERE, "tests.allow"), "utf8"));
const selected = allow.filter((t) => SOAK || t.core);
const skipReason = await unavailable();
if (skipReason !== undefined) console.log(`# skipping librdkafka suite: ${skipReason}`);

/** A `courant broker start` child process on a temp dir and a free port. */
interface BrokerProcess {
  readonly bootstrap: string;
  alive(): boolean;
  log(): string;
  stop(): Promise<void>;
}

async function startBroker(extraArgs: string[]): Promise<BrokerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "courant-rdk-suite-"));
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "bin", "courant.js"),
      "broker",
      "start",
      "--data",
      join(dataDir, "data"),
      "--port",
      "0",
      "--http-port",
      "0",
      "--partitions",
      "4",
      ...extraArgs,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, COURANT_LOG_LEVEL: "warn" } },
  );
  let output = "";
  const collect = (d: Buffer) => {
    output = (output + d.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  // `broker start` prints "courant broker listening on HOST:PORT ..." once it accepts connections.
  let address = "";
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`broker exited at start:\n${output}`);
        address = /listening on (\S+:\d+)/.exec(output)?.[1] ?? "";
        return address !== "";
      },
      { timeoutMs: 30_000, intervalMs: 50, what: "courant broker start to print its address" },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    bootstrap: address,
    alive: () => child.exitCode === null && child.signalCode === null,
    log: () => output,
    stop,
  };
}

interface Setup {
  readonly scenario: "default" | "noautocreate";
  readonly sasl: boolean;
}

const SASL_USER = "courant-suite";
const SASL_PASSWORD = "suite-secret";

function suite(title: string, tests: AllowedTest[], setup: Setup): void {
  describe(title, { skip: skipReason ?? (tests.length === 0 ? "no tests selected" : undefined) }, () => {
    let broker: BrokerProcess | undefined;
    let usersDir = "";
    before(async () => {
      const args: string[] = [];
      if (setup.scenario === "noautocreate") args.push("--no-auto-create-topics");
      if (setup.sasl) {
        usersDir = mkdtempSync(join(tmpdir(), "courant-rdk-users-"));
        const file = join(usersDir, "users.json");
        writeFileSync(file, JSON.stringify({ users: [{ name: SASL_USER, password: SASL_PASSWORD }] }));
        args.push("--users", file);
      }
      broker = await startBroker(args);
    });
    after(async () => {
      await broker?.stop();
      if (usersDir) rmSync(usersDir, { recursive: true, force: true });
    });
    for (const t of tests) {
      test(`${t.num}${t.note ? ` (${t.note})` : ""}`, async () => {
        assert.ok(broker, "broker not started");
        const timeoutS = SOAK ? 300 : 150;
        const args = [
          "run",
          "-s",
          setup.scenario,
          "-b",
          broker.bootstrap,
          "-t",
          String(timeoutS),
          "-l",
          LOG_DIR,
        ];
        if (setup.sasl) args.push("-S", SASL_MECHANISM);
        const r = await exec([...args, t.num], (timeoutS + 30) * 1000, {
          COURANT_SASL_USER: SASL_USER,
          COURANT_SASL_PASSWORD: SASL_PASSWORD,
        });
        const line = r.out.split("\n").find((l) => l.startsWith(`${t.num} `)) ?? "";
        assert.ok(broker.alive(), `broker died during ${t.num}:\n${broker.log().slice(-3000)}`);
        const logName = `${t.num}${setup.scenario === "default" ? "" : `.${setup.scenario}`}${setup.sasl ? `.${SASL_MECHANISM}` : ""}.log`;
        // SKIP is a failure too: an allow-listed test that no longer runs proves nothing.
        assert.match(
          line,
          new RegExp(`^${t.num} PASS `),
          `librdkafka test ${t.num} did not pass against the broker:\n${r.out.slice(-3000)}\n(full log: ${join(LOG_DIR, logName)})`,
        );
      });
    }
  });
}

suite(
  "librdkafka 2.0.2 integration suite against courant broker start",
  selected.filter((t) => !t.noAutoCreate && !t.sasl),
  { scenario: "default", sasl: false },
);
suite(
  "librdkafka 2.0.2 integration suite, scenario noautocreate (broker start --no-auto-create-topics)",
  selected.filter((t) => t.noAutoCreate && !t.sasl),
  { scenario: "noautocreate", sasl: false },
);
suite(
  `librdkafka 2.0.2 integration suite over SASL ${SASL_MECHANISM} (broker start --users)`,
  selected.filter((t) => t.sasl),
  { scenario: "default", sasl: true },
);

test("tests.allow parses and every listed test is unique", () => {
  const nums = allow.map((t) => t.num);
  assert.equal(new Set(nums).size, nums.length, "duplicate test number in tests.allow");
  assert.ok(
    allow.some((t) => t.core),
    "no core tests in tests.allow",
  );
  assert.throws(() => parseAllowList("12ab core\n"), /4-digit/);
  assert.throws(() => parseAllowList("0012 fast\n"), /unknown tag "fast"/);
  assert.throws(() => parseAllowList("0012 noautocreate sasl\n"), /cannot be combined/);
  assert.deepEqual(parseAllowList("# c\n0012 core # produce\n0030 sasl\n"), [
    { num: "0012", core: true, noAutoCreate: false, sasl: false, note: "produce" },
    { num: "0030", core: false, noAutoCreate: false, sasl: true, note: "" },
  ]);
});
