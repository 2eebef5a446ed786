// Runs in a worker thread: answers /health from its own event loop, so a liveness probe gets an
// answer even while the main thread is saturated. Liveness is judged on the main loop's
// heartbeat (a timestamp in shared memory), not on this thread being alive.
import { createServer } from "node:http";
import { parentPort, workerData } from "node:worker_threads";

interface LivenessWorkerData {
  readonly heartbeat: SharedArrayBuffer;
  readonly host: string;
  readonly port: number;
  readonly maxLoopStallMs: number;
  readonly name: string;
}

const data = workerData as LivenessWorkerData;
const beat = new BigInt64Array(data.heartbeat);

const server = createServer((req, res) => {
  if (req.url !== "/health" && req.url !== "/healthz") {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "NOT_FOUND", message: `only /health is served here, not ${req.url}` }));
    return;
  }
  const stamp = Atomics.load(beat, 0);
  if (stamp < 0n) {
    // The service reported a failure (FAILED_BEAT in liveness-worker.ts); its reason is on /health of its main port.
    res.writeHead(503, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "failed", name: data.name }));
    return;
  }
  const stallMs = Date.now() - Number(stamp);
  const ok = stallMs <= data.maxLoopStallMs;
  res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      status: ok ? "ok" : "stalled",
      name: data.name,
      mainLoopStallMs: stallMs,
      maxLoopStallMs: data.maxLoopStallMs,
    }),
  );
});
server.on("error", (e) => parentPort?.postMessage({ error: (e as Error).message }));
server.listen(data.port, data.host, () => {
  const addr = server.address();
  parentPort?.postMessage({ port: typeof addr === "object" && addr ? addr.port : data.port });
});
parentPort?.on("message", (m: unknown) => {
  if (m === "close") server.close(() => parentPort?.close());
});
