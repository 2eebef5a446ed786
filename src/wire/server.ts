// TCP server of the Kafka protocol. Framing, request headers, version checks, authentication gating,
// ordered responses and resource limits live here; what each API does is the broker's (handlers.ts
// maps requests to broker calls and adds no semantics of its own).
//
// Per connection, requests are decoded as they arrive but executed one at a time, in order (as
// Kafka mutes a channel while a request is in flight): pipelined produces append in the order sent.
// A long-polling fetch waits without blocking any other connection.
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { createLogger, defaultMetrics, type Logger, type MetricsRegistry } from "../observe/index.ts";
import { type Encodable, Reader, WireDecodeError, Writer } from "./codec.ts";
import {
  API_DEFINITIONS,
  ApiKey,
  type ApiVersionsResponse,
  type SaslAuthenticateRequest,
  type SaslHandshakeRequest,
  writeApiVersionsResponse,
} from "./generated/index.ts";
import {
  createSaslSession,
  SASL_MECHANISMS,
  type SaslMechanism,
  type SaslSession,
  type UserStore,
} from "./sasl.ts";

/** What the server knows about a request while a handler runs. */
export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly principal: string | null;
  readonly remoteAddress: string;
  /** Aborted when the connection closes (a long poll stops waiting). */
  readonly signal: AbortSignal;
}

/** Returned by a handler when Kafka sends no response (Produce with acks=0). */
export const NO_RESPONSE: object = Object.freeze({ noResponse: true });

export type ApiHandler = (request: never, ctx: RequestContext) => Promise<object> | object;

/** Advertised version range and the lowest version actually served (lower ones are advertised only, see docs/wire.md). */
export interface ApiSupport {
  readonly min: number;
  readonly max: number;
  readonly lowestServed: number;
}

export interface WireServerOptions {
  readonly host?: string;
  /** 0 picks a free port. Default 9092. */
  readonly port?: number;
  readonly handlers: ReadonlyMap<number, { support: ApiSupport; handle: ApiHandler }>;
  /** When set, clients must authenticate with SASL (PLAIN, SCRAM-SHA-256/512). */
  readonly users?: UserStore;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Largest request accepted, bytes (Kafka's socket.request.max.bytes). Default 100 MiB. */
  readonly maxRequestBytes?: number;
  /** A frame started must be complete within this time (slow senders). Default 30 s. */
  readonly frameTimeoutMs?: number;
  /** Connections idle this long are closed (Kafka's connections.max.idle.ms). Default 10 min. */
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
  /** Bytes of decoded-but-unprocessed requests per connection before reading pauses. Default 64 MiB. */
  readonly maxQueuedBytesPerConnection?: number;
  /**
   * Request bytes held by all connections together (partial and queued frames) before reading pauses
   * on the connections that add more. Default max(512 MiB, 2 x maxRequestBytes).
   */
  readonly maxBufferedBytes?: number;
  readonly logger?: Logger;
  readonly metrics?: MetricsRegistry;
}

const API_VERSIONS_KEY = 18;
const UNSUPPORTED_VERSION = 35;
const ILLEGAL_SASL_STATE = 34;
const UNSUPPORTED_SASL_MECHANISM = 33;
const SASL_AUTHENTICATION_FAILED = 58;

export class WireServer {
  private readonly options: WireServerOptions;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  private boundPort = 0;
  private listening = false;
  private held = 0;
  private heldPeak = 0;
  private readonly maxHeld: number;
  private readonly waiting = new Set<Connection>();

  constructor(options: WireServerOptions) {
    this.options = options;
    this.maxHeld =
      options.maxBufferedBytes ??
      Math.max(512 * 1024 * 1024, 2 * (options.maxRequestBytes ?? 100 * 1024 * 1024));
    this.log = options.logger ?? createLogger("wire");
    this.metrics = options.metrics ?? defaultMetrics;
    const onSocket = (socket: Socket): void => this.accept(socket);
    this.server = options.tls
      ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onSocket)
      : createTcpServer({ noDelay: true }, onSocket);
    this.server.on("error", (e) => this.log.error({ err: e }, "wire server error"));
  }

  get port(): number {
    return this.boundPort;
  }

