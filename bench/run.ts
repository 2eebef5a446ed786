// `npm run bench -- NAME` runs bench/NAME.ts; without a name it lists the benchmarks.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts")
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (!name) {
  console.log(`usage: npm run bench -- NAME [args]\nbenchmarks: ${names.join(", ")}`);
  process.exit(0);
}
const file = `${dir}${name}.ts`;
if (!existsSync(file)) {
  console.error(`no benchmark named "${name}"; available: ${names.join(", ")}`);
  process.exit(2);
}
const res = spawnSync(process.execPath, [file, ...rest], { stdio: "inherit" });
process.exit(res.status ?? 1);
