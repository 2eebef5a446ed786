// Public face of the cluster layer: the Cluster interface and its implementations.
export * from "./types.ts";
