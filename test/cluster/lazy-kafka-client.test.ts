// The real-Kafka client library is loaded only when a KafkaCluster makes a client: every app
// worker thread imports the cluster layer, and the library cost each one ~270 ms and ~11 MB of heap.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

test("importing the cluster layer and the rewards worker does not load @platformatic/kafka; a KafkaCluster's first client does", () => {
  const script = `
    import { registerHooks } from "node:module";
    registerHooks({
      resolve(specifier, context, next) {
        if (specifier === "@platformatic/kafka") throw new Error("LOADED @platformatic/kafka");
        return next(specifier, context);
      },
    });
    const { KafkaCluster } = await import("./src/cluster/index.ts");
    await import("./apps/rewards/app-worker.ts");
    console.log("imported without it");
    const cluster = new KafkaCluster({ bootstrapBrokers: ["127.0.0.1:1"] });
    try {
      cluster.admin();
      console.log("admin made without it");
    } catch (e) {
      console.log(String(e.message));
    }
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, COURANT_LOG_LEVEL: "warn" },
  });
  assert.match(out, /imported without it/);
  assert.match(out, /LOADED @platformatic\/kafka/);
});
