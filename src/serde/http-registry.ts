// Client of a Confluent-compatible schema registry over HTTP (Confluent Schema Registry,
// Redpanda, Apicurio's ccompat API, or registry-server.ts). Lookups are cached. The sync
// methods (used by serdes inside stream processing) run the request on a helper worker
// thread and block on Atomics.wait: that happens once per schema id / subject, on a miss.
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import type {
  CompatibilityLevel,
  CompatibilityResult,
  RegisteredSchema,
  SchemaRegistry,
  SchemaRegistryErrorCode,
  SchemaType,
  SubjectVersion,
} from "./registry.ts";
import { SchemaRegistryError } from "./registry.ts";

export interface HttpSchemaRegistryOptions {
  /** Base URL, e.g. http://localhost:8081 */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly timeoutMs?: number;
  readonly headers?: Record<string, string>;
}

interface HttpReply {
  readonly status: number;
  readonly body: string;
}

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

/** Confluent error_code -> our code. */
function errorCodeOf(status: number, errorCode: number | undefined): SchemaRegistryErrorCode {
  switch (errorCode) {
    case 40401:
      return "SUBJECT_NOT_FOUND";
    case 40402:
    case 40403:
      return "SCHEMA_NOT_FOUND";
    case 42201:
    case 42202:
      return "INVALID_SCHEMA";
    case 42203:
      return "INVALID_COMPATIBILITY_LEVEL";
  }
  if (status === 409) return "INCOMPATIBLE_SCHEMA";
  if (status === 404) return "SCHEMA_NOT_FOUND";
  if (status === 422) return "INVALID_SCHEMA";
  return "REGISTRY_UNAVAILABLE";
}

class SyncHttp {
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private flag: Int32Array | undefined;
  private seq = 0;

  private start(): void {
    const signal = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    this.worker = new Worker(new URL("./sync-http-worker.ts", import.meta.url), {
      workerData: { signal, port: port2 },
      transferList: [port2],
    });
    this.worker.unref();
    this.port = port1;
    this.flag = new Int32Array(signal);
  }

  request(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
  ) {
    if (this.worker === undefined) this.start();
    const seq = ++this.seq;
    const before = Atomics.load(this.flag!, 0);
    this.worker!.postMessage({ seq, url, method, headers, body, timeoutMs });
    const deadline = Date.now() + timeoutMs + 2000;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.flag!, 0, before, left) === "timed-out") {
        throw new SchemaRegistryError(
          "REGISTRY_UNAVAILABLE",
          `${method} ${url}: no reply within ${timeoutMs} ms`,
        );
      }
      const msg = receiveMessageOnPort(this.port!)?.message as
        | { seq: number; status: number; body: string }
        | { seq: number; error: string }
        | undefined;
      if (msg === undefined || msg.seq !== seq) continue; // a stale reply of a timed-out request
      if ("error" in msg) {
        throw new SchemaRegistryError("REGISTRY_UNAVAILABLE", `${method} ${url}: ${msg.error}`);
      }
      return { status: msg.status, body: msg.body };
    }
  }

  close(): void {
    void this.worker?.terminate();
    this.port?.close();
    this.worker = undefined;
  }
}

export class HttpSchemaRegistry implements SchemaRegistry {
  readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly sync = new SyncHttp();
  private readonly byId = new Map<number, RegisteredSchema>();
  private readonly idBySubjectSchema = new Map<string, number>();

  constructor(options: HttpSchemaRegistryOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.headers = { Accept: CONTENT_TYPE, "Content-Type": CONTENT_TYPE, ...options.headers };
    if (options.username !== undefined) {
      const token = Buffer.from(`${options.username}:${options.password ?? ""}`).toString("base64");
      this.headers.Authorization = `Basic ${token}`;
    }
  }

  private parse<T>(method: string, path: string, reply: HttpReply): T {
    let json: unknown;
    try {
      json = reply.body === "" ? undefined : JSON.parse(reply.body);
    } catch {
      json = undefined;
    }
    if (reply.status >= 200 && reply.status < 300) return json as T;
    const err = json as { error_code?: number; message?: string } | undefined;
    throw new SchemaRegistryError(
      errorCodeOf(reply.status, err?.error_code),
      `${method} ${this.url}${path}: HTTP ${reply.status}${err?.error_code ? ` (error ${err.error_code})` : ""}: ${err?.message ?? reply.body.slice(0, 200)}`,
      { status: reply.status },
    );
  }

