// Schema registry contract (Confluent's model: subjects with versions, global schema ids,
// compatibility levels) and the compatibility rules shared by every implementation.
import { Ajv } from "ajv";
import avro from "avsc";

export type SchemaType = "AVRO" | "JSON";

export type CompatibilityLevel =
  | "NONE"
  | "BACKWARD"
  | "BACKWARD_TRANSITIVE"
  | "FORWARD"
  | "FORWARD_TRANSITIVE"
  | "FULL"
  | "FULL_TRANSITIVE";

export const COMPATIBILITY_LEVELS: readonly CompatibilityLevel[] = [
  "NONE",
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
];

export interface RegisteredSchema {
  readonly id: number;
  /** The schema text (JSON). */
  readonly schema: string;
  readonly schemaType: SchemaType;
}

export interface SubjectVersion extends RegisteredSchema {
  readonly subject: string;
  readonly version: number;
}

export interface CompatibilityResult {
  readonly compatible: boolean;
  /** Why not, one message per failing version. */
  readonly messages: string[];
}

export type SchemaRegistryErrorCode =
  | "SCHEMA_NOT_FOUND"
  | "SUBJECT_NOT_FOUND"
  | "INCOMPATIBLE_SCHEMA"
  | "INVALID_SCHEMA"
  | "INVALID_COMPATIBILITY_LEVEL"
  | "REGISTRY_UNAVAILABLE"
  | "REGISTRY_CORRUPT";

export class SchemaRegistryError extends Error {
  readonly code: SchemaRegistryErrorCode;
  /** HTTP status from a remote registry, when there was one. */
  readonly status: number | undefined;
  constructor(
    code: SchemaRegistryErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SchemaRegistryError";
    this.code = code;
    this.status = options?.status;
  }
}

/**
 * A schema registry. Serdes run synchronously inside stream processing, so lookups have sync
 * forms; a network registry caches them and blocks only on a cache miss (as Java clients do).
 */
export interface SchemaRegistry {
  getSchemaByIdSync(id: number): RegisteredSchema;
  /** Registers (or finds) `schema` under `subject`; returns its global id. */
  registerSync(subject: string, schema: string, schemaType?: SchemaType): number;
  /** The version of `subject` with exactly this schema, if registered (no registration). */
  lookupSync(subject: string, schema: string, schemaType?: SchemaType): SubjectVersion | undefined;
  getSchemaById(id: number): Promise<RegisteredSchema>;
  register(subject: string, schema: string, schemaType?: SchemaType): Promise<number>;
  latestVersion(subject: string): Promise<SubjectVersion | undefined>;
  subjects(): Promise<string[]>;
  /** Would `schema` be accepted under `subject` at its compatibility level? */
  checkCompatibility(subject: string, schema: string, schemaType?: SchemaType): Promise<CompatibilityResult>;
  /** Level of `subject`, or the global level when no subject is given (default BACKWARD). */
  getCompatibility(subject?: string): Promise<CompatibilityLevel>;
  setCompatibility(level: CompatibilityLevel, subject?: string): Promise<void>;
}

/** Confluent's TopicNameStrategy: `<topic>-key` / `<topic>-value`. */
export function topicNameStrategy(topic: string, isKey: boolean): string {
  return `${topic}-${isKey ? "key" : "value"}`;
}

export type SubjectNameStrategy = (topic: string, isKey: boolean) => string;

