// Kafka API handlers: decoded request -> Broker method -> encodable response. Pure translation:
// field names and version-dependent defaults; the broker decides everything else. Error names
// become numeric codes here (and a few are mapped to what older protocol versions know).
import { type Broker, errorCodeNumber } from "../broker/index.ts";
import type { Encodable } from "./codec.ts";
import type * as G from "./generated/index.ts";
import { ApiKey } from "./generated/index.ts";
import { type ApiHandler, type ApiSupport, NO_RESPONSE, type RequestContext } from "./server.ts";

/** Error names the broker may answer with that its own table lacks (Kafka's Errors.java numbers). */
const EXTRA_CODES: Record<string, number> = {
  OPERATION_NOT_ATTEMPTED: 55,
  GROUP_MAX_SIZE_REACHED: 81,
  INVALID_GROUP_ID: 24,
  UNSUPPORTED_VERSION: 35,
  THROTTLING_QUOTA_EXCEEDED: 89,
};

export function errorCode(name: string): number {
  const n = errorCodeNumber(name);
  if (n !== -1 || name === "UNKNOWN_SERVER_ERROR") return n;
  return EXTRA_CODES[name] ?? -1;
}

/** PRODUCER_FENCED (90, KIP-588) is only known to newer request versions; older ones get INVALID_PRODUCER_EPOCH. */
function fencedCompat(name: string, version: number, firstVersionKnowing: number): number {
  if (name === "PRODUCER_FENCED" && version < firstVersionKnowing) return 47;
  return errorCode(name);
}

export interface WireAddress {
  readonly host: string;
  readonly port: number;
}

/** Versions advertised ([0, max], see docs/wire.md) and the lowest actually served. */
export const SUPPORTED: Readonly<Record<string, ApiSupport>> = {
  Produce: { min: 0, max: 9, lowestServed: 3 },
  Fetch: { min: 0, max: 12, lowestServed: 4 },
  ListOffsets: { min: 0, max: 7, lowestServed: 0 },
  // Metadata 9 carries no topic ids and 10+ needs real ones: platformatic then fetches by a zero UUID.
  // 0-8 keeps every client on topic names (Fetch <= 12).
  Metadata: { min: 0, max: 8, lowestServed: 0 },
  OffsetCommit: { min: 0, max: 8, lowestServed: 0 },
  OffsetFetch: { min: 0, max: 7, lowestServed: 0 },
  FindCoordinator: { min: 0, max: 4, lowestServed: 0 },
  JoinGroup: { min: 0, max: 9, lowestServed: 0 },
  Heartbeat: { min: 0, max: 4, lowestServed: 0 },
  LeaveGroup: { min: 0, max: 5, lowestServed: 0 },
  SyncGroup: { min: 0, max: 5, lowestServed: 0 },
  DescribeGroups: { min: 0, max: 5, lowestServed: 0 },
  ListGroups: { min: 0, max: 4, lowestServed: 0 },
  SaslHandshake: { min: 0, max: 1, lowestServed: 0 },
  ApiVersions: { min: 0, max: 3, lowestServed: 0 },
  CreateTopics: { min: 0, max: 6, lowestServed: 0 },
  DeleteTopics: { min: 0, max: 5, lowestServed: 0 },
  DeleteRecords: { min: 0, max: 2, lowestServed: 0 },
  InitProducerId: { min: 0, max: 4, lowestServed: 0 },
  AddPartitionsToTxn: { min: 0, max: 3, lowestServed: 0 },
  AddOffsetsToTxn: { min: 0, max: 3, lowestServed: 0 },
  EndTxn: { min: 0, max: 3, lowestServed: 0 },
  TxnOffsetCommit: { min: 0, max: 3, lowestServed: 0 },
  DescribeConfigs: { min: 0, max: 4, lowestServed: 0 },
  AlterConfigs: { min: 0, max: 2, lowestServed: 0 },
  SaslAuthenticate: { min: 0, max: 2, lowestServed: 0 },
  CreatePartitions: { min: 0, max: 3, lowestServed: 0 },
  DeleteGroups: { min: 0, max: 2, lowestServed: 0 },
  OffsetDelete: { min: 0, max: 0, lowestServed: 0 },
  IncrementalAlterConfigs: { min: 0, max: 1, lowestServed: 0 },
};

