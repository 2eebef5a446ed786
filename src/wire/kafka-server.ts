// Serves one Broker over the Kafka protocol: the WireServer with the broker's handlers, an advertised
// listener, and the safety rule that a non-loopback listener needs authentication unless allowed.
import type { Broker } from "../broker/index.ts";
import type { Logger, MetricsRegistry } from "../observe/index.ts";
import { brokerHandlers, type WireAddress } from "./handlers.ts";
import type { UserStore } from "./sasl.ts";
import { WireServer } from "./server.ts";

export interface KafkaServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 9092; 0 picks a free port. */
  readonly port?: number;
  /** The host:port clients are told to connect to (Metadata, FindCoordinator); default host:port bound. */
  readonly advertised?: { readonly host: string; readonly port: number };
  readonly users?: UserStore;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Listening on a non-loopback address without SASL is refused unless this is true. */
  readonly allowUnauthenticatedRemote?: boolean;
  readonly maxRequestBytes?: number;
  readonly frameTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
  readonly logger?: Logger;
  readonly metrics?: MetricsRegistry;
}

export class KafkaServerError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "KafkaServerError";
    this.code = code;
  }
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** A started Kafka protocol server over `broker`. */
export interface KafkaServer {
  readonly server: WireServer;
  readonly address: WireAddress;
  close(): Promise<void>;
}

export async function serveBroker(broker: Broker, options: KafkaServerOptions = {}): Promise<KafkaServer> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host) && !options.users && !options.allowUnauthenticatedRemote) {
    throw new KafkaServerError(
      "UNAUTHENTICATED_REMOTE",
      `refusing to listen on ${host} without authentication: give users (SASL) or allow unauthenticated remote access explicitly`,
    );
  }
  let address: WireAddress = options.advertised ?? { host, port: options.port ?? 9092 };
  const server = new WireServer({
    host,
    port: options.port ?? 9092,
    handlers: brokerHandlers(broker, () => address),
    users: options.users,
    tls: options.tls,
    maxRequestBytes: options.maxRequestBytes,
    frameTimeoutMs: options.frameTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs,
    maxConnections: options.maxConnections,
    logger: options.logger,
    metrics: options.metrics,
  });
  const bound = await server.listen();
  if (!options.advertised) {
    const advHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    address = { host: advHost, port: bound.port };
  }
  broker.host = address.host;
  broker.port = address.port;
  return { server, address, close: () => server.close() };
}
