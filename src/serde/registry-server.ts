// Confluent Schema Registry REST API (the subset clients use) over a LocalSchemaRegistry, so
// Confluent serializers in other languages (librdkafka, Java) can share Courant's registry.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LocalSchemaRegistry } from "./local-registry.ts";
import {
  type CompatibilityLevel,
  SchemaRegistryError,
  type SchemaType,
  type SubjectVersion,
} from "./registry.ts";

export interface SchemaRegistryServer {
  readonly url: string;
  close(): Promise<void>;
}

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

class HttpError extends Error {
  readonly status: number;
  readonly errorCode: number;
  constructor(status: number, errorCode: number, message: string) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
  }
}

function fromRegistryError(e: SchemaRegistryError): HttpError {
  switch (e.code) {
    case "SCHEMA_NOT_FOUND":
      return new HttpError(404, 40403, e.message);
    case "SUBJECT_NOT_FOUND":
      return new HttpError(404, 40401, e.message);
    case "INCOMPATIBLE_SCHEMA":
      return new HttpError(409, 409, e.message);
    case "INVALID_SCHEMA":
      return new HttpError(422, 42201, e.message);
    case "INVALID_COMPATIBILITY_LEVEL":
      return new HttpError(422, 42203, e.message);
    default:
      return new HttpError(500, 50001, e.message);
  }
}

function versionJson(v: SubjectVersion) {
  return {
    subject: v.subject,
    version: v.version,
    id: v.id,
    schema: v.schema,
    ...(v.schemaType === "AVRO" ? {} : { schemaType: v.schemaType }),
  };
}

async function readJson(
  req: IncomingMessage,
): Promise<{ schema?: string; schemaType?: SchemaType; compatibility?: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 16 * 2 ** 20) throw new HttpError(413, 41301, "request body over 16 MiB");
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
  } catch (e) {
    throw new HttpError(400, 400, `request body is not JSON: ${(e as Error).message}`);
  }
}

export async function serveSchemaRegistry(
  registry: LocalSchemaRegistry,
  options: { port?: number; host?: string } = {},
): Promise<SchemaRegistryServer> {
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const url = new URL(req.url ?? "/", "http://x");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? "GET";
    const subjectOr404 = (s: string) => {
      if (!registry.subjectsSync().includes(s)) throw new HttpError(404, 40401, `Subject '${s}' not found.`);
    };
    const schemaOf = async () => {
      const body = await readJson(req);
      if (typeof body.schema !== "string") throw new HttpError(422, 42201, "body needs a 'schema' string");
      return { schema: body.schema, schemaType: body.schemaType ?? "AVRO" };
    };
    if (method === "GET" && parts[0] === "schemas" && parts[1] === "ids" && parts.length === 3) {
      const s = registry.getSchemaByIdSync(Number(parts[2]));
      return s.schemaType === "AVRO" ? { schema: s.schema } : { schema: s.schema, schemaType: s.schemaType };
    }
    if (method === "GET" && parts.length === 1 && parts[0] === "subjects") return registry.subjectsSync();
    if (parts[0] === "subjects" && parts.length >= 2) {
      const subject = parts[1]!;
      if (parts.length === 2 && method === "POST") {
        const { schema, schemaType } = await schemaOf();
        subjectOr404(subject);
        const v = registry.lookupSync(subject, schema, schemaType);
        if (v === undefined) throw new HttpError(404, 40403, "Schema not found");
        return versionJson(v);
      }
      if (parts[2] === "versions") {
        if (parts.length === 3 && method === "POST") {
          const { schema, schemaType } = await schemaOf();
          return { id: registry.registerSync(subject, schema, schemaType) };
        }
        if (parts.length === 3 && method === "GET") {
          subjectOr404(subject);
          const out: number[] = [];
          for (let v = registry.latestVersionSync(subject)?.version ?? 0; v > 0; v--) {
            if (registry.versionSync(subject, v)) out.unshift(v);
          }
          return out;
        }
        if (parts.length === 4 && method === "GET") {
          subjectOr404(subject);
          const v =
            parts[3] === "latest" || parts[3] === "-1"
              ? registry.latestVersionSync(subject)
              : registry.versionSync(subject, Number(parts[3]));
          if (v === undefined) throw new HttpError(404, 40402, `Version ${parts[3]} not found.`);
          return versionJson(v);
        }
      }
    }
    if (
      method === "POST" &&
      parts[0] === "compatibility" &&
      parts[1] === "subjects" &&
      parts[3] === "versions"
    ) {
      const subject = parts[2]!;
      const { schema, schemaType } = await schemaOf();
      subjectOr404(subject);
      const r = registry.checkCompatibilitySync(subject, schema, schemaType);
      return url.searchParams.get("verbose") === "true"
        ? { is_compatible: r.compatible, messages: r.messages }
        : { is_compatible: r.compatible };
    }
    if (parts[0] === "config" && parts.length <= 2) {
      const subject = parts[1];
      if (method === "GET") return { compatibilityLevel: registry.getCompatibilitySync(subject) };
      if (method === "PUT") {
        const body = await readJson(req);
        registry.setCompatibilitySync(body.compatibility as CompatibilityLevel, subject);
        return { compatibility: body.compatibility };
      }
    }
    res.statusCode = 404;
    throw new HttpError(404, 404, `no route for ${method} ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).then(
      (body) => {
        res.writeHead(200, { "Content-Type": CONTENT_TYPE });
        res.end(JSON.stringify(body));
      },
      (e: unknown) => {
        const h =
          e instanceof HttpError
            ? e
            : e instanceof SchemaRegistryError
              ? fromRegistryError(e)
              : new HttpError(500, 50001, String(e));
        res.writeHead(h.status, { "Content-Type": CONTENT_TYPE });
        res.end(JSON.stringify({ error_code: h.errorCode, message: h.message }));
      },
    );
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve),
  );
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
