// JSON Schema serde (ajv): values are validated on serialize AND deserialize; errors name the
// JSON pointer of the offending value. With a registry, the Confluent wire format is used
// (magic 0 + schema id + JSON text) and the schema is registered as type JSON.
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import {
  type SchemaRegistry,
  SchemaRegistryError,
  type SubjectNameStrategy,
  topicNameStrategy,
} from "./registry.ts";
import { type Serde, SerdeError } from "./types.ts";
import { frame, unframe } from "./wire-format.ts";

export interface JsonSchemaSerdeOptions {
  /** A JSON Schema (draft-07 / 2019-09 keywords ajv knows). */
  readonly schema: object;
  /** Optional: registry-framed values. Without one, plain JSON bytes. */
  readonly registry?: SchemaRegistry;
  readonly isKey?: boolean;
  readonly autoRegister?: boolean;
  readonly subjectNameStrategy?: SubjectNameStrategy;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** JSON pointer of an ajv error (for `required`, the missing property itself). */
function pointerOf(e: ErrorObject): string {
  const missing = (e.params as { missingProperty?: string }).missingProperty;
  const base = e.instancePath;
  return (missing !== undefined ? `${base}/${missing}` : base) || "/";
}

function describe(errors: ErrorObject[]): string {
  return errors.map((e) => `${pointerOf(e)}: ${e.message ?? e.keyword}`).join("; ");
}

export function jsonSchemaSerde<T>(options: JsonSchemaSerdeOptions): Serde<T> {
  let validate: ValidateFunction;
  try {
    validate = new Ajv({ strict: false, allErrors: true }).compile(options.schema);
  } catch (e) {
    throw new SerdeError(`invalid JSON Schema: ${(e as Error).message}`, { cause: e });
  }
  const schemaText = JSON.stringify(options.schema);
  const strategy = options.subjectNameStrategy ?? topicNameStrategy;
  const idBySubject = new Map<string, number>();

  function check(topic: string, value: unknown, when: string): void {
    if (validate(value)) return;
    const errors = validate.errors ?? [];
    throw new SerdeError(`value fails its JSON Schema on ${when}: ${describe(errors)} (topic '${topic}')`, {
      topic,
      field: errors[0] === undefined ? undefined : pointerOf(errors[0]),
    });
  }

  function schemaIdFor(topic: string, registry: SchemaRegistry): number {
    const subject = strategy(topic, options.isKey ?? false);
    let id = idBySubject.get(subject);
    if (id !== undefined) return id;
    try {
      id =
        (options.autoRegister ?? true)
          ? registry.registerSync(subject, schemaText, "JSON")
          : registry.lookupSync(subject, schemaText, "JSON")?.id;
    } catch (e) {
      const code = e instanceof SchemaRegistryError ? ` [${e.code}]` : "";
      throw new SerdeError(
        `cannot register JSON Schema for subject '${subject}'${code}: ${(e as Error).message}`,
        {
          cause: e,
          topic,
        },
      );
    }
    if (id === undefined) {
      throw new SerdeError(
        `JSON Schema is not registered under subject '${subject}' and autoRegister is off`,
        { topic },
      );
    }
    idBySubject.set(subject, id);
    return id;
  }

  return {
    serialize(topic, value) {
      if (value === null) return null;
      check(topic, value, "serialize");
      const body = encoder.encode(JSON.stringify(value));
      return options.registry === undefined ? body : frame(schemaIdFor(topic, options.registry), body);
    },
    deserialize(topic, data) {
      if (data === null) return null;
      let body = data;
      let schemaId: number | undefined;
      if (options.registry !== undefined) {
        ({ schemaId, body } = unframe(topic, data));
        try {
          const s = options.registry.getSchemaByIdSync(schemaId);
          if (s.schemaType !== "JSON")
            throw new SerdeError(`schema id ${schemaId} is ${s.schemaType}, not JSON`);
        } catch (e) {
          if (e instanceof SerdeError)
            throw new SerdeError(`${e.message} (topic '${topic}')`, { topic, schemaId });
          const reason =
            e instanceof SchemaRegistryError && e.code === "SCHEMA_NOT_FOUND"
              ? `unknown schema id ${schemaId}`
              : `cannot fetch schema id ${schemaId}: ${(e as Error).message}`;
          throw new SerdeError(`${reason} (topic '${topic}')`, { cause: e, topic, schemaId });
        }
      }
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(body));
      } catch (e) {
        throw new SerdeError(`value is not valid JSON: ${(e as Error).message} (topic '${topic}')`, {
          cause: e,
          topic,
          schemaId,
        });
      }
      check(topic, value, "deserialize");
      return value as T;
    },
  };
}
