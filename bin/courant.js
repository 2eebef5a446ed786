#!/usr/bin/env node
// The courant CLI. Node >= 24 runs the TypeScript sources directly (type stripping).
const [major] = process.versions.node.split(".").map(Number);
if (major < 24) {
  console.error(
    `courant needs Node.js 24 or newer (this is ${process.version}). Run it through npm ("npm start", "npx courant"), which puts the pinned Node first on the PATH.`,
  );
  process.exit(1);
}
await import("../src/cli/main.ts");