  get isListening(): boolean {
    return this.listening;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Request bytes held by every connection now, and the most ever held (for tests and metrics). */
  get bufferedBytes(): number {
    return this.held;
  }
  get peakBufferedBytes(): number {
    return this.heldPeak;
  }

  /** A connection took `n` more bytes; true when it must stop reading (server-wide budget spent). */
  hold(conn: Connection, n: number): boolean {
    this.held += n;
    if (this.held > this.heldPeak) this.heldPeak = this.held;
    if (this.held > this.maxHeld) {
      this.waiting.add(conn);
      return true;
    }
    return false;
  }

  release(n: number): void {
    this.held -= n;
    if (this.waiting.size > 0 && this.held <= this.maxHeld / 2) {
      const list = [...this.waiting];
      this.waiting.clear();
      for (const c of list) c.resumeGlobal();
    }
  }

  forget(conn: Connection): void {
    this.waiting.delete(conn);
  }

  get authRequired(): boolean {
    return this.options.users !== undefined;
  }

  async listen(): Promise<{ host: string; port: number }> {
    const host = this.options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once("error", onError);
      this.server.listen(this.options.port ?? 9092, host, () => {
        this.server.off("error", onError);
        resolve();
      });
    });
    const addr = this.server.address();
    this.boundPort = typeof addr === "object" && addr ? addr.port : 0;
    this.listening = true;
    return { host, port: this.boundPort };
  }

  async close(): Promise<void> {
    this.listening = false;
    for (const c of this.connections) c.destroy("server closing");
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const max = this.options.maxConnections ?? 10_000;
    if (this.connections.size >= max) {
      this.log.warn({ remote: socket.remoteAddress }, `connection refused: ${max} connections open`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new Connection(this, socket, this.options);
    this.connections.add(conn);
    this.metrics.gauge("wire_connections", "Open Kafka protocol connections").inc();
    socket.once("close", () => {
      this.connections.delete(conn);
      this.metrics.gauge("wire_connections", "Open Kafka protocol connections").dec();
      conn.closed();
    });
  }

  /** ApiVersions body: every API the server handles with its advertised range. */
  apiVersionsBody(errorCode: number): Encodable<ApiVersionsResponse> {
    const apiKeys = [...this.options.handlers.entries()]
      .sort((a, b) => a[0] - b[0])
      .filter(([k]) => this.authRequired || (k !== ApiKey.SaslHandshake && k !== ApiKey.SaslAuthenticate))
      .map(([k, h]) => ({ apiKey: k, minVersion: h.support.min, maxVersion: h.support.max }));
    return { errorCode, apiKeys, throttleTimeMs: 0 };
  }
}

/** One client connection. Exported for the server's bookkeeping only. */
export class Connection {
  private readonly server: WireServer;
  private readonly socket: Socket;
  private readonly opts: WireServerOptions;
  private readonly remote: string;
  private readonly maxRequestBytes: number;
  private readonly maxQueued: number;
  // incoming bytes not yet framed
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameTimer: NodeJS.Timeout | null = null;
  // framed requests not yet processed
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  /** Bytes of this connection counted in the server-wide budget. */
  private heldBytes = 0;
  private processing = false;
  private paused = false;
  private globalPaused = false;
  private dead = false;
  private readonly abort = new AbortController();
  private principal: string | null = null;
  private sasl: SaslSession | null = null;
  private saslMechanism: SaslMechanism | null = null;
  /** After SaslHandshake v0, the next frames are raw SASL tokens, not Kafka requests. */
  private rawSasl = false;

  constructor(server: WireServer, socket: Socket, opts: WireServerOptions) {
    this.server = server;
    this.socket = socket;
    this.opts = opts;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.maxRequestBytes = opts.maxRequestBytes ?? 100 * 1024 * 1024;
    this.maxQueued = opts.maxQueuedBytesPerConnection ?? 64 * 1024 * 1024;
    socket.setTimeout(opts.idleTimeoutMs ?? 600_000);
    socket.on("timeout", () => this.destroy("idle timeout"));
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", (e) => this.server.log.debug({ remote: this.remote, err: e.message }, "socket error"));
    socket.on("drain", () => this.maybeResume());
  }

  get authenticated(): boolean {
    return !this.server.authRequired || this.principal !== null;
  }

  closed(): void {
    this.dead = true;
    this.server.forget(this);
    this.server.release(this.heldBytes);
    this.heldBytes = 0;
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.abort.abort();
    this.queue.length = 0;
    this.chunks = [];
  }

  destroy(reason: string, level: "info" | "warn" = "warn"): void {
    if (this.dead) return;
    this.server.log[level]({ remote: this.remote }, `closing Kafka connection: ${reason}`);
    this.server.metrics
      .counter("wire_connections_closed_total", "Connections closed by the server", ["reason"])
      .inc({
        reason: reason.split(":")[0]!.slice(0, 40),
      });
    this.dead = true;
    this.socket.destroy();
  }

  private onData(data: Buffer): void {
    if (this.dead) return;
    this.chunks.push(data);
    this.buffered += data.length;
    this.heldBytes += data.length;
    if (this.server.hold(this, data.length) && !this.globalPaused) {
      this.globalPaused = true;
      this.socket.pause();
    }
    while (this.buffered >= 4) {
      const size = this.peekInt32();
      if (size < 0 || size > this.maxRequestBytes) {
        this.destroy(`request size ${size} outside [0, ${this.maxRequestBytes}] bytes (max request size)`);
        return;
      }
      if (size < 8 && !this.rawSasl) {
        this.destroy(`request size ${size} is smaller than a request header`);
        return;
      }
      if (this.buffered < 4 + size) break;
      const frame = this.take(4 + size).subarray(4);
      this.queue.push(frame);
      this.queuedBytes += frame.length;
    }
    if (this.buffered > 0) {
      if (!this.frameTimer) {
        this.frameTimer = setTimeout(
          () =>
            this.destroy(`incomplete request not finished within ${this.opts.frameTimeoutMs ?? 30_000} ms`),
          this.opts.frameTimeoutMs ?? 30_000,
        );
        this.frameTimer.unref();
      }
    } else if (this.frameTimer) {
      clearTimeout(this.frameTimer);
      this.frameTimer = null;
    }
    if (this.queuedBytes > this.maxQueued && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    if (!this.processing) void this.process();
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.readInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }

  private maybeResume(): void {
    if (this.paused && this.queuedBytes <= this.maxQueued / 2 && !this.socket.writableNeedDrain) {
      this.paused = false;
      if (!this.globalPaused) this.socket.resume();
    }
  }

  /** The server-wide budget has room again. */
  resumeGlobal(): void {
    if (!this.globalPaused || this.dead) return;
    this.globalPaused = false;
    if (!this.paused) this.socket.resume();
  }

  private async process(): Promise<void> {
    this.processing = true;
    try {
      while (this.queue.length > 0 && !this.dead) {
        const frame = this.queue.shift()!;
        this.queuedBytes -= frame.length;
        try {
          await this.handleFrame(frame);
        } finally {
          if (!this.dead) {
            this.heldBytes -= frame.length + 4;
            this.server.release(frame.length + 4);
          }
        }
        if (this.socket.writableNeedDrain) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              this.socket.off("drain", done);
              this.socket.off("close", done);
              resolve();
            };
            this.socket.on("drain", done);
            this.socket.on("close", done);
          });
        }
      }
    } finally {
      this.processing = false;
      this.maybeResume();
    }
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    if (this.rawSasl) {
      await this.rawSaslToken(frame);
      return;
    }
    const r = new Reader(frame);
    let apiKey = -1;
    let apiVersion = -1;
    let correlationId = 0;
    try {
      apiKey = r.int16();
      apiVersion = r.int16();
      correlationId = r.int32();
      const clientId = r.nstring(false);
      const def = API_DEFINITIONS.get(apiKey);
      const entry = this.opts.handlers.get(apiKey);
      if (!def || !entry) {
        this.destroy(`unknown or unserved api key ${apiKey} (version ${apiVersion}, client ${clientId})`);
        return;
      }
      if (apiKey === API_VERSIONS_KEY && (apiVersion > entry.support.max || apiVersion < 0)) {
        // KIP-511: answer an unknown ApiVersions version with a v0 body and error 35 so the client retries lower.
        this.send(correlationId, false, (w) =>
          writeApiVersionsResponse(w, 0, this.server.apiVersionsBody(UNSUPPORTED_VERSION)),
        );
        return;
      }
      if (apiVersion < entry.support.lowestServed || apiVersion > entry.support.max) {
        this.destroy(
          `${def.name} v${apiVersion} is not served (served ${entry.support.lowestServed}-${entry.support.max}; client ${clientId})`,
        );
        return;
      }
      if (
        !this.authenticated &&
        apiKey !== API_VERSIONS_KEY &&
        apiKey !== ApiKey.SaslHandshake &&
        apiKey !== ApiKey.SaslAuthenticate
      ) {
        this.destroy(`${def.name} before SASL authentication (client ${clientId})`);
        return;
      }
      const flexible = def.firstFlexibleVersion >= 0 && apiVersion >= def.firstFlexibleVersion;
      if (flexible) {
        // request header v2: tagged fields (none are defined for requests we read)
        const n = r.uvarint();
        for (let i = 0; i < n; i++) {
          r.uvarint();
          r.pos = r.taggedFieldEnd();
        }
      }
      const request = def.readRequest(r, apiVersion);
      const started = performance.now();
      let body: object;
      if (apiKey === ApiKey.SaslHandshake)
        body = this.saslHandshake(request as SaslHandshakeRequest, apiVersion);
      else if (apiKey === ApiKey.SaslAuthenticate)
        body = this.saslAuthenticate(request as SaslAuthenticateRequest);
      else if (apiKey === API_VERSIONS_KEY) body = this.server.apiVersionsBody(0);
      else {
        const ctx: RequestContext = {
          apiKey,
          apiVersion,
          correlationId,
          clientId,
          principal: this.principal,
          remoteAddress: this.remote,
          signal: this.abort.signal,
        };
        body = await entry.handle(request as never, ctx);
      }
      if (this.dead || body === NO_RESPONSE) return;
      // ApiVersions responses always use header v0 (clients parse them before knowing versions).
      const headerFlexible = flexible && apiKey !== API_VERSIONS_KEY;
      this.send(correlationId, headerFlexible, (w) => def.writeResponse(w, apiVersion, body as never));
      this.server.metrics
        .histogram("wire_request_seconds", "Kafka request handling time", ["api"])
        .observe({ api: def.name }, (performance.now() - started) / 1000);
      if (this.closeAfterResponse) this.destroy(this.closeAfterResponse);
    } catch (e) {
      if (e instanceof WireDecodeError) {
        const name = API_DEFINITIONS.get(apiKey)?.name ?? `api ${apiKey}`;
        this.destroy(`malformed ${name} v${apiVersion} request (correlation ${correlationId}): ${e.message}`);
        return;
      }
      this.server.log.error(
        { remote: this.remote, apiKey, apiVersion, err: e instanceof Error ? e.stack : String(e) },
        "request handler failed",
      );
      this.destroy(
        `internal error handling api ${apiKey} v${apiVersion}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  private closeAfterResponse: string | null = null;

  private send(correlationId: number, flexibleHeader: boolean, body: (w: Writer) => void): void {
    const w = new Writer(512);
    w.int32(0); // size, patched below
    w.int32(correlationId);
    if (flexibleHeader) w.uvarint(0);
    body(w);
    w.patchInt32(0, w.length - 4);
    const chunks = w.finishChunks();
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!);
      return;
    }
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  private saslHandshake(req: SaslHandshakeRequest, version: number): object {
    const mechanisms = [...SASL_MECHANISMS];
    if (!this.opts.users) return { errorCode: ILLEGAL_SASL_STATE, mechanisms: [] };
    if (this.principal !== null || this.sasl !== null) return { errorCode: ILLEGAL_SASL_STATE, mechanisms };
    const m = mechanisms.find((x) => x === req.mechanism);
    if (!m) return { errorCode: UNSUPPORTED_SASL_MECHANISM, mechanisms };
    this.saslMechanism = m;
    this.sasl = createSaslSession(m, this.opts.users);
    if (version === 0) this.rawSasl = true;
    return { errorCode: 0, mechanisms };
  }

  private saslAuthenticate(req: SaslAuthenticateRequest): object {
    if (!this.sasl || this.sasl.done) {
      this.closeAfterResponse = "SaslAuthenticate without a SaslHandshake";
      return {
        errorCode: ILLEGAL_SASL_STATE,
        errorMessage: "SaslHandshake must come first",
        authBytes: Buffer.alloc(0),
      };
    }
    try {
      const reply = this.sasl.step(req.authBytes);
      if (this.sasl.done) {
        this.principal = this.sasl.principal;
        this.server.log.info(
          { remote: this.remote, user: this.principal, mechanism: this.saslMechanism },
          "authenticated",
        );
      }
      return { errorCode: 0, errorMessage: null, authBytes: reply, sessionLifetimeMs: 0 };
    } catch (e) {
      this.closeAfterResponse = `SASL authentication failed: ${(e as Error).message}`;
      return {
        errorCode: SASL_AUTHENTICATION_FAILED,
        errorMessage: (e as Error).message,
        authBytes: Buffer.alloc(0),
      };
    }
  }

  private async rawSaslToken(frame: Buffer): Promise<void> {
    try {
      const reply = this.sasl!.step(frame);
      if (this.sasl!.done) {
        this.principal = this.sasl!.principal;
        this.rawSasl = false;
      }
      const head = Buffer.allocUnsafe(4);
      head.writeInt32BE(reply.length);
      this.socket.write(Buffer.concat([head, reply]));
    } catch (e) {
      this.destroy(`SASL authentication failed: ${(e as Error).message}`);
    }
  }
}
