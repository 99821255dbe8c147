import { wrap } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { Worker } from "node:worker_threads";
import type { KernelWorker } from "../volunteer/pool.ts";
import type { KernelWorkerApi } from "./kernel-thread-entry.ts";

const entry = new URL("./kernel-thread-entry.ts", import.meta.url);

/**
 * One worker thread running kernels behind Comlink, in the shape the shared KernelPool takes.
 * A call in flight rejects when the thread dies (crash or `terminate()`), so the pool can
 * release that lease instead of waiting forever.
 * @example const pool = createKernelPool({ spawn: nodeKernelWorker, size: 4 });
 */
export function nodeKernelWorker(): KernelWorker {
  const worker = new Worker(entry);
  const remote = wrap<KernelWorkerApi>(nodeEndpoint(worker));
  const died = new Promise<never>((_, reject) => {
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`worker thread exited (code ${code})`)));
  });
  died.catch(() => {});
  return {
    compute: (task) => Promise.race([remote.compute(task), died]),
    terminate: () => void worker.terminate(),
  };
}
