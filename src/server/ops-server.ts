// The operations HTTP endpoint every Courant app serves: Prometheus metrics, liveness,
// readiness and interactive-query routes. Loopback by default: ops endpoints are not meant to
// face the Internet; bind another host explicitly when a probe or scraper runs elsewhere.
import { type ELDHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { MetricsRegistry } from "../observe/index.ts";
import { LivenessWorker } from "./liveness-worker.ts";

/** One readiness condition, e.g. "state restored" or "group joined". */
export interface ReadinessCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: readonly ReadinessCheck[];
}

export type ReadinessProbe = () => ReadinessReport | boolean | Promise<ReadinessReport | boolean>;

/** What an interactive-query handler receives: path parameters and the query string. */
export interface QueryRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
}

/**
 * An interactive-query route. `path` uses fastify's syntax (`/pdv/:pdvId/coupons`).
 * The handler returns a JSON-able value; `undefined` answers 404. Throwing a
 * `QueryError` answers with its status (e.g. 503 while state is restoring).
 */
export interface QueryRoute {
  readonly path: string;
  readonly description?: string;
  readonly handler: (req: QueryRequest) => unknown | Promise<unknown>;
}

export class QueryError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "QueryError";
    this.status = status;
    this.code = code;
  }
}

export class OpsServerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OpsServerError";
    this.code = code;
  }
}

export interface OpsServerOptions {
  /** Shown in /health and logs, e.g. the application id. */
  readonly name: string;
  /** Default 127.0.0.1 (loopback). */
  readonly host?: string;
  /** Default 0: a free port chosen by the system; read `url` after start(). */
  readonly port?: number;
  /** Registries exposed on /metrics (concatenated). */
  readonly metrics?: MetricsRegistry | readonly MetricsRegistry[];
  /** Readiness: state restored, group joined... Without it the server is ready once started. */
  readonly ready?: ReadinessProbe;
  /**
   * Also serve /health from a worker thread on this port (0 = random). The worker answers even
   * when this thread's event loop is starved, and reports 503 when the loop has not turned for
   * `maxLoopStallMs` — a truthful liveness signal for a busy stream thread. Off by default.
   */
  readonly livenessPort?: number;
  /** Event-loop stall beyond which liveness fails (default 30 000 ms). */
  readonly maxLoopStallMs?: number;
  /**
   * Why the service is no longer alive (e.g. its stream processing stopped on an error), or
   * undefined while it is: /health (and the liveness worker) then answer 503, so an orchestrator
   * restarts the process instead of keeping a dead app that still answers.
   */
  readonly failure?: () => string | undefined;
}

/** Reusable ops server: `/metrics`, `/health`, `/ready`, and mounted interactive queries. */
export class OpsServer {
  readonly name: string;
  private readonly app: FastifyInstance;
  private readonly options: OpsServerOptions;
  private readonly registries: readonly MetricsRegistry[];
  private readonly loopDelay: ELDHistogram;
  private readonly startedAt = Date.now();
  private readonly queryIndex: { path: string; description?: string }[] = [];
  private liveness: LivenessWorker | undefined;
  private address: string | undefined;

