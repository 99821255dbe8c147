/**
 * A worker_threads entry that runs kernels: the Node twin of the page's Web Worker, over the
 * very same kernel modules (shared/kernels/compute.ts), exposed with Comlink's Node adapter.
 * Node runs this file directly with type stripping, so it uses only erasable TypeScript.
 */
import { expose } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { parentPort } from "node:worker_threads";
import { compute } from "../../shared/kernels/compute.ts";
import type { ComputeReply, KernelTask } from "../volunteer/pool.ts";
import { lockDown } from "../../shared/lockdown.ts";

// Kernels compute and nothing else: no network, no storage, no other workers.
lockDown();

const kernelWorker = {
  /** Runs one shard; errors come back as values, since Error classes do not cross the boundary. */
  compute({ kernel, params, input }: KernelTask): ComputeReply {
    const run = compute[kernel];
    if (!run) return { ok: false, error: `this volunteer does not know kernel ${kernel}` };
    try {
      return { ok: true, output: run(input, params) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  },
};

/** What the main thread sees through `Comlink.wrap`. */
export type KernelWorkerApi = typeof kernelWorker;

if (!parentPort) throw new Error("kernel-worker.ts is a worker_threads entry: start it with new Worker(...)");
expose(kernelWorker, nodeEndpoint(parentPort));
