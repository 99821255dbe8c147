/// <reference lib="webworker" />
import { expose } from "comlink";
import { compute } from "../../shared/kernels/compute.ts";
import type { ComputeReply, KernelTask } from "../volunteer/pool.ts";
import { lockDown } from "../../shared/lockdown.ts";

// Kernels compute and nothing else: no network, no storage, no other workers.
lockDown();

/**
 * The Web Worker that runs kernels, exposed through Comlink. A kernel that throws comes back
 * as `{ ok: false, error }` (Error classes do not survive the boundary); one that hangs is
 * the host's business (it terminates this worker).
 */
const kernelWorker = {
  compute({ kernel, params, input }: KernelTask): ComputeReply {
    const run = compute[kernel];
    if (!run) return { ok: false, error: `this volunteer cannot run kernel "${kernel}"` };
    try {
      return { ok: true, output: run(input, params) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  },
  kernels: () => Object.keys(compute),
};

/** The worker's API as seen through `Comlink.wrap`. */
export type KernelWorkerApi = typeof kernelWorker;

expose(kernelWorker);
