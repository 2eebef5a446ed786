// Client-side partition assignors, run by the group leader as in Kafka's clients: range, roundrobin and
// cooperative-sticky (incremental: a partition that changes owner is first revoked, then handed over in
// a second rebalance).
import type { Subscription } from "./consumer-protocol.ts";
import type { PartitionAssignor, TopicPartition } from "./types.ts";

export interface AssignorMember {
  readonly memberId: string;
  readonly groupInstanceId?: string | null;
  readonly subscription: Subscription;
}

export type GroupAssignment = Map<string, TopicPartition[]>;

export interface ConsumerAssignor {
  readonly name: PartitionAssignor;
  /** "eager": members revoke everything before rejoining; "cooperative": only what moves. */
  readonly rebalanceProtocol: "eager" | "cooperative";
  assign(
    partitionsPerTopic: ReadonlyMap<string, number>,
    members: readonly AssignorMember[],
  ): GroupAssignment;
}

/** Kafka sorts members by group instance id when present, then member id (MemberInfo.compareTo). */
function memberOrder(a: AssignorMember, b: AssignorMember): number {
  const ai = a.groupInstanceId ?? null;
  const bi = b.groupInstanceId ?? null;
  if (ai !== null && bi !== null && ai !== bi) return ai < bi ? -1 : 1;
  if (ai !== null && bi === null) return -1;
  if (ai === null && bi !== null) return 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function emptyAssignment(members: readonly AssignorMember[]): GroupAssignment {
  const out: GroupAssignment = new Map();
  for (const m of members) out.set(m.memberId, []);
  return out;
}

export const rangeAssignor: ConsumerAssignor = {
  name: "range",
  rebalanceProtocol: "eager",
  assign(partitionsPerTopic, members) {
    const out = emptyAssignment(members);
    const topics = [...new Set(members.flatMap((m) => m.subscription.topics))].sort();
    for (const topic of topics) {
      const n = partitionsPerTopic.get(topic);
      if (n === undefined) continue;
      const consumers = members.filter((m) => m.subscription.topics.includes(topic)).sort(memberOrder);
      const per = Math.floor(n / consumers.length);
      const extra = n % consumers.length;
      consumers.forEach((m, i) => {
        const start = per * i + Math.min(i, extra);
        const len = per + (i < extra ? 1 : 0);
        const list = out.get(m.memberId)!;
        for (let p = start; p < start + len; p++) list.push({ topic, partition: p });
      });
    }
    return out;
  },
};

export const roundRobinAssignor: ConsumerAssignor = {
  name: "roundrobin",
  rebalanceProtocol: "eager",
  assign(partitionsPerTopic, members) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(memberOrder);
    const topics = [...new Set(members.flatMap((m) => m.subscription.topics))]
      .filter((t) => partitionsPerTopic.has(t))
      .sort();
    let i = 0;
    for (const topic of topics) {
      const n = partitionsPerTopic.get(topic)!;
      for (let p = 0; p < n; p++) {
        // Circular iteration skipping members not subscribed to this topic, as Kafka's RoundRobinAssignor.
        for (let tries = 0; tries < sorted.length; tries++) {
          const m = sorted[i % sorted.length]!;
          i++;
          if (m.subscription.topics.includes(topic)) {
            out.get(m.memberId)!.push({ topic, partition: p });
            break;
          }
        }
      }
    }
    return out;
  },
};

const tpk = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/**
 * Sticky and balanced: members keep what they own (if still subscribed and not claimed by a newer
 * generation), unowned partitions go to the least loaded eligible member, then partitions move from
 * the most to the least loaded member until counts differ by at most one where subscriptions allow.
 * Cooperative: a partition whose previous owner is still in the group is withheld from its new owner
 * in this round; the old owner revokes it and rejoins, and the next round hands it over.
 */