  constructor(options: OpsServerOptions) {
    this.name = options.name;
    this.options = options;
    const m = options.metrics;
    this.registries =
      m === undefined ? [] : Array.isArray(m) ? (m as MetricsRegistry[]) : [m as MetricsRegistry];
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 });
    this.app = Fastify({ logger: false });
    this.app.get("/health", async (_req, reply) => this.health(reply));
    this.app.get("/ready", async (_req, reply) => this.ready(reply));
    this.app.get("/metrics", async (_req, reply) => this.metricsText(reply));
    this.app.get("/queries", async () => ({ routes: this.queryIndex }));
  }

  /** Mounts interactive-query routes under `prefix` (e.g. "/rewards"). Call before start(). */
  mountQueries(prefix: string, routes: readonly QueryRoute[]): void {
    if (this.address !== undefined) {
      throw new OpsServerError(
        "OPS_ALREADY_STARTED",
        `cannot mount ${prefix}: ops server ${this.name} is started`,
      );
    }
    const base = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
    for (const route of routes) {
      const url = base + (route.path.startsWith("/") ? route.path : `/${route.path}`);
      this.queryIndex.push({ path: url, description: route.description });
      this.app.get(url, async (req: FastifyRequest, reply: FastifyReply) => {
        try {
          const value = await route.handler({
            params: (req.params ?? {}) as Record<string, string>,
            query: (req.query ?? {}) as Record<string, string | undefined>,
          });
          if (value === undefined) {
            return reply.code(404).send({ error: "NOT_FOUND", message: `nothing at ${req.url}` });
          }
          return reply.send(value);
        } catch (e) {
          if (e instanceof QueryError)
            return reply.code(e.status).send({ error: e.code, message: e.message });
          const err = e as Error;
          return reply.code(500).send({ error: "QUERY_FAILED", message: `${url}: ${err.message}` });
        }
      });
    }
  }

  /** Starts listening; resolves with the base URL (http://host:port). */
  async start(): Promise<string> {
    const host = this.options.host ?? "127.0.0.1";
    this.loopDelay.enable();
    try {
      await this.app.listen({ host, port: this.options.port ?? 0 });
    } catch (e) {
      throw new OpsServerError(
        "OPS_LISTEN_FAILED",
        `ops server ${this.name} cannot listen on ${host}:${this.options.port ?? 0}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const addr = this.app.server.address();
    if (addr === null || typeof addr === "string")
      throw new OpsServerError("OPS_LISTEN_FAILED", "no TCP address");
    const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    this.address = `http://${shownHost}:${addr.port}`;
    if (this.options.livenessPort !== undefined) {
      this.liveness = new LivenessWorker({
        name: this.name,
        host,
        port: this.options.livenessPort,
        maxLoopStallMs: this.options.maxLoopStallMs ?? 30_000,
        failed: this.options.failure ? () => this.options.failure?.() !== undefined : undefined,
      });
      await this.liveness.start();
    }
    return this.address;
  }

  /** Base URL once started. */
  get url(): string {
    if (this.address === undefined)
      throw new OpsServerError("OPS_NOT_STARTED", `ops server ${this.name} not started`);
    return this.address;
  }

  /** URL of the worker-thread liveness endpoint, when enabled. */
  get livenessUrl(): string | undefined {
    return this.liveness?.url;
  }

  async close(): Promise<void> {
    this.loopDelay.disable();
    await this.liveness?.close();
    await this.app.close();
    this.address = undefined;
  }

  private async health(reply: FastifyReply): Promise<unknown> {
    let failure: string | undefined;
    try {
      failure = this.options.failure?.();
    } catch (e) {
      failure = `the failure probe threw: ${(e as Error).message}`;
    }
    if (failure !== undefined)
      return reply.code(503).send({ status: "failed", name: this.name, reason: failure });
    // Answering at all proves the loop turns; the delay figures show how starved it is.
    return reply.send({
      status: "ok",
      name: this.name,
      uptimeMs: Date.now() - this.startedAt,
      eventLoopDelayP99Ms: round(this.loopDelay.percentile(99) / 1e6),
      eventLoopDelayMaxMs: round(this.loopDelay.max / 1e6),
    });
  }

  private async ready(reply: FastifyReply): Promise<unknown> {
    let report: ReadinessReport;
    try {
      const r = this.options.ready ? await this.options.ready() : true;
      report = typeof r === "boolean" ? { ready: r, checks: [] } : r;
    } catch (e) {
      report = { ready: false, checks: [{ name: "probe", ok: false, detail: (e as Error).message }] };
    }
    return reply.code(report.ready ? 200 : 503).send({ name: this.name, ...report });
  }

  private async metricsText(reply: FastifyReply): Promise<unknown> {
    const parts: string[] = [];
    for (const r of this.registries) parts.push(await r.text());
    return reply.header("content-type", "text/plain; version=0.0.4; charset=utf-8").send(parts.join("\n"));
  }
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : 0;
}
