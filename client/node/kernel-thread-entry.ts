/**
 * A worker_threads entry that runs kernels: the Node twin of the page's Web Worker, over the
 * same kernel runtime (shared/kernels/runtime.ts), exposed with Comlink's Node adapter. Published
 * js/1 kernels run inside QuickJS, never with Node's privileges; wasm/1 kernels run in this
 * thread's WebAssembly with no imports. Node runs this file directly with type stripping, so it
 * uses only erasable TypeScript.
 */
import { expose } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { parentPort } from "node:worker_threads";
import { createKernelRuntime } from "../../shared/kernels/runtime.ts";
import { lockDown } from "../../shared/lockdown.ts";
import { runJsInQuickJs } from "./quickjs-kernel.ts";

// Kernels compute and nothing else: no network, no storage, no other workers.
lockDown();

const kernelWorker = createKernelRuntime(runJsInQuickJs);

/** What the main thread sees through `Comlink.wrap`. */
export type KernelWorkerApi = typeof kernelWorker;

if (!parentPort) throw new Error("kernel-thread-entry.ts is a worker_threads entry: start it with new Worker(...)");
expose(kernelWorker, nodeEndpoint(parentPort));
