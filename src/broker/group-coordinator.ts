// Group coordinator at the protocol level (Kafka's classic GroupCoordinator): JoinGroup/SyncGroup/
// Heartbeat/LeaveGroup with opaque protocol metadata (clients compute assignments), member ids,
// generations, rebalance and session timeouts, static members (KIP-345), and committed offsets.
// Time comes from an injectable Clock; `tick()` fires expirations, so tests drive it deterministically.
import { randomUUID } from "node:crypto";
import type { Clock } from "../observe/index.ts";

export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

export interface JoinGroupProtocol {
  readonly name: string;
  readonly metadata: Uint8Array;
}

export interface JoinGroupRequest {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  /** Defaults to the session timeout (JoinGroup v0). */
  readonly rebalanceTimeoutMs?: number;
  /** "" for a new member. */
  readonly memberId: string;
  readonly groupInstanceId?: string | null;
  readonly protocolType: string;
  readonly protocols: readonly JoinGroupProtocol[];
  readonly clientId?: string;
  readonly clientHost?: string;
  /** JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED with its id, then joins with it. */
  readonly requireKnownMemberId?: boolean;
  readonly reason?: string;
}

export interface JoinGroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Uint8Array;
}

export interface JoinGroupResponse {
  readonly errorCode: string;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly memberId: string;
  /** Only the leader gets the members (with their metadata for the chosen protocol). */
  readonly members: readonly JoinGroupMember[];
  /** KIP-814: the leader rejoined a stable group as a static member; it must not compute an assignment. */
  readonly skipAssignment: boolean;
}

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId?: string | null;
  readonly protocolType?: string | null;
  readonly protocolName?: string | null;
  /** Only the leader sends assignments. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

export interface SyncGroupResponse {
  readonly errorCode: string;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Uint8Array;
}

export interface HeartbeatRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId?: string | null;
}

export interface LeaveGroupRequest {
  readonly groupId: string;
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId?: string | null }[];
}

export interface LeaveGroupResponse {
  readonly errorCode: string;
  readonly members: readonly { memberId: string; groupInstanceId: string | null; errorCode: string }[];
}

export interface CommittedOffset {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly commitTimestamp: number;
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  /** -1 with memberId "": a commit outside group management (allowed only while the group is empty). */
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId?: string | null;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly {
      readonly partitionIndex: number;
      readonly committedOffset: number;
      readonly committedLeaderEpoch?: number;
      readonly committedMetadata?: string | null;
    }[];
  }[];
}

export interface PartitionErrorResponse {
  readonly name: string;
  readonly partitions: { partitionIndex: number; errorCode: string }[];
}

export interface OffsetFetchRequest {
  readonly groupId: string;
  /** null: every partition with a committed offset. */
  readonly topics: readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[] | null;
  /** KIP-447: answer UNSTABLE_OFFSET_COMMIT for partitions with a pending transactional commit. */
  readonly requireStable?: boolean;
}

export interface OffsetFetchResponse {
  readonly errorCode: string;
  readonly topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch: number;
      metadata: string | null;
      errorCode: string;
    }[];
  }[];
}

export interface DescribedGroup {
  readonly errorCode: string;
  readonly groupId: string;
  readonly groupState: GroupState | "Dead";
  readonly protocolType: string;
  readonly protocolData: string;
  readonly members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    memberMetadata: Uint8Array;
    memberAssignment: Uint8Array;
  }[];
}

/** What the coordinator persists (the broker writes it to __consumer_offsets). */
export interface GroupStore {
  /** Synchronous (the log appends synchronously), so a commit is durable before anyone sees it. */
  writeOffsets(
    groupId: string,
    offsets: readonly { topic: string; partition: number; value: CommittedOffset | null }[],
  ): void;
  writeGroup(groupId: string, snapshot: GroupSnapshot | null): void;
}

/** Persisted group metadata (so generations and assignments survive a restart, as in Kafka). */
export interface GroupSnapshot {
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly generationId: number;
  readonly leaderId: string | null;
  readonly members: readonly {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    protocols: { name: string; metadata: string }[];
    assignment: string;
  }[];
}

export interface GroupCoordinatorOptions {
  readonly clock: Clock;
  readonly store: GroupStore;
  readonly minSessionTimeoutMs?: number;
  readonly maxSessionTimeoutMs?: number;
  /** Kafka's group.initial.rebalance.delay.ms: wait for more members when an empty group gets its first. */
  readonly initialRebalanceDelayMs?: number;
  readonly maxGroupSize?: number;
  /** KIP-447: is there a pending transactional offset commit for this group and partition? */
  readonly hasPendingTxnOffset?: (groupId: string, topic: string, partition: number) => boolean;
  readonly onError?: (e: unknown) => void;
  /** Called when a join phase completes (a new generation), for metrics. */
  readonly onRebalance?: (groupId: string, generationId: number, members: number) => void;
}

interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  assignment: Uint8Array;
  lastHeartbeat: number;
  awaitingJoin: ((r: JoinGroupResponse) => void) | null;
  awaitingSync: ((r: SyncGroupResponse) => void) | null;
  isNew: boolean;
}

interface Group {
  readonly groupId: string;
  state: GroupState;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  readonly members: Map<string, Member>;
  readonly staticMembers: Map<string, string>;
  /** Member ids handed out with MEMBER_ID_REQUIRED, with their expiry time. */
  readonly pendingMembers: Map<string, number>;
  rebalanceDeadline: number;
  joinNotBefore: number;
  readonly offsets: Map<string, { topic: string; partition: number; value: CommittedOffset }>;
}

const EMPTY = new Uint8Array(0);
const offKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

function sameProtocols(a: readonly JoinGroupProtocol[], b: readonly JoinGroupProtocol[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.name !== b[i]!.name) return false;
    if (Buffer.compare(a[i]!.metadata, b[i]!.metadata) !== 0) return false;
  }
  return true;
}

function joinError(errorCode: string, memberId = "", generationId = -1): JoinGroupResponse {
  return {
    errorCode,
    generationId,
    protocolType: null,
    protocolName: null,
    leader: "",
    memberId,
    members: [],
    skipAssignment: false,
  };
}

