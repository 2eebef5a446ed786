// Starting a KafkaStreams turns V8's allocation-site pretenuring off for the process, unless the
// application asks to keep it (allocationSitePretenuring: true). Why: KafkaStreamsOptions.
// The effect on the collector is measured by the rewards bench (--trace-gc-nvp), not here.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Serdes } from "../../src/serde/index.ts";
import { allocationSitePretenuringDisabled, KafkaStreams, StreamsBuilder } from "../../src/streams/index.ts";
import { openTestCluster } from "../fixtures/streams/test-cluster.ts";

test("a KafkaStreams turns allocation-site pretenuring off when it starts, unless told to keep it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "courant-pretenuring-"));
  const cluster = await openTestCluster(dir);
  t.after(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await cluster.admin().createTopics([
    { name: "in", partitions: 1 },
    { name: "out", partitions: 1 },
  ]);
  const topology = () => {
    const b = new StreamsBuilder();
    b.stream("in", { keySerde: Serdes.String, valueSerde: Serdes.String }).to("out");
    return b.build();
  };
  const start = async (applicationId: string, allocationSitePretenuring?: boolean) => {
    const app = new KafkaStreams(topology(), {
      applicationId,
      cluster,
      stateDir: join(dir, "state"),
      ...(allocationSitePretenuring === undefined ? {} : { allocationSitePretenuring }),
    });
    await app.start();
    await app.close();
  };
  await start("keeps-it", true);
  assert.equal(allocationSitePretenuringDisabled(), false);
  await start("default");
  assert.equal(allocationSitePretenuringDisabled(), true);
});
