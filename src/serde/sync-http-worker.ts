// Worker thread behind HttpSchemaRegistry's synchronous lookups: performs one HTTP request per
// message, posts the reply on the shared port, then wakes the waiting thread via Atomics.
import { type MessagePort, parentPort, workerData } from "node:worker_threads";

interface Setup {
  readonly signal: SharedArrayBuffer;
  readonly port: MessagePort;
}
interface Request {
  readonly seq: number;
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
}

const { signal, port } = workerData as Setup;
const flag = new Int32Array(signal);

parentPort!.on("message", async (req: Request) => {
  let reply: { seq: number; status: number; body: string } | { seq: number; error: string };
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    reply = { seq: req.seq, status: res.status, body: await res.text() };
  } catch (e) {
    reply = { seq: req.seq, error: (e as Error).message };
  }
  port.postMessage(reply);
  Atomics.add(flag, 0, 1);
  Atomics.notify(flag, 0);
});