function syncError(errorCode: string): SyncGroupResponse {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly clock: Clock;
  private readonly store: GroupStore;
  private readonly minSession: number;
  private readonly maxSession: number;
  private readonly initialDelay: number;
  private readonly maxGroupSize: number;
  private readonly hasPendingTxnOffset: (groupId: string, topic: string, partition: number) => boolean;
  private readonly onError: (e: unknown) => void;
  private readonly onRebalance: (groupId: string, generationId: number, members: number) => void;

  constructor(options: GroupCoordinatorOptions) {
    this.onRebalance = options.onRebalance ?? (() => {});
    this.clock = options.clock;
    this.store = options.store;
    this.minSession = options.minSessionTimeoutMs ?? 6000;
    this.maxSession = options.maxSessionTimeoutMs ?? 1_800_000;
    this.initialDelay = options.initialRebalanceDelayMs ?? 0;
    this.maxGroupSize = options.maxGroupSize ?? Number.MAX_SAFE_INTEGER;
    this.hasPendingTxnOffset = options.hasPendingTxnOffset ?? (() => false);
    this.onError = options.onError ?? (() => {});
  }

  // ------------------------------------------------------------------ loading (at broker open)

  /** Replays one committed offset record (null: tombstone). */
  loadOffset(groupId: string, topic: string, partition: number, value: CommittedOffset | null): void {
    const g = value === null ? this.groups.get(groupId) : this.getOrCreate(groupId);
    if (!g) return;
    if (value === null) g.offsets.delete(offKey(topic, partition));
    else g.offsets.set(offKey(topic, partition), { topic, partition, value });
  }

  /**
   * Replays a group metadata record: the generation (so generation ids are never reused and KIP-447
   * fencing holds across restarts) and the chosen protocol. Members are not restored: on one node a
   * broker restart usually means its in-process members died with it, and waiting out their sessions
   * would stall every restart; remote members get UNKNOWN_MEMBER_ID on their next heartbeat and rejoin.
   */
  loadGroup(groupId: string, snap: GroupSnapshot | null): void {
    if (snap === null) {
      const g = this.groups.get(groupId);
      if (g && g.offsets.size === 0) this.groups.delete(groupId);
      else if (g) g.generationId = 0;
      return;
    }
    const g = this.getOrCreate(groupId);
    g.generationId = snap.generationId;
    g.protocolType = snap.protocolType;
    g.protocolName = null;
    g.leaderId = null;
    g.members.clear();
    g.staticMembers.clear();
    g.state = "Empty";
  }

  // ------------------------------------------------------------------ membership

  joinGroup(req: JoinGroupRequest): Promise<JoinGroupResponse> {
    const now = this.clock.now();
    if (!req.groupId) return Promise.resolve(joinError("INVALID_GROUP_ID", req.memberId));
    if (req.sessionTimeoutMs < this.minSession || req.sessionTimeoutMs > this.maxSession)
      return Promise.resolve(joinError("INVALID_SESSION_TIMEOUT", req.memberId));
    if (!req.protocolType || req.protocols.length === 0)
      return Promise.resolve(joinError("INCONSISTENT_GROUP_PROTOCOL", req.memberId));
    const instanceId = req.groupInstanceId ?? null;
    let g = this.groups.get(req.groupId);
    if (!g) {
      if (req.memberId !== "" && instanceId === null)
        return Promise.resolve(joinError("UNKNOWN_MEMBER_ID", req.memberId));
      g = this.getOrCreate(req.groupId);
    }
    if (g.state === "Dead") return Promise.resolve(joinError("COORDINATOR_NOT_AVAILABLE", req.memberId));
    if (!this.protocolsCompatible(g, req))
      return Promise.resolve(joinError("INCONSISTENT_GROUP_PROTOCOL", req.memberId));

    const rebalanceTimeoutMs = req.rebalanceTimeoutMs ?? req.sessionTimeoutMs;

    // Static member: its instance id maps to the current member id; a rejoin with a new id replaces it.
    if (instanceId !== null) {
      const existingId = g.staticMembers.get(instanceId);
      if (req.memberId !== "" && existingId !== undefined && existingId !== req.memberId)
        return Promise.resolve(joinError("FENCED_INSTANCE_ID", req.memberId));
      if (req.memberId === "" && existingId !== undefined) {
        return this.replaceStaticMember(g, existingId, req, rebalanceTimeoutMs, now);
      }
      if (req.memberId !== "" && existingId === undefined)
        return Promise.resolve(joinError("UNKNOWN_MEMBER_ID", req.memberId));
    }

    if (req.memberId === "" || (g.pendingMembers.has(req.memberId) && !g.members.has(req.memberId))) {
      if (g.members.size >= this.maxGroupSize)
        return Promise.resolve(joinError("GROUP_MAX_SIZE_REACHED", req.memberId));
      const memberId = req.memberId || `${req.clientId ?? "member"}-${randomUUID()}`;
      if (req.memberId === "" && req.requireKnownMemberId && instanceId === null) {
        g.pendingMembers.set(memberId, now + req.sessionTimeoutMs);
        return Promise.resolve(joinError("MEMBER_ID_REQUIRED", memberId));
      }
      g.pendingMembers.delete(memberId);
      const m: Member = {
        memberId,
        groupInstanceId: instanceId,
        clientId: req.clientId ?? "",
        clientHost: req.clientHost ?? "",
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs,
        protocolType: req.protocolType,
        protocols: [...req.protocols],
        assignment: EMPTY,
        lastHeartbeat: now,
        awaitingJoin: null,
        awaitingSync: null,
        isNew: true,
      };
      g.members.set(memberId, m);
      if (instanceId !== null) g.staticMembers.set(instanceId, memberId);
      const p = this.awaitJoin(m);
      this.prepareRebalance(g, `new member ${memberId} joined`);
      this.maybeCompleteJoin(g);
      return p;
    }

    const m = g.members.get(req.memberId);
    if (!m) return Promise.resolve(joinError("UNKNOWN_MEMBER_ID", req.memberId));
    m.lastHeartbeat = now;
    m.clientId = req.clientId ?? m.clientId;
    switch (g.state) {
      case "PreparingRebalance": {
        this.updateMember(m, req, rebalanceTimeoutMs);
        const p = this.awaitJoin(m);
        this.maybeCompleteJoin(g);
        return p;
      }
      case "CompletingRebalance":
        if (sameProtocols(m.protocols, req.protocols)) {
          // The member lost the JoinGroup response; give it again.
          return Promise.resolve(this.joinResponse(g, m));
        }
        break;
      case "Stable":
        if (m.memberId !== g.leaderId && sameProtocols(m.protocols, req.protocols)) {
          return Promise.resolve(this.joinResponse(g, m));
        }
        break;
      default:
        return Promise.resolve(joinError("UNKNOWN_MEMBER_ID", req.memberId));
    }
    this.updateMember(m, req, rebalanceTimeoutMs);
    const p = this.awaitJoin(m);
    this.prepareRebalance(g, `member ${m.memberId} rejoined`);
    this.maybeCompleteJoin(g);
    return p;
  }

  syncGroup(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    const g = this.groups.get(req.groupId);
    if (!g || g.state === "Dead") return Promise.resolve(syncError("UNKNOWN_MEMBER_ID"));
    const fenced = this.checkInstance(g, req.memberId, req.groupInstanceId);
    if (fenced) return Promise.resolve(syncError(fenced));
    const m = g.members.get(req.memberId);
    if (!m) return Promise.resolve(syncError("UNKNOWN_MEMBER_ID"));
    if (req.generationId !== g.generationId) return Promise.resolve(syncError("ILLEGAL_GENERATION"));
    if (
      (req.protocolType && req.protocolType !== g.protocolType) ||
      (req.protocolName && req.protocolName !== g.protocolName)
    )
      return Promise.resolve(syncError("INCONSISTENT_GROUP_PROTOCOL"));
    m.lastHeartbeat = this.clock.now();
    switch (g.state) {
      case "Empty":
        return Promise.resolve(syncError("UNKNOWN_MEMBER_ID"));
      case "PreparingRebalance":
        return Promise.resolve(syncError("REBALANCE_IN_PROGRESS"));
      case "Stable":
        return Promise.resolve({
          errorCode: "NONE",
          protocolType: g.protocolType,
          protocolName: g.protocolName,
          assignment: m.assignment,
        });
      case "CompletingRebalance": {
        const p = new Promise<SyncGroupResponse>((resolve) => {
          m.awaitingSync = resolve;
        });
        if (req.memberId === g.leaderId) {
          const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
          for (const member of g.members.values()) member.assignment = given.get(member.memberId) ?? EMPTY;
          g.state = "Stable";
          this.persistGroup(g);
          const now = this.clock.now();
          for (const member of g.members.values()) {
            const cb = member.awaitingSync;
            member.awaitingSync = null;
            // Waiting in SyncGroup counted as alive; the session starts afresh from the answer.
            member.lastHeartbeat = now;
            cb?.({
              errorCode: "NONE",
              protocolType: g.protocolType,
              protocolName: g.protocolName,
              assignment: member.assignment,
            });
          }
        }
        return p;
      }
      default:
        return Promise.resolve(syncError("UNKNOWN_MEMBER_ID"));
    }
  }

  heartbeat(req: HeartbeatRequest): { errorCode: string } {
    const g = this.groups.get(req.groupId);
    if (!g || g.state === "Dead" || g.state === "Empty") return { errorCode: "UNKNOWN_MEMBER_ID" };
    const fenced = this.checkInstance(g, req.memberId, req.groupInstanceId);
    if (fenced) return { errorCode: fenced };
    const m = g.members.get(req.memberId);
    if (!m) return { errorCode: "UNKNOWN_MEMBER_ID" };
    m.lastHeartbeat = this.clock.now();
    if (req.generationId !== g.generationId) return { errorCode: "ILLEGAL_GENERATION" };
    if (g.state === "PreparingRebalance") return { errorCode: "REBALANCE_IN_PROGRESS" };
    return { errorCode: "NONE" };
  }

  leaveGroup(req: LeaveGroupRequest): LeaveGroupResponse {
    const g = this.groups.get(req.groupId);
    if (!g || g.state === "Dead")
      return {
        errorCode: "UNKNOWN_MEMBER_ID",
        members: req.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId ?? null,
          errorCode: "UNKNOWN_MEMBER_ID",
        })),
      };
    const results: LeaveGroupResponse["members"][number][] = [];
    for (const lm of req.members) {
      const instanceId = lm.groupInstanceId ?? null;
      let memberId = lm.memberId;
      if (instanceId !== null) {
        const mapped = g.staticMembers.get(instanceId);
        if (mapped === undefined) {
          results.push({ memberId, groupInstanceId: instanceId, errorCode: "UNKNOWN_MEMBER_ID" });
          continue;
        }
        if (memberId !== "" && mapped !== memberId) {
          results.push({ memberId, groupInstanceId: instanceId, errorCode: "FENCED_INSTANCE_ID" });
          continue;
        }
        memberId = mapped;
      }
      if (g.pendingMembers.delete(memberId)) {
        results.push({ memberId, groupInstanceId: instanceId, errorCode: "NONE" });
        this.maybeCompleteJoin(g);
        continue;
      }
      const m = g.members.get(memberId);
      if (!m) {
        results.push({ memberId, groupInstanceId: instanceId, errorCode: "UNKNOWN_MEMBER_ID" });
        continue;
      }
      this.removeMember(g, m, "UNKNOWN_MEMBER_ID", `member ${memberId} left`);
      results.push({ memberId, groupInstanceId: instanceId, errorCode: "NONE" });
    }
    return { errorCode: "NONE", members: results };
  }

  // ------------------------------------------------------------------ offsets

  /** Validates a commit from a group member (generation, member id, state) as Kafka's doCommitOffsets. */
  validateCommit(
    groupId: string,
    generationId: number,
    memberId: string,
    groupInstanceId?: string | null,
    transactional = false,
  ): string {
    const g = this.groups.get(groupId);
    const identified = generationId >= 0 || memberId !== "" || (groupInstanceId ?? null) !== null;
    if (!g) return identified ? (transactional ? "UNKNOWN_MEMBER_ID" : "ILLEGAL_GENERATION") : "NONE";
    if (g.state === "Dead") return "COORDINATOR_NOT_AVAILABLE";
    // Transactional commits without member identity come from pre-KIP-447 producers: accepted.
    if (!identified) return transactional || g.state === "Empty" ? "NONE" : "UNKNOWN_MEMBER_ID";
    const fenced = this.checkInstance(g, memberId, groupInstanceId);
    if (fenced) return fenced;
    if (!transactional && g.state === "CompletingRebalance") return "REBALANCE_IN_PROGRESS";
    if (!g.members.has(memberId)) return "UNKNOWN_MEMBER_ID";
    if (generationId !== g.generationId) return "ILLEGAL_GENERATION";
    return "NONE";
  }

  offsetCommit(req: OffsetCommitRequest): PartitionErrorResponse[] {
    const err = this.validateCommit(req.groupId, req.generationId, req.memberId, req.groupInstanceId);
    const answer = (code: (p: { committedMetadata?: string | null }) => string): PartitionErrorResponse[] =>
      req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code(p) })),
      }));
    if (!req.groupId) return answer(() => "INVALID_GROUP_ID");
    if (err !== "NONE") return answer(() => err);
    const g = this.getOrCreate(req.groupId);
    const m = g.members.get(req.memberId);
    if (m) m.lastHeartbeat = this.clock.now();
    const now = this.clock.now();
    const entries = req.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        value: {
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch ?? -1,
          metadata: p.committedMetadata ?? null,
          commitTimestamp: now,
        } as CommittedOffset,
      })),
    );
    try {
      this.store.writeOffsets(req.groupId, entries);
    } catch (e) {
      const code =
        (e as { code?: string }).code === "KAFKA_STORAGE_ERROR"
          ? "KAFKA_STORAGE_ERROR"
          : "UNKNOWN_SERVER_ERROR";
      this.onError(e);
      return answer(() => code);
    }
    this.applyOffsets(req.groupId, entries);
    return answer(() => "NONE");
  }

  /** Applies already persisted offsets (plain commits and committed transactions). */
  applyOffsets(
    groupId: string,
    entries: readonly { topic: string; partition: number; value: CommittedOffset | null }[],
  ): void {
    const g = this.getOrCreate(groupId);
    for (const e of entries) {
      if (e.value === null) g.offsets.delete(offKey(e.topic, e.partition));
      else
        g.offsets.set(offKey(e.topic, e.partition), {
          topic: e.topic,
          partition: e.partition,
          value: e.value,
        });
    }
  }

  offsetFetch(req: OffsetFetchRequest): OffsetFetchResponse {
    const g = this.groups.get(req.groupId);
    const topics: OffsetFetchResponse["topics"] = [];
    const entry = (topic: string, partition: number) => {
      const v = g?.offsets.get(offKey(topic, partition))?.value;
      const unstable = req.requireStable === true && this.hasPendingTxnOffset(req.groupId, topic, partition);
      return {
        partitionIndex: partition,
        committedOffset: unstable ? -1 : (v?.offset ?? -1),
        committedLeaderEpoch: unstable ? -1 : (v?.leaderEpoch ?? -1),
        metadata: unstable ? null : (v?.metadata ?? ""),
        errorCode: unstable ? "UNSTABLE_OFFSET_COMMIT" : "NONE",
      };
    };
    if (req.topics === null) {
      const byTopic = new Map<string, number[]>();
      for (const o of g?.offsets.values() ?? []) {
        let l = byTopic.get(o.topic);
        if (!l) byTopic.set(o.topic, (l = []));
        l.push(o.partition);
      }
      for (const [name, parts] of byTopic)
        topics.push({ name, partitions: parts.sort((a, b) => a - b).map((p) => entry(name, p)) });
    } else {
      for (const t of req.topics)
        topics.push({ name: t.name, partitions: t.partitionIndexes.map((p) => entry(t.name, p)) });
    }
    return { errorCode: "NONE", topics };
  }

  /** Offsets of a group for the admin API. */
  committedOffsets(groupId: string): { topic: string; partition: number; value: CommittedOffset }[] {
    return [...(this.groups.get(groupId)?.offsets.values() ?? [])];
  }

  /** OffsetDelete: removes committed offsets of a group that no member is consuming (Empty groups only here). */
  offsetDelete(
    groupId: string,
    partitions: readonly { topic: string; partition: number }[],
  ): { errorCode: string; partitions: { topic: string; partition: number; errorCode: string }[] } {
    const g = this.groups.get(groupId);
    if (!g || g.state === "Dead") return { errorCode: "GROUP_ID_NOT_FOUND", partitions: [] };
    if (g.state !== "Empty")
      return {
        errorCode: "NONE",
        partitions: partitions.map((p) => ({ ...p, errorCode: "GROUP_SUBSCRIBED_TO_TOPIC" })),
      };
    const present = partitions.filter((p) => g.offsets.has(offKey(p.topic, p.partition)));
    this.store.writeOffsets(
      groupId,
      present.map((p) => ({ topic: p.topic, partition: p.partition, value: null })),
    );
    for (const p of present) g.offsets.delete(offKey(p.topic, p.partition));
    return { errorCode: "NONE", partitions: partitions.map((p) => ({ ...p, errorCode: "NONE" })) };
  }

  /** Drops committed offsets of deleted topics (Kafka does this when a topic is deleted). */
  removeTopicOffsets(topic: string): void {
    for (const g of this.groups.values()) {
      const gone = [...g.offsets.values()].filter((o) => o.topic === topic);
      if (gone.length === 0) continue;
      this.store.writeOffsets(
        g.groupId,
        gone.map((o) => ({ topic: o.topic, partition: o.partition, value: null })),
      );
      for (const o of gone) g.offsets.delete(offKey(o.topic, o.partition));
    }
  }

  // ------------------------------------------------------------------ admin

  listGroups(
    statesFilter?: readonly string[],
  ): { groupId: string; protocolType: string; groupState: GroupState }[] {
    const out: { groupId: string; protocolType: string; groupState: GroupState }[] = [];
    for (const g of this.groups.values()) {
      if (g.state === "Dead") continue;
      if (statesFilter && statesFilter.length > 0 && !statesFilter.includes(g.state)) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? "", groupState: g.state });
    }
    return out.sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  }

  describeGroup(groupId: string): DescribedGroup {
    const g = this.groups.get(groupId);
    if (!g)
      return {
        errorCode: "NONE",
        groupId,
        groupState: "Dead",
        protocolType: "",
        protocolData: "",
        members: [],
      };
    const stable = g.state === "Stable";
    return {
      errorCode: "NONE",
      groupId,
      groupState: g.state,
      protocolType: g.protocolType ?? "",
      protocolData: stable ? (g.protocolName ?? "") : "",
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable
          ? (m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? EMPTY)
          : EMPTY,
        memberAssignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  deleteGroups(groupIds: readonly string[]): { groupId: string; errorCode: string }[] {
    const out: { groupId: string; errorCode: string }[] = [];
    for (const id of groupIds) {
      const g = this.groups.get(id);
      if (!g || g.state === "Dead") {
        out.push({ groupId: id, errorCode: "GROUP_ID_NOT_FOUND" });
        continue;
      }
      if (g.state !== "Empty") {
        out.push({ groupId: id, errorCode: "NON_EMPTY_GROUP" });
        continue;
      }
      const offsets = [...g.offsets.values()];
      this.store.writeOffsets(
        id,
        offsets.map((o) => ({ topic: o.topic, partition: o.partition, value: null })),
      );
      this.store.writeGroup(id, null);
      g.state = "Dead";
      this.groups.delete(id);
      out.push({ groupId: id, errorCode: "NONE" });
    }
    return out;
  }

  /** Groups per state, for metrics. */
  countByState(): Record<GroupState, number> {
    const out: Record<GroupState, number> = {
      Empty: 0,
      PreparingRebalance: 0,
      CompletingRebalance: 0,
      Stable: 0,
      Dead: 0,
    };
    for (const g of this.groups.values()) out[g.state]++;
    return out;
  }

  groupState(groupId: string): GroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  generation(groupId: string): number {
    return this.groups.get(groupId)?.generationId ?? -1;
  }

  // ------------------------------------------------------------------ time

  /** Fires expirations due at the clock's current time: sessions, join phases, pending member ids. */
  tick(): void {
    const now = this.clock.now();
    for (const g of this.groups.values()) {
      for (const [id, expiry] of g.pendingMembers) if (now >= expiry) g.pendingMembers.delete(id);
      for (const m of [...g.members.values()]) {
        // A member blocked in JoinGroup or SyncGroup is alive: it is waiting on us.
        if (m.awaitingJoin || m.awaitingSync) continue;
        if (now - m.lastHeartbeat >= m.sessionTimeoutMs)
          this.removeMember(g, m, "UNKNOWN_MEMBER_ID", `member ${m.memberId} session expired`);
      }
      if (g.state === "PreparingRebalance") this.maybeCompleteJoin(g);
    }
  }

  /** Fails every pending JoinGroup/SyncGroup (broker shutdown) so clients do not wait forever. */
  shutdown(): void {
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        const j = m.awaitingJoin;
        const s = m.awaitingSync;
        m.awaitingJoin = null;
        m.awaitingSync = null;
        j?.(joinError("COORDINATOR_NOT_AVAILABLE", m.memberId));
        s?.(syncError("COORDINATOR_NOT_AVAILABLE"));
      }
    }
  }

  // ------------------------------------------------------------------ internals

  private getOrCreate(groupId: string): Group {
    let g = this.groups.get(groupId);
    if (!g) {
      g = {
        groupId,
        state: "Empty",
        generationId: 0,
        protocolType: null,
        protocolName: null,
        leaderId: null,
        members: new Map(),
        staticMembers: new Map(),
        pendingMembers: new Map(),
        rebalanceDeadline: 0,
        joinNotBefore: 0,
        offsets: new Map(),
      };
      this.groups.set(groupId, g);
    }
    return g;
  }

  private checkInstance(g: Group, memberId: string, instanceId: string | null | undefined): string | null {
    if (instanceId === null || instanceId === undefined) return null;
    const mapped = g.staticMembers.get(instanceId);
    if (mapped === undefined) return "UNKNOWN_MEMBER_ID";
    return mapped === memberId ? null : "FENCED_INSTANCE_ID";
  }

  private protocolsCompatible(g: Group, req: JoinGroupRequest): boolean {
    if (g.members.size === 0) return true;
    if (g.protocolType !== null && g.protocolType !== req.protocolType) return false;
    for (const m of g.members.values()) if (m.protocolType !== req.protocolType) return false;
    // Some protocol must be supported by every member (the joining one replacing its old self).
    const names = new Set(req.protocols.map((p) => p.name));
    for (const m of g.members.values()) {
      if (m.memberId === req.memberId) continue;
      for (const n of [...names]) if (!m.protocols.some((p) => p.name === n)) names.delete(n);
    }
    return names.size > 0;
  }

  private updateMember(m: Member, req: JoinGroupRequest, rebalanceTimeoutMs: number): void {
    m.protocols = [...req.protocols];
    m.protocolType = req.protocolType;
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    m.rebalanceTimeoutMs = rebalanceTimeoutMs;
  }

  private awaitJoin(m: Member): Promise<JoinGroupResponse> {
    // A member joining twice (a retry) answers the earlier call with REBALANCE_IN_PROGRESS... Kafka
    // replaces the callback; the old request gets nothing. We answer it so no caller hangs.
    const prev = m.awaitingJoin;
    const p = new Promise<JoinGroupResponse>((resolve) => {
      m.awaitingJoin = resolve;
    });
    prev?.(joinError("REBALANCE_IN_PROGRESS", m.memberId));
    return p;
  }

  private replaceStaticMember(
    g: Group,
    oldId: string,
    req: JoinGroupRequest,
    rebalanceTimeoutMs: number,
    now: number,
  ): Promise<JoinGroupResponse> {
    const old = g.members.get(oldId)!;
    const newId = `${req.clientId ?? "member"}-${randomUUID()}`;
    const unchanged = sameProtocols(old.protocols, req.protocols);
    g.members.delete(oldId);
    const oldJoin = old.awaitingJoin;
    const oldSync = old.awaitingSync;
    old.awaitingJoin = null;
    old.awaitingSync = null;
    old.memberId = newId;
    old.clientId = req.clientId ?? old.clientId;
    old.clientHost = req.clientHost ?? old.clientHost;
    old.lastHeartbeat = now;
    old.sessionTimeoutMs = req.sessionTimeoutMs;
    old.rebalanceTimeoutMs = rebalanceTimeoutMs;
    g.members.set(newId, old);
    g.staticMembers.set(req.groupInstanceId!, newId);
    if (g.leaderId === oldId) g.leaderId = newId;
    oldJoin?.(joinError("FENCED_INSTANCE_ID", oldId));
    oldSync?.(syncError("FENCED_INSTANCE_ID"));
    if (g.state === "Stable" && unchanged) {
      // KIP-345: a static member coming back with the same subscription gets its old assignment
      // without a rebalance.
      this.persistGroup(g);
      const resp = this.joinResponse(g, old);
      return Promise.resolve({ ...resp, members: [], skipAssignment: newId === g.leaderId });
    }
    this.updateMember(old, req, rebalanceTimeoutMs);
    const p = this.awaitJoin(old);
    if (g.state !== "PreparingRebalance")
      this.prepareRebalance(g, `static member ${req.groupInstanceId} rejoined`);
    this.maybeCompleteJoin(g);
    return p;
  }

  private prepareRebalance(g: Group, _reason: string): void {
    if (g.state === "PreparingRebalance") return;
    const now = this.clock.now();
    // Members waiting in SyncGroup learn that the generation is over.
    for (const m of g.members.values()) {
      const cb = m.awaitingSync;
      m.awaitingSync = null;
      cb?.(syncError("REBALANCE_IN_PROGRESS"));
    }
    g.joinNotBefore = g.state === "Empty" ? now + this.initialDelay : now;
    g.state = "PreparingRebalance";
    let timeout = 0;
    for (const m of g.members.values()) timeout = Math.max(timeout, m.rebalanceTimeoutMs);
    g.rebalanceDeadline = now + timeout;
  }

  private maybeCompleteJoin(g: Group): void {
    if (g.state !== "PreparingRebalance") return;
    const now = this.clock.now();
    let allJoined = g.pendingMembers.size === 0;
    for (const m of g.members.values()) if (!m.awaitingJoin) allJoined = false;
    if ((allJoined && now >= g.joinNotBefore) || now >= g.rebalanceDeadline) this.completeJoin(g);
  }

  private completeJoin(g: Group): void {
    // Members that did not rejoin in time leave the group.
    for (const m of [...g.members.values()]) {
      if (!m.awaitingJoin) {
        g.members.delete(m.memberId);
        if (m.groupInstanceId) g.staticMembers.delete(m.groupInstanceId);
      }
    }
    g.pendingMembers.clear();
    g.generationId++;
    this.onRebalance(g.groupId, g.generationId, g.members.size);
    if (g.members.size === 0) {
      g.state = "Empty";
      g.protocolName = null;
      g.leaderId = null;
      this.persistGroup(g);
      return;
    }
    g.protocolType = g.members.values().next().value!.protocolType;
    g.protocolName = this.selectProtocol(g);
    if (g.leaderId === null || !g.members.has(g.leaderId)) g.leaderId = g.members.keys().next().value!;
    g.state = "CompletingRebalance";
    const now = this.clock.now();
    for (const m of g.members.values()) {
      const cb = m.awaitingJoin!;
      m.awaitingJoin = null;
      m.isNew = false;
      m.lastHeartbeat = now;
      cb(this.joinResponse(g, m));
    }
    this.persistGroup(g);
  }

  private joinResponse(g: Group, m: Member): JoinGroupResponse {
    const isLeader = m.memberId === g.leaderId;
    return {
      errorCode: "NONE",
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leaderId ?? "",
      memberId: m.memberId,
      members: isLeader
        ? [...g.members.values()].map((x) => ({
            memberId: x.memberId,
            groupInstanceId: x.groupInstanceId,
            metadata: x.protocols.find((p) => p.name === g.protocolName)?.metadata ?? EMPTY,
          }))
        : [],
      skipAssignment: false,
    };
  }

  /** Each member votes for its most preferred protocol among those every member supports (Kafka's vote). */
  private selectProtocol(g: Group): string {
    const members = [...g.members.values()];
    const candidates = members[0]!.protocols
      .map((p) => p.name)
      .filter((n) => members.every((m) => m.protocols.some((p) => p.name === n)));
    const votes = new Map<string, number>();
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))?.name;
      if (choice) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  private removeMember(g: Group, m: Member, errorCode: string, reason: string): void {
    g.members.delete(m.memberId);
    if (m.groupInstanceId && g.staticMembers.get(m.groupInstanceId) === m.memberId)
      g.staticMembers.delete(m.groupInstanceId);
    const j = m.awaitingJoin;
    const s = m.awaitingSync;
    m.awaitingJoin = null;
    m.awaitingSync = null;
    j?.(joinError(errorCode, m.memberId));
    s?.(syncError(errorCode));
    if (g.leaderId === m.memberId) g.leaderId = null;
    switch (g.state) {
      case "Stable":
      case "CompletingRebalance":
        this.prepareRebalance(g, reason);
        this.maybeCompleteJoin(g);
        break;
      case "PreparingRebalance":
        this.maybeCompleteJoin(g);
        break;
      default:
        break;
    }
  }

  private persistGroup(g: Group): void {
    const snap: GroupSnapshot = {
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      generationId: g.generationId,
      leaderId: g.leaderId,
      members:
        g.state === "Stable"
          ? [...g.members.values()].map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              sessionTimeoutMs: m.sessionTimeoutMs,
              rebalanceTimeoutMs: m.rebalanceTimeoutMs,
              protocols: m.protocols.map((p) => ({
                name: p.name,
                metadata: Buffer.from(p.metadata).toString("base64"),
              })),
              assignment: Buffer.from(m.assignment).toString("base64"),
            }))
          : [],
    };
    try {
      this.store.writeGroup(g.groupId, snap);
    } catch (e) {
      // Group metadata is advisory (generations survive restarts); a failed write must not break the group.
      this.onError(e);
    }
  }
}
