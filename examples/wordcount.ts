// Word count (seed 001's Kafka Streams example) in Courant. Run: node examples/wordcount.ts
// (uses an embedded broker under ./data/examples; type lines, see counts).
import { Serdes } from "../src/serde/index.ts";
import { StreamsBuilder, type Topology } from "../src/streams/index.ts";

export function wordCountTopology(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream("text-lines", { keySerde: Serdes.String, valueSerde: Serdes.String })
    .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter(Boolean))
    .groupBy((_key, word) => word, { keySerde: Serdes.String })
    .count({ storeName: "counts-store" })
    .toStream()
    .to("words-with-counts", { keySerde: Serdes.String, valueSerde: Serdes.Json<number>() });
  return builder.build();
}

if (import.meta.main) {
  const { EmbeddedCluster } = await import("../src/cluster/index.ts");
  const { KafkaStreams } = await import("../src/streams/index.ts");
  const { createInterface } = await import("node:readline");
  const cluster = await EmbeddedCluster.open({ dataDir: "./data/examples/broker", timerIntervalMs: 50 });
  await cluster.admin().createTopics(
    [
      { name: "text-lines", partitions: 1 },
      { name: "words-with-counts", partitions: 1 },
    ],
    { ifNotExists: true },
  );
  const streams = new KafkaStreams(wordCountTopology(), {
    applicationId: "wordcount",
    cluster,
    stateDir: "./data/examples/state",
    commitIntervalMs: 200,
  });
  await streams.start();
  const producer = await cluster.createProducer();
  const counts = streams.keyValueStore<string, number>("counts-store");
  process.stdout.write("type lines; Ctrl-D to stop\n");
  for await (const line of createInterface({ input: process.stdin })) {
    await producer.send([{ topic: "text-lines", key: null, value: new TextEncoder().encode(line) }]);
    setTimeout(
      () =>
        process.stdout.write(
          `${JSON.stringify(Object.fromEntries(counts.all().map((e) => [e.key, e.value])))}\n`,
        ),
      300,
    );
  }
  await producer.close();
  await streams.close();
  await cluster.close();
}