export const cooperativeStickyAssignor: ConsumerAssignor = {
  name: "cooperative-sticky",
  rebalanceProtocol: "cooperative",
  assign(partitionsPerTopic, members) {
    const sorted = [...members].sort(memberOrder);
    const all: TopicPartition[] = [];
    const topics = [...new Set(members.flatMap((m) => m.subscription.topics))]
      .filter((t) => partitionsPerTopic.has(t))
      .sort();
    for (const topic of topics)
      for (let p = 0; p < partitionsPerTopic.get(topic)!; p++) all.push({ topic, partition: p });
    const exists = new Set(all.map(tpk));

    // Previous owner of each partition; on a double claim the higher generation wins, a tie keeps neither.
    const prevOwner = new Map<string, { memberId: string; generation: number } | null>();
    for (const m of sorted) {
      for (const tp of m.subscription.ownedPartitions) {
        const k = tpk(tp);
        if (!exists.has(k)) continue;
        const g = m.subscription.generationId;
        if (!prevOwner.has(k)) prevOwner.set(k, { memberId: m.memberId, generation: g });
        else {
          const cur = prevOwner.get(k);
          if (cur && g > cur.generation) prevOwner.set(k, { memberId: m.memberId, generation: g });
          else if (cur && g === cur.generation) prevOwner.set(k, null);
        }
      }
    }

    const owner = new Map<string, string>();
    const load = new Map<string, TopicPartition[]>();
    for (const m of sorted) load.set(m.memberId, []);
    const subscribed = (memberId: string, topic: string): boolean =>
      sorted.find((m) => m.memberId === memberId)!.subscription.topics.includes(topic);
    const give = (tp: TopicPartition, memberId: string): void => {
      owner.set(tpk(tp), memberId);
      load.get(memberId)!.push(tp);
    };

    // Keep owned partitions, but never more than the balanced maximum a member may hold.
    const maxQuota = Math.ceil(all.length / Math.max(1, sorted.length));
    for (const tp of all) {
      const prev = prevOwner.get(tpk(tp));
      if (prev && subscribed(prev.memberId, tp.topic) && load.get(prev.memberId)!.length < maxQuota)
        give(tp, prev.memberId);
    }
    // Unowned partitions to the least loaded eligible member.
    for (const tp of all) {
      if (owner.has(tpk(tp))) continue;
      let best: string | undefined;
      for (const m of sorted) {
        if (!m.subscription.topics.includes(tp.topic)) continue;
        if (best === undefined || load.get(m.memberId)!.length < load.get(best)!.length) best = m.memberId;
      }
      if (best !== undefined) give(tp, best);
    }
    // Balance: move from the most loaded to a less loaded eligible member while it narrows the gap.
    for (let guard = 0; guard < all.length * sorted.length + 1; guard++) {
      let moved = false;
      const byLoad = [...sorted].sort((a, b) => load.get(b.memberId)!.length - load.get(a.memberId)!.length);
      outer: for (const heavy of byLoad) {
        const hl = load.get(heavy.memberId)!;
        for (let i = byLoad.length - 1; i >= 0; i--) {
          const light = byLoad[i]!;
          const ll = load.get(light.memberId)!;
          if (hl.length - ll.length <= 1) continue;
          // Prefer moving a partition the heavy member did not own before (keeps stickiness).
          const candidates = hl
            .map((tp, idx) => ({ tp, idx }))
            .filter(({ tp }) => light.subscription.topics.includes(tp.topic))
            .sort((a, b) => {
              const ao = prevOwner.get(tpk(a.tp))?.memberId === heavy.memberId ? 1 : 0;
              const bo = prevOwner.get(tpk(b.tp))?.memberId === heavy.memberId ? 1 : 0;
              return ao - bo;
            });
          const c = candidates[0];
          if (!c) continue;
          hl.splice(c.idx, 1);
          give(c.tp, light.memberId);
          moved = true;
          break outer;
        }
      }
      if (!moved) break;
    }

    // Cooperative step: withhold partitions still owned by another live member.
    const out = emptyAssignment(sorted);
    const live = new Set(sorted.map((m) => m.memberId));
    for (const m of sorted) {
      const list = out.get(m.memberId)!;
      for (const tp of load.get(m.memberId)!) {
        const prev = prevOwner.get(tpk(tp));
        if (prev && prev.memberId !== m.memberId && live.has(prev.memberId)) continue;
        list.push(tp);
      }
      list.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    }
    return out;
  },
};

export const ASSIGNORS: Readonly<Record<PartitionAssignor, ConsumerAssignor>> = {
  range: rangeAssignor,
  roundrobin: roundRobinAssignor,
  "cooperative-sticky": cooperativeStickyAssignor,
};
