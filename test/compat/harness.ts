// Shared harness of the compatibility tests: a real broker in a temporary directory, served over TCP,
// and async child processes (the broker runs in this process, so children must never block it).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../src/broker/index.ts";
import { type KafkaServer, serveBroker, type UserStore } from "../../src/wire/index.ts";

export interface TestBroker {
  readonly broker: Broker;
  readonly server: KafkaServer;
  readonly bootstrap: string;
  close(): Promise<void>;
}

export async function startBroker(
  options: { partitions?: number; users?: UserStore } = {},
): Promise<TestBroker> {
  const dir = mkdtempSync(join(tmpdir(), "courant-compat-"));
  const broker = await Broker.open({
    dataDir: dir,
    brokerId: 1,
    autoCreateTopics: true,
    defaultPartitions: options.partitions ?? 4,
    groupInitialRebalanceDelayMs: 0,
  });
  const server = await serveBroker(broker, { port: 0, users: options.users });
  return {
    broker,
    server,
    bootstrap: `127.0.0.1:${server.address.port}`,
    async close() {
      await server.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when `cmd` can run (`cmd --version`-like probe). */
export function available(cmd: string, args: string[] = ["-V"]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
  return r.error === undefined;
}

export function pythonHasConfluentKafka(): boolean {
  const r = spawnSync("/usr/bin/python3", ["-c", "import confluent_kafka"], {
    stdio: "ignore",
    timeout: 20_000,
  });
  return r.status === 0;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop; kills it after timeoutMs. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.on("error", () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
