// A compacted topic read into memory and kept up to date: the campaigns and the coupon pools as
// the coupons app sees them. Same semantics as a global store (every instance reads the whole
// topic, bootstrapped to its end before processing starts, then followed), kept outside the
// topology so it can be shared by the app's processors and its interactive queries.
//
// Why not the runtime's global stores: at the time of writing, a global store whose topic already
// holds records when the app starts fails during bootstrap (records are processed before the
// global processors are initialized). See the closing note of docs/rewards.md.
import type { Cluster, Consumer, TopicPartition } from "../../src/cluster/index.ts";
import type { Logger } from "../../src/observe/index.ts";
import type { KeyValue, ReadOnlyKeyValueStore } from "../../src/streams/index.ts";
import type { TableEntries } from "./coupon-pool.ts";

const dec = new TextDecoder();

export class TopicTable implements ReadOnlyKeyValueStore<string, string> {
  readonly name: string;
  private readonly entries: TableEntries;
  private sorted: KeyValue<string, string>[] | null = null;
  private readonly consumer: Consumer;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly log: Logger | undefined;

  private constructor(name: string, consumer: Consumer, entries: TableEntries, log?: Logger) {
    this.name = name;
    this.entries = entries;
    this.consumer = consumer;
    this.log = log;
  }

  /**
   * Reads `topic` to its end (last stable offset), then follows it in the background. `entries`
   * holds them (a Map unless given, e.g. PackedCouponPools for the coupon pools).
   */
  static async open(
    cluster: Cluster,
    topic: string,
    log?: Logger,
    entries: TableEntries = new Map<string, string>(),
  ): Promise<TopicTable> {
    const consumer = await cluster.createConsumer({
      clientId: `table:${topic}`,
      isolationLevel: "read_committed",
    });
    const t = new TopicTable(topic, consumer, entries, log);
    try {
      const [desc] = await cluster.admin().describeTopics([topic]);
      const tps: TopicPartition[] = (desc?.partitions ?? []).map((p) => ({ topic, partition: p.partition }));
      consumer.assign(tps);
      await consumer.seekToBeginning(tps);
      const ends = await consumer.endOffsets(tps);
      for (;;) {
        let behind = false;
        for (const tp of tps)
          if ((await consumer.position(tp)) < (ends.get(`${topic}:${tp.partition}`) ?? 0)) behind = true;
        if (!behind) break;
        t.apply(await consumer.poll({ maxWaitMs: 100 }));
      }
    } catch (e) {
      await consumer.close();
      throw e;
    }
    t.loop = t.follow();
    return t;
  }

  private apply(records: Awaited<ReturnType<Consumer["poll"]>>): void {
    for (const r of records) {
      if (r.key === null) continue;
      const k = dec.decode(r.key);
      if (r.value === null) this.entries.delete(k);
      else this.entries.set(k, dec.decode(r.value));
      this.sorted = null;
    }
  }

  private async follow(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        this.apply(await this.consumer.poll({ maxWaitMs: 500, signal: this.abort.signal }));
      } catch (e) {
        if (this.abort.signal.aborted) return;
        this.log?.error({ topic: this.name, err: (e as Error).message }, "table update failed; retrying");
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  all(): KeyValue<string, string>[] {
    this.sorted ??= [...this.entries.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([key, value]) => ({ key, value }));
    return this.sorted;
  }

  range(from?: string, to?: string): KeyValue<string, string>[] {
    return this.all().filter(
      (e) => (from === undefined || e.key >= from) && (to === undefined || e.key <= to),
    );
  }

  reverseRange(from?: string, to?: string): KeyValue<string, string>[] {
    return this.range(from, to).reverse();
  }

  approximateNumEntries(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.consumer.close();
  }
}
