// courant groups list|describe: consumer groups, their members and lag per partition.
import type { Command } from "commander";
import { action, withCluster } from "./topics.ts";

export function register(program: Command): void {
  const groups = program
    .command("groups")
    .description("consumer groups: list them, describe members and lag");

  groups
    .command("list")
    .description("list groups with their state")
    .option("--data <dir>", "data directory", "./data")
    .action(
      action(async (o: { data: string }) => {
        const list = await withCluster(o.data, (c) => c.admin().listGroups());
        for (const g of list) process.stdout.write(`${g.groupId}\t${g.state}\t${g.protocolType || "-"}\n`);
      }),
    );

  groups
    .command("describe")
    .description("members and lag per partition (end offset = last stable offset)")
    .argument("<groups...>", "group ids")
    .option("--data <dir>", "data directory", "./data")
    .action(
      action(async (ids: string[], o: { data: string }) => {
        await withCluster(o.data, async (c) => {
          const admin = c.admin();
          for (const d of await admin.describeGroups(ids)) {
            process.stdout.write(
              `Group: ${d.groupId}\tState: ${d.state}\tProtocol: ${d.protocol || "-"}\tGeneration: ${d.generationId}\n`,
            );
            const owner = new Map<string, string>();
            for (const m of d.members)
              for (const tp of m.assignment) owner.set(`${tp.topic}:${tp.partition}`, m.memberId);
            const lag = await admin.describeLag(d.groupId);
            const rows = [["TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"]];
            for (const l of lag)
              rows.push([
                l.topic,
                String(l.partition),
                l.committed === null ? "-" : String(l.committed),
                String(l.endOffset),
                String(l.lag),
                owner.get(`${l.topic}:${l.partition}`) ?? "-",
              ]);
            const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
            for (const r of rows)
              process.stdout.write(
                `${r
                  .map((c, i) => c.padEnd(widths[i]!))
                  .join("  ")
                  .trimEnd()}\n`,
              );
            if (d.members.length > 0) {
              process.stdout.write("MEMBERS\n");
              for (const m of d.members)
                process.stdout.write(
                  `  ${m.memberId}${m.groupInstanceId ? ` (instance ${m.groupInstanceId})` : ""}\tclient ${m.clientId}\t${m.assignment.map((tp) => `${tp.topic}-${tp.partition}`).join(",") || "-"}\n`,
                );
            }
          }
        });
      }),
    );
}
