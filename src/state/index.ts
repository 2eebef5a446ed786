// Public face of the state layer.
export * from "./types.ts";
