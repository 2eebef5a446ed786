// Runs a registry server on its own thread: the sync HTTP client blocks the test's thread.
import { parentPort, workerData } from "node:worker_threads";
import { LocalSchemaRegistry, serveSchemaRegistry } from "../../src/serde/index.ts";

const server = await serveSchemaRegistry(
  new LocalSchemaRegistry({ file: (workerData as { file: string }).file }),
);
parentPort!.postMessage({ url: server.url });
parentPort!.on("message", async (m: string) => {
  if (m === "close") {
    await server.close();
    parentPort!.close();
  }
});
