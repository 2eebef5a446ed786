// Public face of the serde layer.
export { type AvroSchema, type AvroSerdeOptions, avroSerde } from "./avro.ts";
export { type JsonSchemaSerdeOptions, jsonSchemaSerde } from "./json-schema.ts";
export { LocalSchemaRegistry, type LocalSchemaRegistryOptions } from "./local-registry.ts";
export {
  COMPATIBILITY_LEVELS,
  type CompatibilityLevel,
  type CompatibilityResult,
  canonicalSchema,
  checkCompatibilityAgainst,
  type RegisteredSchema,
  type SchemaRegistry,
  SchemaRegistryError,
  type SchemaRegistryErrorCode,
  type SchemaType,
  type SubjectNameStrategy,
  type SubjectVersion,
  topicNameStrategy,
} from "./registry.ts";
export * from "./types.ts";
export { frame, MAGIC_BYTE, unframe, WIRE_HEADER_BYTES } from "./wire-format.ts";
export { HttpSchemaRegistry, type HttpSchemaRegistryOptions } from "./http-registry.ts";
export { type SchemaRegistryServer, serveSchemaRegistry } from "./registry-server.ts";
export { type CopybookRecord, copybookSerde } from "./copybook.ts";
