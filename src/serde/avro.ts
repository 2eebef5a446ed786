// Avro serde with a schema registry, in Confluent's wire format (magic 0 + schema id + Avro
// binary), so records interoperate with Confluent's Java/librdkafka serializers.
// Schema evolution: the writer schema comes from the record's schema id; when a reader schema
// is given, avsc resolves writer -> reader (new fields take their defaults, removed ones are
// skipped, promotions apply) and an unresolvable pair is a SerdeError naming the reason.
import avro from "avsc";
import {
  type SchemaRegistry,
  SchemaRegistryError,
  type SubjectNameStrategy,
  topicNameStrategy,
} from "./registry.ts";
import { type Serde, SerdeError } from "./types.ts";
import { frame, unframe } from "./wire-format.ts";

export type AvroSchema = avro.Schema;
type AvroResolver = ReturnType<avro.Type["createResolver"]>;

export interface AvroSerdeOptions {
  readonly registry: SchemaRegistry;
  /** Writer schema for serialize, and the reader schema unless `readerSchema` is given. */
  readonly schema?: AvroSchema | object | string;
  /** Schema values are decoded into (data written with older/newer compatible schemas resolves to it). */
  readonly readerSchema?: AvroSchema | object | string;
  /** Key serde: subject `<topic>-key`. Default false. */
  readonly isKey?: boolean;
  /** Register the writer schema on first use (default true); false: it must already be registered. */
  readonly autoRegister?: boolean;
  readonly subjectNameStrategy?: SubjectNameStrategy;
}