/** Parses and validates a schema; returns its canonical text (used to deduplicate). */
export function canonicalSchema(schema: string, schemaType: SchemaType): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(schema);
  } catch (e) {
    // Avro allows a bare primitive name, e.g. `string`
    if (schemaType === "AVRO" && /^[A-Za-z_][A-Za-z0-9_.]*$/.test(schema.trim())) parsed = schema.trim();
    else
      throw new SchemaRegistryError("INVALID_SCHEMA", `schema is not JSON: ${(e as Error).message}`, {
        cause: e,
      });
  }
  if (schemaType === "AVRO") {
    try {
      return JSON.stringify(avro.Type.forSchema(parsed as avro.Schema).schema({ exportAttrs: true }));
    } catch (e) {
      throw new SchemaRegistryError("INVALID_SCHEMA", `invalid Avro schema: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  try {
    new Ajv({ strict: false, allErrors: true }).compile(parsed as object);
  } catch (e) {
    throw new SchemaRegistryError("INVALID_SCHEMA", `invalid JSON Schema: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return JSON.stringify(parsed);
}

function avroType(schema: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
}

/** Can data written with `writer` be read with `reader`? undefined = yes, else why not. */
function canRead(readerSchema: string, writerSchema: string, schemaType: SchemaType): string | undefined {
  if (schemaType === "AVRO") {
    try {
      avroType(readerSchema).createResolver(avroType(writerSchema));
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }
  return jsonSchemaCanRead(JSON.parse(readerSchema), JSON.parse(writerSchema), "");
}

interface JsonSchemaNode {
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  additionalProperties?: boolean | JsonSchemaNode;
  items?: JsonSchemaNode;
  enum?: unknown[];
}

/**
 * A deliberately simple subset of JSON Schema compatibility (what schema changes in practice
 * are): a reader accepts a writer's data when it requires no property the writer may omit,
 * types of shared properties agree (integer data fits number), enums do not shrink, and a
 * closed reader (additionalProperties: false) knows every writer property. Recurses into
 * properties and items; $ref/combinators are compared as equal-or-incompatible.
 */
function jsonSchemaCanRead(reader: JsonSchemaNode, writer: JsonSchemaNode, path: string): string | undefined {
  if (typeof reader !== "object" || typeof writer !== "object" || reader === null || writer === null) {
    return JSON.stringify(reader) === JSON.stringify(writer) ? undefined : `${path || "/"}: schemas differ`;
  }
  const types = (n: JsonSchemaNode) => (n.type === undefined ? undefined : ([] as string[]).concat(n.type));
  const rt = types(reader);
  const wt = types(writer);
  if (rt !== undefined) {
    if (wt === undefined) return `${path || "/"}: reader requires type ${rt.join("|")} but writer allows any`;
    for (const t of wt) {
      if (!rt.includes(t) && !(t === "integer" && rt.includes("number"))) {
        return `${path || "/"}: writer type '${t}' cannot be read as ${rt.join("|")}`;
      }
    }
  }
  if (reader.enum !== undefined) {
    const missing = (writer.enum ?? []).filter(
      (v) => !reader.enum!.some((r) => JSON.stringify(r) === JSON.stringify(v)),
    );
    if (writer.enum === undefined || missing.length > 0) {
      return `${path || "/"}: reader enum lacks writer values ${JSON.stringify(missing)}`;
    }
  }
  const wReq = new Set(writer.required ?? []);
  for (const r of reader.required ?? []) {
    if (!wReq.has(r)) return `${path}/${r}: reader requires property '${r}' that writer data may lack`;
  }
  const rProps = reader.properties ?? {};
  const wProps = writer.properties ?? {};
  if (reader.additionalProperties === false) {
    for (const p of Object.keys(wProps)) {
      if (!(p in rProps)) return `${path}/${p}: writer property '${p}' is not allowed by the reader`;
    }
  }
  for (const [p, rs] of Object.entries(rProps)) {
    const ws = wProps[p];
    if (ws === undefined) continue;
    const why = jsonSchemaCanRead(rs, ws, `${path}/${p}`);
    if (why !== undefined) return why;
  }
  if (reader.items !== undefined && writer.items !== undefined) {
    return jsonSchemaCanRead(reader.items, writer.items, `${path}/items`);
  }
  return undefined;
}

/**
 * Checks `schema` against a subject's existing versions (oldest first) at `level`. BACKWARD:
 * the new schema reads data of the latest version; FORWARD: the latest reads new data; FULL:
 * both; *_TRANSITIVE: against every version.
 */
export function checkCompatibilityAgainst(
  schema: string,
  schemaType: SchemaType,
  existing: readonly SubjectVersion[],
  level: CompatibilityLevel,
): CompatibilityResult {
  if (level === "NONE" || existing.length === 0) return { compatible: true, messages: [] };
  const against = level.endsWith("_TRANSITIVE") ? existing : existing.slice(-1);
  const backward = level.startsWith("BACKWARD") || level.startsWith("FULL");
  const forward = level.startsWith("FORWARD") || level.startsWith("FULL");
  const messages: string[] = [];
  for (const v of against) {
    if (v.schemaType !== schemaType) {
      messages.push(`version ${v.version} (id ${v.id}) is ${v.schemaType}, the new schema is ${schemaType}`);
      continue;
    }
    if (backward) {
      const why = canRead(schema, v.schema, schemaType);
      if (why !== undefined) {
        messages.push(
          `${level}: the new schema cannot read data written with version ${v.version} (id ${v.id}): ${why}`,
        );
      }
    }
    if (forward) {
      const why = canRead(v.schema, schema, schemaType);
      if (why !== undefined) {
        messages.push(
          `${level}: version ${v.version} (id ${v.id}) cannot read data written with the new schema: ${why}`,
        );
      }
    }
  }
  return { compatible: messages.length === 0, messages };
}
