// An in-process schema registry with Confluent's semantics, persisted in a JSON file (or in
// memory when no file is given). Lets apps use Avro/JSON Schema serdes with no registry
// service; registry-server.ts serves it over Confluent's REST API.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { threadId } from "node:worker_threads";
import {
  COMPATIBILITY_LEVELS,
  type CompatibilityLevel,
  type CompatibilityResult,
  canonicalSchema,
  checkCompatibilityAgainst,
  type RegisteredSchema,
  type SchemaRegistry,
  SchemaRegistryError,
  type SchemaType,
  type SubjectVersion,
} from "./registry.ts";

interface RegistryFile {
  version: 1;
  schemas: { id: number; schema: string; schemaType: SchemaType }[];
  subjects: Record<string, { version: number; id: number }[]>;
  compatibility: { global: CompatibilityLevel; subjects: Record<string, CompatibilityLevel> };
}

export interface LocalSchemaRegistryOptions {
  /** JSON file holding the registry; created on first write. Omit for a memory-only registry. */
  readonly file?: string;
  /** Global compatibility level for a new registry (default BACKWARD, as Confluent). */
  readonly compatibility?: CompatibilityLevel;
}

export class LocalSchemaRegistry implements SchemaRegistry {
  readonly file: string | undefined;
  private readonly byId = new Map<number, RegisteredSchema>();
  private readonly idByCanonical = new Map<string, number>();
  private readonly subjectVersions = new Map<string, { version: number; id: number }[]>();
  private globalLevel: CompatibilityLevel;
  private readonly subjectLevels = new Map<string, CompatibilityLevel>();
  private nextId = 1;

  constructor(options: LocalSchemaRegistryOptions = {}) {
    this.file = options.file;
    this.globalLevel = options.compatibility ?? "BACKWARD";
    if (this.file !== undefined && existsSync(this.file)) this.load(this.file);
  }

