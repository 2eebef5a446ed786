// `courant broker start`: the embedded broker served over the Kafka protocol, with an ops HTTP endpoint.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { Broker } from "../broker/index.ts";
import { createLogger, defaultMetrics } from "../observe/index.ts";
import { OpsServer } from "../server/index.ts";
import { isLoopback, serveBroker, UserStore } from "../wire/index.ts";

interface StartOptions {
  data: string;
  host: string;
  port: string;
  advertisedListener?: string;
  users?: string;
  tlsCert?: string;
  tlsKey?: string;
  allowUnauthenticatedRemote?: boolean;
  httpPort: string;
  httpHost: string;
  partitions: string;
  autoCreateTopics: boolean;
  maxRequestBytes: string;
  brokerId: string;
  groupInitialRebalanceDelayMs: string;
}

function parsePort(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${what}: "${value}" is not a port number (0-65535)`);
  return n;
}

function parseListener(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(":");
  if (i <= 0) throw new Error(`--advertised-listener: "${value}" is not host:port`);
  return {
    host: value.slice(0, i).replace(/^\[|\]$/g, ""),
    port: parsePort(value.slice(i + 1), "--advertised-listener"),
  };
}

export function register(program: Command): void {
  const broker = program.command("broker").description("Run the embedded broker for Kafka clients");
  broker
    .command("start")
    .description("Serve the broker over the Kafka protocol (kcat, librdkafka, Java and Node clients)")
    .option("--data <dir>", "data directory", "./data")
    .option(
      "--host <host>",
      "address to listen on (non-loopback needs --users or --allow-unauthenticated-remote)",
      "127.0.0.1",
    )
    .option("--port <port>", "Kafka protocol port", "9092")
    .option("--advertised-listener <host:port>", "address given to clients in metadata (default: host:port)")
    .option(
      "--users <file>",
      "YAML/JSON users file (users: [{name, password}]) enabling SASL PLAIN and SCRAM-SHA-256/512",
    )
    .option("--tls-cert <file>", "PEM certificate: serve TLS")
    .option("--tls-key <file>", "PEM private key for --tls-cert")
    .option("--allow-unauthenticated-remote", "allow a non-loopback listener without SASL", false)
    .option("--http-port <port>", "ops HTTP port (/metrics, /health, /ready)", "9644")
    .option("--http-host <host>", "ops HTTP address", "127.0.0.1")
    .option("--partitions <n>", "partitions of auto-created topics", "4")
    .option("--no-auto-create-topics", "do not create topics on first use")
    .option("--max-request-bytes <n>", "largest request accepted", String(100 * 1024 * 1024))
    .option("--broker-id <n>", "node id of this broker", "1")
    .option(
      "--group-initial-rebalance-delay-ms <ms>",
      "wait this long for more members when an empty group gets its first (Kafka's default)",
      "3000",
    )
    .action(async (o: StartOptions) => {
      try {
        await start(o);
      } catch (e) {
        console.error(`courant broker start: ${e instanceof Error ? e.message : String(e)}`);
        process.exitCode = 1;
      }
    });
}

async function start(o: StartOptions): Promise<void> {
  const log = createLogger("broker");
  const port = parsePort(o.port, "--port");
  const httpPort = parsePort(o.httpPort, "--http-port");
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined))
    throw new Error("--tls-cert and --tls-key go together");
  const users = o.users ? UserStore.fromFile(o.users) : undefined;
  if (!isLoopback(o.host) && !users && !o.allowUnauthenticatedRemote) {
    throw new Error(
      `refusing to listen on ${o.host} without authentication: pass --users FILE, or --allow-unauthenticated-remote`,
    );
  }
  const b = await Broker.open({
    dataDir: o.data,
    brokerId: Number(o.brokerId),
    autoCreateTopics: o.autoCreateTopics,
    defaultPartitions: Number(o.partitions),
    groupInitialRebalanceDelayMs: Number(o.groupInitialRebalanceDelayMs),
    logger: log,
  });
  const kafka = await serveBroker(b, {
    host: o.host,
    port,
    advertised: o.advertisedListener ? parseListener(o.advertisedListener) : undefined,
    users,
    tls: o.tlsCert ? { cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey!) } : undefined,
    allowUnauthenticatedRemote: o.allowUnauthenticatedRemote,
    maxRequestBytes: Number(o.maxRequestBytes),
    logger: log,
    metrics: defaultMetrics,
  });
  const ops = new OpsServer({
    name: "courant-broker",
    host: o.httpHost,
    port: httpPort,
    metrics: defaultMetrics,
    ready: () => kafka.server.isListening && !b.isClosed,
  });
  const url = await ops.start();
  const scheme = o.tlsCert ? "SASL_SSL/SSL" : users ? "SASL_PLAINTEXT" : "PLAINTEXT";
  console.log(
    `courant broker listening on ${o.host}:${kafka.server.port} (${scheme}), advertised as ${kafka.address.host}:${kafka.address.port}; data ${o.data}; ops ${url}`,
  );
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping broker");
    await kafka.close().catch(() => {});
    await ops.close().catch(() => {});
    await b.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}
