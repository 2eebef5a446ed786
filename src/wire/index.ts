// Public face of the wire layer: generated Kafka protocol codecs and the TCP server over the broker.
export * from "./codec.ts";
export * from "./generated/index.ts";