  private load(file: string): void {
    let data: RegistryFile;
    try {
      data = JSON.parse(readFileSync(file, "utf8")) as RegistryFile;
    } catch (e) {
      throw new SchemaRegistryError(
        "REGISTRY_CORRUPT",
        `schema registry file ${file} is not JSON: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    if (data?.version !== 1 || !Array.isArray(data.schemas) || typeof data.subjects !== "object") {
      throw new SchemaRegistryError(
        "REGISTRY_CORRUPT",
        `schema registry file ${file} lacks {version: 1, schemas, subjects}`,
      );
    }
    for (const s of data.schemas) {
      if (
        !Number.isSafeInteger(s.id) ||
        typeof s.schema !== "string" ||
        (s.schemaType !== "AVRO" && s.schemaType !== "JSON")
      ) {
        throw new SchemaRegistryError(
          "REGISTRY_CORRUPT",
          `schema registry file ${file}: bad schema entry ${JSON.stringify(s)}`,
        );
      }
      this.byId.set(s.id, s);
      this.idByCanonical.set(`${s.schemaType}:${s.schema}`, s.id);
      this.nextId = Math.max(this.nextId, s.id + 1);
    }
    for (const [subject, versions] of Object.entries(data.subjects)) {
      for (const v of versions) {
        if (!this.byId.has(v.id)) {
          throw new SchemaRegistryError(
            "REGISTRY_CORRUPT",
            `schema registry file ${file}: subject '${subject}' version ${v.version} names unknown schema id ${v.id}`,
          );
        }
      }
      this.subjectVersions.set(subject, versions);
    }
    if (data.compatibility !== undefined) {
      this.globalLevel = data.compatibility.global ?? this.globalLevel;
      for (const [s, l] of Object.entries(data.compatibility.subjects ?? {})) this.subjectLevels.set(s, l);
    }
  }

  private save(): void {
    if (this.file === undefined) return;
    const data: RegistryFile = {
      version: 1,
      schemas: [...this.byId.values()].sort((a, b) => a.id - b.id),
      subjects: Object.fromEntries(this.subjectVersions),
      compatibility: { global: this.globalLevel, subjects: Object.fromEntries(this.subjectLevels) },
    };
    const tmp = `${this.file}.${process.pid}-${threadId}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, JSON.stringify(data, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }

  getSchemaByIdSync(id: number): RegisteredSchema {
    const s = this.byId.get(id);
    if (s === undefined)
      throw new SchemaRegistryError("SCHEMA_NOT_FOUND", `schema id ${id} is not registered`);
    return s;
  }

  private versionsOf(subject: string): SubjectVersion[] {
    return (this.subjectVersions.get(subject) ?? []).map((v) => ({
      ...this.byId.get(v.id)!,
      subject,
      version: v.version,
    }));
  }

  private levelOf(subject: string | undefined): CompatibilityLevel {
    return (subject === undefined ? undefined : this.subjectLevels.get(subject)) ?? this.globalLevel;
  }

  checkCompatibilitySync(
    subject: string,
    schema: string,
    schemaType: SchemaType = "AVRO",
  ): CompatibilityResult {
    const canonical = canonicalSchema(schema, schemaType);
    return checkCompatibilityAgainst(canonical, schemaType, this.versionsOf(subject), this.levelOf(subject));
  }

  registerSync(subject: string, schema: string, schemaType: SchemaType = "AVRO"): number {
    const canonical = canonicalSchema(schema, schemaType);
    const versions = this.versionsOf(subject);
    const same = versions.find((v) => v.schemaType === schemaType && v.schema === canonical);
    if (same !== undefined) return same.id;
    const level = this.levelOf(subject);
    const result = checkCompatibilityAgainst(canonical, schemaType, versions, level);
    if (!result.compatible) {
      throw new SchemaRegistryError(
        "INCOMPATIBLE_SCHEMA",
        `schema for subject '${subject}' is incompatible (${level}): ${result.messages.join("; ")}`,
        { status: 409 },
      );
    }
    const key = `${schemaType}:${canonical}`;
    let id = this.idByCanonical.get(key);
    if (id === undefined) {
      id = this.nextId++;
      this.byId.set(id, { id, schema: canonical, schemaType });
      this.idByCanonical.set(key, id);
    }
    const list = this.subjectVersions.get(subject) ?? [];
    list.push({ version: (list.at(-1)?.version ?? 0) + 1, id });
    this.subjectVersions.set(subject, list);
    this.save();
    return id;
  }

  /** Id of `schema` if registered under `subject` (Confluent's POST /subjects/{subject}). */
  lookupSync(subject: string, schema: string, schemaType: SchemaType = "AVRO"): SubjectVersion | undefined {
    const canonical = canonicalSchema(schema, schemaType);
    return this.versionsOf(subject).find((v) => v.schemaType === schemaType && v.schema === canonical);
  }

  latestVersionSync(subject: string): SubjectVersion | undefined {
    return this.versionsOf(subject).at(-1);
  }

  versionSync(subject: string, version: number): SubjectVersion | undefined {
    return this.versionsOf(subject).find((v) => v.version === version);
  }

  subjectsSync(): string[] {
    return [...this.subjectVersions.keys()].sort();
  }

  getCompatibilitySync(subject?: string): CompatibilityLevel {
    return this.levelOf(subject);
  }

  setCompatibilitySync(level: CompatibilityLevel, subject?: string): void {
    if (!COMPATIBILITY_LEVELS.includes(level)) {
      throw new SchemaRegistryError(
        "INVALID_COMPATIBILITY_LEVEL",
        `unknown compatibility level '${level}' (one of ${COMPATIBILITY_LEVELS.join(", ")})`,
      );
    }
    if (subject === undefined) this.globalLevel = level;
    else this.subjectLevels.set(subject, level);
    this.save();
  }

  async getSchemaById(id: number): Promise<RegisteredSchema> {
    return this.getSchemaByIdSync(id);
  }
  async register(subject: string, schema: string, schemaType?: SchemaType): Promise<number> {
    return this.registerSync(subject, schema, schemaType);
  }
  async latestVersion(subject: string): Promise<SubjectVersion | undefined> {
    return this.latestVersionSync(subject);
  }
  async subjects(): Promise<string[]> {
    return this.subjectsSync();
  }
  async checkCompatibility(
    subject: string,
    schema: string,
    schemaType?: SchemaType,
  ): Promise<CompatibilityResult> {
    return this.checkCompatibilitySync(subject, schema, schemaType);
  }
  async getCompatibility(subject?: string): Promise<CompatibilityLevel> {
    return this.getCompatibilitySync(subject);
  }
  async setCompatibility(level: CompatibilityLevel, subject?: string): Promise<void> {
    this.setCompatibilitySync(level, subject);
  }
}
