// Application reset (seed 004's lesson: an application id owns internal topics, committed
// offsets and local state; changing or replaying it needs all three cleaned): deletes the
// application's internal topics, its consumer group (committed offsets) and its local state.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "../../cluster/index.ts";
import { StreamsError } from "../errors.ts";

export interface ResetResult {
  readonly deletedTopics: string[];
  readonly deletedGroup: boolean;
  readonly deletedStateDir: string | null;
}

const INTERNAL_SUFFIXES = ["-changelog", "-repartition", "-topic", "-application-control"];

export async function resetApplication(
  cluster: Cluster,
  applicationId: string,
  options: { stateDir?: string } = {},
): Promise<ResetResult> {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(applicationId)) {
    throw new StreamsError("CONFIG_INVALID", `application id "${applicationId}" is not valid`);
  }
  const admin = cluster.admin();
  const groups = await admin.describeGroups([applicationId]);
  const active = groups.find((g) => g.groupId === applicationId && g.members.length > 0);
  if (active !== undefined) {
    throw new StreamsError(
      "ILLEGAL_STATE",
      `application ${applicationId} still has ${active.members.length} running member(s); stop every instance before a reset`,
    );
  }
  const prefix = `${applicationId}-`;
  const topics = (await admin.listTopics({ includeInternal: true })).filter(
    (t) => t.startsWith(prefix) && INTERNAL_SUFFIXES.some((s) => t.endsWith(s)),
  );
  if (topics.length > 0) await admin.deleteTopics(topics);
  let deletedGroup = false;
  if ((await admin.listGroups()).some((g) => g.groupId === applicationId)) {
    await admin.deleteGroups([applicationId]);
    deletedGroup = true;
  }
  let deletedStateDir: string | null = null;
  if (options.stateDir !== undefined) {
    const dir = join(options.stateDir, applicationId);
    if (existsSync(dir)) {
      rmSync(dir, { recursive: true, force: true });
      deletedStateDir = dir;
    }
  }
  return { deletedTopics: topics.sort(), deletedGroup, deletedStateDir };
}
