import { wrap } from "comlink";
import type { KernelTask } from "../../shared/kernels/task.ts";
import type { KernelWorker } from "../volunteer/pool.ts";
import type { KernelWorkerApi } from "./kernel-worker.ts";

/** Where the build puts the kernel worker bundle (scripts/build-client.mjs). */
export const KERNEL_WORKER_URL = "/build/kernel-worker.js";

/**
 * Starts one module Web Worker running the kernels and adapts it to the scheduling core's
 * KernelWorker. The page talks to it over a private MessageChannel handed over at start-up and
 * never listens to messages on the Worker object itself, so nothing a kernel posts there is
 * read. A worker that dies (uncaught error, failed load) rejects its pending compute, so the
 * pool replaces it instead of waiting for the time limit.
 */
export function spawnWebKernelWorker(url = KERNEL_WORKER_URL): KernelWorker {
  const worker = new Worker(url, { type: "module", name: "colmeia-kernel" });
  const channel = new MessageChannel();
  worker.postMessage("colmeia-port", [channel.port2]);
  const remote = wrap<KernelWorkerApi>(channel.port1);
  let die: (err: Error) => void = () => {};
  const died = new Promise<never>((_, reject) => (die = reject));
  died.catch(() => {});
  worker.addEventListener("error", (e) => die(new Error(e.message || "the kernel worker failed")));
  channel.port1.addEventListener("messageerror", () => die(new Error("the kernel worker sent an unreadable message")));
  return {
    compute: (task) => Promise.race([remote.compute(task), died]),
    terminate: () => (worker.terminate(), channel.port1.close()),
  };
}

/**
 * A worker that ran a published JS kernel may carry whatever that kernel did to its globals:
 * the pool keeps it for that kernel only (wasm/1 kernels touch nothing outside their instance).
 */
export const dedicateWorker = (task: KernelTask) => (task.module?.language === "js" ? task.module.sha256 : undefined);
