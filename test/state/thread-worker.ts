// A "stream thread" writing its own task's store into the shared instance environment.
import { parentPort, workerData } from "node:worker_threads";
import { StateDirectory } from "../../src/state/index.ts";

const { root, taskId, n } = workerData as { root: string; taskId: string; n: number };
const dir = new StateDirectory(root, "threads");
const task = dir.task(taskId);
const st = task.keyValueStore("counts");
for (let c = 0; c < 20; c++) {
  for (let i = 0; i < n; i++)
    st.put(new TextEncoder().encode(`${taskId}-${i}`), new TextEncoder().encode(String(c)));
  await dir.flush(new Map([[task.storeName("counts"), c + 1]]));
}
await dir.close();
parentPort!.postMessage("done");
