import type { KernelTask } from "../../shared/kernels/task.ts";

// Taken when this module loads, before any kernel runs: a kernel may replace them for itself.
const createObjectURL = URL.createObjectURL.bind(URL);
const revokeObjectURL = URL.revokeObjectURL.bind(URL);
const BlobOf = Blob;

// Imported kernels by SHA-256. The pool dedicates this worker to the one JS kernel it ran, so in
// practice this holds one module: its module-level state lives as long as the worker.
const imported = new Map<string, Promise<Record<string, unknown>>>();

/**
 * Runs one js/1 shard in this (locked-down) Web Worker: imports the source as an ES module from
 * a `blob:` URL made here (the worker's CSP allows `blob:` scripts and nothing remote), calls
 * `compute(input, params)` and awaits it when it answers a Promise. The runtime checks the
 * output is JSON; the page's pool stops a shard past its time cap by terminating the worker.
 */
export async function runJsInWorker(source: string, task: KernelTask): Promise<unknown> {
  const sha256 = task.module?.sha256 ?? "";
  let namespace = imported.get(sha256);
  if (!namespace) {
    const url = createObjectURL(new BlobOf([source], { type: "text/javascript" }));
    namespace = (import(/* @vite-ignore */ url) as Promise<Record<string, unknown>>).finally(() => revokeObjectURL(url));
    imported.set(sha256, namespace);
    namespace.catch(() => imported.delete(sha256));
  }
  const compute = (await namespace).compute;
  if (typeof compute !== "function") throw new Error("js/1: the module exports no compute function");
  return await compute(task.input, task.params);
}
