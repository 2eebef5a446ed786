// Public face of the cluster layer: the Cluster interface and its implementations.
export * from "./assignors.ts";
export * from "./consumer-protocol.ts";
export * from "./embedded.ts";
export { KafkaCluster, type KafkaClusterOptions } from "./kafka-cluster.ts";
export { EmbeddedConsumer } from "./embedded-consumer.ts";
export { EmbeddedProducer } from "./embedded-producer.ts";
export * from "./partitioner.ts";
export * from "./types.ts";