  private requestSync<T>(method: string, path: string, body?: unknown): T {
    const reply = this.sync.request(
      this.url + path,
      method,
      this.headers,
      body === undefined ? undefined : JSON.stringify(body),
      this.timeoutMs,
    );
    return this.parse<T>(method, path, reply);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let reply: HttpReply;
    try {
      const res = await fetch(this.url + path, {
        method,
        headers: this.headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      reply = { status: res.status, body: await res.text() };
    } catch (e) {
      throw new SchemaRegistryError(
        "REGISTRY_UNAVAILABLE",
        `${method} ${this.url}${path}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    return this.parse<T>(method, path, reply);
  }

  private static registered(id: number, r: { schema: string; schemaType?: SchemaType }): RegisteredSchema {
    return { id, schema: r.schema, schemaType: r.schemaType ?? "AVRO" };
  }

  private static body(schema: string, schemaType: SchemaType): { schema: string; schemaType?: SchemaType } {
    return schemaType === "AVRO" ? { schema } : { schema, schemaType };
  }

  getSchemaByIdSync(id: number): RegisteredSchema {
    let s = this.byId.get(id);
    if (s === undefined) {
      s = HttpSchemaRegistry.registered(id, this.requestSync("GET", `/schemas/ids/${id}`));
      this.byId.set(id, s);
    }
    return s;
  }

  async getSchemaById(id: number): Promise<RegisteredSchema> {
    let s = this.byId.get(id);
    if (s === undefined) {
      s = HttpSchemaRegistry.registered(id, await this.request("GET", `/schemas/ids/${id}`));
      this.byId.set(id, s);
    }
    return s;
  }

  registerSync(subject: string, schema: string, schemaType: SchemaType = "AVRO"): number {
    const key = `${subject}\u0000${schemaType}\u0000${schema}`;
    let id = this.idBySubjectSchema.get(key);
    if (id === undefined) {
      id = this.requestSync<{ id: number }>(
        "POST",
        `/subjects/${encodeURIComponent(subject)}/versions`,
        HttpSchemaRegistry.body(schema, schemaType),
      ).id;
      this.idBySubjectSchema.set(key, id);
    }
    return id;
  }

  async register(subject: string, schema: string, schemaType: SchemaType = "AVRO"): Promise<number> {
    const key = `${subject}\u0000${schemaType}\u0000${schema}`;
    let id = this.idBySubjectSchema.get(key);
    if (id === undefined) {
      id = (
        await this.request<{ id: number }>(
          "POST",
          `/subjects/${encodeURIComponent(subject)}/versions`,
          HttpSchemaRegistry.body(schema, schemaType),
        )
      ).id;
      this.idBySubjectSchema.set(key, id);
    }
    return id;
  }

  lookupSync(subject: string, schema: string, schemaType: SchemaType = "AVRO"): SubjectVersion | undefined {
    try {
      const r = this.requestSync<{
        subject: string;
        version: number;
        id: number;
        schema: string;
        schemaType?: SchemaType;
      }>("POST", `/subjects/${encodeURIComponent(subject)}`, HttpSchemaRegistry.body(schema, schemaType));
      return { ...HttpSchemaRegistry.registered(r.id, r), subject: r.subject, version: r.version };
    } catch (e) {
      if (
        e instanceof SchemaRegistryError &&
        (e.code === "SCHEMA_NOT_FOUND" || e.code === "SUBJECT_NOT_FOUND")
      ) {
        return undefined;
      }
      throw e;
    }
  }

  async latestVersion(subject: string): Promise<SubjectVersion | undefined> {
    try {
      const r = await this.request<{
        subject: string;
        version: number;
        id: number;
        schema: string;
        schemaType?: SchemaType;
      }>("GET", `/subjects/${encodeURIComponent(subject)}/versions/latest`);
      return { ...HttpSchemaRegistry.registered(r.id, r), subject: r.subject, version: r.version };
    } catch (e) {
      if (
        e instanceof SchemaRegistryError &&
        (e.code === "SUBJECT_NOT_FOUND" || e.code === "SCHEMA_NOT_FOUND")
      ) {
        return undefined;
      }
      throw e;
    }
  }

  subjects(): Promise<string[]> {
    return this.request<string[]>("GET", "/subjects");
  }

  async checkCompatibility(
    subject: string,
    schema: string,
    schemaType: SchemaType = "AVRO",
  ): Promise<CompatibilityResult> {
    try {
      const r = await this.request<{ is_compatible: boolean; messages?: string[] }>(
        "POST",
        `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
        HttpSchemaRegistry.body(schema, schemaType),
      );
      return { compatible: r.is_compatible, messages: r.messages ?? [] };
    } catch (e) {
      // No version yet: anything is compatible (Confluent answers 404 here).
      if (e instanceof SchemaRegistryError && e.code === "SUBJECT_NOT_FOUND")
        return { compatible: true, messages: [] };
      throw e;
    }
  }

  async getCompatibility(subject?: string): Promise<CompatibilityLevel> {
    const path =
      subject === undefined ? "/config" : `/config/${encodeURIComponent(subject)}?defaultToGlobal=true`;
    return (await this.request<{ compatibilityLevel: CompatibilityLevel }>("GET", path)).compatibilityLevel;
  }

  async setCompatibility(level: CompatibilityLevel, subject?: string): Promise<void> {
    const path = subject === undefined ? "/config" : `/config/${encodeURIComponent(subject)}`;
    await this.request("PUT", path, { compatibility: level });
  }

  /** Stops the helper worker of the sync methods (it never keeps the process alive anyway). */
  close(): void {
    this.sync.close();
  }
}
