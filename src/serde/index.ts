// Public face of the serde layer.
export * from "./types.ts";
