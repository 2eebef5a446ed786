// Public value types of the streams DSL: records, options objects (the TypeScript shape of Kafka
// Streams' Consumed / Produced / Grouped / Materialized / Joined / StreamJoined / Repartitioned)
// and the function types the operators take. Generics carry key and value types through a chain.
import type { RecordHeader, TopicConfig } from "../cluster/index.ts";
import type { Serde } from "../serde/index.ts";

export type Headers = readonly RecordHeader[];

export interface KeyValue<K, V> {
  readonly key: K;
  readonly value: V;
}

/** A key-value pair as returned by `map`/`flatMap`/`groupBy` selectors: `[key, value]`. */
export type KeyValuePair<K, V> = readonly [K, V];

/** A record as the Processor API sees it: immutable, `with*` returns a copy. */
export class Record<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: Headers;
  constructor(key: K, value: V, timestamp: number, headers: Headers = []) {
    this.key = key;
    this.value = value;
    this.timestamp = timestamp;
    this.headers = headers;
  }
  withKey<NK>(key: NK): Record<NK, V> {
    return new Record(key, this.value, this.timestamp, this.headers);
  }
  withValue<NV>(value: NV): Record<K, NV> {
    return new Record(this.key, value, this.timestamp, this.headers);
  }
  withTimestamp(timestamp: number): Record<K, V> {
    return new Record(this.key, this.value, timestamp, this.headers);
  }
  withHeaders(headers: Headers): Record<K, V> {
    return new Record(this.key, this.value, this.timestamp, headers);
  }
}

/** Where the record being processed came from. `topic` is null inside punctuations. */
export interface RecordContext {
  readonly topic: string | null;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly headers: Headers;
}

/** The record a timestamp extractor sees: deserialized key and value plus its coordinates. */
export interface ExtractableRecord<K, V> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** The timestamp stored in the record (CreateTime or LogAppendTime). */
  readonly timestamp: number;
  readonly key: K | null;
  readonly value: V | null;
  readonly headers: Headers;
}

/**
 * Event time of a record. `partitionTime` is the highest timestamp seen on the partition so far
 * (-1 before the first). Return a negative number to drop the record (counted as dropped).
 */
export type TimestampExtractor<K, V> = (record: ExtractableRecord<K, V>, partitionTime: number) => number;

export type TopicNameExtractor<K, V> = (key: K, value: V, context: RecordContext) => string;

/** Chooses the partition of an output record; undefined = the default (murmur2 of the key bytes). */
export type StreamPartitioner<K, V> = (
  topic: string,
  key: K,
  value: V,
  numPartitions: number,
) => number | undefined;

export type AutoOffsetResetPolicy = "earliest" | "latest";

export interface Consumed<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  readonly timestampExtractor?: TimestampExtractor<K, V>;
  readonly offsetReset?: AutoOffsetResetPolicy;
  /** Name of the source node (stable names keep state compatible across topology changes). */
  readonly name?: string;
}

export interface Produced<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  readonly partitioner?: StreamPartitioner<K, V>;
  readonly name?: string;
}

export interface Grouped<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  /** Names the repartition topic `<appId>-<name>-repartition` if one is needed. */
  readonly name?: string;
}

export interface Repartitioned<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  readonly name?: string;
  readonly numberOfPartitions?: number;
  readonly partitioner?: StreamPartitioner<K, V>;
}

export type StoreType = "persistent" | "inMemory";

export interface Materialized<K, V> {
  /** Makes the store queryable under this name; also names its changelog `<appId>-<name>-changelog`. */
  readonly storeName?: string;
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  /** Default "persistent" (lmdb) in the runtime; the test driver may keep everything in memory. */
  readonly storeType?: StoreType;
  /** Changelog on (default) or off; `logConfig` adds topic configs to the changelog topic. */
  readonly logging?: boolean;
  readonly logConfig?: TopicConfig;
  /** Record cache in front of the store (default on in the runtime). */
  readonly caching?: boolean;
  /** Window/session stores: how long windows are kept (default: size + grace). */
  readonly retentionMs?: number;
}

export interface Joined<K, V, VO> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  readonly otherValueSerde?: Serde<VO>;
  readonly name?: string;
}

export interface StreamJoined<K, V, VO> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  readonly otherValueSerde?: Serde<VO>;
  readonly name?: string;
  /** Base name of the two join-window stores (`<name>-this-join-store`, `<name>-other-join-store`). */
  readonly storeName?: string;
  readonly storeType?: StoreType;
  readonly logging?: boolean;
}

export interface TableJoined {
  readonly name?: string;
}

/** The value flowing between KTable processors: the new and the previous value of a key. */
export interface Change<V> {
  readonly newValue: V | null;
  readonly oldValue: V | null;
}

export type Predicate<K, V> = (key: K, value: V) => boolean;
export type KeyValueMapper<K, V, R> = (key: K, value: V) => R;
/** Value mappers get the value first; the (read-only) key is the optional second argument. */
export type ValueMapper<V, R, K = unknown> = (value: V, key: K) => R;
export type ForeachAction<K, V> = (key: K, value: V) => void;
export type Initializer<VA> = () => VA;
export type Aggregator<K, V, VA> = (key: K, value: V, aggregate: VA) => VA;
export type Reducer<V> = (aggregate: V, value: V) => V;
export type Merger<K, VA> = (key: K, aggregate1: VA, aggregate2: VA) => VA;
/** Joiners get the left value, the right value and the (read-only) key. */
export type ValueJoiner<V1, V2, VR, K = unknown> = (left: V1, right: V2, key: K) => VR;
