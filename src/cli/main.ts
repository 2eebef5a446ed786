// courant CLI: thin; parses arguments, calls the library, shows progress.
// Each verb group lives in its own module exporting `register(program)`.
import { existsSync } from "node:fs";
import { Command } from "commander";

const program = new Command();
program.name("courant").description("Real-time event-stream processing on the Kafka model").version("0.1.0");

const verbModules = [
  "broker",
  "topics",
  "produce",
  "consume",
  "groups",
  "frames",
  "copybook",
  "app",
  "rewards",
  "start",
];
for (const name of verbModules) {
  const url = new URL(`./${name}.ts`, import.meta.url);
  if (!existsSync(url)) continue;
  // One broken verb module must not take every other verb down with it.
  try {
    const mod = (await import(url.href)) as { register(p: Command): void };
    mod.register(program);
  } catch (e) {
    process.stderr.write(`courant: the '${name}' verbs are unavailable: ${(e as Error).message}\n`);
  }
}

await program.parseAsync(process.argv);