/** Commit requests (OffsetCommit, TxnOffsetCommit) carry the same per-partition offsets. */
function committedOffsets(
  topics: readonly {
    name: string;
    partitions: readonly {
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch: number;
      committedMetadata: string | null;
    }[];
  }[],
) {
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      committedOffset: p.committedOffset,
      committedLeaderEpoch: p.committedLeaderEpoch,
      committedMetadata: p.committedMetadata,
    })),
  }));
}

/** The per-partition error list several responses share: the broker's names mapped to codes. */
function partitionErrors(
  topics: readonly { name: string; partitions: readonly { partitionIndex: number; errorCode: string }[] }[],
  code: (name: string) => number,
) {
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code(p.errorCode) })),
  }));
}

const CONFIG_TOPIC = 2;
const CONFIG_BROKER = 4;
// DescribeConfigs config sources
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;

type H = { support: ApiSupport; handle: ApiHandler };

/** The handlers of every API served, over one broker. `address` is the advertised listener. */
export function brokerHandlers(broker: Broker, address: () => WireAddress): Map<number, H> {
  const m = new Map<number, H>();
  const on = <Req, Res>(
    name: keyof typeof ApiKey,
    handle: (req: Req, ctx: RequestContext) => Encodable<Res> | Promise<Encodable<Res>> | typeof NO_RESPONSE,
  ): void => {
    const support = SUPPORTED[name];
    if (!support) throw new Error(`no version range for ${name}`);
    m.set(ApiKey[name], { support, handle: handle as unknown as ApiHandler });
  };
  const isolation = (level: number): "read_committed" | "read_uncommitted" =>
    level === 1 ? "read_committed" : "read_uncommitted";

  // SASL and ApiVersions are answered by the server itself; registered here for their version ranges.
  on<unknown, unknown>("ApiVersions", () => ({}));
  on<unknown, unknown>("SaslHandshake", () => ({}));
  on<unknown, unknown>("SaslAuthenticate", () => ({}));

  on<G.MetadataRequest, G.MetadataResponse>("Metadata", (req, ctx) => {
    const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
    const res = broker.metadata({
      topics: all ? null : req.topics!.map((t) => t.name ?? ""),
      // v0-3 have no flag: Kafka auto-creates for them when enabled
      allowAutoTopicCreation: ctx.apiVersion >= 4 ? req.allowAutoTopicCreation : true,
    });
    const a = address();
    return {
      brokers: [{ nodeId: broker.brokerId, host: a.host, port: a.port, rack: null }],
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      topics: res.topics.map((t) => ({
        errorCode: errorCode(t.errorCode),
        name: t.name,
        isInternal: t.isInternal,
        partitions: t.partitions.map((p) => ({
          errorCode: errorCode(p.errorCode),
          partitionIndex: p.partitionIndex,
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicaNodes: p.replicaNodes,
          isrNodes: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
        })),
      })),
    };
  });

  on<G.ProduceRequest, G.ProduceResponse>("Produce", async (req) => {
    const acks = req.acks as -1 | 0 | 1;
    const res = await broker.produce({
      transactionalId: req.transactionalId,
      acks,
      timeoutMs: req.timeoutMs,
      topics: req.topicData.map((t) => ({
        name: t.name,
        partitions: t.partitionData.map((p) => ({ index: p.index, records: p.records })),
      })),
    });
    if (acks === 0) return NO_RESPONSE;
    return {
      responses: res.responses.map((t) => ({
        name: t.name,
        partitionResponses: t.partitions.map((p) => ({
          index: p.index,
          errorCode: p.errorCode === "PRODUCER_FENCED" ? 47 : errorCode(p.errorCode),
          baseOffset: p.baseOffset,
          logAppendTimeMs: p.logAppendTimeMs,
          logStartOffset: p.logStartOffset,
          recordErrors: [],
          errorMessage: p.errorMessage,
        })),
      })),
      throttleTimeMs: 0,
    };
  });

  on<G.FetchRequest, G.FetchResponse>("Fetch", async (req, ctx) => {
    const res = await broker.fetch(
      {
        isolationLevel: isolation(req.isolationLevel),
        maxWaitMs: req.maxWaitMs,
        minBytes: req.minBytes,
        maxBytes: req.maxBytes > 0 ? req.maxBytes : undefined,
        topics: req.topics.map((t) => ({
          name: t.topic,
          partitions: t.partitions.map((p) => ({
            index: p.partition,
            fetchOffset: p.fetchOffset,
            partitionMaxBytes: p.partitionMaxBytes,
          })),
        })),
      },
      ctx.signal,
    );
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      // Fetch sessions (KIP-227) are not kept: session id 0 tells the client to send full fetches.
      sessionId: 0,
      responses: res.responses.map((t) => ({
        topic: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.index,
          errorCode: errorCode(p.errorCode),
          highWatermark: p.highWatermark,
          lastStableOffset: p.lastStableOffset,
          logStartOffset: p.logStartOffset,
          abortedTransactions: p.abortedTransactions,
          preferredReadReplica: -1,
          records: p.records,
        })),
      })),
    };
  });

  on<G.ListOffsetsRequest, G.ListOffsetsResponse>("ListOffsets", (req, ctx) => {
    const res = broker.listOffsets({
      isolationLevel: isolation(req.isolationLevel),
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, timestamp: p.timestamp })),
      })),
    });
    return {
      throttleTimeMs: 0,
      topics: res.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: errorCode(p.errorCode),
          oldStyleOffsets: ctx.apiVersion === 0 && p.offset >= 0 ? [p.offset] : [],
          timestamp: p.timestamp,
          offset: p.offset,
          leaderEpoch: p.offset >= 0 ? 0 : -1,
        })),
      })),
    };
  });

  on<G.FindCoordinatorRequest, G.FindCoordinatorResponse>("FindCoordinator", (req, ctx) => {
    const keys = ctx.apiVersion >= 4 ? req.coordinatorKeys : [req.key];
    const keyType = req.keyType === 1 ? 1 : 0;
    const a = address();
    const res = broker.findCoordinator({ keyType, keys }).map((c) => ({
      key: c.key,
      nodeId: c.errorCode === "NONE" ? c.nodeId : -1,
      host: c.errorCode === "NONE" ? a.host : "",
      port: c.errorCode === "NONE" ? a.port : -1,
      errorCode: errorCode(c.errorCode),
      errorMessage: c.errorMessage,
    }));
    if (ctx.apiVersion >= 4) return { throttleTimeMs: 0, coordinators: res };
    const c = res[0]!;
    return {
      throttleTimeMs: 0,
      errorCode: c.errorCode,
      errorMessage: c.errorMessage,
      nodeId: c.nodeId,
      host: c.host,
      port: c.port,
    };
  });

  on<G.JoinGroupRequest, G.JoinGroupResponse>("JoinGroup", async (req, ctx) => {
    const v = ctx.apiVersion;
    const res = await broker.joinGroup({
      groupId: req.groupId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs : undefined,
      memberId: req.memberId,
      groupInstanceId: v >= 5 ? req.groupInstanceId : null,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      clientId: ctx.clientId ?? "",
      clientHost: hostOf(ctx.remoteAddress),
      requireKnownMemberId: v >= 4,
      reason: req.reason ?? undefined,
    });
    return {
      throttleTimeMs: 0,
      errorCode: errorCode(res.errorCode),
      generationId: res.generationId,
      protocolType: res.protocolType,
      // non-nullable before v7
      protocolName: v >= 7 ? res.protocolName : (res.protocolName ?? ""),
      leader: res.leader,
      skipAssignment: res.skipAssignment,
      memberId: res.memberId,
      members: res.members.map((mm) => ({
        memberId: mm.memberId,
        groupInstanceId: mm.groupInstanceId,
        metadata: mm.metadata,
      })),
    };
  });

  on<G.SyncGroupRequest, G.SyncGroupResponse>("SyncGroup", async (req, ctx) => {
    const res = await broker.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
      protocolType: ctx.apiVersion >= 5 ? req.protocolType : null,
      protocolName: ctx.apiVersion >= 5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    });
    return {
      throttleTimeMs: 0,
      errorCode: errorCode(res.errorCode),
      protocolType: res.protocolType,
      protocolName: res.protocolName,
      assignment: res.assignment,
    };
  });

  on<G.HeartbeatRequest, G.HeartbeatResponse>("Heartbeat", (req, ctx) => {
    const res = broker.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
    });
    return { throttleTimeMs: 0, errorCode: errorCode(res.errorCode) };
  });

  on<G.LeaveGroupRequest, G.LeaveGroupResponse>("LeaveGroup", (req, ctx) => {
    const members =
      ctx.apiVersion >= 3
        ? req.members.map((mm) => ({ memberId: mm.memberId, groupInstanceId: mm.groupInstanceId }))
        : [{ memberId: req.memberId, groupInstanceId: null }];
    const res = broker.leaveGroup({ groupId: req.groupId, members });
    // v0-2 have one member: its error is the top-level error
    const single =
      ctx.apiVersion < 3 && res.errorCode === "NONE" ? (res.members[0]?.errorCode ?? "NONE") : res.errorCode;
    return {
      throttleTimeMs: 0,
      errorCode: errorCode(single),
      members: res.members.map((mm) => ({
        memberId: mm.memberId,
        groupInstanceId: mm.groupInstanceId,
        errorCode: errorCode(mm.errorCode),
      })),
    };
  });

  on<G.OffsetCommitRequest, G.OffsetCommitResponse>("OffsetCommit", (req, ctx) => {
    const res = broker.offsetCommit({
      groupId: req.groupId,
      generationId: ctx.apiVersion >= 1 ? req.generationIdOrMemberEpoch : -1,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 7 ? req.groupInstanceId : null,
      topics: committedOffsets(req.topics),
    });
    return {
      throttleTimeMs: 0,
      topics: partitionErrors(res, errorCode),
    };
  });

  on<G.OffsetFetchRequest, G.OffsetFetchResponse>("OffsetFetch", (req, ctx) => {
    const res = broker.offsetFetch({
      groupId: req.groupId,
      topics:
        req.topics === null
          ? null
          : req.topics.map((t) => ({ name: t.name, partitionIndexes: t.partitionIndexes })),
      requireStable: ctx.apiVersion >= 7 ? req.requireStable : false,
    });
    const top = errorCode(res.errorCode);
    return {
      throttleTimeMs: 0,
      errorCode: top,
      topics: res.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          committedOffset: p.committedOffset,
          committedLeaderEpoch: p.committedLeaderEpoch,
          metadata: p.metadata,
          // v0-1 have no top-level error: carry it on each partition
          errorCode: ctx.apiVersion < 2 && top !== 0 ? top : errorCode(p.errorCode),
        })),
      })),
    };
  });

  on<G.DescribeGroupsRequest, G.DescribeGroupsResponse>("DescribeGroups", (req) => ({
    throttleTimeMs: 0,
    groups: broker.describeGroups({ groupIds: req.groups }).map((g) => ({
      errorCode: errorCode(g.errorCode),
      groupId: g.groupId,
      groupState: g.groupState,
      protocolType: g.protocolType,
      protocolData: g.protocolData,
      members: g.members.map((mm) => ({
        memberId: mm.memberId,
        groupInstanceId: mm.groupInstanceId,
        clientId: mm.clientId,
        clientHost: mm.clientHost,
        memberMetadata: mm.memberMetadata,
        memberAssignment: mm.memberAssignment,
      })),
      authorizedOperations: -2147483648,
    })),
  }));

  on<G.ListGroupsRequest, G.ListGroupsResponse>("ListGroups", (req, ctx) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    groups: broker
      .listGroups(
        ctx.apiVersion >= 4 && req.statesFilter.length > 0 ? { statesFilter: req.statesFilter } : {},
      )
      .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.groupState })),
  }));

  on<G.DeleteGroupsRequest, G.DeleteGroupsResponse>("DeleteGroups", (req) => ({
    throttleTimeMs: 0,
    results: broker
      .deleteGroups({ groupIds: req.groupsNames })
      .map((r) => ({ groupId: r.groupId, errorCode: errorCode(r.errorCode) })),
  }));

  on<G.OffsetDeleteRequest, G.OffsetDeleteResponse>("OffsetDelete", (req) => {
    const r = broker.offsetDelete({
      groupId: req.groupId,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => p.partitionIndex),
      })),
    });
    return {
      errorCode: errorCode(r.errorCode),
      throttleTimeMs: 0,
      topics: partitionErrors(r.topics, errorCode),
    };
  });

  on<G.CreateTopicsRequest, G.CreateTopicsResponse>("CreateTopics", (req) => {
    const res = broker.createTopics({
      validateOnly: req.validateOnly,
      topics: req.topics.map((t) => {
        const configs: Record<string, string> = {};
        for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
        return {
          name: t.name,
          numPartitions: t.assignments.length > 0 ? t.assignments.length : t.numPartitions,
          replicationFactor: t.replicationFactor,
          configs,
        };
      }),
    });
    return {
      throttleTimeMs: 0,
      topics: res.map((t) => ({
        name: t.name,
        errorCode: errorCode(t.errorCode),
        errorMessage: t.errorMessage,
        numPartitions: t.numPartitions,
        replicationFactor: t.errorCode === "NONE" ? 1 : -1,
        configs:
          t.errorCode === "NONE"
            ? Object.entries(t.configs).map(([name, value]) => ({
                name,
                value,
                readOnly: false,
                configSource: SOURCE_DEFAULT,
                isSensitive: false,
              }))
            : null,
      })),
    };
  });

  on<G.DeleteTopicsRequest, G.DeleteTopicsResponse>("DeleteTopics", (req) => ({
    throttleTimeMs: 0,
    responses: broker.deleteTopics({ names: req.topicNames }).map((r) => ({
      name: r.name,
      errorCode: errorCode(r.errorCode),
      errorMessage: r.errorMessage,
    })),
  }));

  on<G.CreatePartitionsRequest, G.CreatePartitionsResponse>("CreatePartitions", (req) => ({
    throttleTimeMs: 0,
    results: broker
      .createPartitions({
        topics: req.topics.map((t) => ({ name: t.name, count: t.count })),
        validateOnly: req.validateOnly,
      })
      .map((r) => ({ name: r.name, errorCode: errorCode(r.errorCode), errorMessage: r.errorMessage })),
  }));

  on<G.DeleteRecordsRequest, G.DeleteRecordsResponse>("DeleteRecords", (req) => ({
    throttleTimeMs: 0,
    topics: broker
      .deleteRecords({
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, offset: p.offset })),
        })),
      })
      .map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          lowWatermark: p.lowWatermark,
          errorCode: errorCode(p.errorCode),
        })),
      })),
  }));

  on<G.DescribeConfigsRequest, G.DescribeConfigsResponse>("DescribeConfigs", (req, ctx) => {
    const results: Encodable<G.DescribeConfigsResponse>["results"] = [];
    const known = req.resources.filter(
      (r) => r.resourceType === CONFIG_TOPIC || r.resourceType === CONFIG_BROKER,
    );
    const res = broker.describeConfigs({
      resources: known.map((r) => ({
        resourceType: r.resourceType === CONFIG_TOPIC ? "topic" : "broker",
        resourceName: r.resourceName,
        configurationKeys: r.configurationKeys,
      })),
    });
    for (const r of req.resources) {
      const i = known.indexOf(r);
      if (i < 0) {
        results.push({
          errorCode: errorCode("INVALID_REQUEST"),
          errorMessage: `config resource type ${r.resourceType} is not supported`,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: [],
        });
        continue;
      }
      const d = res[i]!;
      const brokerRes = d.resourceType === "broker";
      results.push({
        errorCode: errorCode(d.errorCode),
        errorMessage: d.errorMessage,
        resourceType: r.resourceType,
        resourceName: d.resourceName,
        configs: d.configs.map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          isDefault: c.isDefault,
          configSource: c.isDefault
            ? SOURCE_DEFAULT
            : brokerRes
              ? SOURCE_STATIC_BROKER
              : SOURCE_DYNAMIC_TOPIC,
          isSensitive: c.isSensitive,
          synonyms: [],
          configType: 0,
          documentation: null,
        })),
      });
    }
    void ctx;
    return { throttleTimeMs: 0, results };
  });

  on<G.AlterConfigsRequest, G.AlterConfigsResponse>("AlterConfigs", (req) => ({
    throttleTimeMs: 0,
    responses: alter(
      broker,
      req.resources.map((r) => {
        const configs: Record<string, string | null> = {};
        for (const c of r.configs) configs[c.name] = c.value;
        return { resourceType: r.resourceType, resourceName: r.resourceName, configs };
      }),
      req.validateOnly,
      false,
    ),
  }));

  on<G.IncrementalAlterConfigsRequest, G.IncrementalAlterConfigsResponse>(
    "IncrementalAlterConfigs",
    (req) => {
      const bad = req.resources.find((r) =>
        r.configs.some((c) => c.configOperation !== 0 && c.configOperation !== 1),
      );
      if (bad) {
        return {
          throttleTimeMs: 0,
          responses: req.resources.map((r) => ({
            errorCode: errorCode("INVALID_REQUEST"),
            errorMessage: "only SET (0) and DELETE (1) config operations are supported",
            resourceType: r.resourceType,
            resourceName: r.resourceName,
          })),
        };
      }
      return {
        throttleTimeMs: 0,
        responses: alter(
          broker,
          req.resources.map((r) => {
            const configs: Record<string, string | null> = {};
            for (const c of r.configs) configs[c.name] = c.configOperation === 1 ? null : c.value;
            return { resourceType: r.resourceType, resourceName: r.resourceName, configs };
          }),
          req.validateOnly,
          true,
        ),
      };
    },
  );

  on<G.InitProducerIdRequest, G.InitProducerIdResponse>("InitProducerId", (req, ctx) => {
    const res = broker.initProducerId({
      transactionalId: req.transactionalId,
      transactionTimeoutMs: req.transactionTimeoutMs,
      producerId: ctx.apiVersion >= 3 ? req.producerId : -1,
      producerEpoch: ctx.apiVersion >= 3 ? req.producerEpoch : -1,
    });
    return {
      throttleTimeMs: 0,
      errorCode: fencedCompat(res.errorCode, ctx.apiVersion, 4),
      producerId: res.producerId,
      producerEpoch: res.producerEpoch,
    };
  });

  on<G.AddPartitionsToTxnRequest, G.AddPartitionsToTxnResponse>("AddPartitionsToTxn", (req, ctx) => {
    const res = broker.addPartitionsToTxn({
      transactionalId: req.v3AndBelowTransactionalId,
      producerId: req.v3AndBelowProducerId,
      producerEpoch: req.v3AndBelowProducerEpoch,
      topics: req.v3AndBelowTopics.map((t) => ({ name: t.name, partitions: t.partitions })),
    });
    return {
      throttleTimeMs: 0,
      resultsByTopicV3AndBelow: res.map((t) => ({
        name: t.name,
        resultsByPartition: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          partitionErrorCode: fencedCompat(p.errorCode, ctx.apiVersion, 2),
        })),
      })),
    };
  });

  on<G.AddOffsetsToTxnRequest, G.AddOffsetsToTxnResponse>("AddOffsetsToTxn", (req, ctx) => {
    const res = broker.addOffsetsToTxn({
      transactionalId: req.transactionalId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      groupId: req.groupId,
    });
    return { throttleTimeMs: 0, errorCode: fencedCompat(res.errorCode, ctx.apiVersion, 2) };
  });

  on<G.EndTxnRequest, G.EndTxnResponse>("EndTxn", (req, ctx) => {
    const res = broker.endTxn({
      transactionalId: req.transactionalId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      committed: req.committed,
    });
    return { throttleTimeMs: 0, errorCode: fencedCompat(res.errorCode, ctx.apiVersion, 2) };
  });

  on<G.TxnOffsetCommitRequest, G.TxnOffsetCommitResponse>("TxnOffsetCommit", (req, ctx) => {
    const res = broker.txnOffsetCommit({
      transactionalId: req.transactionalId,
      groupId: req.groupId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      generationId: ctx.apiVersion >= 3 ? req.generationId : undefined,
      memberId: ctx.apiVersion >= 3 ? req.memberId : undefined,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
      topics: committedOffsets(req.topics),
    });
    return {
      throttleTimeMs: 0,
      topics: partitionErrors(res, (e) => fencedCompat(e, ctx.apiVersion, 3)),
    };
  });

  return m;
}

function alter(
  broker: Broker,
  resources: { resourceType: number; resourceName: string; configs: Record<string, string | null> }[],
  validateOnly: boolean,
  incremental: boolean,
): { errorCode: number; errorMessage: string | null; resourceType: number; resourceName: string }[] {
  const topicRes = resources.filter((r) => r.resourceType === CONFIG_TOPIC);
  const res = broker.alterConfigs({
    resources: topicRes.map((r) => ({
      resourceType: "topic",
      resourceName: r.resourceName,
      configs: r.configs,
    })),
    validateOnly,
    incremental,
  });
  return resources.map((r) => {
    const i = topicRes.indexOf(r);
    if (i < 0) {
      return {
        errorCode: errorCode("INVALID_REQUEST"),
        errorMessage: "only topic configs can be altered",
        resourceType: r.resourceType,
        resourceName: r.resourceName,
      };
    }
    const x = res[i]!;
    return {
      errorCode: errorCode(x.errorCode),
      errorMessage: x.errorMessage,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
    };
  });
}

function hostOf(remote: string): string {
  const i = remote.lastIndexOf(":");
  return `/${i > 0 ? remote.slice(0, i) : remote}`;
}
