// Topic configuration: Kafka's config names and string values in, a validated LogConfig out.
import { LogError } from "./errors.ts";
import type { FlushMode, LogConfig, TimestampType } from "./types.ts";

/** Every topic config the log understands, with its default (Kafka's defaults, flush: Courant's). */
export const TOPIC_CONFIG_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  "cleanup.policy": "delete",
  "retention.ms": String(7 * 24 * 3600 * 1000),
  "retention.bytes": "-1",
  "segment.bytes": String(1024 * 1024 * 1024),
  "segment.ms": String(7 * 24 * 3600 * 1000),
  "segment.index.bytes": String(10 * 1024 * 1024),
  "index.interval.bytes": "4096",
  "min.compaction.lag.ms": "0",
  "max.compaction.lag.ms": String(Number.MAX_SAFE_INTEGER),
  "delete.retention.ms": String(24 * 3600 * 1000),
  "min.cleanable.dirty.ratio": "0.5",
  "max.message.bytes": String(1024 * 1024 + 12),
  "message.timestamp.type": "CreateTime",
  "flush.policy": "interval",
  "flush.ms": "1000",
});

/** Names accepted but without effect here (so configs copied from Kafka do not fail). */
const ACCEPTED_IGNORED = new Set([
  "compression.type",
  "min.insync.replicas",
  "unclean.leader.election.enable",
  "message.downconversion.enable",
  "preallocate",
  "file.delete.delay.ms",
  "flush.messages",
  "message.timestamp.difference.max.ms",
  "message.timestamp.before.max.ms",
  "message.timestamp.after.max.ms",
  "local.retention.ms",
  "local.retention.bytes",
  "remote.storage.enable",
  "follower.replication.throttled.replicas",
  "leader.replication.throttled.replicas",
  "segment.jitter.ms",
  "message.format.version",
]);

export function isKnownTopicConfig(name: string): boolean {
  return name in TOPIC_CONFIG_DEFAULTS || ACCEPTED_IGNORED.has(name);
}

function bad(topic: string, name: string, value: string, why: string): LogError {
  return new LogError(
    "INVALID_CONFIG",
    `invalid config for topic "${topic}": ${name}=${JSON.stringify(value)}: ${why}`,
  );
}

function int(topic: string, cfg: Record<string, string>, name: string, min: number): number {
  const raw = cfg[name]!;
  if (!/^-?\d+$/.test(raw.trim())) throw bad(topic, name, raw, "not an integer");
  const v = Number(raw.trim());
  if (!Number.isSafeInteger(v)) throw bad(topic, name, raw, "out of range");
  if (v < min) throw bad(topic, name, raw, `must be >= ${min}`);
  return v;
}

/** Unlimited (-1) or >= min. */
function limit(topic: string, cfg: Record<string, string>, name: string, min: number): number {
  const v = int(topic, cfg, name, Number.MIN_SAFE_INTEGER);
  if (v !== -1 && v < min) throw bad(topic, name, cfg[name]!, `must be -1 (unlimited) or >= ${min}`);
  return v;
}

/**
 * Validates a topic's config overrides over the defaults. Unknown names, bad numbers and
 * inconsistent combinations throw INVALID_CONFIG naming the topic, the entry and the rule.
 */
export function parseTopicConfig(
  topic: string,
  overrides: Readonly<Record<string, string>> = {},
  defaults: Readonly<Record<string, string>> = TOPIC_CONFIG_DEFAULTS,
): LogConfig {
  for (const [k, v] of Object.entries(overrides)) {
    if (!isKnownTopicConfig(k)) {
      throw new LogError("INVALID_CONFIG", `unknown config "${k}" for topic "${topic}"`);
    }
    if (typeof v !== "string") {
      throw new LogError(
        "INVALID_CONFIG",
        `config "${k}" for topic "${topic}" must be a string, got ${typeof v}`,
      );
    }
  }
  const cfg: Record<string, string> = { ...TOPIC_CONFIG_DEFAULTS, ...defaults, ...overrides };

  const policyRaw = cfg["cleanup.policy"]!;
  const parts = policyRaw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0 || parts.some((p) => p !== "delete" && p !== "compact")) {
    throw bad(topic, "cleanup.policy", policyRaw, 'must be "delete", "compact" or "compact,delete"');
  }
  const tsType = cfg["message.timestamp.type"]!.trim();
  if (tsType !== "CreateTime" && tsType !== "LogAppendTime") {
    throw bad(topic, "message.timestamp.type", tsType, 'must be "CreateTime" or "LogAppendTime"');
  }
  const flush = cfg["flush.policy"]!.trim();
  if (flush !== "every-batch" && flush !== "interval" && flush !== "os") {
    throw bad(topic, "flush.policy", flush, 'must be "every-batch", "interval" or "os"');
  }
  const ratioRaw = cfg["min.cleanable.dirty.ratio"]!;
  const ratio = Number(ratioRaw);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw bad(topic, "min.cleanable.dirty.ratio", ratioRaw, "must be a number in [0, 1]");
  }
  const config: LogConfig = {
    cleanupPolicy: { delete: parts.includes("delete"), compact: parts.includes("compact") },
    retentionMs: limit(topic, cfg, "retention.ms", 0),
    retentionBytes: limit(topic, cfg, "retention.bytes", 0),
    segmentBytes: int(topic, cfg, "segment.bytes", 14),
    segmentMs: int(topic, cfg, "segment.ms", 1),
    segmentIndexBytes: int(topic, cfg, "segment.index.bytes", 4),
    indexIntervalBytes: int(topic, cfg, "index.interval.bytes", 0),
    minCompactionLagMs: int(topic, cfg, "min.compaction.lag.ms", 0),
    maxCompactionLagMs: int(topic, cfg, "max.compaction.lag.ms", 1),
    deleteRetentionMs: int(topic, cfg, "delete.retention.ms", 0),
    minCleanableDirtyRatio: ratio,
    maxMessageBytes: int(topic, cfg, "max.message.bytes", 0),
    messageTimestampType: tsType as TimestampType,
    flushMode: flush as FlushMode,
    flushMs: int(topic, cfg, "flush.ms", 1),
  };
  if (config.segmentBytes > 2 ** 31 - 1) {
    throw bad(topic, "segment.bytes", cfg["segment.bytes"]!, "must fit a 32-bit file position (< 2 GiB)");
  }
  if (config.maxCompactionLagMs < config.minCompactionLagMs) {
    throw bad(
      topic,
      "max.compaction.lag.ms",
      cfg["max.compaction.lag.ms"]!,
      `must be >= min.compaction.lag.ms (${config.minCompactionLagMs})`,
    );
  }
  return config;
}

/** Kafka's topic name rule: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
export function validateTopicName(name: string): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new LogError("INVALID_TOPIC_EXCEPTION", "topic name must not be empty");
  }
  if (name.length > 249) {
    throw new LogError(
      "INVALID_TOPIC_EXCEPTION",
      `topic name "${name.slice(0, 40)}..." is longer than 249 characters`,
    );
  }
  if (name === "." || name === "..") {
    throw new LogError("INVALID_TOPIC_EXCEPTION", `topic name "${name}" is not allowed`);
  }
  const m = /[^a-zA-Z0-9._-]/.exec(name);
  if (m) {
    throw new LogError(
      "INVALID_TOPIC_EXCEPTION",
      `topic name "${name}" has the illegal character ${JSON.stringify(m[0])} at ${m.index}; allowed: a-z A-Z 0-9 . _ -`,
    );
  }
}