function toType(s: AvroSchema | object | string, what: string): avro.Type {
  try {
    const parsed =
      typeof s === "string" ? (s.trim().startsWith("{") || s.trim().startsWith("[") ? JSON.parse(s) : s) : s;
    return avro.Type.forSchema(parsed as AvroSchema);
  } catch (e) {
    throw new SerdeError(`invalid Avro ${what} schema: ${(e as Error).message}`, { cause: e });
  }
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

interface Located {
  readonly path: string;
  readonly reason: string;
}

/** Walks the Avro binary field by field to say where decoding fails. */
function locateFailure(type: avro.Type, buf: Buffer, pos: number, path: string[]): { pos: number } | Located {
  const fields = (type as { fields?: { name: string; type: avro.Type }[] }).fields;
  if (fields !== undefined && (type.typeName === "record" || type.typeName === "error")) {
    for (const f of fields) {
      const r = locateFailure(f.type, buf, pos, [...path, f.name]);
      if ("reason" in r) return r;
      pos = r.pos;
    }
    return { pos };
  }
  const where = path.join(".") || "(root)";
  try {
    const { offset } = type.decode(buf, pos);
    if (offset < 0)
      return { path: where, reason: `bytes end inside field '${where}' (truncated at byte ${pos})` };
    return { pos: offset };
  } catch (e) {
    return { path: where, reason: `field '${where}' at byte ${pos}: ${(e as Error).message}` };
  }
}

export function avroSerde<T>(options: AvroSerdeOptions): Serde<T> {
  const registry = options.registry;
  const isKey = options.isKey ?? false;
  const autoRegister = options.autoRegister ?? true;
  const strategy = options.subjectNameStrategy ?? topicNameStrategy;
  const writerType = options.schema === undefined ? undefined : toType(options.schema, "writer");
  const writerSchemaText =
    writerType === undefined ? undefined : JSON.stringify(writerType.schema({ exportAttrs: true }));
  const readerType = options.readerSchema === undefined ? writerType : toType(options.readerSchema, "reader");
  const idBySubject = new Map<string, number>();
  const decoders = new Map<number, { type: avro.Type; resolver: AvroResolver | undefined }>();

  function schemaIdFor(topic: string): number {
    const subject = strategy(topic, isKey);
    let id = idBySubject.get(subject);
    if (id !== undefined) return id;
    try {
      if (autoRegister) id = registry.registerSync(subject, writerSchemaText!, "AVRO");
      else {
        id = registry.lookupSync(subject, writerSchemaText!, "AVRO")?.id;
        if (id === undefined) {
          throw new SerdeError(
            `writer schema is not registered under subject '${subject}' and autoRegister is off (topic '${topic}')`,
            { topic },
          );
        }
      }
    } catch (e) {
      if (e instanceof SerdeError) throw e;
      const code = e instanceof SchemaRegistryError ? ` [${e.code}]` : "";
      throw new SerdeError(
        `cannot register Avro schema for subject '${subject}'${code}: ${(e as Error).message}`,
        {
          cause: e,
          topic,
        },
      );
    }
    idBySubject.set(subject, id);
    return id;
  }

  function decoderFor(topic: string, schemaId: number) {
    let d = decoders.get(schemaId);
    if (d !== undefined) return d;
    let registered: ReturnType<SchemaRegistry["getSchemaByIdSync"]>;
    try {
      registered = registry.getSchemaByIdSync(schemaId);
    } catch (e) {
      const reason =
        e instanceof SchemaRegistryError && e.code === "SCHEMA_NOT_FOUND"
          ? `unknown schema id ${schemaId}`
          : `cannot fetch schema id ${schemaId}: ${(e as Error).message}`;
      throw new SerdeError(`${reason} (topic '${topic}')`, { cause: e, topic, schemaId });
    }
    if (registered.schemaType !== "AVRO") {
      throw new SerdeError(`schema id ${schemaId} is ${registered.schemaType}, not AVRO (topic '${topic}')`, {
        topic,
        schemaId,
      });
    }
    const type = toType(registered.schema, `writer (id ${schemaId})`);
    let resolver: AvroResolver | undefined;
    if (
      readerType !== undefined &&
      JSON.stringify(readerType.schema({ exportAttrs: true })) !==
        JSON.stringify(type.schema({ exportAttrs: true }))
    ) {
      try {
        resolver = readerType.createResolver(type);
      } catch (e) {
        throw new SerdeError(
          `data written with schema id ${schemaId} cannot be read with the reader schema: ${(e as Error).message} (topic '${topic}')`,
          { cause: e, topic, schemaId },
        );
      }
    }
    d = { type, resolver };
    decoders.set(schemaId, d);
    return d;
  }

  return {
    serialize(topic, value) {
      if (value === null) return null;
      if (writerType === undefined) {
        throw new SerdeError(
          `Avro serde has no writer schema: pass { schema } to serialize (topic '${topic}')`,
          { topic },
        );
      }
      let body: Buffer;
      try {
        body = writerType.toBuffer(value);
      } catch (e) {
        const problems: string[] = [];
        writerType.isValid(value, {
          errorHook: (path, v, type) =>
            problems.push(
              `field '${path.join(".") || "(root)"}': expected ${type.typeName}, got ${JSON.stringify(v) ?? String(v)}`,
            ),
        });
        const first = problems[0];
        throw new SerdeError(
          `value does not match Avro schema ${writerType.name ?? writerType.typeName}: ${problems.join("; ") || (e as Error).message} (topic '${topic}')`,
          { cause: e, topic, field: first === undefined ? undefined : first.slice(7, first.indexOf("'", 7)) },
        );
      }
      return frame(schemaIdFor(topic), body);
    },
    deserialize(topic, data) {
      if (data === null) return null;
      const { schemaId, body } = unframe(topic, data);
      const { type, resolver } = decoderFor(topic, schemaId);
      const buf = asBuffer(body);
      try {
        return (resolver === undefined ? type.fromBuffer(buf) : readerType!.fromBuffer(buf, resolver)) as T;
      } catch (e) {
        const loc = locateFailure(type, buf, 0, []);
        const reason =
          "reason" in loc
            ? loc.reason
            : loc.pos !== buf.length
              ? `${buf.length - loc.pos} trailing bytes after the record (byte ${loc.pos})`
              : (e as Error).message;
        throw new SerdeError(`corrupt Avro value (schema id ${schemaId}): ${reason} (topic '${topic}')`, {
          cause: e,
          topic,
          schemaId,
          field: "reason" in loc ? loc.path : undefined,
        });
      }
    },
  };
}
