import { wrap } from "comlink";
import type { KernelWorker } from "../volunteer/pool.ts";
import type { KernelWorkerApi } from "./kernel-worker.ts";

/** Where the build puts the kernel worker bundle (scripts/build-client.mjs). */
export const KERNEL_WORKER_URL = "/build/kernel-worker.js";

/**
 * Starts one module Web Worker running the kernels and adapts it to the scheduling core's
 * KernelWorker. A worker that dies (uncaught error, failed load) rejects its pending compute,
 * so the pool replaces it instead of waiting for the time limit.
 */
export function spawnWebKernelWorker(url = KERNEL_WORKER_URL): KernelWorker {
  const worker = new Worker(url, { type: "module", name: "colmeia-kernel" });
  const remote = wrap<KernelWorkerApi>(worker);
  let die: (err: Error) => void = () => {};
  const died = new Promise<never>((_, reject) => (die = reject));
  died.catch(() => {});
  worker.addEventListener("error", (e) => die(new Error(e.message || "the kernel worker failed")));
  worker.addEventListener("messageerror", () => die(new Error("the kernel worker sent an unreadable message")));
  return {
    compute: (task) => Promise.race([remote.compute(task), died]),
    terminate: () => worker.terminate(),
  };
}
