// Public face of the cluster layer: the Cluster interface and its implementations.
export * from "./assignors.ts";
export * from "./consumer-protocol.ts";
export * from "./embedded.ts";
export { KafkaCluster, type KafkaClusterOptions } from "./kafka-cluster.ts";
export { EmbeddedConsumer } from "./embedded-consumer.ts";
export { EmbeddedProducer } from "./embedded-producer.ts";
export type { ClientBroker, ClientPartitionLog } from "./client-broker.ts";
export { LinkedCluster, type LinkedClusterOptions } from "./link-client.ts";
export { ClusterLink } from "./link-server.ts";
export * from "./partitioner.ts";
export * from "./types.ts";
