// Runs every test file under test/ with Node's built-in runner (native TypeScript).
// COURANT_SOAK=1 makes crash and fuzz campaigns run their long setting.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function collect(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== "fixtures") collect(p, out);
    } else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = collect("test", []).filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
files.sort();
const res = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=2", "--test-timeout=600000", ...files],
  { stdio: "inherit" },
);
process.exit(res.status ?? 1);
