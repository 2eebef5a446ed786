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
import { checkAvroBinary, hasCollections } from "./avro-walk.ts";

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
  const decoders = new Map<number, { type: avro.Type; resolver: AvroResolver | undefined; walk: boolean }>();

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
    d = { type, resolver, walk: hasCollections(type) };
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
      const { type, resolver, walk } = decoderFor(topic, schemaId);
      const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const corrupt = (reason: string, field: string | undefined, cause?: unknown) =>
        new SerdeError(`corrupt Avro value (schema id ${schemaId}): ${reason} (topic '${topic}')`, {
          cause,
          topic,
          schemaId,
          field,
        });
      // Collections are checked before decoding: avsc would allocate whatever a corrupt count says.
      if (walk) {
        const bad = checkAvroBinary(type, buf);
        if (bad !== undefined) throw corrupt(bad.reason, bad.path);
      }
      try {
        return (resolver === undefined ? type.fromBuffer(buf) : readerType!.fromBuffer(buf, resolver)) as T;
      } catch (e) {
        const bad = walk ? undefined : checkAvroBinary(type, buf);
        throw corrupt(
          bad === undefined ? (e as Error).message : `field '${bad.path}': ${bad.reason}`,
          bad?.path,
          e,
        );
      }
    },
  };
}
