// courant app reset: deletes a streams application's internal topics, committed offsets and
// local state, so it can reprocess from scratch (or be renamed) cleanly.
import { join } from "node:path";
import type { Command } from "commander";
import { resetApplication } from "../streams/index.ts";
import { action, withCluster } from "./topics.ts";

export function register(program: Command): void {
  const app = program.command("app").description("streams applications");
  app
    .command("reset")
    .description("delete an application's internal topics, committed offsets and local state")
    .requiredOption("--application-id <id>", "the application id (consumer group and topic prefix)")
    .option("--data <dir>", "data directory", "./data")
    .option("--state-dir <dir>", "local state directory of the application (default <data>/state)")
    .action(
      action(async (o: { applicationId: string; data: string; stateDir?: string }) => {
        const r = await withCluster(o.data, (c) =>
          resetApplication(c, o.applicationId, { stateDir: o.stateDir ?? join(o.data, "state") }),
        );
        const lines = [
          `reset application ${o.applicationId}:`,
          `  internal topics deleted: ${r.deletedTopics.length === 0 ? "none" : r.deletedTopics.join(", ")}`,
          `  committed offsets (group ${o.applicationId}): ${r.deletedGroup ? "deleted" : "none"}`,
          `  local state: ${r.deletedStateDir ?? "none"}`,
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      }),
    );
}
